/**
 * Consumer of an external cluster: the embedded consumer's contract (subscribe with a group or
 * assign partitions, poll, commit, seek) spoken in Kafka requests.
 *
 * Group membership is Kafka's classic protocol with client-side assignment, the same assignors
 * (`range`, `roundrobin`) and subscription bytes as the embedded consumer, so both kinds of
 * member can share a group. Rebalances follow the Java client: a heartbeat that learns of a
 * rebalance only marks it; the member rejoins inside the next poll(), before it fetches. So a
 * loop that commits what it processed before polling again hands its partitions over at
 * exactly the committed positions: no record is consumed twice or skipped when members come
 * and go. (A member that stops polling for longer than the rebalance timeout is dropped from
 * the group, as in Kafka.)
 *
 * Fetching: one Fetch per partition leader, long-polling up to the poll's timeout, on
 * connections of their own (a long poll must not hold up heartbeats or commits, which travel
 * on the coordinator's connection). A fetch still in flight when poll() returns keeps its
 * result for the next poll, used only if the partition's position did not move meanwhile.
 *
 * Reads are read_uncommitted, like the embedded bus (which has no transactions); control
 * batches are skipped and move the position past them.
 *
 * States of a partition's position: null (not known yet: the group's committed offset, else
 * the beginning or end per `fromBeginning`) → an offset, moved by poll() and seek(); after
 * OFFSET_OUT_OF_RANGE it is reset to the beginning or end.
 */
import type { ConnectionPool } from '@platformatic/kafka';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../log/groups/consumer-protocol.ts';
import { LogError } from '../../log/errors.ts';
import { decodeFetchedBatches, errorForKafkaCode, KafkaCode, sleep, translateKafkaError, type FetchedBatch, type KafkaCluster, type TopicMetadata } from '../../kafka/client/index.ts';
import { assignors } from '../assignors.ts';
import { BusError } from '../errors.ts';
import type { BusConsumer, ConsumedRecord, ConsumerOptions, TopicPartition, TopicPartitionOffset } from '../types.ts';

interface Assigned {
  topic: string;
  partition: number;
  position: number | null;
  /** After OFFSET_OUT_OF_RANGE: look the position up by this policy, not the committed offset. */
  reset: boolean;
}

interface Buffered {
  fetchOffset: number;
  records: ConsumedRecord[];
  nextOffset: number;
}

interface FetchResponse {
  responses: Array<{
    topicId: string;
    partitions: Array<{ partitionIndex: number; errorCode: number; highWatermark: bigint; logStartOffset: bigint; records?: FetchedBatch[] }>;
  }>;
  errorCode: number;
}

const PROTOCOLS = ['range', 'roundrobin'];
/** Upper bound of one long poll, so a poll with a long timeout still notices a rebalance soon. */
const MAX_FETCH_WAIT_MS = 1000;
/** How long a poll with a (near) zero timeout waits for its first fetch. */
const MIN_FIRST_WAIT_MS = 100;
const FETCH_MAX_BYTES = 50 * 1024 * 1024;
const PARTITION_MAX_BYTES = 1024 * 1024;
const READ_UNCOMMITTED = 0;
const MAX_FETCH_FAILURES = 3;
const EARLIEST = -2n;
const LATEST = -1n;

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export interface ExternalConsumerOptions extends ConsumerOptions {
  autoCreateTopics?: boolean;
}

export class ExternalConsumer implements BusConsumer {
  private readonly assigned = new Map<string, Assigned>();
  private readonly buffered = new Map<string, Buffered>();
  private readonly inflight = new Map<number, Promise<void>>();
  private topics: string[] = [];
  private memberId = '';
  private generationId = -1;
  private rejoinNeeded = false;
  private joining: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeating = false;
  private wake: AbortController | null = null;
  private pendingError: Error | null = null;
  private fetchFailures = 0;
  private closed = false;
  private readonly fetchPool: ConnectionPool;
  private readonly groupPool: ConnectionPool;
  private readonly opts: Required<Omit<ExternalConsumerOptions, 'groupId' | 'groupInstanceId'>> & Pick<ConsumerOptions, 'groupId' | 'groupInstanceId'>;

