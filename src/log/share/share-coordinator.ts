/**
 * Share groups: queue semantics over a topic (Kafka's share groups, KIP-932; SQS).
 *
 * Every member of a share group may receive records from every partition; records are
 * handed out individually and each is acknowledged on its own:
 *
 *   available ──acquire──► acquired ──accept──► acknowledged
 *       ▲                     │ release / lock timeout           (reject, or too many
 *       └─────────────────────┘                                  deliveries) ──► archived (DLQ)
 *
 * Per partition the group keeps a start offset (everything below is done), the next offset
 * never handed out, and the in-flight window between them. The state is persisted as a
 * snapshot record per partition in the compacted internal topic `__share_group_state` after
 * each acquisition and acknowledgement round (durably, before the caller sees the result), so
 * delivery counts and acknowledgements survive restarts; records that were acquired when the
 * process stopped become available again. A rejected or exhausted record is copied to the
 * dead-letter topic (with headers naming the reason, origin and delivery count) before it is
 * archived, so a crash in between can duplicate a dead letter but never lose one.
 */
import type { Log } from '../log.ts';
import type { LogRecord, RecordHeader } from '../types.ts';
import { LogError } from '../errors.ts';

export const SHARE_STATE_TOPIC = '__share_group_state';

export interface ShareGroupConfig {
  /** How long an acquired record stays locked to its member before it is offered again. */
  lockTimeoutMs: number;
  /** Deliveries after which a record goes to the dead-letter topic instead. */
  maxDeliveries: number;
  /** Dead-letter topic (default `<group>.dlq`). */
  deadLetterTopic?: string;
  /** Bound of acquired-but-unacknowledged records per partition. */
  maxInFlight: number;
  /** Start from the earliest record (queue semantics) or only new ones. */
  fromBeginning: boolean;
}

export const DEFAULT_SHARE_CONFIG: ShareGroupConfig = { lockTimeoutMs: 30_000, maxDeliveries: 5, maxInFlight: 2000, fromBeginning: true };

export type ShareAck = 'accept' | 'release' | 'reject';

export interface AcquiredRecord extends LogRecord {
  topic: string;
  partition: number;
  deliveryCount: number;
}

type State = 'available' | 'acquired' | 'acked' | 'archived';

interface InFlight {
  state: State;
  deliveryCount: number;
  lockUntil: number;
  memberId: string;
}

interface PartitionState {
  topic: string;
  partition: number;
  spso: number;
  nextFetch: number;
  inflight: Map<number, InFlight>;
}

interface ShareGroup {
  id: string;
  config: ShareGroupConfig;
  members: Map<string, { topics: string[]; lastSeen: number }>;
  partitions: Map<string, PartitionState>;
}

const STATE_CODES: Record<State, number> = { available: 0, acquired: 0, acked: 2, archived: 4 };

export class ShareError extends LogError {}

export class ShareCoordinator {
  private readonly groups = new Map<string, ShareGroup>();
  private readonly persisted = new Map<string, { spso: number; nextFetch: number; entries: Array<[number, number, number]> }>();

  private constructor(
    private readonly log: Log,
    private readonly clock: () => number,
  ) {}

  static async open(log: Log, clock: () => number = Date.now): Promise<ShareCoordinator> {
    if (!log.hasTopic(SHARE_STATE_TOPIC)) {
      await log.createTopic(SHARE_STATE_TOPIC, { partitions: 1, cleanupPolicy: 'compact', retentionMs: null, ackPolicy: 'fsync' }, { internal: true });
    }
    const c = new ShareCoordinator(log, clock);
    c.load();
    return c;
  }

  private load(): void {
    const p = this.log.partition(SHARE_STATE_TOPIC, 0);
    let offset = p.logStartOffset;
    while (offset < p.highWatermark) {
      const r = p.readRecords(offset, 10_000, 8 * 1024 * 1024);
      for (const rec of r.records) {
        if (!rec.key) continue;
        const key = rec.key.toString();
        if (rec.value === null) this.persisted.delete(key);
        else this.persisted.set(key, JSON.parse(rec.value.toString()));
      }
      if (r.nextOffset <= offset) break;
      offset = r.nextOffset;
    }
  }

