/**
 * Runs one stream app on a bus: the I/O side of the tasks.
 *
 * States: starting → (waiting: a source topic is missing) → running → stopping → stopped;
 * any unexpected error → error, then the instance restarts itself after a backoff (all tasks
 * are dropped and rebuilt from their changelogs: crash-only recovery). `onError: 'stop'` on a
 * bad record → failed (no restart).
 *
 * One consumer (group = app id) per instance subscribes to every source topic, so several
 * processes running the same app share its partitions; a task exists for each assigned
 * partition of a sub-topology. A task's records of one poll are processed in timestamp order
 * across its partitions (so co-partitioned inputs interleave by time).
 *
 * Commit (every `commitIntervalMs`):
 * - exactly_once (embedded log): each task has its own transactional producer
 *   (`<app>-<task>`), created — fencing any zombie of a previous owner — before its state is
 *   restored. Outputs, internal-topic records, changelog records, its watermark state and the
 *   input offsets are written in one transaction; consumers read `read_committed`.
 * - at_least_once (external clusters, or chosen): outputs and changelogs are sent and
 *   acknowledged first, then the offsets are committed; a crash in between replays records.
 *
 * After a commit the changed store rows are remembered and written to the local snapshot every
 * `snapshotIntervalMs`; a new task loads its snapshot and reads only the changelog after it.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, BusConsumer, BusProducer, ProducerRecord, RecordMetadata, TopicPartition, TransactionalProducer } from '../../bus/types.ts';
import { counter, gauge } from '../../monitor/metrics.ts';
import { partitionForKey } from '../../bus/partitioner.ts';
import { StreamsError, errorMessage } from '../errors.ts';
import { SnapshotStore } from '../state/snapshot.ts';
import { resolvePartitions, type Topology } from '../topology.ts';
import type { WatermarkState } from '../watermarks.ts';
import { StreamTask, isWatermarkMarker, type ErrorPolicy, type RawRecord } from './task.ts';

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once';
export type AppState = 'starting' | 'waiting' | 'running' | 'error' | 'failed' | 'stopping' | 'stopped';

export interface RunnerOptions {
  /** Default: exactly_once on the embedded bus, at_least_once on an external cluster. */
  processingGuarantee?: ProcessingGuarantee;
  commitIntervalMs?: number;
  onError?: ErrorPolicy;
  deadLetterTopic?: string;
  idleMs?: number;
  maxFutureMs?: number;
  /** Event times further behind the clock are dead-lettered (default: no limit). */
  maxPastMs?: number;
  snapshotIntervalMs?: number;
  /** Folder of the local snapshots (null: no snapshots, restore from changelogs only). */
  stateDir: string | null;
  maxPollRecords?: number;
  /** Commit early once this many records wait in the buffers. */
  maxBufferedRecords?: number;
  logger?: Logger;
  registry?: Registry;
  /** Wall clock (tests). */
  now?: () => number;
  /** Consumer session timeout (default 10 s). */
  sessionTimeoutMs?: number;
}

interface TaskRuntime {
  task: StreamTask;
  tx: TransactionalProducer | null;
  /** Changelog rows committed since the last snapshot, per store. */
  pendingSnapshot: Map<string, Map<string, Buffer | null>>;
  /** Next changelog offset per store after the last commit. */
  changelogEnd: Map<string, number>;
}

const SEND_CHUNK_BYTES = 512 * 1024;
const SEND_CHUNK_RECORDS = 1_000;

