/**
 * The log: topics and their partitions in one data directory.
 *
 *   <dataDir>/tributary.lock                  owner pid (one process per directory)
 *   <dataDir>/log/checkpoints.json            per partition: recovery point, log start offset
 *   <dataDir>/log/topics/<topic>/topic.json   id, config (written atomically)
 *   <dataDir>/log/topics/<topic>/<p>/<base>.log|.index
 *   <dataDir>/log/trash/                      deleted topics, removed in the background
 *
 * A topic directory without topic.json is a creation that never completed: recovery removes
 * it. Checkpoints are written atomically (temp → fsync → rename → fsync dir) periodically and
 * on close; a missing or stale recovery point only means more validation at the next start.
 */
import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { FileSystem } from './fs/file-system.ts';
import { joinPath, mkdirpDurable, writeFileAtomic } from './fs/file-system.ts';
import { NodeFileSystem } from './fs/node-file-system.ts';
import { encodeRecordBatch } from './batch/record-batch.ts';
import { DataDirLock } from './data-dir-lock.ts';
import { LogError, storageError } from './errors.ts';
import { noopLogMetrics, type LogMetrics } from './metrics.ts';
import { PartitionLog, type ReadRecordsResult, type RecoveryReport } from './partition/partition-log.ts';
import type { ProducerSnapshot } from './partition/producer-state.ts';
import type { TxnSnapshot } from './partition/txn-index.ts';
import { resolveTopicConfig, validateTopicName } from './topic-config.ts';
import { applyRetention } from './cleaner/retention.ts';
import { compactPartition } from './cleaner/compactor.ts';
import {
  DEFAULT_TOPIC_CONFIG,
  type AppendResult,
  type ProduceRecord,
  type ReadResult,
  type TopicConfig,
  type TopicDescription,
} from './types.ts';

export interface LogOptions {
  dataDir: string;
  fs?: FileSystem;
  logger?: Logger;
  metrics?: LogMetrics;
  clock?: () => number;
  defaultTopicConfig?: Partial<TopicConfig>;
  /** Create unknown topics on first produce/metadata request (Kafka's auto.create.topics.enable). */
  autoCreateTopics?: boolean;
  /** Take the data-directory lock (default: true with the real file system). */
  lock?: boolean;
  /** Retention, compaction and checkpoints run this often (ms); 0 disables the background loop. */
  maintenanceIntervalMs?: number;
}

interface TopicState {
  id: string;
  name: string;
  internal: boolean;
  config: TopicConfig;
  partitions: PartitionLog[];
  dir: string;
}

interface CheckpointEntry {
  recoveryPoint: number;
  logStartOffset: number;
  /** Idempotent-producer state as of the recovery point. */
  producers?: ProducerSnapshot;
  /** Open and aborted transactions as of the recovery point. */
  txns?: TxnSnapshot;
}

/** Producer ids idle this long are forgotten (Kafka's producer.id.expiration.ms is one day). */
const PRODUCER_EXPIRY_MS = 7 * 24 * 3600 * 1000;

export class Log {
  readonly dataDir: string;
  readonly fs: FileSystem;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly defaults: TopicConfig;
  readonly autoCreateTopics: boolean;
  private readonly metrics: LogMetrics;
  private readonly topics = new Map<string, TopicState>();
  /** Names whose deletion is still moving files: not available for a new topic yet. */
  private readonly deleting = new Set<string>();
  private readonly topicsDir: string;
  private readonly trashDir: string;
  private readonly checkpointPath: string;
  private lock: DataDirLock | null = null;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private maintenanceRunning: Promise<void> | null = null;
  private checkpointWrite: Promise<void> = Promise.resolve();
  private closed = false;
  /** Partitions recovered at open, for tests and the startup log line. */
  recovery: Array<{ topic: string; partition: number } & RecoveryReport> = [];

