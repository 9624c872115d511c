/**
 * Admin operations on an external cluster: topics (with their offsets from ListOffsets and
 * their settings from DescribeConfigs) and consumer groups (DescribeGroups, committed offsets
 * from OffsetFetch, lag against the high watermark). A Kafka client cannot see a partition's
 * log end offset beyond the high watermark, nor its size on disk: `logEndOffset` is the high
 * watermark and `sizeBytes`/`segments` are 0.
 */
import { decodeAssignment } from '../../log/groups/consumer-protocol.ts';
import { LogError } from '../../log/errors.ts';
import { resolveTopicConfig, validateTopicName } from '../../log/topic-config.ts';
import type { PartitionDescription } from '../../log/types.ts';
import { errorForKafkaCode, KafkaCode, translateKafkaError, type KafkaCluster, type TopicMetadata } from '../../kafka/client/index.ts';
import { BusError } from '../errors.ts';
import type { BusAdmin, GroupDescription, GroupMemberDescription, GroupOffsetDescription, GroupSummary, TopicConfig, TopicDescription, TopicPartition } from '../types.ts';
import { fromKafkaConfigEntries, toKafkaConfigEntries } from './topic-config.ts';

const EARLIEST = -2n;
const LATEST = -1n;
const RESOURCE_TOPIC = 2;

interface ListOffsetsResponse {
  topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number; offset: bigint }> }>;
}

export interface ExternalAdminOptions {
  /** Settings of topics created without explicit ones (merged under the given config). */
  defaultTopicConfig?: Partial<TopicConfig>;
  /** Replication factor of created topics (default: the cluster's default). */
  replicationFactor?: number;
}

export class ExternalAdmin implements BusAdmin {
  constructor(
    private readonly cluster: KafkaCluster,
    private readonly opts: ExternalAdminOptions = {},
  ) {}

  async createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription> {
    validateTopicName(name);
    const wanted = { ...this.opts.defaultTopicConfig, ...stripUndefined(config ?? {}) };
    resolveTopicConfig(wanted); // the same validation (and messages) as the embedded log
    const existing = (await this.cluster.metadata([name])).get(name);
    if (existing && 'partitions' in existing) throw new LogError('TOPIC_EXISTS', `topic ${name} already exists`);
    try {
      await this.cluster.admin.createTopics({
        topics: [name],
        partitions: wanted.partitions ?? -1,
        replicas: this.opts.replicationFactor ?? -1,
        configs: toKafkaConfigEntries(wanted),
      });
    } catch (err) {
      throw translateKafkaError(err, `creating topic ${name}`);
    }
    this.cluster.forgetTopic(name);
    return this.describeTopic(name);
  }

  async deleteTopic(name: string): Promise<void> {
    await this.cluster.topic(name, { refresh: true }); // TOPIC_UNKNOWN when missing
    try {
      await this.cluster.admin.deleteTopics({ topics: [name] });
    } catch (err) {
      throw translateKafkaError(err, `deleting topic ${name}`);
    } finally {
      this.cluster.forgetTopic(name);
    }
  }

  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<TopicDescription[]> {
    const all = await this.cluster.metadata(null);
    const metas = [...all.values()].filter((m): m is TopicMetadata => 'partitions' in m).filter((m) => opts.includeInternal || !isInternal(m));
    metas.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.describe(metas);
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    const meta = await this.cluster.topic(name, { refresh: true });
    const [d] = await this.describe([meta]);
    return d!;
  }

  private async describe(metas: TopicMetadata[]): Promise<TopicDescription[]> {
    if (metas.length === 0) return [];
    const parts = metas.flatMap((m) => m.partitions.map((p) => ({ topic: m.name, partition: p.partition })));
    const [earliest, latest, configs] = await Promise.all([this.listOffsets(parts, EARLIEST), this.listOffsets(parts, LATEST), this.describeConfigs(metas.map((m) => m.name))]);
    return metas.map((m) => {
      const partitions: PartitionDescription[] = m.partitions.map((p) => {
        const key = `${m.name}\u0000${p.partition}`;
        const hw = latest.get(key) ?? 0;
        return { partition: p.partition, logStartOffset: earliest.get(key) ?? 0, logEndOffset: hw, highWatermark: hw, sizeBytes: 0, segments: 0 };
      });
      return { name: m.name, internal: isInternal(m), config: fromKafkaConfigEntries(configs.get(m.name) ?? [], m.partitions.length), partitions };
    });
  }