function metrics(registry: Registry | undefined) {
  if (!registry) return null;
  return {
    processed: counter(registry, { name: 'tributary_streams_records_processed_total', help: 'Records processed by stream apps.', labelNames: ['app'] }),
    deadLettered: counter(registry, { name: 'tributary_streams_records_dead_lettered_total', help: 'Records sent to the dead-letter topic, by error code.', labelNames: ['app', 'code'] }),
    late: counter(registry, { name: 'tributary_streams_records_late_total', help: 'Records that arrived after their window closed (sent to the side output).', labelNames: ['app', 'operator'] }),
    commits: counter(registry, { name: 'tributary_streams_commits_total', help: 'Task commits (transactions under exactly-once).', labelNames: ['app'] }),
    errors: counter(registry, { name: 'tributary_streams_errors_total', help: 'Errors that restarted or stopped a stream app instance.', labelNames: ['app', 'code'] }),
    restored: counter(registry, { name: 'tributary_streams_restored_records_total', help: 'Changelog and snapshot records applied while restoring state.', labelNames: ['app', 'source'] }),
    tasks: gauge(registry, { name: 'tributary_streams_tasks', help: 'Tasks running in this process.', labelNames: ['app'] }),
  };
}

export class StreamAppRunner {
  readonly appId: string;
  state: AppState = 'starting';
  detail = '';
  lastError: { code: string; message: string; at: string } | null = null;
  private readonly tasks = new Map<string, TaskRuntime>();
  private consumer: BusConsumer | null = null;
  private producer: BusProducer | null = null;
  private snapshots: SnapshotStore | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private partitionsOf = new Map<string, number>();
  /** Partition counts of the topics this app writes (read when it starts). */
  private topicPartitions = new Map<string, number>();
  private keylessTurn = 0;
  private taskCounts = new Map<number, number>();
  private readonly guarantee: ProcessingGuarantee;
  private readonly opts: Required<Omit<RunnerOptions, 'logger' | 'registry' | 'stateDir' | 'processingGuarantee' | 'deadLetterTopic'>> & { deadLetterTopic: string };
  private readonly m: ReturnType<typeof metrics>;
  private lastSnapshot = 0;
  private subOf: Map<string, number> | null = null;
  private restarts = 0;
  readonly totals = { processed: 0, deadLettered: 0, late: 0, commits: 0 };
  /** Milliseconds the run loop spent waiting for polls, processing records and waiting for commits (profiling). */
  readonly timing = { poll: 0, process: 0, commitWait: 0, txSend: 0, txOffsets: 0, txCommit: 0 };
  /** Records applied while restoring state, by source (cumulative). */
  readonly restored = { snapshot: 0, changelog: 0 };

  constructor(
    private readonly bus: Bus,
    readonly topology: Topology,
    private readonly runOpts: RunnerOptions,
  ) {
    this.appId = topology.appId;
    const wanted = runOpts.processingGuarantee ?? (bus.kind === 'embedded' ? 'exactly_once' : 'at_least_once');
    if (wanted === 'exactly_once' && bus.kind !== 'embedded') {
      throw new StreamsError('GUARANTEE_UNSUPPORTED', `app ${this.appId}: exactly_once needs the embedded log; on an external Kafka cluster stream apps run at_least_once (transactions are not supported there)`);
    }
    this.guarantee = wanted;
    this.opts = {
      commitIntervalMs: runOpts.commitIntervalMs ?? 100,
      onError: runOpts.onError ?? 'dead-letter',
      deadLetterTopic: runOpts.deadLetterTopic ?? `${this.appId}-dlq`,
      idleMs: runOpts.idleMs ?? 5_000,
      maxFutureMs: runOpts.maxFutureMs ?? 24 * 3600_000,
      maxPastMs: runOpts.maxPastMs ?? Infinity,
      snapshotIntervalMs: runOpts.snapshotIntervalMs ?? 10_000,
      maxPollRecords: runOpts.maxPollRecords ?? 5_000,
      maxBufferedRecords: runOpts.maxBufferedRecords ?? 50_000,
      now: runOpts.now ?? Date.now,
      sessionTimeoutMs: runOpts.sessionTimeoutMs ?? 10_000,
    };
    this.m = metrics(runOpts.registry);
  }

  get processingGuarantee(): ProcessingGuarantee {
    return this.guarantee;
  }

  private get log(): Logger | undefined {
    return this.runOpts.logger;
  }

  get watermarkTopic(): string {
    return `${this.appId}-watermarks`;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.supervise();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.state = 'stopping';
    this.wake?.();
    await this.loop;
    this.loop = null;
    this.state = 'stopped';
  }