  private constructor(opts: LogOptions) {
    this.dataDir = opts.dataDir.replace(/\/+$/, '') || '/';
    this.fs = opts.fs ?? new NodeFileSystem();
    this.logger = opts.logger ?? pino({ level: 'silent' });
    this.metrics = opts.metrics ?? noopLogMetrics;
    this.clock = opts.clock ?? Date.now;
    this.defaults = resolveTopicConfig(opts.defaultTopicConfig, DEFAULT_TOPIC_CONFIG);
    this.autoCreateTopics = opts.autoCreateTopics ?? false;
    this.topicsDir = joinPath(this.dataDir, 'log', 'topics');
    this.trashDir = joinPath(this.dataDir, 'log', 'trash');
    this.checkpointPath = joinPath(this.dataDir, 'log', 'checkpoints.json');
  }

  static async open(opts: LogOptions): Promise<Log> {
    const log = new Log(opts);
    try {
      await mkdirpDurable(log.fs, log.dataDir);
      if (opts.lock ?? !opts.fs) log.lock = DataDirLock.acquire(log.dataDir);
      await log.load();
    } catch (err) {
      log.lock?.release();
      if (err instanceof LogError) throw err;
      throw storageError(err, `opening data directory ${log.dataDir}`);
    }
    const interval = opts.maintenanceIntervalMs ?? 30_000;
    if (interval > 0) {
      log.maintenanceTimer = setInterval(() => void log.runMaintenance().catch((err) => log.logger.error({ err }, 'log maintenance failed')), interval);
      log.maintenanceTimer.unref();
    }
    return log;
  }

  private async load(): Promise<void> {
    const { fs } = this;
    await mkdirpDurable(fs, this.topicsDir);
    await mkdirpDurable(fs, this.trashDir);
    for (const name of fs.readdir(this.trashDir)) fs.rmrf(joinPath(this.trashDir, name));
    const checkpoints = this.readCheckpoints();
    for (const name of fs.readdir(this.topicsDir).sort()) {
      const dir = joinPath(this.topicsDir, name);
      if (!fs.isDirectory(dir)) continue;
      const metaPath = joinPath(dir, 'topic.json');
      if (!fs.exists(metaPath)) {
        this.logger.warn({ topic: name }, 'removing a topic whose creation never completed');
        fs.rmrf(dir);
        await fs.syncDir(this.topicsDir);
        continue;
      }
      const meta = JSON.parse(fs.readFile(metaPath).toString('utf8')) as { id: string; name: string; internal?: boolean; config: TopicConfig };
      const state: TopicState = {
        id: meta.id,
        name: meta.name,
        internal: meta.internal ?? false,
        config: resolveTopicConfig(meta.config, this.defaults),
        partitions: [],
        dir,
      };
      for (let p = 0; p < state.config.partitions; p++) {
        const pdir = joinPath(dir, String(p));
        if (!fs.exists(pdir)) {
          fs.mkdirp(pdir);
          await fs.syncDir(dir);
        }
        const cp = checkpoints.get(`${state.id}/${p}`);
        const { log, report } = await PartitionLog.open(this.partitionContext(state, p), {
          recoveryPoint: cp?.recoveryPoint ?? null,
          logStartOffset: cp?.logStartOffset ?? null,
          producers: cp?.producers,
          txns: cp?.txns,
        });
        state.partitions.push(log);
        if (report.truncatedBytes > 0 || report.removedSegments > 0) this.recovery.push({ topic: name, partition: p, ...report });
      }
      this.topics.set(name, state);
    }
  }

  private partitionContext(state: TopicState, p: number) {
    return {
      fs: this.fs,
      dir: joinPath(state.dir, String(p)),
      topic: state.name,
      partition: p,
      config: () => state.config,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      persistLogStartOffset: () => this.writeCheckpoints(),
    };
  }

  private readCheckpoints(): Map<string, CheckpointEntry> {
    const out = new Map<string, CheckpointEntry>();
    if (!this.fs.exists(this.checkpointPath)) return out;
    try {
      const data = JSON.parse(this.fs.readFile(this.checkpointPath).toString('utf8')) as { partitions: Record<string, CheckpointEntry> };
      for (const [k, v] of Object.entries(data.partitions)) out.set(k, v);
    } catch (err) {
      // Written atomically, so this means outside damage: fall back to validating everything.
      this.logger.warn({ err }, 'checkpoint file unreadable; validating every segment');
    }
    return out;
  }