  private groupOf(id: string, config?: Partial<ShareGroupConfig>): ShareGroup {
    let g = this.groups.get(id);
    if (!g) {
      g = { id, config: { ...DEFAULT_SHARE_CONFIG, ...config }, members: new Map(), partitions: new Map() };
      this.groups.set(id, g);
    } else if (config) {
      g.config = { ...g.config, ...config };
    }
    return g;
  }

  deadLetterTopic(groupId: string): string {
    return this.groups.get(groupId)?.config.deadLetterTopic ?? `${groupId}.dlq`;
  }

  /** Registers a member and its topics (creating the group on first use). */
  async join(groupId: string, memberId: string, topics: string[], config?: Partial<ShareGroupConfig>): Promise<void> {
    if (!groupId) throw new ShareError('TOPIC_CONFIG_INVALID', 'a share group needs a non-empty group id');
    for (const t of topics) if (!this.log.hasTopic(t)) await this.log.ensureTopic(t);
    const g = this.groupOf(groupId, config);
    g.members.set(memberId, { topics: [...topics], lastSeen: this.clock() });
  }

  /** Releases everything the member holds and forgets it. */
  async leave(groupId: string, memberId: string): Promise<void> {
    const g = this.groups.get(groupId);
    if (!g) return;
    g.members.delete(memberId);
    const touched = new Set<PartitionState>();
    for (const ps of g.partitions.values()) {
      for (const e of ps.inflight.values()) {
        if (e.state === 'acquired' && e.memberId === memberId) {
          e.state = 'available';
          touched.add(ps);
        }
      }
    }
    await this.persist(g, touched);
  }

  private partitionsOf(g: ShareGroup): PartitionState[] {
    const topics = new Set<string>();
    for (const m of g.members.values()) for (const t of m.topics) topics.add(t);
    const out: PartitionState[] = [];
    for (const topic of topics) {
      if (!this.log.hasTopic(topic)) continue;
      for (let p = 0; p < this.log.partitionCount(topic); p++) out.push(this.partitionState(g, topic, p));
    }
    return out;
  }

  private partitionState(g: ShareGroup, topic: string, partition: number): PartitionState {
    const key = `${topic}\u0000${partition}`;
    let ps = g.partitions.get(key);
    if (ps) return ps;
    const log = this.log.partition(topic, partition);
    const saved = this.persisted.get(stateKey(g.id, topic, partition));
    if (saved) {
      ps = { topic, partition, spso: saved.spso, nextFetch: saved.nextFetch, inflight: new Map() };
      for (const [offset, code, deliveryCount] of saved.entries) {
        const state: State = code === 2 ? 'acked' : code === 4 ? 'archived' : 'available';
        ps.inflight.set(offset, { state, deliveryCount, lockUntil: 0, memberId: '' });
      }
    } else {
      const start = g.config.fromBeginning ? log.logStartOffset : log.highWatermark;
      ps = { topic, partition, spso: start, nextFetch: start, inflight: new Map() };
    }
    g.partitions.set(key, ps);
    return ps;
  }

