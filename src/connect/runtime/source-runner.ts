/**
 * Runs one source task: poll → transforms → converters → produce, and stores source offsets.
 *
 * Sends are pipelined: the loop polls again while earlier records are still being acknowledged.
 * Offsets are stored only for records that are durable: every `offsetFlushIntervalMs` (and when
 * stopping) the runner waits for its in-flight sends, stores the newest offset of each source
 * partition, then calls the task's `commit()`. A record that fails follows `errors.tolerance`
 * (none: the task fails and its offset is not stored, so it is read again after a restart;
 * all: logged, dead-lettered, skipped). Records with an `onResult` callback (HTTP ingest) report
 * their own failures instead. Retriable poll and produce errors are retried with backoff.
 *
 * With an exactly-once plugin every record carries its source position in a header and the
 * runner keeps its scan positions (see exactly-once.ts).
 */
import type { ProducerRecord } from '../../bus/types.ts';
import type { RecordHeader } from '../../log/types.ts';
import { ConnectError, errorMessage, isRetriable } from '../errors.ts';
import type { ConnectRecord, JsonObject, SourcePlugin, SourceRecord, SourceTask, SourceTaskContext } from '../types.ts';
import { EOS_HEADER, eosHeaderValue, positionsPartition, topicEnds, type ScanPositions } from './exactly-once.ts';
import { canonicalJson } from './offsets.ts';
import { backoffDelay, sleep, withRetries } from './retry.ts';
import { TaskRunner, type TaskEnv } from './task-runner.ts';
import type { ErrorStage } from './dead-letter.ts';

/** A record ready for the producer, with what its failure handling needs. */
interface Ready {
  pr: ProducerRecord;
  rec: SourceRecord;
  seq: number;
}

const MAX_PENDING_SENDS = 20_000;
const RECORD_OVERHEAD = 100;

interface Pending {
  partition: JsonObject;
  offset: JsonObject;
}

export class SourceTaskRunner extends TaskRunner {
  private task: SourceTask | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private fatal: Error | null = null;
  private pending = new Map<string, Pending>();
  private readonly seqs = new Map<string, number>();
  private readonly topicLimits = new Map<string, { max: number; partitions: number; at: number }>();
  private readonly eos: boolean;
  private positions: ScanPositions = {};
  private lastFlush = Date.now();

  constructor(env: TaskEnv) {
    super(env);
    this.eos = (env.plugin as SourcePlugin).exactlyOnce === true;
  }

  private context(): SourceTaskContext {
    const { connector, offsets, taskId } = this.env;
    return {
      connector,
      taskId,
      logger: this.log,
      signal: this.abort.signal,
      sleep: (ms, signal) => sleep(ms, signal ?? this.abort.signal),
      offset: (partition) => {
        const pend = this.pending.get(canonicalJson(partition));
        const o = pend?.offset ?? offsets.get(connector, partition);
        if (!o) return null;
        const { __seq: _s, ...rest } = o;
        return rest;
      },
      offsets: () => offsets.list(connector),
    };
  }