  /** Resolves once the instance runs with its tasks restored (or rejects if it failed). */
  async waitUntilRunning(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.state !== 'running') {
      if (this.state === 'failed') throw new StreamsError('APP_STOPPED', `app ${this.appId} failed: ${this.lastError?.message ?? ''}`);
      if (Date.now() > deadline) throw new StreamsError('APP_STOPPED', `app ${this.appId} is not running after ${timeoutMs} ms (state ${this.state} ${this.detail})`);
      await sleep(20);
    }
  }

  private async supervise(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.runOnce();
        if (this.stopping) break;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'INTERNAL';
        this.lastError = { code, message: errorMessage(err), at: new Date().toISOString() };
        this.m?.errors.inc({ app: this.appId, code });
        await this.teardown(false);
        if (code === 'APP_STOPPED') {
          this.state = 'failed';
          this.detail = errorMessage(err);
          this.log?.error({ app: this.appId, err }, 'stream app stopped on a record it could not process (onError: stop)');
          return;
        }
        this.state = 'error';
        this.detail = errorMessage(err);
        const backoff = Math.min(30_000, 250 * 2 ** Math.min(this.restarts++, 7));
        this.log?.warn({ app: this.appId, err, backoffMs: backoff }, 'stream app instance failed; restarting it');
        await this.sleepUnlessStopped(backoff);
      }
    }
    await this.teardown(true);
  }

  private sleepUnlessStopped(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Source topics that exist, or waits (state `waiting`) until they do. */
  private async prepareTopics(): Promise<void> {
    const admin = this.bus.admin();
    for (;;) {
      const all = new Map((await admin.listTopics({ includeInternal: true })).map((t) => [t.name, t.partitions.length]));
      const userSources = [...new Set(this.topology.subtopologies.flatMap((s) => s.sourceTopics))].filter((t) => !this.topology.internalTopics.has(t));
      const missing = userSources.filter((t) => !all.has(t));
      if (missing.length === 0) {
        this.topicPartitions = new Map(all);
        const known = new Map(userSources.map((t) => [t, all.get(t)!]));
        for (const t of this.topology.internalTopics.keys()) if (all.has(t)) known.set(t, all.get(t)!);
        const { topics, tasks } = resolvePartitions(this.topology, known);
        this.partitionsOf = topics;
        this.taskCounts = tasks;
        const create = async (name: string, config: Parameters<typeof admin.createTopic>[1]) => {
          if (all.has(name)) return;
          this.topicPartitions.delete(name);
          try {
            await admin.createTopic(name, config);
          } catch (err) {
            if ((err as { code?: string }).code !== 'TOPIC_EXISTS') throw err;
          }
        };
        for (const spec of this.topology.internalTopics.values()) await create(spec.name, { partitions: topics.get(spec.name)! });
        for (const sub of this.topology.subtopologies) {
          for (const store of sub.stores) {
            const spec = this.topology.stores.get(store)!;
            await create(spec.changelogTopic, { partitions: tasks.get(sub.id)!, cleanupPolicy: 'compact', retentionMs: null });
          }
        }
        // Output topics that do not exist yet get as many partitions as the tasks writing them.
        for (const sub of this.topology.subtopologies) {
          for (const i of sub.nodes) {
            const node = this.topology.nodes[i]!;
            if (node.kind === 'sink') for (const t of node.sinks ?? []) await create(t, { partitions: tasks.get(sub.id)! });
          }
        }
        await create(this.watermarkTopic, { partitions: 1, cleanupPolicy: 'compact', retentionMs: null });
        await create(this.opts.deadLetterTopic, { partitions: 1 });
        for (const t of this.topology.sideOutputs) await create(t, { partitions: 1 });
        return;
      }
      if (this.state !== 'waiting') {
        this.log?.warn({ app: this.appId, missing }, 'stream app waits for its source topics to be created');
        this.m?.errors.inc({ app: this.appId, code: 'SOURCE_TOPIC_MISSING' });
        this.lastError = { code: 'SOURCE_TOPIC_MISSING', message: `source topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing: create ${missing.length > 1 ? 'them' : 'it'} (tributary topics create …)`, at: new Date().toISOString() };
      }
      this.state = 'waiting';
      this.detail = `waiting for source topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
      await this.sleepUnlessStopped(1000);
      if (this.stopping) return;
    }
  }

  private async runOnce(): Promise<void> {
    this.state = 'starting';
    this.detail = '';
    await this.prepareTopics();
    if (this.stopping) return;
    if (this.runOpts.stateDir && !this.snapshots) this.snapshots = new SnapshotStore(path.join(this.runOpts.stateDir, this.appId));
    const consumer = this.bus.consumer({
      groupId: this.appId,
      clientId: `${this.appId}-streams`,
      fromBeginning: true,
      isolationLevel: 'read_committed',
      maxPollRecords: this.opts.maxPollRecords,
      sessionTimeoutMs: this.opts.sessionTimeoutMs,
    });
    this.consumer = consumer;
    const topics = [...new Set(this.topology.subtopologies.flatMap((s) => s.sourceTopics))];
    await consumer.subscribe(topics);
    if (this.guarantee === 'at_least_once') this.producer = this.bus.producer({ lingerMs: 1 });
    await this.syncTasks();
    this.state = 'running';
    this.detail = '';
    let lastCommit = this.opts.now();
    let lastPunctuate = this.opts.now();
    while (!this.stopping) {
      let t0 = performance.now();
      const records = await consumer.poll({ timeoutMs: Math.max(10, Math.min(200, this.opts.commitIntervalMs)) });
      let t1 = performance.now();
      this.timing.poll += t1 - t0;
      await this.syncTasks();
      t0 = performance.now();
      const fed = records.length > 0 ? this.processBatch(records as RawRecord[]) : new Set<string>();
      t1 = performance.now();
      this.timing.process += t1 - t0;
      const now = this.opts.now();
      if (now - lastPunctuate >= 100) {
        lastPunctuate = now;
        for (const [id, t] of this.tasks) t.task.punctuate(!fed.has(id));
      }
      let pending = 0;
      for (const t of this.tasks.values()) pending += t.task.pending;
      // A failed commit restarts the instance (its tasks restore from their changelogs).
      if (this.commitError) await this.awaitCommit();
      const due = now - lastCommit >= this.opts.commitIntervalMs;
      const full = pending >= this.opts.maxBufferedRecords;
      if (this.guarantee === 'at_least_once') {
        // (Group offsets must be committed before the next poll may rebalance.)
        if (due || full) {
          lastCommit = now;
          await this.commit();
        }
      } else if ((due && !this.commitInFlight) || full) {
        // One commit at a time: it took its records and offsets when it began, and the records
        // processed meanwhile go into the next one. Processing waits only when the buffers are full.
        t0 = performance.now();
        await this.awaitCommit();
        this.timing.commitWait += performance.now() - t0;
        lastCommit = this.opts.now();
        this.commitInFlight = true;
        this.inflightCommit = this.commit().then(
          () => {
            this.restarts = 0;
            this.commitInFlight = false;
          },
          (err: unknown) => {
            this.commitError = err;
            this.commitInFlight = false;
          },
        );
      }
    }
    await this.awaitCommit();
    await this.commit();
  }

  private inflightCommit: Promise<void> | null = null;
  private commitInFlight = false;
  private commitError: unknown = null;

  private async awaitCommit(): Promise<void> {
    if (this.inflightCommit) await this.inflightCommit;
    this.inflightCommit = null;
    if (this.commitError) {
      const err = this.commitError;
      this.commitError = null;
      throw err;
    }
  }

  /** Creates tasks for newly assigned partitions (restoring their state) and drops revoked ones. */
  private async syncTasks(): Promise<void> {
    const assigned = new Set(this.consumer!.assignment().map((tp) => `${tp.topic}:${tp.partition}`));
    const wanted = new Map<string, { sub: number; partition: number }>();
    for (const s of this.topology.subtopologies) {
      const n = this.taskCounts.get(s.id) ?? 0;
      for (let p = 0; p < n; p++) {
        if (s.sourceTopics.some((t) => assigned.has(`${t}:${p}`))) wanted.set(`${s.id}_${p}`, { sub: s.id, partition: p });
      }
    }
    if ([...this.tasks.keys()].some((id) => !wanted.has(id))) await this.awaitCommit();
    for (const [id, rt] of [...this.tasks]) {
      if (wanted.has(id)) continue;
      this.tasks.delete(id);
      this.writeSnapshots([rt]);
      await rt.tx?.close().catch(() => {});
      this.log?.info({ app: this.appId, task: id }, 'task revoked');
    }
    const fresh = [...wanted].filter(([id]) => !this.tasks.has(id));
    if (fresh.length === 0) return;
    await this.awaitCommit();
    const watermarks = await this.readWatermarks();
    for (const [id, w] of fresh) {
      const sub = this.topology.subtopologies[w.sub]!;
      const m = this.m;
      const task = new StreamTask(this.topology, sub, w.partition, {
        now: this.opts.now,
        onError: this.opts.onError,
        deadLetterTopic: this.opts.deadLetterTopic,
        watermarkTopic: this.watermarkTopic,
        idleMs: this.opts.idleMs,
        maxFutureMs: this.opts.maxFutureMs,
        maxPastMs: this.opts.maxPastMs,
        taskCounts: this.taskCounts,
        ...(watermarks.has(`${sub.sourceTopics.join(',')}#${w.partition}`) ? { watermarks: watermarks.get(`${sub.sourceTopics.join(',')}#${w.partition}`)! } : {}),
        hooks: {
          late: (_t, node) => {
            this.totals.late++;
            m?.late.inc({ app: this.appId, operator: node });
          },
          deadLetter: (t, err, raw) => {
            this.totals.deadLettered++;
            m?.deadLettered.inc({ app: this.appId, code: err.code });
            this.lastError = { code: err.code, message: err.message, at: new Date().toISOString() };
            this.log?.warn({ app: this.appId, task: t.id, code: err.code, topic: raw.topic, partition: raw.partition, offset: raw.offset, err: err.message }, 'record sent to the dead-letter topic');
          },
        },
      });
      let tx: TransactionalProducer | null = null;
      if (this.guarantee === 'exactly_once') {
        tx = this.bus.transactionalProducer({ transactionalId: `${this.appId}-${id}`, transactionTimeoutMs: 300_000 });
        await tx.beginTransaction(); // fences a previous owner and aborts what it left open
      }
      const rt: TaskRuntime = { task, tx, pendingSnapshot: new Map(), changelogEnd: new Map() };
      await this.restore(rt);
      task.init();
      this.tasks.set(id, rt);
      this.log?.info({ app: this.appId, task: id, stores: task.stores.size }, 'task started');
    }
    this.m?.tasks.set({ app: this.appId }, this.tasks.size);
  }

  private async readAll(topic: string, partition: number, from: number, each: (r: RawRecord) => void): Promise<number> {
    const c = this.bus.consumer({ isolationLevel: 'read_committed', fromBeginning: true, maxPollRecords: 10_000 });
    let next = from;
    try {
      c.assign([{ topic, partition, offset: from }]);
      for (;;) {
        const recs = await c.poll({ timeoutMs: 30 });
        if (recs.length === 0) break;
        for (const r of recs) {
          each(r as RawRecord);
          next = r.offset + 1;
        }
      }
    } finally {
      await c.close();
    }
    return next;
  }

  private async readWatermarks(): Promise<Map<string, WatermarkState>> {
    const out = new Map<string, WatermarkState>();
    await this.readAll(this.watermarkTopic, 0, 0, (r) => {
      if (!r.key) return;
      if (r.value === null) out.delete(r.key.toString());
      else {
        try {
          out.set(r.key.toString(), JSON.parse(r.value.toString()) as WatermarkState);
        } catch {
          // A damaged record only costs the watermark (it restarts from the data).
        }
      }
    });
    return out;
  }

  private async restore(rt: TaskRuntime): Promise<void> {
    const admin = this.bus.admin();
    for (const { topic, store } of rt.task.changelogs()) {
      const desc = (await admin.describeTopic(topic)).partitions[store.partition];
      const hw = desc?.highWatermark ?? 0;
      const start = desc?.logStartOffset ?? 0;
      let from = 0;
      const snap = this.snapshots?.load(store.name, store.partition);
      if (snap && snap.offset !== null) {
        if (snap.offset > hw || snap.offset < start) {
          this.log?.warn({ app: this.appId, store: store.name, partition: store.partition, snapshot: snap.offset, changelogEnd: hw }, 'snapshot does not match the changelog; restoring from the changelog');
          this.snapshots!.discard(store.name, store.partition);
        } else {
          for (const row of snap.rows) store.apply(row.key, row.value);
          from = snap.offset;
          this.m?.restored.inc({ app: this.appId, source: 'snapshot' }, snap.rows.length);
          this.restored.snapshot += snap.rows.length;
        }
      }
      let n = 0;
      // Rows of the changelog tail belong in the next snapshot too (it will claim their offsets).
      const pending = new Map<string, Buffer | null>();
      rt.pendingSnapshot.set(store.name, pending);
      const end = await this.readAll(topic, store.partition, from, (r) => {
        if (r.key) {
          store.apply(r.key, r.value);
          if (this.snapshots) pending.set(r.key.toString('latin1'), r.value);
          n++;
        }
      });
      this.m?.restored.inc({ app: this.appId, source: 'changelog' }, n);
      this.restored.changelog += n;
      rt.changelogEnd.set(store.name, Math.max(end, from));
      this.log?.debug({ app: this.appId, store: store.name, partition: store.partition, fromSnapshot: snap?.rows.length ?? 0, fromChangelog: n }, 'store restored');
    }
  }

  /** Processes a poll's records; returns the ids of the tasks that got some. */
  private processBatch(records: RawRecord[]): Set<string> {
    const byTask = new Map<string, Map<number, RawRecord[]>>();
    const subOf = (this.subOf ??= new Map(this.topology.subtopologies.flatMap((s) => s.sourceTopics.map((t) => [t, s.id] as const))));
    for (const r of records) {
      const id = `${subOf.get(r.topic)}_${r.partition}`;
      let parts = byTask.get(id);
      if (!parts) byTask.set(id, (parts = new Map()));
      const t = hashTopic(r.topic);
      let list = parts.get(t);
      if (!list) parts.set(t, (list = []));
      list.push(r);
    }
    for (const [id, parts] of byTask) {
      const rt = this.tasks.get(id);
      // (syncTasks ran after the poll: every assigned partition has its task.)
      if (!rt) throw new StreamsError('TOPOLOGY_INVALID', `app ${this.appId}: records of task ${id}, which does not run here`);
      const lists = [...parts.values()];
      if (lists.length === 1) {
        for (const r of lists[0]!) rt.task.process(r);
      } else {
        const idx = lists.map(() => 0);
        for (;;) {
          let best = -1;
          for (let i = 0; i < lists.length; i++) {
            const r = lists[i]![idx[i]!];
            if (r && (best < 0 || r.timestamp < lists[best]![idx[best]!]!.timestamp)) best = i;
          }
          if (best < 0) break;
          rt.task.process(lists[best]![idx[best]!++]!);
        }
      }
    }
    let data = records.length;
    for (const r of records) if (r.headers.length && isWatermarkMarker(r.headers)) data--;
    this.totals.processed += data;
    this.m?.processed.inc({ app: this.appId }, data);
    return new Set(byTask.keys());
  }

  /** Writes every task's buffered records, changelogs and offsets (see the design note). */
  private async commit(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    const work = [...this.tasks.values()].filter((rt) => rt.task.pending > 0 || rt.task.positions.size > 0 || rt.task.hasState || rt.task.markerDue);
    if (work.length === 0) return;
    if (this.guarantee === 'exactly_once') {
      await Promise.all(work.map((rt) => this.commitTask(rt)));
    } else {
      const drained = work.map((rt) => {
        const d = { rt, out: rt.task.drain(), offsets: [...rt.task.positions.values()] };
        rt.task.positions.clear();
        return d;
      });
      const merged = new Map<string, ProducerRecord[]>();
      for (const d of drained) for (const [topic, recs] of d.out) merged.set(topic, [...(merged.get(topic) ?? []), ...recs]);
      const meta = await this.sendAll((topic, recs) => this.producer!.send(topic, recs), merged, this.bus.kind === 'embedded');
      const offsets = drained.flatMap((d) => d.offsets);
      if (offsets.length) await consumer.commit(offsets);
      for (const d of drained) this.noteCommitted(d.rt, d.out, meta);
      this.totals.commits++;
      this.m?.commits.inc({ app: this.appId });
    }
    if (this.runOpts.stateDir && this.opts.now() - this.lastSnapshot >= this.opts.snapshotIntervalMs) {
      this.lastSnapshot = this.opts.now();
      this.writeSnapshots([...this.tasks.values()]);
    }
  }

  private async commitTask(rt: TaskRuntime): Promise<void> {
    const out = rt.task.drain();
    const offsets = [...rt.task.positions.values()];
    rt.task.positions.clear();
    if (out.size === 0 && offsets.length === 0) return;
    const tx = rt.tx!;
    await tx.beginTransaction().catch((err: unknown) => {
      // The first transaction was begun when the task started (to fence a previous owner).
      if (!/already open/.test(errorMessage(err))) throw err;
    });
    let t = performance.now();
    const meta = await this.sendAll((topic, recs) => tx.send(topic, recs), out);
    this.timing.txSend += performance.now() - t;
    t = performance.now();
    if (offsets.length) await tx.sendOffsets(this.appId, offsets);
    this.timing.txOffsets += performance.now() - t;
    t = performance.now();
    await tx.commitTransaction();
    this.timing.txCommit += performance.now() - t;
    this.noteCommitted(rt, out, meta);
    this.totals.commits++;
    this.m?.commits.inc({ app: this.appId });
  }

  /**
   * Sends every topic's records: per topic and partition in order (one chunk after the other),
   * the partitions and topics side by side. Chunks stay small because a send's cost grows faster
   * than linearly with the records of one partition in it. Returns each record's metadata, in the
   * order of `out`.
   */
  private async sendAll(send: (topic: string, recs: ProducerRecord[]) => Promise<RecordMetadata[]>, out: Map<string, ProducerRecord[]>, pipelined = true): Promise<Map<string, RecordMetadata[]>> {
    const result = new Map<string, RecordMetadata[]>();
    const work: Array<Promise<void>> = [];
    for (const [topic, recs] of out) {
      const metas = new Array<RecordMetadata>(recs.length);
      result.set(topic, metas);
      // Partitions are chosen here as the producer would (murmur2 of the key; keyless records
      // all to one partition per commit), so every send goes to one partition.
      const n = this.topicPartitions.get(topic) ?? (await this.partitionCount(topic));
      const keyless = this.keylessTurn++ % n;
      const lanes = new Map<number, number[]>();
      for (let i = 0; i < recs.length; i++) {
        const r = recs[i]!;
        const p = r.partition ?? (r.key ? partitionForKey(r.key, n) : keyless);
        r.partition = p;
        let lane = lanes.get(p);
        if (!lane) lanes.set(p, (lane = []));
        lane.push(i);
      }
      for (const lane of lanes.values()) {
        const chunks: number[][] = [];
        for (let i = 0; i < lane.length; ) {
          let bytes = 0;
          let j = i;
          while (j < lane.length && (j === i || (bytes < SEND_CHUNK_BYTES && j - i < SEND_CHUNK_RECORDS))) {
            const r = recs[lane[j]!]!;
            bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0) + 32;
            j++;
          }
          chunks.push(lane.slice(i, j));
          i = j;
        }
        const sendChunk = async (idx: number[]) => {
          const m = await send(topic, idx.map((k) => recs[k]!));
          for (let k = 0; k < idx.length; k++) metas[idx[k]!] = m[k]!;
        };
        // The first send adds the partition to the transaction; once it is in, a send appends
        // synchronously when called, so the later chunks can be in flight together (in order).
        // (The external producer gets one chunk after the other.)
        work.push(
          pipelined
            ? sendChunk(chunks[0]!).then(() => Promise.all(chunks.slice(1).map(sendChunk)).then(() => undefined))
            : chunks.reduce((prev, c) => prev.then(() => sendChunk(c)), Promise.resolve()),
        );
      }
    }
    await Promise.all(work);
    return result;
  }

  private async partitionCount(topic: string): Promise<number> {
    const n = (await this.bus.admin().describeTopic(topic)).partitions.length;
    this.topicPartitions.set(topic, n);
    return n;
  }

  /** Remembers committed changelog rows and offsets for the next snapshot. */
  private noteCommitted(rt: TaskRuntime, out: Map<string, ProducerRecord[]>, meta: Map<string, RecordMetadata[]>): void {
    if (!this.runOpts.stateDir) return;
    for (const { topic, store } of rt.task.changelogs()) {
      const recs = out.get(topic);
      if (!recs) continue;
      let pending = rt.pendingSnapshot.get(store.name);
      if (!pending) rt.pendingSnapshot.set(store.name, (pending = new Map()));
      const metas = meta.get(topic) ?? [];
      let last = -1;
      for (let i = 0; i < recs.length; i++) {
        const r = recs[i]!;
        if (r.partition !== store.partition) continue;
        pending.set(r.key!.toString('latin1'), r.value);
        const m = metas[i];
        if (m && m.partition === store.partition && m.offset > last) last = m.offset;
      }
      if (last >= 0) rt.changelogEnd.set(store.name, last + 1);
    }
  }

  private writeSnapshots(list: TaskRuntime[]): void {
    if (!this.snapshots) return;
    const changes: Array<{ store: string; partition: number; offset: number; entries: Map<string, Buffer | null> }> = [];
    for (const rt of list) {
      for (const store of rt.task.stores.values()) {
        const entries = rt.pendingSnapshot.get(store.name) ?? new Map<string, Buffer | null>();
        const offset = rt.changelogEnd.get(store.name);
        if (offset === undefined) continue;
        changes.push({ store: store.name, partition: store.partition, offset, entries });
      }
      rt.pendingSnapshot.clear();
    }
    if (changes.length === 0) return;
    try {
      this.snapshots.write(changes);
    } catch (err) {
      // A failed snapshot only makes the next restore read more of the changelog.
      this.log?.warn({ app: this.appId, err }, 'writing the state snapshot failed');
    }
  }

  private async teardown(clean: boolean): Promise<void> {
    // A commit still in flight finishes (or fails) before its producers close; its outcome is
    // moot now (a restart restores from what was committed).
    if (this.inflightCommit) await this.inflightCommit;
    this.inflightCommit = null;
    this.commitInFlight = false;
    this.commitError = null;
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    if (clean) this.writeSnapshots(tasks);
    for (const rt of tasks) await rt.tx?.close().catch(() => {});
    await this.consumer?.close().catch(() => {});
    this.consumer = null;
    await this.producer?.close().catch(() => {});
    this.producer = null;
    this.m?.tasks.set({ app: this.appId }, 0);
    if (clean) {
      this.snapshots?.close();
      this.snapshots = null;
    }
  }

  /** Tasks hosted here. */
  taskList(): StreamTask[] {
    return [...this.tasks.values()].map((t) => t.task);
  }

  /** Partition counts resolved at start (topics and tasks per sub-topology). */
  partitionInfo(): { topics: Record<string, number>; tasks: Record<number, number> } {
    return { topics: Object.fromEntries(this.partitionsOf), tasks: Object.fromEntries(this.taskCounts) };
  }

  assignment(): TopicPartition[] {
    return this.consumer?.assignment() ?? [];
  }
}

const topicIds = new Map<string, number>();
function hashTopic(t: string): number {
  let id = topicIds.get(t);
  if (id === undefined) topicIds.set(t, (id = topicIds.size));
  return id;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
