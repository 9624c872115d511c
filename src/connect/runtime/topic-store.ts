/**
 * A key-value table kept in a compacted topic (how Kafka Connect keeps offsets and configs):
 * `open` reads the topic from its start to its end into memory; `put` appends a record and
 * updates memory once it is acknowledged; `delete` appends a tombstone. Compaction keeps the
 * newest value per key, so the topic stays as small as the table. One partition: records of a
 * key stay in order.
 */
import type { Logger } from 'pino';
import type { Bus, BusProducer } from '../../bus/types.ts';
import type { Governance, Principal } from '../../govern/index.ts';
import { AccessDeniedError } from '../../govern/index.ts';

export class TopicStore<V> {
  private readonly map = new Map<string, V>();
  private constructor(
    readonly topic: string,
    private readonly producer: BusProducer,
    private readonly guard: () => void,
  ) {}

  static async open<V>(opts: { bus: Bus; topic: string; governance: Governance; principal: Principal; logger?: Logger; producer: BusProducer }): Promise<TopicStore<V>> {
    const { bus, topic, governance, principal } = opts;
    const admin = bus.admin();
    const exists = (await admin.listTopics({ includeInternal: true })).some((t) => t.name === topic);
    if (!exists) {
      try {
        await admin.createTopic(topic, { partitions: 1, cleanupPolicy: 'compact' });
      } catch (err) {
        if ((err as { code?: string }).code !== 'TOPIC_EXISTS') throw err;
      }
    }
    const check = (action: 'read' | 'write') => {
      const resource = { type: 'topic' as const, name: topic };
      if (!governance.check(principal, action, resource, 'connect')) throw new AccessDeniedError(principal, action, resource);
    };
    check('read');
    const store = new TopicStore<V>(topic, opts.producer, () => check('write'));
    const d = await admin.describeTopic(topic);
    const consumer = bus.consumer({ fromBeginning: true, maxPollRecords: 10_000 });
    try {
      for (const p of d.partitions) {
        if (p.highWatermark <= p.logStartOffset) continue;
        consumer.assign([{ topic, partition: p.partition, offset: p.logStartOffset }]);
        let last = p.logStartOffset - 1;
        let idle = 0;
        while (last < p.highWatermark - 1 && idle < 3) {
          const records = await consumer.poll({ timeoutMs: 200 });
          if (records.length === 0) idle++;
          for (const r of records) {
            last = r.offset;
            if (!r.key) continue;
            const key = r.key.toString('utf8');
            if (r.value === null) store.map.delete(key);
            else {
              try {
                store.map.set(key, JSON.parse(r.value.toString('utf8')) as V);
              } catch {
                opts.logger?.warn({ topic, offset: r.offset }, 'ignoring an unreadable record in a connect store topic');
              }
            }
          }
        }
      }
    } finally {
      await consumer.close();
    }
    return store;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  entries(): Array<[string, V]> {
    return [...this.map];
  }

  async put(key: string, value: V): Promise<void> {
    await this.putMany([[key, value]]);
  }

  /** Writes several entries in one send (one acknowledgement). */
  async putMany(entries: Array<[string, V | null]>): Promise<void> {
    if (entries.length === 0) return;
    this.guard();
    await this.producer.send(
      this.topic,
      entries.map(([k, v]) => ({ key: Buffer.from(k), value: v === null ? null : Buffer.from(JSON.stringify(v)), partition: 0 })),
    );
    for (const [k, v] of entries) {
      if (v === null) this.map.delete(k);
      else this.map.set(k, v);
    }
  }

  async delete(key: string): Promise<void> {
    await this.putMany([[key, null]]);
  }
}