  constructor(
    private readonly cluster: KafkaCluster,
    opts: ExternalConsumerOptions = {},
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
      autoCreateTopics: opts.autoCreateTopics ?? true,
    };
    this.fetchPool = cluster.createPool(this.opts.clientId);
    // A JoinGroup is answered only when the rebalance completes: up to the rebalance timeout.
    this.groupPool = cluster.createPool(this.opts.clientId, { minRequestTimeoutMs: this.opts.rebalanceTimeoutMs + 5000 });
  }

  /** The group member id (empty before the first join). */
  get member(): { memberId: string; generationId: number } {
    return { memberId: this.memberId, generationId: this.generationId };
  }

  async subscribe(topics: string[]): Promise<void> {
    this.assertOpen();
    if (!this.opts.groupId) throw new BusError('NOT_SUBSCRIBED', 'subscribe() needs a groupId; use assign() to read partitions without a group');
    for (const t of topics) await this.cluster.topic(t, { autoCreate: this.opts.autoCreateTopics });
    this.topics = [...new Set(topics)].sort();
    this.rejoinNeeded = true;
    await this.rejoin();
    this.startHeartbeats();
  }

  assign(partitions: Array<TopicPartition & { offset?: number }>): void {
    this.assertOpen();
    for (const p of partitions) {
      if (!Number.isInteger(p.partition) || p.partition < 0) throw new BusError('PARTITION_UNKNOWN', `partition ${p.partition} of ${p.topic} is not a partition number`, { kafkaCode: 3, httpStatus: 404 });
      const meta = this.cluster.cachedTopic(p.topic);
      if (meta && p.partition >= meta.partitions.length) {
        throw new LogError('PARTITION_UNKNOWN', `topic ${p.topic} has no partition ${p.partition} (it has ${meta.partitions.length})`);
      }
    }
    this.assigned.clear();
    this.buffered.clear();
    for (const p of partitions) this.assigned.set(tpKey(p.topic, p.partition), { topic: p.topic, partition: p.partition, position: p.offset ?? null, reset: false });
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  seek(topic: string, partition: number, offset: number): void {
    const a = this.assigned.get(tpKey(topic, partition));
    if (!a) throw new BusError('NOT_SUBSCRIBED', `partition ${topic}-${partition} is not assigned to this consumer`);
    a.position = offset;
    a.reset = false;
    this.buffered.delete(tpKey(topic, partition));
  }

  /** Next offset to read per assigned partition (after the last poll). */
  positions(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const a of this.assigned.values()) if (a.position !== null) out.push({ topic: a.topic, partition: a.partition, offset: a.position });
    return out;
  }

  // ---- group membership ---------------------------------------------------------------

  private rejoin(): Promise<void> {
    this.joining ??= this.joinLoop().finally(() => (this.joining = null));
    return this.joining;
  }

  private async groupRequest<R>(name: string, args: unknown[]): Promise<R> {
    const groupId = this.opts.groupId!;
    const coordinator = await this.cluster.coordinator(groupId);
    try {
      return await this.cluster.request<R>(name, coordinator, args, { pool: this.groupPool, allowErrors: true });
    } catch (err) {
      this.cluster.forgetCoordinator(groupId);
      throw translateKafkaError(err, `${name} for group ${groupId}`);
    }
  }

  /** True when the coordinator moved or is loading: look it up again and retry. */
  private coordinatorMoved(code: number): boolean {
    if (code === KafkaCode.NOT_COORDINATOR || code === KafkaCode.COORDINATOR_NOT_AVAILABLE || code === KafkaCode.COORDINATOR_LOAD_IN_PROGRESS) {
      this.cluster.forgetCoordinator(this.opts.groupId!);
      return true;
    }
    return false;
  }

  private async joinLoop(): Promise<void> {
    const groupId = this.opts.groupId!;
    let failures = 0;
    while (!this.closed && this.rejoinNeeded) {
      const metadata = encodeSubscription({ topics: this.topics, ownedPartitions: this.assignment() });
      let join: { errorCode: number; generationId: number; protocolName: string | null; leader: string; memberId: string | null; members: Array<{ memberId: string; metadata: Buffer | null }> };
      try {
        join = await this.groupRequest('JoinGroup', [
          groupId,
          this.opts.sessionTimeoutMs,
          this.opts.rebalanceTimeoutMs,
          this.memberId,
          this.opts.groupInstanceId ?? null,
          'consumer',
          PROTOCOLS.map((name) => ({ name, metadata })),
          null,
        ]);
      } catch (err) {
        if (++failures > 5) throw err;
        await sleep(200);
        continue;
      }
      if (this.closed) return;
      const code = join.errorCode;
      if (code === KafkaCode.MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId ?? '';
        continue;
      }
      if (code === KafkaCode.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (code === KafkaCode.REBALANCE_IN_PROGRESS) continue;
      if (this.coordinatorMoved(code)) {
        await sleep(100);
        continue;
      }
      if (code !== KafkaCode.NONE) throw new BusError('GROUP_ERROR', `joining group ${groupId} failed with Kafka error ${code}`, { kafkaCode: code });
      this.memberId = join.memberId ?? this.memberId;
      this.generationId = join.generationId;
      const assignments = join.leader === this.memberId ? await this.computeAssignments(join.protocolName ?? 'range', join.members) : [];
      const sync = await this.groupRequest<{ errorCode: number; assignment: Buffer }>('SyncGroup', [
        groupId,
        join.generationId,
        this.memberId,
        this.opts.groupInstanceId ?? null,
        'consumer',
        join.protocolName,
        assignments,
      ]);
      if (this.closed) return;
      if (sync.errorCode === KafkaCode.REBALANCE_IN_PROGRESS || sync.errorCode === KafkaCode.ILLEGAL_GENERATION) continue;
      if (sync.errorCode === KafkaCode.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (this.coordinatorMoved(sync.errorCode)) continue;
      if (sync.errorCode !== KafkaCode.NONE) throw new BusError('GROUP_ERROR', `syncing group ${groupId} failed with Kafka error ${sync.errorCode}`, { kafkaCode: sync.errorCode });
      this.rejoinNeeded = false;
      this.applyAssignment(sync.assignment && sync.assignment.length > 0 ? decodeAssignment(sync.assignment).partitions : []);
    }
  }

  private async computeAssignments(protocol: string, members: Array<{ memberId: string; metadata: Buffer | null }>) {
    const assignor = assignors[protocol] ?? assignors.range!;
    const subs = members.map((m) => ({ memberId: m.memberId, topics: m.metadata ? decodeSubscription(m.metadata).topics : [] }));
    const wanted = [...new Set(subs.flatMap((s) => s.topics))];
    const counts = new Map<string, number>();
    if (wanted.length > 0) {
      for (const [name, meta] of await this.cluster.metadata(wanted)) if ('partitions' in meta) counts.set(name, meta.partitions.length);
    }
    const result = assignor(subs, counts);
    return [...result.entries()].map(([memberId, partitions]) => ({ memberId, assignment: encodeAssignment({ partitions }) }));
  }

  private applyAssignment(partitions: TopicPartition[]): void {
    const previous = new Map(this.assigned);
    this.assigned.clear();
    for (const { topic, partition } of partitions) {
      const key = tpKey(topic, partition);
      const kept = previous.get(key);
      this.assigned.set(key, kept ?? { topic, partition, position: null, reset: false });
    }
    for (const key of [...this.buffered.keys()]) if (!this.assigned.has(key)) this.buffered.delete(key);
  }

  private startHeartbeats(): void {
    if (this.heartbeatTimer) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.opts.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private async heartbeat(): Promise<void> {
    if (this.closed || this.joining || this.heartbeating || !this.memberId) return;
    this.heartbeating = true;
    try {
      const res = await this.groupRequest<{ errorCode: number }>('Heartbeat', [this.opts.groupId!, this.generationId, this.memberId, this.opts.groupInstanceId ?? null]);
      if (this.closed || this.joining) return;
      const code = res.errorCode;
      if (code === KafkaCode.NONE || this.coordinatorMoved(code)) return;
      if (code === KafkaCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      if (code === KafkaCode.REBALANCE_IN_PROGRESS || code === KafkaCode.ILLEGAL_GENERATION || code === KafkaCode.UNKNOWN_MEMBER_ID || code === KafkaCode.FENCED_INSTANCE_ID) {
        // Rejoin in the next poll (see the note at the top); wake a poll that is waiting.
        this.rejoinNeeded = true;
        this.wake?.abort();
      }
    } catch {
      // The coordinator is unreachable for now; the next heartbeat tries again.
    } finally {
      this.heartbeating = false;
    }
  }

  // ---- positions and fetching -----------------------------------------------------------

  /** Looks up the positions not known yet: committed offsets, else the beginning or the end. */
  private async resolvePositions(): Promise<void> {
    const unknown = [...this.assigned.values()].filter((a) => a.position === null);
    if (unknown.length === 0) return;
    const metas = new Map<string, TopicMetadata>();
    for (const topic of new Set(unknown.map((a) => a.topic))) {
      const meta = await this.cluster.topic(topic);
      metas.set(topic, meta);
    }
    for (const a of unknown) {
      const n = metas.get(a.topic)!.partitions.length;
      if (a.partition >= n) throw new LogError('PARTITION_UNKNOWN', `topic ${a.topic} has no partition ${a.partition} (it has ${n})`);
    }
    const needCommitted = this.opts.groupId ? unknown.filter((a) => !a.reset) : [];
    if (needCommitted.length > 0) {
      const committed = await this.fetchCommitted(needCommitted);
      for (const a of needCommitted) {
        const c = committed.get(tpKey(a.topic, a.partition));
        if (c !== undefined && c >= 0 && a.position === null) a.position = c;
      }
    }
    const rest = unknown.filter((a) => a.position === null);
    if (rest.length === 0) return;
    const offsets = await this.listOffsets(rest, this.opts.fromBeginning ? EARLIEST : LATEST);
    for (const a of rest) {
      const o = offsets.get(tpKey(a.topic, a.partition));
      if (o !== undefined && a.position === null) {
        a.position = o;
        a.reset = false;
      }
    }
  }

  private async fetchCommitted(parts: TopicPartition[]): Promise<Map<string, number>> {
    const byTopic = new Map<string, number[]>();
    for (const p of parts) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    const groupId = this.opts.groupId!;
    for (let attempt = 0; ; attempt++) {
      const res = await this.groupRequest<{ groups: Array<{ errorCode: number; topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; errorCode: number }> }> }> }>(
        'OffsetFetch',
        [[{ groupId, memberId: null, memberEpoch: -1, topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }], false],
      );
      const group = res.groups[0];
      const code = group?.errorCode ?? KafkaCode.NONE;
      if (code !== KafkaCode.NONE) {
        if ((this.coordinatorMoved(code) || code === KafkaCode.UNKNOWN_TOPIC_OR_PARTITION) && attempt < 10) {
          await sleep(100);
          continue;
        }
        throw errorForKafkaCode(code, `reading the committed offsets of group ${groupId}`);
      }
      const out = new Map<string, number>();
      for (const t of group?.topics ?? []) for (const p of t.partitions) if (p.errorCode === KafkaCode.NONE) out.set(tpKey(t.name, p.partitionIndex), Number(p.committedOffset));
      return out;
    }
  }

  /** ListOffsets by timestamp (-2 earliest, -1 latest) for the given partitions, per leader. */
  private async listOffsets(parts: TopicPartition[], timestamp: bigint): Promise<Map<string, number>> {
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const p of parts) {
      const meta = await this.cluster.topic(p.topic);
      const leader = meta.partitions[p.partition]?.leader ?? -1;
      const topics = byLeader.get(leader) ?? new Map<string, number[]>();
      topics.set(p.topic, [...(topics.get(p.topic) ?? []), p.partition]);
      byLeader.set(leader, topics);
    }
    const out = new Map<string, number>();
    await Promise.all(
      [...byLeader].map(async ([leader, topics]) => {
        const request = [...topics].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })) }));
        let res: { topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number; offset: bigint }> }> };
        try {
          res = await this.cluster.request('ListOffsets', leader, [-1, READ_UNCOMMITTED, request], { allowErrors: true });
        } catch (err) {
          throw translateKafkaError(err, 'looking up offsets');
        }
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode === KafkaCode.NONE) out.set(tpKey(t.name, p.partitionIndex), Number(p.offset));
            else if (p.errorCode === KafkaCode.UNKNOWN_TOPIC_OR_PARTITION) throw errorForKafkaCode(p.errorCode, `looking up offsets of ${t.name}-${p.partitionIndex}`);
            else this.cluster.forgetTopic(t.name); // leader moved: next poll asks again
          }
        }
      }),
    );
    return out;
  }

  async poll(opts: { timeoutMs?: number; maxRecords?: number } = {}): Promise<ConsumedRecord[]> {
    this.assertOpen();
    const timeoutMs = opts.timeoutMs ?? 1000;
    const maxRecords = Math.max(1, Math.min(opts.maxRecords ?? this.opts.maxPollRecords, this.opts.maxPollRecords));
    const deadline = Date.now() + timeoutMs;
    for (let round = 0; ; round++) {
      if (this.rejoinNeeded && this.opts.groupId && this.topics.length > 0) await this.rejoin();
      if (this.closed) return [];
      if (this.pendingError) {
        const err = this.pendingError;
        this.pendingError = null;
        throw err;
      }
      await this.resolvePositions();
      const out = this.drainBuffered(maxRecords);
      if (out.length > 0) return out;
      const left = deadline - Date.now();
      if (left <= 0 && round > 0) return out;
      this.startFetches(Math.max(0, Math.min(left, MAX_FETCH_WAIT_MS)));
      // Even a poll without a timeout waits for one round trip: records are only known from a fetch.
      await this.waitForFetches(round === 0 ? Math.max(left, MIN_FIRST_WAIT_MS) : Math.max(left, 0));
      if (this.closed) return [];
      if (Date.now() >= deadline && this.buffered.size === 0 && !this.pendingError && !this.rejoinNeeded) return [];
    }
  }

  private drainBuffered(maxRecords: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = [];
    for (const [key, buf] of this.buffered) {
      if (out.length >= maxRecords) break;
      const a = this.assigned.get(key);
      if (!a || a.position !== buf.fetchOffset) {
        this.buffered.delete(key);
        continue;
      }
      const take = buf.records.splice(0, maxRecords - out.length);
      out.push(...take);
      this.buffered.delete(key);
      if (buf.records.length === 0) {
        a.position = buf.nextOffset;
      } else {
        // The rest waits at the back, so one busy partition cannot starve the others.
        a.position = buf.records[0]!.offset;
        buf.fetchOffset = a.position;
        this.buffered.set(key, buf);
      }
    }
    return out;
  }

  private startFetches(maxWaitMs: number): void {
    const byLeader = new Map<number, Assigned[]>();
    for (const [key, a] of this.assigned) {
      if (a.position === null || this.buffered.has(key)) continue;
      const meta = this.cluster.cachedTopic(a.topic);
      const leader = meta?.partitions[a.partition]?.leader;
      if (meta === undefined || leader === undefined || leader < 0) {
        // No metadata yet: the next round looks it up.
        this.cluster.topic(a.topic).catch((err: Error) => (this.pendingError ??= err));
        continue;
      }
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), a]);
    }
    for (const [leader, parts] of byLeader) {
      if (this.inflight.has(leader)) continue;
      const p = this.fetchFrom(leader, parts, maxWaitMs).then(
        () => {
          this.fetchFailures = 0;
        },
        (err: Error) => {
          if (this.closed) return;
          // A dropped connection or a moved leader is retried (with fresh metadata); only a
          // failure that persists reaches the caller.
          for (const a of parts) this.cluster.forgetTopic(a.topic);
          if (++this.fetchFailures >= MAX_FETCH_FAILURES) {
            this.fetchFailures = 0;
            this.pendingError ??= translateKafkaError(err, 'fetching records');
          }
        },
      );
      const tracked = p.finally(() => this.inflight.delete(leader));
      this.inflight.set(leader, tracked);
    }
  }

  private async waitForFetches(timeoutMs: number): Promise<void> {
    this.wake = new AbortController();
    const signal = this.wake.signal;
    try {
      const waits: Array<Promise<unknown>> = [...this.inflight.values()];
      waits.push(sleep(waits.length === 0 ? Math.min(timeoutMs, 100) : timeoutMs, signal));
      await Promise.race(waits);
    } finally {
      this.wake.abort();
      this.wake = null;
    }
  }

  private async fetchFrom(leader: number, parts: Assigned[], maxWaitMs: number): Promise<void> {
    const requested = new Map<string, { a: Assigned; offset: number }>();
    const byTopic = new Map<string, { topicId: string; name: string; partitions: Array<Record<string, unknown>> }>();
    for (const a of parts) {
      const meta = this.cluster.cachedTopic(a.topic)!;
      const entry = byTopic.get(a.topic) ?? { topicId: meta.id, name: a.topic, partitions: [] };
      entry.partitions.push({ partition: a.partition, currentLeaderEpoch: -1, fetchOffset: BigInt(a.position!), lastFetchedEpoch: -1, partitionMaxBytes: PARTITION_MAX_BYTES });
      byTopic.set(a.topic, entry);
      requested.set(tpKey(a.topic, a.partition), { a, offset: a.position! });
    }
    const topicsById = new Map([...byTopic.values()].map((t) => [t.topicId, t.name]));
    const res = await this.cluster.request<FetchResponse>(
      'Fetch',
      leader,
      [maxWaitMs, 1, FETCH_MAX_BYTES, READ_UNCOMMITTED, 0, -1, [...byTopic.values()].map((t) => ({ topicId: t.topicId, topic: t.name, partitions: t.partitions })), [], ''],
      { pool: this.fetchPool, allowErrors: true },
    );
    if (this.closed) return;
    for (const t of res.responses ?? []) {
      const topic = topicsById.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const key = tpKey(topic, p.partitionIndex);
        const req = requested.get(key);
        const a = this.assigned.get(key);
        // Dropped when the partition was revoked or sought while the fetch was out.
        if (!req || a !== req.a || a.position !== req.offset) continue;
        this.handlePartition(a, key, req.offset, p);
      }
    }
  }

  private handlePartition(a: Assigned, key: string, offset: number, p: FetchResponse['responses'][number]['partitions'][number]): void {
    switch (p.errorCode) {
      case KafkaCode.NONE: {
        const { records, nextOffset } = decodeFetchedBatches(p.records, offset);
        if (records.length === 0) {
          if (nextOffset > offset) a.position = nextOffset; // control records or a compacted gap
          return;
        }
        const consumed = records as ConsumedRecord[];
        for (const r of consumed) {
          r.topic = a.topic;
          r.partition = a.partition;
        }
        this.buffered.set(key, { fetchOffset: offset, records: consumed, nextOffset });
        return;
      }
      case KafkaCode.OFFSET_OUT_OF_RANGE:
        a.position = null;
        a.reset = true;
        return;
      case KafkaCode.UNKNOWN_TOPIC_OR_PARTITION:
      case KafkaCode.UNKNOWN_TOPIC_ID:
        // Deleted, or metadata is stale: the next lookup tells which (and throws TOPIC_UNKNOWN if deleted).
        this.cluster.forgetTopic(a.topic);
        this.cluster.topic(a.topic).catch((err: Error) => (this.pendingError ??= err));
        return;
      default:
        // Leadership moved, leader epoch changed, storage error: refresh metadata and try again.
        this.cluster.forgetTopic(a.topic);
    }
  }

  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    const groupId = this.opts.groupId;
    if (!groupId) throw new BusError('COMMIT_FAILED', 'commit() needs a groupId: this consumer was created without one');
    const entries = offsets ?? this.positions();
    if (entries.length === 0) return;
    const managed = this.topics.length > 0;
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }>>();
    for (const e of entries) {
      byTopic.set(e.topic, [...(byTopic.get(e.topic) ?? []), { partitionIndex: e.partition, committedOffset: BigInt(e.offset), committedLeaderEpoch: -1, committedMetadata: null }]);
    }
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    for (let attempt = 0; ; attempt++) {
      const res = await this.groupRequest<{ topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }> }>('OffsetCommit', [
        groupId,
        managed ? this.generationId : -1,
        managed ? this.memberId : '',
        this.opts.groupInstanceId ?? null,
        topics,
      ]);
      let bad: { topic: string; partition: number; code: number } | null = null;
      for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== KafkaCode.NONE && !bad) bad = { topic: t.name, partition: p.partitionIndex, code: p.errorCode };
      if (!bad) return;
      if (this.coordinatorMoved(bad.code) && attempt < 5) {
        await sleep(100);
        continue;
      }
      const code = bad.code;
      const rebalance = code === KafkaCode.REBALANCE_IN_PROGRESS || code === KafkaCode.ILLEGAL_GENERATION || code === KafkaCode.UNKNOWN_MEMBER_ID;
      if (rebalance && managed) this.rejoinNeeded = true;
      throw new BusError(
        'COMMIT_FAILED',
        rebalance
          ? `commit to group ${groupId} failed: the group rebalanced (Kafka error ${code}); the partitions may now belong to another member, whose reads resume from the last successful commit`
          : `commit to group ${groupId} failed for ${bad.topic}-${bad.partition} (Kafka error ${code})`,
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
    // The leave goes on another connection than a JoinGroup that may be waiting, and ends that wait.
    if (this.opts.groupId && this.memberId && !this.opts.groupInstanceId) {
      try {
        const coordinator = await this.cluster.coordinator(this.opts.groupId);
        await this.cluster.request('LeaveGroup', coordinator, [this.opts.groupId, [{ memberId: this.memberId, groupInstanceId: null, reason: 'consumer closed' }]], { allowErrors: true });
      } catch {
        // The coordinator will expire the member after its session timeout.
      }
    }
    await this.joining?.catch(() => {});
    this.assigned.clear();
    this.buffered.clear();
    await this.cluster.closePool(this.fetchPool);
    await this.cluster.closePool(this.groupPool);
  }
}
