/**
 * Child processes of a benchmark (peer servers). Every child started here is registered so it
 * is killed when the benchmark ends in any way: normal stop, a thrown error (the caller's
 * `finally`), Ctrl-C / SIGTERM, or `process.exit`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

const live = new Set<ChildProcess>();
/** Children started with `group: true`: signals go to their whole process group. */
const groups = new WeakSet<ChildProcess>();

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  if (groups.has(child) && child.pid !== undefined) {
    try {
      process.kill(-child.pid, sig);
      return;
    } catch {
      // the group is gone already; fall back to the child itself
    }
  }
  child.kill(sig);
}

let hooksInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) signal(child, 'SIGKILL');
  }
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // First of the exit listeners, so peers are dead before their directories are removed.
  process.prependListener('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killAllNow();
      process.stderr.write(`\nbench: ${sig}, peers stopped\n`);
      process.exit(130);
    });
  }
}

export interface PeerProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (capped at 64 KiB). */
  output(): string;
  /** Resolves when `pattern` appears in the output; rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * `group: true` starts the child in its own process group and signals the whole group, so a
 * wrapper (e.g. `bash -c '…'`) never leaves its own children behind.
 */
export function startProcess(command: string, args: string[], opts: { cwd?: string; group?: boolean } = {}): PeerProcess {
  installHooks();
  const child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.group === true });
  live.add(child);
  if (opts.group) groups.add(child);
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > 65536) out = out.slice(-65536);
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let spawnError: Error | null = null;
  child.on('error', (err) => {
    spawnError = err;
    for (const w of [...waiters]) w();
  });
  child.on('exit', () => {
    live.delete(child);
    for (const w of [...waiters]) w();
  });

  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;

  return {
    child,
    output: () => out,
    waitFor(pattern, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${command} not ready after ${timeoutMs} ms; output:\n${out.slice(-2000)}`));
        }, timeoutMs);
        const check = (): void => {
          if (pattern.test(out)) {
            done();
            resolve();
          } else if (spawnError) {
            done();
            reject(new Error(`cannot start ${command}: ${spawnError.message}`));
          } else if (exited()) {
            done();
            reject(new Error(`${command} exited (${child.exitCode ?? child.signalCode}) before ready; output:\n${out.slice(-2000)}`));
          }
        };
        const done = (): void => {
          clearTimeout(timer);
          const i = waiters.indexOf(check);
          if (i >= 0) waiters.splice(i, 1);
        };
        waiters.push(check);
        check();
      });
    },
    async stop(graceMs = 5000) {
      if (exited() || spawnError) {
        live.delete(child);
        return;
      }
      const gone = once(child, 'exit');
      signal(child, 'SIGTERM');
      const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
      try {
        await gone;
      } finally {
        clearTimeout(timer);
        live.delete(child);
      }
    },
  };
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}