  /** Writes recovery points (durable offsets) and log start offsets atomically; calls are serialized. */
  writeCheckpoints(): Promise<void> {
    const next = this.checkpointWrite.then(async () => {
      const partitions: Record<string, CheckpointEntry> = {};
      for (const t of this.topics.values()) {
        for (const p of t.partitions) {
          const recoveryPoint = p.durableOffset;
          const producers = p.producers.size > 0 ? p.producers.snapshot(recoveryPoint, this.clock() - PRODUCER_EXPIRY_MS) : undefined;
          const txns = p.txns.empty ? undefined : p.txns.snapshot(recoveryPoint, p.logStartOffset);
          partitions[`${t.id}/${p.partition}`] = { recoveryPoint, logStartOffset: p.logStartOffset, producers, txns };
        }
      }
      await writeFileAtomic(this.fs, this.checkpointPath, Buffer.from(JSON.stringify({ version: 1, partitions })));
    });
    this.checkpointWrite = next.catch(() => {});
    return next;
  }

  // ---- topics -------------------------------------------------------------------------

  async createTopic(name: string, config?: Partial<TopicConfig>, opts: { internal?: boolean } = {}): Promise<TopicDescription> {
    this.assertOpen();
    validateTopicName(name);
    if (name.startsWith('__') && !opts.internal) {
      throw new LogError('TOPIC_NAME_INVALID', `topic names starting with "__" are reserved for internal topics: "${name}"`);
    }
    if (this.topics.has(name)) throw new LogError('TOPIC_EXISTS', `topic ${name} already exists`);
    if (this.deleting.has(name)) throw new LogError('TOPIC_EXISTS', `topic ${name} is marked for deletion`);
    const resolved = resolveTopicConfig(config, this.defaults);
    const dir = joinPath(this.topicsDir, name);
    const state: TopicState = { id: randomUUID(), name, internal: opts.internal ?? false, config: resolved, partitions: [], dir };
    // Reserve the name before the first await so concurrent creates of the same name fail.
    this.topics.set(name, state);
    try {
      this.fs.mkdirp(dir);
      for (let p = 0; p < resolved.partitions; p++) this.fs.mkdirp(joinPath(dir, String(p)));
      await this.writeTopicMeta(state);
      await this.fs.syncDir(this.topicsDir);
      for (let p = 0; p < resolved.partitions; p++) {
        const { log } = await PartitionLog.open(this.partitionContext(state, p), { recoveryPoint: null, logStartOffset: null });
        state.partitions.push(log);
      }
    } catch (err) {
      this.topics.delete(name);
      for (const p of state.partitions) await p.abandon();
      throw err instanceof LogError ? err : storageError(err, `creating topic ${name}`);
    }
    this.logger.info({ topic: name, partitions: resolved.partitions }, 'topic created');
    return this.describeTopic(name);
  }

  private async writeTopicMeta(state: TopicState): Promise<void> {
    const meta = { id: state.id, name: state.name, internal: state.internal, config: state.config };
    await writeFileAtomic(this.fs, joinPath(state.dir, 'topic.json'), Buffer.from(JSON.stringify(meta, null, 2)));
  }

  /** Topic deletions and their background file removal, so close() can wait for them. */
  private readonly deletions = new Set<Promise<unknown>>();

  private track<T>(work: Promise<T>): Promise<T> {
    const settled = work.catch(() => {});
    this.deletions.add(settled);
    void settled.then(() => this.deletions.delete(settled));
    return work;
  }

  deleteTopic(name: string): Promise<void> {
    this.assertOpen();
    return this.track(this.deleteTopicFiles(name));
  }

