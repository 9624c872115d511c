/**
 * A private `redis-server` for one benchmark case: loopback port, its own data directory under
 * bench/.work/, AOF on with the chosen fsync policy, RDB snapshots off. Always call `stop()`
 * (in a `finally`); the process registry in ../process.ts also kills it if the bench dies.
 */
import { execFileSync } from 'node:child_process';
import { freePort, startProcess } from '../process.ts';
import { makeWorkDir, removeWorkDir } from '../workdir.ts';
import { RespConnection } from './resp.ts';

export type AppendFsync = 'always' | 'everysec';

export interface RedisPeer {
  readonly port: number;
  readonly dir: string;
  stop(): Promise<void>;
}

/** `redis-server --version`, e.g. "7.0.15"; null when it is not installed. */
export function redisVersion(): string | null {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    return null;
  }
}

export async function startRedis(opts: { appendfsync: AppendFsync }): Promise<RedisPeer> {
  const dir = makeWorkDir(`redis-${opts.appendfsync}`);
  let proc: ReturnType<typeof startProcess> | null = null;
  try {
    const port = await freePort();
    proc = startProcess('redis-server', [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', opts.appendfsync,
      '--save', '',
      '--daemonize', 'no',
      '--logfile', '',
      '--loglevel', 'notice',
    ]);
    await proc.waitFor(/Ready to accept connections/, 10_000);
    await waitForPing(port);
    const p = proc;
    return {
      port,
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

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const conn = await RespConnection.connect(port);
      try {
        if ((await conn.call('PING')) === 'PONG') return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} does not answer PING: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
