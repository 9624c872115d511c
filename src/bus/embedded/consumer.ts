/**
 * In-process consumer. Without a group it reads assigned partitions; with a group it is a
 * member of the log's group coordinator, speaking the same protocol as Kafka clients
 * (subscription/assignment bytes included), so it can share a group with them.
 *
 * Membership: subscribe() joins (JoinGroup → the leader assigns with `range` or `roundrobin`
 * → SyncGroup) and starts heartbeats. A heartbeat answered with REBALANCE_IN_PROGRESS (or a
 * lost membership) marks a rejoin and wakes a waiting poll; the next poll() rejoins before
 * reading, so records already handed out can be committed by their owner first. Positions of partitions the member keeps across a
 * rebalance are kept; new partitions start at the group's committed offset, or at the
 * beginning/end per `fromBeginning`.
 */
import { setMaxListeners } from 'node:events';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../log/groups/consumer-protocol.ts';
import { GroupErrorCode, type GroupCoordinator } from '../../log/groups/group-coordinator.ts';
import { LogError } from '../../log/errors.ts';
import type { Log } from '../../log/log.ts';
import { assignors } from '../assignors.ts';
import { BusError } from '../errors.ts';
import type { BusConsumer, ConsumedRecord, ConsumerOptions, TopicPartition, TopicPartitionOffset } from '../types.ts';

interface Assigned {
  topic: string;
  partition: number;
  position: number | null;
}

const PROTOCOLS = ['range', 'roundrobin'];

export class EmbeddedConsumer implements BusConsumer {
  private readonly assigned = new Map<string, Assigned>();
  private topics: string[] = [];
  private memberId = '';
  private generationId = -1;
  private rejoining: Promise<void> | null = null;
  /** Set by a heartbeat or commit that learned of a rebalance; the next poll rejoins. */
  private rejoinNeeded = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private wake: AbortController | null = null;
  private closed = false;
  private rotate = 0;
  private lastYield = performance.now();
  private readonly opts: Required<Omit<ConsumerOptions, 'groupId' | 'groupInstanceId'>> & Pick<ConsumerOptions, 'groupId' | 'groupInstanceId'>;

  constructor(
    private readonly log: Log,
    private readonly groups: GroupCoordinator,
    opts: ConsumerOptions = {},
  ) {
    this.opts = {
      groupId: opts.groupId,
      groupInstanceId: opts.groupInstanceId,
      clientId: opts.clientId ?? 'tributary-consumer',
      fromBeginning: opts.fromBeginning ?? false,
      sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
      rebalanceTimeoutMs: opts.rebalanceTimeoutMs ?? 10_000,
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1_000,
      maxPollRecords: opts.maxPollRecords ?? 10_000,
      isolationLevel: opts.isolationLevel ?? 'read_uncommitted',
    };
  }

  /** The group member id (empty before the first join). */
  get member(): { memberId: string; generationId: number } {
    return { memberId: this.memberId, generationId: this.generationId };
  }

  async subscribe(topics: string[]): Promise<void> {
    this.assertOpen();
    if (!this.opts.groupId) throw new BusError('NOT_SUBSCRIBED', 'subscribe() needs a groupId; use assign() to read partitions without a group');
    for (const t of topics) if (!this.log.hasTopic(t)) await this.log.ensureTopic(t);
    this.topics = [...new Set(topics)].sort();
    await this.rejoin();
    this.startHeartbeats();
  }

  assign(partitions: Array<TopicPartition & { offset?: number }>): void {
    this.assertOpen();
    this.assigned.clear();
    for (const p of partitions) {
      this.log.partition(p.topic, p.partition); // validates
      this.assigned.set(`${p.topic}\u0000${p.partition}`, { topic: p.topic, partition: p.partition, position: p.offset ?? null });
    }
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  seek(topic: string, partition: number, offset: number): void {
    const a = this.assigned.get(`${topic}\u0000${partition}`);
    if (!a) throw new BusError('NOT_SUBSCRIBED', `partition ${topic}-${partition} is not assigned to this consumer`);
    a.position = offset;
  }

  /** Next offset to read per assigned partition (after the last poll). */
  positions(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const a of this.assigned.values()) if (a.position !== null) out.push({ topic: a.topic, partition: a.partition, offset: a.position });
    return out;
  }

  private rejoin(): Promise<void> {
    this.rejoinNeeded = false;
    this.rejoining ??= this.joinLoop().finally(() => (this.rejoining = null));
    return this.rejoining;
  }

