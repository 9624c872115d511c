/**
 * Running the Debian `kcat` binary (librdkafka) as a benchmark client: wall time from spawn to
 * exit, the CPU it used (bash's `times` after it exits: user and system seconds of the child),
 * and an optional stdout consumer that sees every chunk. kcat is registered with the process
 * registry (../process.ts), so it is killed if the bench dies.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { startProcess } from './process.ts';

export interface KcatRun {
  wallMs: number;
  /** User + system CPU seconds kcat used. */
  cpuSec: number;
  /** stderr (and what stdout the caller did not consume), last 64 KiB. */
  output: string;
}

/** `kcat -V`'s version line, e.g. "1.7.1 (… librdkafka 2.0.2 …)"; null when not installed. */
export function kcatVersion(): { kcat: string; librdkafka: string } | null {
  try {
    const out = execFileSync('kcat', ['-V'], { encoding: 'utf8' });
    const kcat = /Version (\S+)/.exec(out)?.[1];
    const librdkafka = /librdkafka (\S+)/.exec(out)?.[1];
    return kcat ? { kcat, librdkafka: librdkafka ?? 'unknown' } : null;
  } catch {
    return null;
  }
}

function parseTimes(text: string): number {
  // `times` prints the shell's user/sys, then its children's: "0m1.234s 0m0.567s".
  const lines = text.trimEnd().split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
  const last = lines[lines.length - 1];
  if (!last) return Number.NaN;
  return last
    .trim()
    .split(' ')
    .map((t) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t)!;
      return Number(m[1]) * 60 + Number(m[2]);
    })
    .reduce((a, b) => a + b, 0);
}

/**
 * Runs `kcat args…` to completion; rejects on a non-zero exit (with its stderr) or after
 * `timeoutMs`. `onStdout` receives stdout chunks as they arrive.
 */
export async function runKcat(args: string[], opts: { timeoutMs: number; onStdout?: (chunk: Buffer) => void }): Promise<KcatRun> {
  const t0 = performance.now();
  // stdout stays kcat's; `times` goes to stderr after kcat has exited.
  // Its own process group: stopping it (timeout, Ctrl-C) stops kcat too, not only the shell.
  const proc = startProcess('bash', ['-c', 'kcat "$@"; rc=$?; times >&2; exit $rc', 'bash', ...args], { group: true });
  // 'close', not 'exit': it comes after stdout and stderr have ended, so no output is missed.
  const closed = once(proc.child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  if (opts.onStdout) proc.child.stdout!.on('data', opts.onStdout);
  const timer = setTimeout(() => void proc.stop(1000), opts.timeoutMs);
  try {
    const [code, signal] = await closed;
    const wallMs = performance.now() - t0;
    const output = proc.output();
    if (code !== 0) {
      const why = signal === 'SIGTERM' || signal === 'SIGKILL' ? `killed after ${opts.timeoutMs} ms` : `exit ${code ?? signal}`;
      throw new Error(`kcat ${args.join(' ')}: ${why}; output:\n${output.slice(-1500)}`);
    }
    return { wallMs, cpuSec: parseTimes(output), output };
  } finally {
    clearTimeout(timer);
    await proc.stop(1000);
  }
}
