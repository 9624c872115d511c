/**
 * Committed consumer-group offsets, stored as records of the internal compacted topic
 * `__consumer_offsets` (as Kafka does): a commit is acknowledged only once its record is as
 * durable as any other record, and compaction keeps the topic small. The whole topic is read
 * back into memory at start.
 */
import type { Log } from '../log.ts';

export const OFFSETS_TOPIC = '__consumer_offsets';

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export interface OffsetCommitEntry {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch?: number;
  metadata?: string | null;
}

function keyOf(group: string, topic: string, partition: number): Buffer {
  return Buffer.from(JSON.stringify(['offset', group, topic, partition]));
}

export class OffsetStore {
  private readonly byGroup = new Map<string, Map<string, CommittedOffset>>();

  private constructor(private readonly log: Log) {}

  static async open(log: Log): Promise<OffsetStore> {
    if (!log.hasTopic(OFFSETS_TOPIC)) {
      await log.createTopic(
        OFFSETS_TOPIC,
        { partitions: 1, cleanupPolicy: 'compact', segmentBytes: 16 * 1024 * 1024, retentionMs: null, ackPolicy: 'fsync' },
        { internal: true },
      );
    }
    const store = new OffsetStore(log);
    store.load();
    return store;
  }

  private load(): void {
    const p = this.log.partition(OFFSETS_TOPIC, 0);
    let offset = p.logStartOffset;
    while (offset < p.highWatermark) {
      const r = p.readRecords(offset, 10_000, 8 * 1024 * 1024);
      for (const rec of r.records) {
        if (!rec.key) continue;
        const [kind, group, topic, partition] = JSON.parse(rec.key.toString()) as [string, string, string, number];
        if (kind !== 'offset') continue;
        if (rec.value === null) this.byGroup.get(group)?.delete(`${topic}\u0000${partition}`);
        else this.set(group, topic, partition, JSON.parse(rec.value.toString()) as CommittedOffset);
      }
      if (r.nextOffset <= offset) break;
      offset = r.nextOffset;
    }
  }

  private set(group: string, topic: string, partition: number, value: CommittedOffset): void {
    let m = this.byGroup.get(group);
    if (!m) this.byGroup.set(group, (m = new Map()));
    m.set(`${topic}\u0000${partition}`, value);
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.byGroup.get(group)?.get(`${topic}\u0000${partition}`);
  }

  /** All committed offsets of a group as [topic, partition, offset] triples. */
  list(group: string): Array<{ topic: string; partition: number } & CommittedOffset> {
    const m = this.byGroup.get(group);
    if (!m) return [];
    return [...m.entries()]
      .map(([k, v]) => {
        const [topic, partition] = k.split('\u0000');
        return { topic: topic!, partition: Number(partition), ...v };
      })
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  groups(): string[] {
    return [...this.byGroup.entries()].filter(([, m]) => m.size > 0).map(([g]) => g);
  }

  /** Durably records the commits (one record batch), then makes them visible. */
  async commit(group: string, entries: OffsetCommitEntry[], now = Date.now()): Promise<void> {
    if (entries.length === 0) return;
    const values = entries.map((e) => ({
      offset: e.offset,
      leaderEpoch: e.leaderEpoch ?? -1,
      metadata: e.metadata ?? null,
      commitTimestamp: now,
    }));
    await this.log.appendRecords(
      OFFSETS_TOPIC,
      0,
      entries.map((e, i) => ({ key: keyOf(group, e.topic, e.partition), value: Buffer.from(JSON.stringify(values[i])), timestamp: now })),
    );
    entries.forEach((e, i) => this.set(group, e.topic, e.partition, values[i]!));
  }

  /** Deletes a group's offsets (tombstones), optionally only for some partitions. */
  async delete(group: string, only?: Array<{ topic: string; partition: number }>): Promise<void> {
    const targets = only ?? this.list(group).map(({ topic, partition }) => ({ topic, partition }));
    if (targets.length === 0) return;
    await this.log.appendRecords(
      OFFSETS_TOPIC,
      0,
      targets.map((t) => ({ key: keyOf(group, t.topic, t.partition), value: null })),
    );
    for (const t of targets) this.byGroup.get(group)?.delete(`${t.topic}\u0000${t.partition}`);
  }

  /** Drops the offsets of a deleted topic from every group. */
  async deleteTopic(topic: string): Promise<void> {
    for (const group of this.groups()) {
      const targets = this.list(group).filter((o) => o.topic === topic);
      if (targets.length > 0) await this.delete(group, targets);
    }
  }
}
