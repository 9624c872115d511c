/** Admin operations of the embedded bus: topics, and groups with their lag. */
import { decodeAssignment } from '../../log/groups/consumer-protocol.ts';
import type { GroupCoordinator } from '../../log/groups/group-coordinator.ts';
import type { Log } from '../../log/log.ts';
import { BusError } from '../errors.ts';
import type { BusAdmin, GroupDescription, GroupOffsetDescription, GroupSummary, TopicConfig, TopicDescription } from '../types.ts';

export class EmbeddedAdmin implements BusAdmin {
  constructor(
    private readonly log: Log,
    private readonly groups: GroupCoordinator,
  ) {}

  createTopic(name: string, config?: Partial<TopicConfig>): Promise<TopicDescription> {
    return this.log.createTopic(name, config);
  }

  async deleteTopic(name: string): Promise<void> {
    await this.log.deleteTopic(name);
    await this.groups.offsets.deleteTopic(name);
  }

  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<TopicDescription[]> {
    return this.log.listTopics(opts);
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    return this.log.describeTopic(name);
  }

  async listGroups(): Promise<GroupSummary[]> {
    return this.groups.listGroups();
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const raw = this.groups.describeGroup(groupId);
    if (!raw) throw new BusError('GROUP_NOT_FOUND', `consumer group ${groupId} does not exist (no members and no committed offsets)`);
    const memberDetails = raw.members.map((m) => {
      let assignment: Array<{ topic: string; partition: number }> = [];
      if (raw.protocolType === 'consumer' && m.assignment.length > 0) {
        try {
          assignment = decodeAssignment(m.assignment).partitions;
        } catch {
          // A client with its own assignment format: show no partitions rather than fail.
        }
      }
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost, assignment };
    });
    const rows = new Map<string, GroupOffsetDescription>();
    const lagRow = (topic: string, partition: number, committed: number | null): GroupOffsetDescription => {
      const hw = this.log.hasTopic(topic) && partition < this.log.partitionCount(topic) ? this.log.partition(topic, partition).highWatermark : 0;
      return { topic, partition, committedOffset: committed, logEndOffset: hw, lag: committed === null ? null : Math.max(0, hw - committed) };
    };
    for (const o of this.groups.fetchAllOffsets(groupId)) rows.set(`${o.topic}\u0000${o.partition}`, lagRow(o.topic, o.partition, o.offset));
    for (const m of memberDetails) {
      for (const a of m.assignment) {
        const key = `${a.topic}\u0000${a.partition}`;
        if (!rows.has(key)) rows.set(key, lagRow(a.topic, a.partition, null));
      }
    }
    const offsets = [...rows.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    return {
      groupId,
      state: raw.state,
      protocolType: raw.protocolType,
      protocol: raw.protocol,
      generationId: raw.generationId,
      members: raw.members.length,
      memberDetails,
      offsets,
    };
  }
}
