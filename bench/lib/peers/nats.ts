/**
 * A private `nats-server` with JetStream (file storage) for one benchmark case: loopback port,
 * its own store directory under bench/.work/. Always call `stop()` (in a `finally`); the process
 * registry in ../process.ts also kills it if the bench dies.
 *
 * Durability: JetStream's file store acknowledges a publish without fsync and syncs every
 * 2 minutes by default. `jetstream { sync_interval: always }` (fsync every write) exists only in
 * newer servers (2.10+); `natsSupportsSyncInterval()` asks the installed one.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, startProcess } from '../process.ts';
import { makeWorkDir, removeWorkDir } from '../workdir.ts';

export interface NatsPeer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

/** `nats-server --version`, e.g. "2.9.10"; null when it is not installed. */
export function natsVersion(): string | null {
  try {
    const out = execFileSync('nats-server', ['--version'], { encoding: 'utf8' });
    return /v(\d+\.\d+\.\d+\S*)/.exec(out)?.[1] ?? out.trim();
  } catch {
    return null;
  }
}

function writeConfig(dir: string, port: number, syncInterval: string | undefined): string {
  const file = path.join(dir, 'nats.conf');
  const js = [`store_dir: ${JSON.stringify(path.join(dir, 'store'))}`];
  if (syncInterval) js.push(`sync_interval: ${JSON.stringify(syncInterval)}`);
  writeFileSync(file, `listen: "127.0.0.1:${port}"\njetstream {\n  ${js.join('\n  ')}\n}\n`);
  return file;
}

/**
 * Starts nats-server with JetStream on file storage. `syncInterval` ("always", "1s", …) sets
 * `jetstream.sync_interval`; leave it out for the server's default (2 min).
 */
export async function startNats(opts: { syncInterval?: string } = {}): Promise<NatsPeer> {
  const dir = makeWorkDir('nats');
  let proc: ReturnType<typeof startProcess> | null = null;
  try {
    const port = await freePort();
    proc = startProcess('nats-server', ['-c', writeConfig(dir, port, opts.syncInterval)]);
    await proc.waitFor(/Server is ready/, 10_000);
    const p = proc;
    return {
      port,
      url: `nats://127.0.0.1:${port}`,
      dir,
      async stop() {
        await p.stop();
        removeWorkDir(dir);
      },
    };
  } catch (err) {
    await proc?.stop();
    removeWorkDir(dir);
    throw err;
  }
}

/** Whether the installed nats-server accepts `jetstream { sync_interval: always }`. */
export async function natsSupportsSyncInterval(): Promise<boolean> {
  try {
    const peer = await startNats({ syncInterval: 'always' });
    await peer.stop();
    return true;
  } catch (err) {
    if (/unknown field "sync_interval"/.test((err as Error).message)) return false;
    throw err;
  }
}
