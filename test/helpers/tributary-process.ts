/**
 * Runs the real `tributary` command (bin/tributary.js) in child processes: `startTributary()`
 * starts `tributary up` on a temporary data directory and a free port and waits for its ready
 * line; `tributary()` runs a client verb against it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { tempDirUntilExit as tempDir } from './temp-dir.ts';

export const BIN = path.resolve(import.meta.dirname, '../../bin/tributary.js');
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function collect(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `tributary <args>` to completion, feeding `stdin`. */
export function tributary(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, TRIBUTARY_SERVER: '', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const done = collect(child);
  child.stdin!.end(opts.stdin ?? '');
  return done;
}

export interface RunningTributary {
  /** `http://127.0.0.1:<port>` from the ready line. */
  url: string;
  kafka: string;
  readyLine: string;
  dataDir: string;
  child: ChildProcess;
  stderr(): string;
  /** Runs a client verb against this server. */
  cli(args: string[], opts?: { stdin?: string }): Promise<Run>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Run>;
}

const READY = /^tributary ready http=(http:\/\/\S+) kafka=(\S+)$/m;

/** Starts `tributary up` and resolves once it printed its ready line (rejects if it exits first). */
export async function startTributary(
  opts: { args?: string[]; dataDir?: string; env?: NodeJS.ProcessEnv; cwd?: string; readyTimeoutMs?: number } = {},
): Promise<RunningTributary> {
  const dataDir = opts.dataDir ?? path.join(await tempDir(), 'data');
  const kafkaPort = await freePort();
  const args = ['up', '--data-dir', dataDir, '--http-port', '0', '--kafka-port', String(kafkaPort), '--log-format', 'json', ...(opts.args ?? [])];
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? (await tempDir()),
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = collect(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: string) => (stdout += d));
  child.stderr!.on('data', (d: string) => (stderr += d));

  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tributary up printed no ready line within ${opts.readyTimeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.readyTimeoutMs ?? 60_000);
    const check = () => {
      const m = stdout.match(READY);
      if (m) {
        clearTimeout(limit);
        child.stdout!.off('data', check);
        resolve(m);
      }
    };
    child.stdout!.on('data', check);
    void done.then((r) => {
      clearTimeout(limit);
      reject(new Error(`tributary up exited (${r.code ?? r.signal}) before it was ready\nstdout: ${r.stdout}\nstderr: ${r.stderr}`));
    });
  });

  const url = match[1]!;
  return {
    url,
    kafka: match[2]!,
    readyLine: match[0],
    dataDir,
    child,
    stderr: () => stderr,
    cli: (cliArgs, o) => tributary([...cliArgs, '--server', url], o),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return done;
    },
  };
}