  protected async run(): Promise<void> {
    const plugin = this.env.plugin as SourcePlugin;
    this.task = plugin.createTask(this.env.config, this.env.taskConfig, this.context());
    try {
      await this.task.start?.();
      if (this.eos) await this.writePositions(this.knownTopics(), true);
      let attempt = 0;
      let failingSince = 0;
      while (!this.stopping) {
        await this.waitWhilePaused();
        if (this.stopping) break;
        let records: SourceRecord[];
        try {
          records = await this.task.poll(this.abort.signal);
          attempt = 0;
          failingSince = 0;
        } catch (err) {
          if (this.stopping) break;
          if (!isRetriable(err)) throw err;
          failingSince ||= Date.now();
          const { retryTimeoutMs, retryMaxDelayMs } = this.env.config.errors;
          if (retryTimeoutMs >= 0 && Date.now() - failingSince > retryTimeoutMs) {
            throw new ConnectError('RETRIES_EXHAUSTED', `poll kept failing for ${Date.now() - failingSince} ms: ${errorMessage(err)}`, { cause: err });
          }
          const delay = backoffDelay(attempt++, { maxMs: retryMaxDelayMs });
          this.env.metrics?.retries.inc({ connector: this.env.connector });
          this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'source poll failed; retrying');
          this.trace = `retrying: ${errorMessage(err)}`;
          await this.sleep(delay);
          continue;
        }
        this.trace = null;
        if (records.length > 0) await this.process(records);
        if (this.fatal) throw this.fatal;
        // With no offsets to store (HTTP ingest) a periodic flush would only stall the pipeline.
        if ((this.pending.size > 0 && Date.now() - this.lastFlush >= this.env.offsetFlushIntervalMs) || this.inflight.size > MAX_PENDING_SENDS) await this.flush();
      }
      await this.flush();
    } finally {
      await Promise.allSettled([...this.inflight]);
      await this.task.stop().catch((err) => this.log.warn({ err }, 'source task did not stop cleanly'));
    }
  }

  private knownTopics(): Set<string> {
    const topics = new Set<string>(Object.keys(this.positions));
    const t = this.env.config['topic'];
    if (typeof t === 'string') topics.add(t);
    if (this.env.config.errors.deadLetterTopic) topics.add(this.env.config.errors.deadLetterTopic);
    return topics;
  }

  /** Stores scan positions: `refresh` moves every topic to its current end (only when nothing is in flight). */
  private async writePositions(topics: Set<string>, refresh: boolean): Promise<void> {
    const ends = await topicEnds(this.env.bus, [...topics].filter((t) => refresh || !(t in this.positions)));
    this.positions = refresh ? { ...this.positions, ...ends } : { ...ends, ...this.positions };
    await this.env.offsets.put(this.env.connector, [{ partition: positionsPartition(this.env.taskId), offset: { positions: this.positions } }]);
  }

  private nextSeq(key: string, partition: JsonObject): number {
    let s = this.seqs.get(key);
    if (s === undefined) {
      const stored = this.env.offsets.get(this.env.connector, partition);
      s = typeof stored?.['__seq'] === 'number' ? (stored['__seq'] as number) : 0;
    }
    s += 1;
    this.seqs.set(key, s);
    return s;
  }

  /**
   * The topic's record size limit and partition count. Also makes sure the topic exists with its
   * partitions before the first send (creating it with `topicCreation`, or letting the broker
   * auto-create it): concurrent first sends to a topic being created could otherwise see it
   * without partitions.
   */
  private async topicInfo(topic: string): Promise<{ max: number; partitions: number; at: number }> {
    const cached = this.topicLimits.get(topic);
    if (cached && Date.now() - cached.at < 30_000) return cached;
    const admin = this.env.bus.admin();
    let info = { max: Infinity, partitions: Infinity, at: Date.now() };
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        const d = await admin.describeTopic(topic);
        if (d.partitions.length > 0) {
          info = { max: d.config.maxRecordBytes, partitions: d.partitions.length, at: Date.now() };
          break;
        }
      } catch {
        const settings = this.env.config['topicCreation'] as Record<string, unknown> | undefined;
        if (settings) {
          await admin.createTopic(topic, settings).catch((err: { code?: string }) => {
            if (err.code !== 'TOPIC_EXISTS') throw err;
          });
        } else {
          await this.env.producer.send(topic, []); // the broker creates it, or says why it cannot
        }
      }
      await sleep(20);
    }
    this.topicLimits.set(topic, info);
    // Refresh now and then (partitions may be added, limits changed).
    setTimeout(() => this.topicLimits.delete(topic), 30_000).unref();
    return info;
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private async process(records: SourceRecord[]): Promise<void> {
    // Records ready to go, by topic: one send per topic per poll (the producer batches them).
    const groups = new Map<string, Ready[]>();
    const dispatch = () => {
      for (const [topic, items] of groups) this.send(topic, items);
      groups.clear();
    };
    try {
      await this.prepare(records, groups, dispatch);
    } catch (err) {
      // A record the task cannot pass over: what came before it still goes out, and its offsets are stored.
      dispatch();
      await this.flush().catch(() => {});
      throw err;
    }
    dispatch();
  }

  /** Notes a record's source offset as the newest of its source partition (stored at the next flush). */
  private remember(rec: SourceRecord, pk: string | null, seq: number): void {
    if (pk && rec.sourcePartition && rec.sourceOffset) {
      this.pending.set(pk, { partition: rec.sourcePartition, offset: this.eos ? { ...rec.sourceOffset, __seq: seq } : rec.sourceOffset });
    }
  }

  private eosHeaders(rec: SourceRecord, seq: number): RecordHeader[] {
    return this.eos && rec.sourcePartition && rec.sourceOffset ? [{ key: EOS_HEADER, value: eosHeaderValue(this.env.connector, rec.sourcePartition, rec.sourceOffset, seq) }] : [];
  }

  /** A record that cannot be written: its own callback (HTTP ingest), or errors.tolerance (dead letter / fail). */
  private async failRecord(rec: SourceRecord, seq: number, stage: ErrorStage, error: Error, dispatch: () => void): Promise<void> {
    if (rec.onResult) {
      this.countError(stage);
      rec.onResult({ ok: false, error });
      return;
    }
    const { config } = this.env;
    const dlq = config.errors.deadLetterTopic;
    if (this.eos && dlq && config.errors.tolerance === 'all' && !(dlq in this.positions)) {
      dispatch();
      await this.flush();
      await this.writePositions(new Set([dlq]), false);
    }
    const defaultTopic = typeof config['topic'] === 'string' ? (config['topic'] as string) : undefined;
    const value = rec.value === null || rec.value === undefined ? null : Buffer.isBuffer(rec.value) ? rec.value : Buffer.from(typeof rec.value === 'string' ? rec.value : JSON.stringify(rec.value));
    await this.tolerate(stage, error, {
      key: typeof rec.key === 'string' ? Buffer.from(rec.key) : rec.key == null ? null : Buffer.from(JSON.stringify(rec.key)),
      value,
      headers: [...toHeaders(rec.headers), ...this.eosHeaders(rec, seq)],
      ...(rec.topic ?? defaultTopic ? { intendedTopic: (rec.topic ?? defaultTopic)! } : {}),
      ...(rec.sourcePartition ? { sourcePartition: rec.sourcePartition } : {}),
      ...(rec.sourceOffset ? { sourceOffset: rec.sourceOffset } : {}),
    });
  }

  /** Per record: transforms, converters, limits, governance; then grouped by topic for `send`. No closures per record (hot path). */
  private async prepare(records: SourceRecord[], groups: Map<string, Ready[]>, dispatch: () => void): Promise<void> {
    const { chain, keyConverter, valueConverter, config } = this.env;
    const defaultTopic = typeof config['topic'] === 'string' ? (config['topic'] as string) : undefined;
    const authorized = new Set<string>();
    for (const rec of records) {
      const pk = rec.sourcePartition ? canonicalJson(rec.sourcePartition) : null;
      const seq = this.eos && pk && rec.sourcePartition ? this.nextSeq(pk, rec.sourcePartition) : 0;
      let stage: ErrorStage | null = null;
      let error: Error | null = null;
      if (rec.offsetOnly) {
        this.remember(rec, pk, seq);
        continue;
      }
      if (rec.error) {
        await this.failRecord(rec, seq, 'SOURCE', rec.error, dispatch);
        this.remember(rec, pk, seq);
        continue;
      }
      const topic = rec.topic ?? defaultTopic;
      if (!topic) {
        await this.failRecord(rec, seq, 'SOURCE', new ConnectError('RECORD_INVALID', 'the record names no topic and the connector has no "topic" setting'), dispatch);
        this.remember(rec, pk, seq);
        continue;
      }
      const input: ConnectRecord = { topic, key: rec.key ?? null, value: rec.value, headers: rec.headers ?? [] };
      if (rec.partition !== undefined) input.partition = rec.partition;
      if (rec.keySchema) input.keySchema = rec.keySchema;
      if (rec.valueSchema) input.valueSchema = rec.valueSchema;
      if (rec.timestamp !== undefined) input.timestamp = rec.timestamp;
      let out: ConnectRecord | null = input;
      let key: Buffer | null = null;
      let value: Buffer | null = null;
      let headers: RecordHeader[] = [];
      if (chain.length) {
        try {
          out = await chain.apply(input);
        } catch (err) {
          [stage, error] = ['TRANSFORMATION', err as Error];
        }
      }
      if (!error && out === null) {
        rec.onResult?.({ ok: true, topic, partition: -1, offset: -1 });
        this.remember(rec, pk, seq);
        continue;
      }
      if (!error && out) {
        try {
          key = keyConverter.toBytes(out.key, out.keySchema);
        } catch (err) {
          [stage, error] = ['KEY_CONVERTER', err as Error];
        }
      }
      if (!error && out) {
        try {
          value = valueConverter.toBytes(out.value, out.valueSchema);
        } catch (err) {
          [stage, error] = ['VALUE_CONVERTER', err as Error];
        }
      }
      if (!error && out) {
        headers = out.headers.length ? toHeaders(out.headers) : [];
        if (this.eos) headers.push(...this.eosHeaders(rec, seq));
        let size = (key?.length ?? 0) + (value?.length ?? 0) + RECORD_OVERHEAD;
        for (const h of headers) size += h.key.length + (h.value?.length ?? 0) + 8;
        const limits = this.topicLimits.get(out.topic) ?? (await this.topicInfo(out.topic));
        if (size > limits.max) {
          [stage, error] = ['PRODUCE', new ConnectError('RECORD_TOO_LARGE', `the record is about ${size} bytes; topic ${out.topic} accepts at most ${limits.max} (maxRecordBytes)`)];
        } else if (out.partition !== undefined && (!Number.isInteger(out.partition) || out.partition < 0 || out.partition >= limits.partitions)) {
          [stage, error] = ['PRODUCE', new ConnectError('RECORD_INVALID', `topic ${out.topic} has no partition ${out.partition} (it has ${limits.partitions})`)];
        } else if (!authorized.has(out.topic)) {
          try {
            this.authorize('write', out.topic);
            authorized.add(out.topic);
          } catch (err) {
            [stage, error] = ['PRODUCE', err as Error];
          }
        }
      }
      if (error || !out) {
        await this.failRecord(rec, seq, stage!, error!, dispatch);
        this.remember(rec, pk, seq);
        continue;
      }
      if (this.eos && !(out.topic in this.positions)) {
        // Before the first write to a topic: finish what is in flight and list it for recovery.
        dispatch();
        await this.flush();
        await this.writePositions(new Set([out.topic]), false);
      }
      const pr: ProducerRecord = { key, value, headers };
      if (out.partition !== undefined) pr.partition = out.partition;
      if (out.timestamp !== undefined) pr.timestamp = out.timestamp;
      let list = groups.get(out.topic);
      if (!list) groups.set(out.topic, (list = []));
      list.push({ pr, rec, seq });
      this.remember(rec, pk, seq);
    }
  }

  /** One send for a topic's records; per-record results, or per-record failure handling. */
  private send(topic: string, items: Ready[]): void {
    const { config, connector, metrics } = this.env;
    const done = withRetries(() => this.env.producer.send(topic, items.map((i) => i.pr)), {
      timeoutMs: config.errors.retryTimeoutMs,
      maxDelayMs: config.errors.retryMaxDelayMs,
      signal: this.abort.signal,
      onRetry: () => metrics?.retries.inc({ connector }),
    }).then(
      (metas) => {
        metrics?.records.inc({ connector, direction: 'source' }, items.length);
        for (let i = 0; i < items.length; i++) {
          const m = metas[i]!;
          items[i]!.rec.onResult?.({ ok: true, topic: m.topic, partition: m.partition, offset: m.offset });
        }
      },
      async (err: Error) => {
        for (const it of items) {
          try {
            await this.failRecord(it.rec, it.seq, 'PRODUCE', err, () => {});
          } catch (fatal) {
            this.fatal ??= fatal as Error;
          }
        }
      },
    );
    this.track(done);
  }

  /** Waits for in-flight sends, stores the offsets they covered, lets the task commit. */
  private async flush(): Promise<void> {
    this.lastFlush = Date.now();
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    if (this.fatal) throw this.fatal;
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()].map((p) => ({ partition: p.partition, offset: p.offset }));
    await this.env.offsets.put(this.env.connector, entries);
    this.pending = new Map();
    if (this.eos) await this.writePositions(this.knownTopics(), true);
    await this.task?.commit?.();
  }
}

function toHeaders(headers: SourceRecord['headers']): RecordHeader[] {
  return (headers ?? []).map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.isBuffer(h.value) ? h.value : Buffer.from(String(h.value)) }));
}