  private async deleteTopicFiles(name: string): Promise<void> {
    const state = this.requireTopic(name);
    this.topics.delete(name);
    this.deleting.add(name);
    const trash = joinPath(this.trashDir, `${name}-${state.id}`);
    try {
      for (const p of state.partitions) await p.abandon();
      this.fs.rename(state.dir, trash);
      await this.fs.syncDir(this.topicsDir);
      await this.fs.syncDir(this.trashDir);
    } catch (err) {
      throw storageError(err, `deleting topic ${name}`);
    } finally {
      this.deleting.delete(name);
    }
    // Removal of the files is not needed for correctness; do it off the request path.
    const removed = this.fs.rmrfAsync
      ? this.fs.rmrfAsync(trash)
      : new Promise<void>((resolve, reject) =>
          setImmediate(() => {
            try {
              this.fs.rmrf(trash);
              resolve();
            } catch (err) {
              reject(err);
            }
          }),
        );
    this.track(removed).catch((err: unknown) => this.logger.warn({ err, trash }, 'could not remove deleted topic files (removed at next start)'));
    this.logger.info({ topic: name }, 'topic deleted');
  }

  /** Partition additions per topic, one at a time (two at once would open one directory twice). */
  private readonly growing = new Map<string, Promise<unknown>>();

  addPartitions(name: string, total: number): Promise<TopicDescription> {
    const prev = this.growing.get(name) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(() => this.addPartitionsNow(name, total));
    const settled = next.catch(() => {});
    this.growing.set(name, settled);
    void settled.then(() => {
      if (this.growing.get(name) === settled) this.growing.delete(name);
    });
    return next;
  }

  private async addPartitionsNow(name: string, total: number): Promise<TopicDescription> {
    this.assertOpen();
    const state = this.requireTopic(name);
    const current = state.partitions.length;
    if (!Number.isInteger(total) || total <= current) {
      throw new LogError('PARTITIONS_INVALID', `topic ${name} has ${current} partitions; the new count must be larger, got ${total}`);
    }
    const config = resolveTopicConfig({ ...state.config, partitions: total }, this.defaults);
    for (let p = current; p < total; p++) this.fs.mkdirp(joinPath(state.dir, String(p)));
    await this.fs.syncDir(state.dir);
    state.config = config;
    await this.writeTopicMeta(state);
    for (let p = current; p < total; p++) {
      // Deleted meanwhile: its directory went to the trash; do not open partitions there.
      if (this.topics.get(name) !== state) throw unknownTopic(name);
      const { log } = await PartitionLog.open(this.partitionContext(state, p), { recoveryPoint: null, logStartOffset: null });
      state.partitions.push(log);
    }
    return this.describeTopic(name);
  }

  async alterTopicConfig(name: string, changes: Partial<TopicConfig>): Promise<TopicDescription> {
    this.assertOpen();
    const state = this.requireTopic(name);
    if (changes.partitions !== undefined && changes.partitions !== state.config.partitions) {
      throw new LogError('TOPIC_CONFIG_INVALID', 'partitions cannot be altered as a config; use addPartitions');
    }
    state.config = resolveTopicConfig({ ...state.config, ...changes }, this.defaults);
    await this.writeTopicMeta(state);
    for (const p of state.partitions) p.configChanged();
    return this.describeTopic(name);
  }

  hasTopic(name: string): boolean {
    return this.topics.has(name);
  }

  topicNames(opts: { includeInternal?: boolean } = {}): string[] {
    return [...this.topics.values()].filter((t) => opts.includeInternal || !t.internal).map((t) => t.name).sort();
  }

  listTopics(opts: { includeInternal?: boolean } = {}): TopicDescription[] {
    return this.topicNames(opts).map((n) => this.describeTopic(n));
  }

  describeTopic(name: string): TopicDescription {
    const t = this.requireTopic(name);
    return { name: t.name, internal: t.internal, config: { ...t.config }, partitions: t.partitions.map((p) => p.describe()) };
  }

  /** The topic's UUID (Kafka topic id), stable for the topic's life; a re-created topic gets a new one. */
  topicId(name: string): string {
    return this.requireTopic(name).id;
  }

