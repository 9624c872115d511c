/**
 * Tributary as a separate process, the way a user runs it: `node bin/tributary.js up` with its
 * own data directory under bench/.work/ and free loopback ports, default durability (topics
 * acknowledge after fsync, group commit). Ready when it prints `tributary ready http=… kafka=…`;
 * stopped with SIGTERM (clean shutdown). Always call `stop()` (in a `finally`); the process
 * registry in ../process.ts also kills it if the bench dies.
 *
 * It runs with the bench's work directory as its cwd, so a `tributary.config.ts` in the
 * repository never changes what is measured.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Kafka from 'node-rdkafka';
import { freePort, startProcess, type PeerProcess } from '../process.ts';
import { makeWorkDir, removeWorkDir, repoRoot } from '../workdir.ts';

export interface TributaryPeer {
  /** `host:port` of the Kafka listener. */
  readonly kafka: string;
  readonly kafkaPort: number;
  readonly httpUrl: string;
  readonly pid: number;
  readonly dir: string;
  readonly process: PeerProcess;
  /** User + system CPU seconds the broker process has used so far. */
  cpuSeconds(): number;
  /** Group commits (fdatasync rounds) so far, from the broker's /metrics. */
  groupCommits(): Promise<GroupCommits>;
  stop(): Promise<void>;
}

export interface GroupCommits {
  count: number;
  /** Summed duration, seconds. */
  seconds: number;
  /** Bytes of record batches appended so far (all topics). */
  appendedBytes: number;
}

/** Reads the log's group-commit histogram and appended-bytes counters from Prometheus text. */
export function parseGroupCommits(text: string): GroupCommits {
  const value = (re: RegExp): number => {
    let total = 0;
    for (const m of text.matchAll(re)) total += Number(m[1]);
    return total;
  };
  return {
    count: value(/^tributary_log_fsync_duration_seconds_count(?:\{[^}]*\})? (\S+)$/gm),
    seconds: value(/^tributary_log_fsync_duration_seconds_sum(?:\{[^}]*\})? (\S+)$/gm),
    appendedBytes: value(/^tributary_log_appended_bytes_total(?:\{[^}]*\})? (\S+)$/gm),
  };
}

const CLOCK_TICKS = 100; // _SC_CLK_TCK on Linux

/** utime + stime of a live process, in seconds (/proc/<pid>/stat); NaN when unavailable. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

export async function startTributary(): Promise<TributaryPeer> {
  const dir = makeWorkDir('tributary');
  let proc: PeerProcess | null = null;
  try {
    const [httpPort, kafkaPort] = [await freePort(), await freePort()];
    proc = startProcess(
      process.execPath,
      [path.join(repoRoot, 'bin', 'tributary.js'), 'up', '--data-dir', path.join(dir, 'data'), '--http-port', String(httpPort), '--kafka-port', String(kafkaPort), '--log-format', 'json'],
      { cwd: dir },
    );
    await proc.waitFor(/tributary ready http=\S+ kafka=\S+/, 30_000);
    const m = /tributary ready http=(\S+) kafka=(\S+)/.exec(proc.output())!;
    const p = proc;
    const pid = p.child.pid!;
    return {
      kafka: m[2]!,
      kafkaPort,
      httpUrl: m[1]!,
      pid,
      dir,
      process: p,
      cpuSeconds: () => processCpuSeconds(pid),
      async groupCommits() {
        const res = await fetch(`${m[1]!.replace(/\/$/, '')}/metrics`);
        if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
        return parseGroupCommits(await res.text());
      },
      async stop() {
        await p.stop(15_000);
        removeWorkDir(dir);
      },
    };
  } catch (err) {
    await proc?.stop();
    removeWorkDir(dir);
    throw err;
  }
}

/** Creates a topic through the Kafka protocol (CreateTopics) with librdkafka's admin client. */
export async function createKafkaTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': bootstrap, 'client.id': 'tributary-bench-admin' });
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 10_000, (err) => (err ? reject(new Error(`CreateTopics ${topic}: ${err.message}`)) : resolve())),
    );
  } finally {
    admin.disconnect();
  }
}
