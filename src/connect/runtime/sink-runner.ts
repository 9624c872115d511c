/**
 * Runs one sink task: a member of the connector's consumer group (`connect-<name>`), so the
 * group spreads partitions over the tasks and rebalances when tasks come and go.
 *
 * Per poll: records of partitions newly assigned are handed to the task's `open()` first (an
 * exactly-once sink answers where it really is, and the runner seeks there); then each record is
 * converted and transformed (failures follow `errors.tolerance`), the batch is `put()` and
 * `flush()`ed — retriable failures are retried with backoff, the same records again — and only
 * then are the consumer offsets committed. A crash between a flush and its commit re-delivers
 * the batch: at-least-once for plain sinks, exactly-once for sinks that keep offsets with the data.
 */
import type { BusConsumer, ConsumedRecord, TopicPartition } from '../../bus/types.ts';
import { errorMessage } from '../errors.ts';
import type { SinkPlugin, SinkRecord, SinkTask, SinkTaskContext } from '../types.ts';
import { sleep, withRetries } from './retry.ts';
import { TaskRunner } from './task-runner.ts';

const tpKey = (t: string, p: number) => `${t}\u0000${p}`;

export function sinkGroupId(connector: string): string {
  return `connect-${connector}`;
}

export class SinkTaskRunner extends TaskRunner {
  private consumer: BusConsumer | null = null;
  private task: SinkTask | null = null;
  private owned = new Map<string, TopicPartition>();

