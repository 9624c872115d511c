/**
 * Helpers for the Kafka interop tests: waiting for a condition, running the `kcat` binary (one
 * shot or as a long-running group member), and reading a group's assignment from the broker's
 * own coordinator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { EmbeddedBus } from '../../src/bus/index.ts';

/**
 * Polls `check` until it returns something other than undefined/false/null, and returns that.
 * The deadline only bounds a hang; it is not a speed assertion. On expiry the error names
 * `what` and the last value `describe()` gives, so a failure says what was still missing.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const state = opts.describe ? ` (state: ${JSON.stringify(opts.describe())})` : '';
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${state}${cause}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

export interface KcatResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs `kcat` to completion, feeding `input` on stdin. Rejects (with stderr in the message)
 * on a non-zero exit or when it has not exited after `timeoutMs` (it is then killed).
 */
export function runKcat(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kcat ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 30_000} ms\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run kcat (is the Debian package installed?): ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`kcat ${args.join(' ')} exited with ${code ?? signal}\nstderr:\n${stderr}\nstdout:\n${stdout}`));
    });
    child.stdin.on('error', () => {}); // kcat may exit before reading everything; 'close' reports why
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running `kcat` (a balanced consumer `-G …`): its output so far, and a graceful stop. */
export class KcatProcess {
  stdout = '';
  stderr = '';
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private exited = false;

  constructor(readonly args: string[]) {
    this.child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exit = new Promise((resolve, reject) => {
      this.child.on('error', (err) => reject(new Error(`cannot run kcat: ${err.message}`)));
      this.child.on('close', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      });
    });
    this.exit.catch(() => {});
  }

  /** Complete lines of stdout so far. */
  lines(): string[] {
    const end = this.stdout.lastIndexOf('\n');
    return end < 0 ? [] : this.stdout.slice(0, end).split('\n').filter((l) => l.length > 0);
  }

  /** SIGTERM (kcat then commits, leaves its group and exits 0); SIGKILL if it hangs. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exited) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last resort in a `finally`: never leaves a kcat behind. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** One record of `kcat -C -J` output. */
export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

export function parseKcatJson(lines: string[] | string): KcatMessage[] {
  const list = typeof lines === 'string' ? lines.split('\n').filter((l) => l.trim().length > 0) : lines;
  return list.map((l) => JSON.parse(l) as KcatMessage);
}

/** Current members of a group and their partitions (`topic:partition`), from the broker's coordinator. */
export async function groupAssignments(bus: EmbeddedBus, groupId: string): Promise<{ state: string; protocol: string; generationId: number; members: Map<string, string[]> }> {
  const d = await bus.admin().describeGroup(groupId);
  const members = new Map<string, string[]>();
  for (const m of d.memberDetails) members.set(m.memberId, m.assignment.map((a) => `${a.topic}:${a.partition}`).sort());
  return { state: d.state, protocol: d.protocol, generationId: d.generationId, members };
}

/**
 * The group is Stable with exactly `memberCount` members, every member owns at least one
 * partition, no partition is owned twice, and together they own all of `expected`.
 * Returns the assignment, or undefined while that is not (yet) so.
 */
export async function balancedAssignment(
  bus: EmbeddedBus,
  groupId: string,
  memberCount: number,
  expected: string[],
): Promise<Map<string, string[]> | undefined> {
  let g;
  try {
    g = await groupAssignments(bus, groupId);
  } catch {
    return undefined;
  }
  if (g.state !== 'Stable' || g.members.size !== memberCount) return undefined;
  const all = [...g.members.values()].flat();
  if ([...g.members.values()].some((parts) => parts.length === 0)) return undefined;
  if (new Set(all).size !== all.length) return undefined;
  if (all.length !== expected.length || !expected.every((p) => all.includes(p))) return undefined;
  return g.members;
}

/** Committed offset of a group for a partition, as the broker stores it (undefined if none). */
export function committedOffset(bus: EmbeddedBus, groupId: string, topic: string, partition: number): number | undefined {
  return bus.groups.fetchOffset(groupId, topic, partition)?.offset;
}

/** Compression codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) of every stored batch of a partition, in order. */
export function storedBatchCodecs(bus: EmbeddedBus, topic: string, partition: number): number[] {
  const { batches } = bus.log.read(topic, partition, 0, 64 * 1024 * 1024);
  const codecs: number[] = [];
  for (let pos = 0; pos + 61 <= batches.length; ) {
    const batchLength = batches.readInt32BE(pos + 8);
    codecs.push(batches.readInt16BE(pos + 21) & 0x07);
    pos += 12 + batchLength;
  }
  return codecs;
}