  private async joinLoop(): Promise<void> {
    const groupId = this.opts.groupId!;
    for (let attempt = 0; !this.closed; attempt++) {
      const metadata = encodeSubscription({ topics: this.topics, ownedPartitions: this.assignment() });
      const join = await this.groups.join({
        groupId,
        memberId: this.memberId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
        clientId: this.opts.clientId,
        clientHost: 'in-process',
        sessionTimeoutMs: this.opts.sessionTimeoutMs,
        rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs,
        protocolType: 'consumer',
        protocols: PROTOCOLS.map((name) => ({ name, metadata })),
      });
      if (join.errorCode === GroupErrorCode.UNKNOWN_MEMBER_ID || join.errorCode === GroupErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = join.errorCode === GroupErrorCode.MEMBER_ID_REQUIRED ? join.memberId : '';
        continue;
      }
      if (join.errorCode === GroupErrorCode.REBALANCE_IN_PROGRESS) continue;
      if (join.errorCode !== GroupErrorCode.NONE) {
        throw new BusError('GROUP_ERROR', `joining group ${groupId} failed with Kafka error ${join.errorCode}`, { kafkaCode: join.errorCode });
      }
      this.memberId = join.memberId;
      this.generationId = join.generationId;
      const assignments = join.leader === this.memberId ? this.computeAssignments(join.protocolName!, join.members) : [];
      const sync = await this.groups.sync({ groupId, generationId: join.generationId, memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId ?? null, assignments });
      if (sync.errorCode === GroupErrorCode.REBALANCE_IN_PROGRESS || sync.errorCode === GroupErrorCode.ILLEGAL_GENERATION) continue;
      if (sync.errorCode === GroupErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (sync.errorCode !== GroupErrorCode.NONE) {
        throw new BusError('GROUP_ERROR', `syncing group ${groupId} failed with Kafka error ${sync.errorCode}`, { kafkaCode: sync.errorCode });
      }
      this.applyAssignment(decodeAssignment(sync.assignment).partitions);
      return;
    }
  }

  private computeAssignments(protocol: string, members: Array<{ memberId: string; metadata: Buffer }>) {
    const assignor = assignors[protocol] ?? assignors.range!;
    const subs = members.map((m) => ({ memberId: m.memberId, topics: decodeSubscription(m.metadata).topics }));
    const counts = new Map<string, number>();
    for (const s of subs) for (const t of s.topics) if (this.log.hasTopic(t)) counts.set(t, this.log.partitionCount(t));
    const result = assignor(subs, counts);
    return [...result.entries()].map(([memberId, partitions]) => ({ memberId, assignment: encodeAssignment({ partitions }) }));
  }

  private applyAssignment(partitions: TopicPartition[]): void {
    const previous = new Map(this.assigned);
    this.assigned.clear();
    for (const { topic, partition } of partitions) {
      const key = `${topic}\u0000${partition}`;
      this.assigned.set(key, { topic, partition, position: previous.get(key)?.position ?? null });
    }
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer) return;
    this.heartbeatTimer = setInterval(() => {
      if (this.closed || this.rejoining) return;
      const code = this.groups.heartbeat({
        groupId: this.opts.groupId!,
        memberId: this.memberId,
        generationId: this.generationId,
        groupInstanceId: this.opts.groupInstanceId ?? null,
      });
      if (code === GroupErrorCode.NONE) return;
      if (code === GroupErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      // Rejoin at the next poll, not now: the application may still be processing records of
      // partitions it is about to lose, and must get to commit them first (Kafka's contract).
      this.rejoinNeeded = true;
      this.wake?.abort();
    }, this.opts.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private resolvePosition(a: Assigned): number {
    if (a.position !== null) return a.position;
    const p = this.log.partition(a.topic, a.partition);
    const committed = this.opts.groupId ? this.groups.fetchOffset(this.opts.groupId, a.topic, a.partition) : undefined;
    if (committed && committed.offset >= p.logStartOffset && committed.offset <= p.highWatermark) a.position = committed.offset;
    else a.position = this.opts.fromBeginning ? p.logStartOffset : p.highWatermark;
    return a.position;
  }

  async poll(opts: { timeoutMs?: number; maxRecords?: number } = {}): Promise<ConsumedRecord[]> {
    this.assertOpen();
    const timeoutMs = opts.timeoutMs ?? 1000;
    const maxRecords = Math.min(opts.maxRecords ?? this.opts.maxPollRecords, this.opts.maxPollRecords);
    const deadline = Date.now() + timeoutMs;
    // A caller that always finds data would never leave the microtask queue, starving
    // heartbeats and group commits: give the event loop a turn now and then.
    if (performance.now() - this.lastYield > 10) {
      await new Promise((r) => setImmediate(r));
      this.lastYield = performance.now();
    }
    for (;;) {
      if (this.rejoinNeeded) await this.rejoin();
      else if (this.rejoining) await this.rejoining;
      const out = this.fetchAvailable(maxRecords);
      if (out.length > 0 || this.closed) return out;
      const left = deadline - Date.now();
      if (left <= 0) return out;
      await this.waitForAny(left);
      this.lastYield = performance.now();
    }
  }

  private fetchAvailable(maxRecords: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = [];
    const list = [...this.assigned.values()];
    if (list.length === 0) return out;
    this.rotate = (this.rotate + 1) % list.length;
    for (let i = 0; i < list.length && out.length < maxRecords; i++) {
      const a = list[(this.rotate + i) % list.length]!;
      const position = this.resolvePosition(a);
      const p = this.log.partition(a.topic, a.partition);
      const readCommitted = this.opts.isolationLevel === 'read_committed';
      if (position >= (readCommitted ? p.lastStableOffset : p.highWatermark)) continue;
      let read;
      try {
        read = p.readRecords(position, maxRecords - out.length, 4 * 1024 * 1024, { readCommitted });
      } catch (err) {
        if (err instanceof LogError && err.code === 'OFFSET_OUT_OF_RANGE') {
          a.position = this.opts.fromBeginning ? p.logStartOffset : p.highWatermark;
          continue;
        }
        throw err;
      }
      for (const r of read.records) {
        const c = r as ConsumedRecord;
        c.topic = a.topic;
        c.partition = a.partition;
        out.push(c);
      }
      a.position = read.nextOffset;
    }
    return out;
  }

  private async waitForAny(timeoutMs: number): Promise<void> {
    const list = [...this.assigned.values()];
    this.wake = new AbortController();
    const signal = this.wake.signal;
    // One abort listener per assigned partition: many partitions are normal, not a leak.
    setMaxListeners(list.length + 2, signal);
    try {
      if (list.length === 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(timeoutMs, 100));
          signal.addEventListener('abort', () => {
            clearTimeout(t);
            resolve();
          });
        });
        return;
      }
      const waits = list.map((a) => {
        const p = this.log.partition(a.topic, a.partition);
        // read_committed: records below the high watermark may still be unstable; wake on the next
        // append (a transaction marker moves the stable offset).
        const from = this.opts.isolationLevel === 'read_committed' ? Math.max(a.position ?? 0, p.highWatermark) : (a.position ?? 0);
        return p.waitForData(from, timeoutMs, signal);
      });
      await Promise.race(waits);
    } finally {
      this.wake.abort();
      this.wake = null;
    }
  }

  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    const groupId = this.opts.groupId;
    if (!groupId) throw new BusError('COMMIT_FAILED', 'commit() needs a groupId: this consumer was created without one');
    const entries = (offsets ?? this.positions()).map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }));
    if (entries.length === 0) return;
    const managed = this.topics.length > 0;
    const codes = await this.groups.commitOffsets({
      groupId,
      generationId: managed ? this.generationId : -1,
      memberId: managed ? this.memberId : '',
      groupInstanceId: this.opts.groupInstanceId ?? null,
      entries,
    });
    const bad = codes.findIndex((c) => c !== GroupErrorCode.NONE);
    if (bad >= 0) {
      const code = codes[bad]!;
      const rebalance = code === GroupErrorCode.REBALANCE_IN_PROGRESS || code === GroupErrorCode.ILLEGAL_GENERATION || code === GroupErrorCode.UNKNOWN_MEMBER_ID;
      if (rebalance) this.rejoinNeeded = true;
      throw new BusError(
        'COMMIT_FAILED',
        rebalance
          ? `commit to group ${groupId} failed: the group rebalanced (Kafka error ${code}); the partitions may now belong to another member, whose reads resume from the last successful commit`
          : `commit to group ${groupId} failed for ${entries[bad]!.topic}-${entries[bad]!.partition} (Kafka error ${code})`,
        { kafkaCode: code, retriable: rebalance },
      );
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new BusError('CONSUMER_CLOSED', 'consumer is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.wake?.abort();
    // Static members do not leave: a restart within the session timeout keeps the assignment.
    if (this.opts.groupId && this.memberId && !this.opts.groupInstanceId) {
      this.groups.leave(this.opts.groupId, [{ memberId: this.memberId }]);
    }
    await this.rejoining?.catch(() => {});
    this.assigned.clear();
  }
}