  /**
   * Acquires up to `maxRecords` records for the member across the group's partitions:
   * redeliveries first, then records never delivered. Durable before it returns.
   */
  async acquire(groupId: string, memberId: string, maxRecords: number): Promise<AcquiredRecord[]> {
    const g = this.groups.get(groupId);
    const member = g?.members.get(memberId);
    if (!g || !member) throw new ShareError('TOPIC_CONFIG_INVALID', `member ${memberId} is not in share group ${groupId}: subscribe first`);
    member.lastSeen = this.clock();
    const now = this.clock();
    const out: AcquiredRecord[] = [];
    const touched = new Set<PartitionState>();
    const deadLetters: Array<{ ps: PartitionState; offset: number; e: InFlight; reason: string }> = [];
    const parts = this.partitionsOf(g);
    const start = parts.length ? Math.floor(Math.random() * parts.length) : 0;
    for (let i = 0; i < parts.length && out.length < maxRecords; i++) {
      const ps = parts[(start + i) % parts.length]!;
      const log = this.log.partition(ps.topic, ps.partition);
      if (ps.spso < log.logStartOffset) this.skipTo(ps, log.logStartOffset);
      // Redeliveries: released or timed-out records, oldest first.
      const offsets = [...ps.inflight.keys()].sort((a, b) => a - b);
      for (const offset of offsets) {
        if (out.length >= maxRecords) break;
        const e = ps.inflight.get(offset)!;
        if (e.state === 'acquired' && e.lockUntil <= now) e.state = 'available';
        if (e.state !== 'available') continue;
        if (e.deliveryCount >= g.config.maxDeliveries) {
          deadLetters.push({ ps, offset, e, reason: `delivered ${e.deliveryCount} times without acknowledgement (maxDeliveries ${g.config.maxDeliveries})` });
          continue;
        }
        const rec = this.readOne(ps, offset);
        if (!rec) {
          e.state = 'archived';
          touched.add(ps);
          continue;
        }
        this.lock(e, memberId, now, g);
        out.push({ ...rec, topic: ps.topic, partition: ps.partition, deliveryCount: e.deliveryCount });
        touched.add(ps);
      }
      // New records, within the in-flight bound.
      while (out.length < maxRecords && ps.nextFetch < log.highWatermark && ps.inflight.size < g.config.maxInFlight) {
        const room = Math.min(maxRecords - out.length, g.config.maxInFlight - ps.inflight.size);
        const read = log.readRecords(ps.nextFetch, room, 1024 * 1024);
        for (const rec of read.records) {
          const e: InFlight = { state: 'available', deliveryCount: 0, lockUntil: 0, memberId: '' };
          this.lock(e, memberId, now, g);
          ps.inflight.set(rec.offset, e);
          out.push({ ...rec, topic: ps.topic, partition: ps.partition, deliveryCount: 1 });
        }
        if (read.nextOffset <= ps.nextFetch) break;
        ps.nextFetch = read.nextOffset;
        touched.add(ps);
      }
    }
    for (const d of deadLetters) {
      await this.deadLetter(g, d.ps, d.offset, d.e, d.reason);
      touched.add(d.ps);
    }
    for (const ps of touched) this.advance(ps);
    await this.persist(g, touched);
    return out;
  }

  private lock(e: InFlight, memberId: string, now: number, g: ShareGroup): void {
    e.state = 'acquired';
    e.deliveryCount++;
    e.lockUntil = now + g.config.lockTimeoutMs;
    e.memberId = memberId;
  }

  private readOne(ps: PartitionState, offset: number): LogRecord | null {
    const log = this.log.partition(ps.topic, ps.partition);
    if (offset < log.logStartOffset || offset >= log.highWatermark) return null;
    const read = log.readRecords(offset, 1, 1024 * 1024);
    const rec = read.records[0];
    return rec && rec.offset === offset ? rec : null;
  }

  /** Acknowledges records the member holds; durable before it resolves. */
  async acknowledge(
    groupId: string,
    memberId: string,
    acks: Array<{ topic: string; partition: number; offset: number; kind: ShareAck; deliveryCount?: number }>,
  ): Promise<void> {
    const g = this.groups.get(groupId);
    if (!g) throw new ShareError('TOPIC_CONFIG_INVALID', `share group ${groupId} does not exist`);
    const touched = new Set<PartitionState>();
    for (const a of acks) {
      const ps = g.partitions.get(`${a.topic}\u0000${a.partition}`);
      const e = ps?.inflight.get(a.offset);
      // The delivery count identifies one delivery (like an SQS receipt handle): an
      // acknowledgement of an earlier delivery of a record since redelivered is stale.
      if (!ps || !e || e.state !== 'acquired' || e.memberId !== memberId || (a.deliveryCount !== undefined && a.deliveryCount !== e.deliveryCount)) {
        throw new ShareError(
          'OFFSET_OUT_OF_RANGE',
          `record ${a.topic}-${a.partition}@${a.offset} is not held by this member (its lock may have expired and the record been redelivered)`,
        );
      }
      if (a.kind === 'accept') e.state = 'acked';
      else if (a.kind === 'release') e.state = 'available';
      else await this.deadLetter(g, ps, a.offset, e, 'rejected by the consumer');
      touched.add(ps);
    }
    for (const ps of touched) this.advance(ps);
    await this.persist(g, touched);
  }