  topicNameById(id: string): string | undefined {
    for (const t of this.topics.values()) if (t.id === id) return t.name;
    return undefined;
  }

  isInternal(name: string): boolean {
    return this.requireTopic(name).internal;
  }

  topicConfig(name: string): TopicConfig {
    return this.requireTopic(name).config;
  }

  partitionCount(name: string): number {
    return this.requireTopic(name).partitions.length;
  }

  /** Looks a topic up, creating it with defaults when auto-create is on. */
  async ensureTopic(name: string): Promise<void> {
    if (this.topics.has(name)) return;
    if (!this.autoCreateTopics) throw unknownTopic(name);
    try {
      await this.createTopic(name);
    } catch (err) {
      if (!(err instanceof LogError && err.code === 'TOPIC_EXISTS')) throw err;
    }
  }

  private requireTopic(name: string): TopicState {
    const t = this.topics.get(name);
    if (!t) throw unknownTopic(name);
    return t;
  }

  partition(topic: string, partition: number): PartitionLog {
    const t = this.requireTopic(topic);
    const p = t.partitions[partition];
    if (!p) {
      throw new LogError('PARTITION_UNKNOWN', `topic ${topic} has no partition ${partition} (it has ${t.partitions.length}: 0..${t.partitions.length - 1})`);
    }
    return p;
  }

  // ---- data ---------------------------------------------------------------------------

  /** Appends client-encoded record batches (validated, CRC checked). */
  async append(topic: string, partition: number, batches: Buffer): Promise<AppendResult> {
    return this.partition(topic, partition).append(batches);
  }

  /** Encodes records into one batch and appends it. */
  async appendRecords(topic: string, partition: number, records: ProduceRecord[]): Promise<AppendResult> {
    const p = this.partition(topic, partition);
    return p.append(encodeRecordBatch(records, { now: this.clock() }), { trusted: true });
  }

  read(topic: string, partition: number, offset: number, maxBytes: number): ReadResult {
    return this.partition(topic, partition).read(offset, maxBytes);
  }

  readRecords(topic: string, partition: number, offset: number, opts: { maxRecords?: number; maxBytes?: number } = {}): ReadRecordsResult {
    return this.partition(topic, partition).readRecords(offset, opts.maxRecords ?? 10_000, opts.maxBytes ?? 4 * 1024 * 1024);
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    return this.partition(topic, partition).deleteRecordsBefore(offset);
  }

  // ---- maintenance ----------------------------------------------------------------------

  /** One pass of retention, compaction and checkpointing over every partition. */
  runMaintenance(): Promise<void> {
    if (this.maintenanceRunning) return this.maintenanceRunning;
    this.maintenanceRunning = (async () => {
      try {
        for (const t of [...this.topics.values()]) {
          for (const p of t.partitions) {
            if (this.closed || !this.topics.has(t.name)) break;
            if (t.config.cleanupPolicy.includes('compact')) await compactPartition(p, this.clock(), this.logger, this.metrics);
            await applyRetention(p, t.config, this.clock());
          }
        }
        if (!this.closed) await this.writeCheckpoints();
      } finally {
        this.maintenanceRunning = null;
      }
    })();
    return this.maintenanceRunning;
  }

  private assertOpen(): void {
    if (this.closed) throw new LogError('LOG_CLOSED', 'the log is closed');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    await this.maintenanceRunning?.catch(() => {});
    await Promise.all(this.deletions);
    let firstError: unknown = null;
    for (const t of this.topics.values()) {
      for (const p of t.partitions) {
        try {
          await p.close();
        } catch (err) {
          firstError ??= err;
        }
      }
    }
    try {
      await this.writeCheckpoints();
    } catch (err) {
      firstError ??= err;
    }
    this.lock?.release();
    if (firstError) throw firstError;
  }
}

function unknownTopic(name: string): LogError {
  return new LogError('TOPIC_UNKNOWN', `topic ${name} does not exist: create it first (tributary topics create ${name}) or enable autoCreateTopics`);
}