  private async describeConfigs(names: string[]): Promise<Map<string, Array<{ name: string; value: string | null }>>> {
    const out = new Map<string, Array<{ name: string; value: string | null }>>();
    try {
      const res = await this.cluster.admin.describeConfigs({ resources: names.map((resourceName) => ({ resourceType: RESOURCE_TOPIC, resourceName, configurationKeys: null as unknown as string[] })) });
      for (const r of res) out.set(r.resourceName, r.configs.map((c) => ({ name: c.name, value: c.value ?? null })));
    } catch (err) {
      // Without the right to describe configs the topics are still listed, with default settings.
      const e = translateKafkaError(err, 'describing topic configs');
      if (e.code !== 'NOT_AUTHORIZED') throw e;
    }
    return out;
  }

  /** ListOffsets (earliest -2, latest -1) for partitions, grouped by leader. */
  async listOffsets(parts: TopicPartition[], timestamp: bigint): Promise<Map<string, number>> {
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
        if (leader < 0) return;
        const request = [...topics].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })) }));
        let res: ListOffsetsResponse;
        try {
          res = await this.cluster.request<ListOffsetsResponse>('ListOffsets', leader, [-1, 0, request], { allowErrors: true });
        } catch (err) {
          throw translateKafkaError(err, 'listing offsets');
        }
        for (const t of res.topics) for (const p of t.partitions) if (p.errorCode === KafkaCode.NONE) out.set(`${t.name}\u0000${p.partitionIndex}`, Number(p.offset));
      }),
    );
    return out;
  }

  async listGroups(): Promise<GroupSummary[]> {
    // Every broker coordinates some groups: ask each one.
    const brokers = await this.cluster.allBrokers();
    const found = new Map<string, { protocolType: string; state: string }>();
    await Promise.all(
      brokers.map(async (b) => {
        let res: { errorCode: number; groups: Array<{ groupId: string; protocolType: string; groupState?: string }> };
        try {
          res = await this.cluster.request('ListGroups', b, [[], []], { allowErrors: true });
        } catch (err) {
          throw translateKafkaError(err, 'listing consumer groups');
        }
        if (res.errorCode !== KafkaCode.NONE) throw errorForKafkaCode(res.errorCode, 'listing consumer groups');
        for (const g of res.groups) found.set(g.groupId, { protocolType: g.protocolType, state: g.groupState ?? '' });
      }),
    );
    const ids = [...found.keys()].sort();
    const described = await Promise.all(ids.map((id) => this.describeRaw(id)));
    return ids.map((groupId, i) => {
      const d = described[i]!;
      return { groupId, state: d.groupState || found.get(groupId)!.state, protocolType: d.protocolType || found.get(groupId)!.protocolType, members: d.members.length };
    });
  }

  private async describeRaw(groupId: string) {
    type Raw = {
      errorCode: number;
      groupId: string;
      groupState: string;
      protocolType: string;
      protocolData: string;
      members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; memberAssignment: Buffer | null }>;
    };
    for (let attempt = 0; ; attempt++) {
      const coordinator = await this.cluster.coordinator(groupId);
      let res: { groups: Raw[] };
      try {
        res = await this.cluster.request<{ groups: Raw[] }>('DescribeGroups', coordinator, [[groupId], false], { allowErrors: true });
      } catch (err) {
        this.cluster.forgetCoordinator(groupId);
        throw translateKafkaError(err, `describing group ${groupId}`);
      }
      const g = res.groups[0]!;
      if ((g.errorCode === KafkaCode.NOT_COORDINATOR || g.errorCode === KafkaCode.COORDINATOR_NOT_AVAILABLE || g.errorCode === KafkaCode.COORDINATOR_LOAD_IN_PROGRESS) && attempt < 10) {
        this.cluster.forgetCoordinator(groupId);
        continue;
      }
      if (g.errorCode === KafkaCode.GROUP_ID_NOT_FOUND) return { ...g, groupState: 'Dead', members: [] };
      if (g.errorCode !== KafkaCode.NONE) throw errorForKafkaCode(g.errorCode, `describing group ${groupId}`);
      return g;
    }
  }

  private async committedOffsets(groupId: string): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    const coordinator = await this.cluster.coordinator(groupId);
    let res: { groups: Array<{ errorCode: number; topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; errorCode: number }> }> }> };
    try {
      res = await this.cluster.request('OffsetFetch', coordinator, [[{ groupId, memberId: null, memberEpoch: -1, topics: null }], false], { allowErrors: true });
    } catch (err) {
      this.cluster.forgetCoordinator(groupId);
      throw translateKafkaError(err, `reading the offsets of group ${groupId}`);
    }
    const g = res.groups[0];
    if (g && g.errorCode !== KafkaCode.NONE && g.errorCode !== KafkaCode.GROUP_ID_NOT_FOUND) throw errorForKafkaCode(g.errorCode, `reading the offsets of group ${groupId}`);
    const out: Array<{ topic: string; partition: number; offset: number }> = [];
    for (const t of g?.topics ?? []) {
      for (const p of t.partitions) if (p.errorCode === KafkaCode.NONE && p.committedOffset >= 0n) out.push({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) });
    }
    return out;
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const [raw, committed] = await Promise.all([this.describeRaw(groupId), this.committedOffsets(groupId)]);
    if ((raw.groupState === 'Dead' || raw.groupState === '') && raw.members.length === 0 && committed.length === 0) {
      throw new BusError('GROUP_NOT_FOUND', `consumer group ${groupId} does not exist (no members and no committed offsets)`);
    }
    const memberDetails: GroupMemberDescription[] = raw.members.map((m) => {
      let assignment: TopicPartition[] = [];
      if (raw.protocolType === 'consumer' && m.memberAssignment && m.memberAssignment.length > 0) {
        try {
          assignment = decodeAssignment(m.memberAssignment).partitions;
        } catch {
          // A client with its own assignment format: show no partitions rather than fail.
        }
      }
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, clientId: m.clientId, clientHost: m.clientHost, assignment };
    });
    const rows = new Map<string, { topic: string; partition: number; committed: number | null }>();
    for (const o of committed) rows.set(`${o.topic}\u0000${o.partition}`, { topic: o.topic, partition: o.partition, committed: o.offset });
    for (const m of memberDetails) {
      for (const a of m.assignment) {
        const key = `${a.topic}\u0000${a.partition}`;
        if (!rows.has(key)) rows.set(key, { topic: a.topic, partition: a.partition, committed: null });
      }
    }
    // High watermarks of the partitions of topics that still exist (a deleted topic's offsets show end 0).
    const existing = await this.cluster.metadata([...new Set([...rows.values()].map((r) => r.topic))]);
    const live = [...rows.values()].filter((r) => {
      const meta = existing.get(r.topic);
      return meta !== undefined && 'partitions' in meta && r.partition < meta.partitions.length;
    });
    const ends = live.length > 0 ? await this.listOffsets(live, LATEST) : new Map<string, number>();
    const offsets: GroupOffsetDescription[] = [...rows.values()]
      .map((r) => {
        const hw = ends.get(`${r.topic}\u0000${r.partition}`) ?? 0;
        return { topic: r.topic, partition: r.partition, committedOffset: r.committed, logEndOffset: hw, lag: r.committed === null ? null : Math.max(0, hw - r.committed) };
      })
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    return {
      groupId,
      state: raw.groupState,
      protocolType: raw.protocolType,
      protocol: raw.protocolData,
      generationId: -1,
      members: memberDetails.length,
      memberDetails,
      offsets,
    };
  }
}

function isInternal(m: TopicMetadata): boolean {
  return m.internal || m.name.startsWith('__');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