  private context(): SinkTaskContext {
    return {
      connector: this.env.connector,
      taskId: this.env.taskId,
      logger: this.log,
      signal: this.abort.signal,
      sleep: (ms, signal) => sleep(ms, signal ?? this.abort.signal),
      report: (record, error) =>
        this.tolerate('SINK', error, {
          key: record.raw.key,
          value: record.raw.value,
          headers: record.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.isBuffer(h.value) ? h.value : Buffer.from(h.value) })),
          origin: { topic: record.topic, partition: record.partition, offset: record.offset },
        }),
    };
  }

  private async topics(): Promise<string[]> {
    const { config } = this.env;
    if (Array.isArray(config['topics'])) return config['topics'] as string[];
    const re = new RegExp(`^(?:${config['topicsRegex'] as string})$`);
    const all = await this.env.bus.admin().listTopics();
    return all.map((t) => t.name).filter((n) => re.test(n));
  }

  protected async run(): Promise<void> {
    const { config, connector, bus, plugin } = this.env;
    const groupId = sinkGroupId(connector);
    const groupResource = { type: 'group' as const, name: groupId };
    if (!this.env.governance.check(this.env.principal, 'read', groupResource, 'connect')) {
      const { AccessDeniedError } = await import('../../govern/index.ts');
      throw new AccessDeniedError(this.env.principal, 'read', groupResource);
    }
    this.task = (plugin as SinkPlugin).createTask(config, this.env.taskConfig, this.context());
    try {
      await this.task.start?.();
      const topics = await this.topics();
      for (const t of topics) this.authorize('read', t);
      this.consumer = bus.consumer({
        groupId,
        clientId: `${connector}-${this.env.taskId}`,
        fromBeginning: config['fromBeginning'] !== false,
        maxPollRecords: Number(config['batchSize'] ?? 500),
      });
      await this.consumer.subscribe(topics);
      await this.syncAssignment([]);
      while (!this.stopping) {
        await this.waitWhilePaused();
        if (this.stopping) break;
        let batch = await this.consumer.poll({ timeoutMs: 500 });
        batch = await this.syncAssignment(batch);
        if (batch.length === 0) continue;
        await this.handle(batch);
      }
    } finally {
      try {
        if (this.owned.size) await this.task.close?.([...this.owned.values()]);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'sink task close failed');
      }
      await this.task.stop().catch((err) => this.log.warn({ err }, 'sink task did not stop cleanly'));
      await this.consumer?.close().catch(() => {});
    }
  }

  /**
   * Tells the task about partitions gained and lost since the last poll; for gained ones it
   * seeks to the offsets the task returns and drops their records from this batch (they are
   * read again from there).
   */
  private async syncAssignment(batch: ConsumedRecord[]): Promise<ConsumedRecord[]> {
    const now = new Map(this.consumer!.assignment().map((tp) => [tpKey(tp.topic, tp.partition), tp]));
    const lost = [...this.owned].filter(([k]) => !now.has(k)).map(([, tp]) => tp);
    const gained = [...now].filter(([k]) => !this.owned.has(k)).map(([, tp]) => tp);
    this.owned = now;
    if (lost.length) await this.task!.close?.(lost);
    if (!gained.length || !this.task!.open) return batch;
    const offsets = await withRetries(() => this.task!.open!(gained), {
      timeoutMs: this.env.config.errors.retryTimeoutMs,
      maxDelayMs: this.env.config.errors.retryMaxDelayMs,
      signal: this.abort.signal,
    });
    if (!offsets.length) return batch;
    const reseek = new Set<string>();
    for (const o of offsets) {
      this.consumer!.seek(o.topic, o.partition, o.offset);
      reseek.add(tpKey(o.topic, o.partition));
    }
    return batch.filter((r) => !reseek.has(tpKey(r.topic, r.partition)));
  }

  private async handle(batch: ConsumedRecord[]): Promise<void> {
    const { keyConverter, valueConverter, chain, connector, metrics, config } = this.env;
    const authorized = new Set<string>();
    const records: SinkRecord[] = [];
    for (const r of batch) {
      if (!authorized.has(r.topic)) {
        this.authorize('read', r.topic);
        authorized.add(r.topic);
      }
      const dl = { key: r.key, value: r.value, headers: r.headers, origin: { topic: r.topic, partition: r.partition, offset: r.offset } };
      let key: { value: unknown; schema?: SinkRecord['keySchema'] };
      let value: { value: unknown; schema?: SinkRecord['valueSchema'] };
      try {
        key = keyConverter.fromBytes(r.key);
      } catch (err) {
        await this.tolerate('KEY_CONVERTER', err as Error, dl);
        continue;
      }
      try {
        value = valueConverter.fromBytes(r.value);
      } catch (err) {
        await this.tolerate('VALUE_CONVERTER', err as Error, dl);
        continue;
      }
      const rec: SinkRecord = {
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: key.value,
        value: value.value,
        headers: r.headers.map((h) => ({ key: h.key, value: h.value })),
        raw: { key: r.key, value: r.value },
        ...(key.schema ? { keySchema: key.schema } : {}),
        ...(value.schema ? { valueSchema: value.schema } : {}),
      };
      try {
        const out = chain.length ? await chain.apply(rec, { offset: r.offset }) : rec;
        // A transform may rename the topic (route): the record keeps its log position.
        if (out) records.push({ ...rec, ...out, partition: rec.partition, offset: rec.offset, timestamp: out.timestamp ?? rec.timestamp, raw: rec.raw });
      } catch (err) {
        await this.tolerate('TRANSFORMATION', err as Error, dl);
      }
    }
    if (records.length) {
      await withRetries(
        async () => {
          await this.task!.put(records);
          await this.task!.flush?.();
        },
        {
          timeoutMs: config.errors.retryTimeoutMs,
          maxDelayMs: config.errors.retryMaxDelayMs,
          signal: this.abort.signal,
          onRetry: (err, attempt, delay) => {
            metrics?.retries.inc({ connector });
            this.trace = `retrying: ${errorMessage(err)}`;
            this.log.warn({ err: errorMessage(err), attempt, retryInMs: delay }, 'sink put failed; retrying the same records');
          },
        },
      );
      this.trace = null;
      metrics?.records.inc({ connector, direction: 'sink' }, records.length);
    }
    const next = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const r of batch) next.set(tpKey(r.topic, r.partition), { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
    try {
      await this.consumer!.commit([...next.values()]);
    } catch (err) {
      // A rebalance took the partitions: the new owner resumes from the last commit (or the sink's own offsets).
      this.log.info({ err: errorMessage(err) }, 'offset commit failed; records may be delivered again');
    }
  }
}