  private async deadLetter(g: ShareGroup, ps: PartitionState, offset: number, e: InFlight, reason: string): Promise<void> {
    const rec = this.readOne(ps, offset);
    if (rec) {
      const topic = g.config.deadLetterTopic ?? `${g.id}.dlq`;
      if (!this.log.hasTopic(topic)) {
        try {
          await this.log.createTopic(topic, { partitions: 1 });
        } catch (err) {
          if (!(err instanceof LogError && err.code === 'TOPIC_EXISTS')) throw err;
        }
      }
      const headers: RecordHeader[] = [
        ...rec.headers,
        { key: 'tributary.dlq.reason', value: Buffer.from(reason) },
        { key: 'tributary.dlq.topic', value: Buffer.from(ps.topic) },
        { key: 'tributary.dlq.partition', value: Buffer.from(String(ps.partition)) },
        { key: 'tributary.dlq.offset', value: Buffer.from(String(offset)) },
        { key: 'tributary.dlq.group', value: Buffer.from(g.id) },
        { key: 'tributary.dlq.deliveries', value: Buffer.from(String(e.deliveryCount)) },
      ];
      await this.log.appendRecords(topic, 0, [{ key: rec.key, value: rec.value, headers, timestamp: rec.timestamp }]);
    }
    e.state = 'archived';
  }

  /** Moves the start offset past finished records (and offsets that hold no record). */
  private advance(ps: PartitionState): void {
    while (ps.spso < ps.nextFetch) {
      const e = ps.inflight.get(ps.spso);
      if (e && e.state !== 'acked' && e.state !== 'archived') break;
      if (e) ps.inflight.delete(ps.spso);
      ps.spso++;
      if (!e && ps.inflight.size === 0) {
        ps.spso = ps.nextFetch;
        break;
      }
    }
  }

  private skipTo(ps: PartitionState, offset: number): void {
    for (const o of [...ps.inflight.keys()]) if (o < offset) ps.inflight.delete(o);
    ps.spso = Math.max(ps.spso, offset);
    ps.nextFetch = Math.max(ps.nextFetch, offset);
  }

  private async persist(g: ShareGroup, touched: Set<PartitionState>): Promise<void> {
    if (touched.size === 0) return;
    const records = [...touched].map((ps) => {
      const entries: Array<[number, number, number]> = [...ps.inflight.entries()].map(([o, e]) => [o, STATE_CODES[e.state], e.deliveryCount]);
      const value = { spso: ps.spso, nextFetch: ps.nextFetch, entries };
      this.persisted.set(stateKey(g.id, ps.topic, ps.partition), value);
      return { key: Buffer.from(stateKey(g.id, ps.topic, ps.partition)), value: Buffer.from(JSON.stringify(value)) };
    });
    await this.log.appendRecords(SHARE_STATE_TOPIC, 0, records);
  }

  /** The soonest lock expiry among acquired records (for a poll deciding how long to wait). */
  nextLockExpiry(groupId: string): number | null {
    const g = this.groups.get(groupId);
    if (!g) return null;
    let min: number | null = null;
    for (const ps of g.partitions.values()) {
      for (const e of ps.inflight.values()) if (e.state === 'acquired' && (min === null || e.lockUntil < min)) min = e.lockUntil;
    }
    return min;
  }

  /** Partitions a waiting member should watch for new data, with the offset it waits beyond. */
  watchList(groupId: string): Array<{ topic: string; partition: number; offset: number }> {
    const g = this.groups.get(groupId);
    if (!g) return [];
    return this.partitionsOf(g).map((ps) => ({ topic: ps.topic, partition: ps.partition, offset: ps.nextFetch }));
  }

  describe(groupId: string) {
    const g = this.groups.get(groupId);
    if (!g) return null;
    return {
      groupId,
      config: g.config,
      members: [...g.members.entries()].map(([memberId, m]) => ({ memberId, topics: m.topics })),
      partitions: [...g.partitions.values()].map((ps) => {
        const counts = { acquired: 0, available: 0, acked: 0, archived: 0 };
        for (const e of ps.inflight.values()) counts[e.state === 'acquired' ? 'acquired' : e.state]++;
        return { topic: ps.topic, partition: ps.partition, startOffset: ps.spso, nextOffset: ps.nextFetch, ...counts };
      }),
    };
  }

  listGroups(): string[] {
    return [...this.groups.keys()].sort();
  }
}

function stateKey(group: string, topic: string, partition: number): string {
  return JSON.stringify(['share', group, topic, partition]);
}
