/** OffsetCommit and OffsetFetch over the coordinator's durable offset store. */
import type { Message } from '../../protocol/codec.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode } from '../kafka-errors.ts';

interface CommitTopic {
  name: string;
  partitions: Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }>;
}

export async function offsetCommit(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const groupId = body.groupId as string;
  const topics = body.topics as CommitTopic[];
  const groupAllowed = allowed(broker, req, 'read', 'group', groupId);
  const entries: Array<{ topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null }> = [];
  const codes = new Map<string, number>();
  for (const t of topics) {
    const topicAllowed = allowed(broker, req, 'read', 'topic', t.name);
    for (const p of t.partitions) {
      const key = `${t.name}\u0000${p.partitionIndex}`;
      if (!groupAllowed) codes.set(key, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      else if (!topicAllowed) codes.set(key, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      else entries.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata });
    }
  }
  if (entries.length > 0) {
    const version = req.header.apiVersion;
    const results = await broker.groups.commitOffsets({
      groupId,
      generationId: version >= 1 ? (body.generationIdOrMemberEpoch as number) : -1,
      memberId: version >= 1 ? (body.memberId as string) : '',
      groupInstanceId: (body.groupInstanceId as string | null) ?? null,
      entries,
    });
    entries.forEach((e, i) => codes.set(`${e.topic}\u0000${e.partition}`, results[i]!));
  }
  return {
    throttleTimeMs: 0,
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: codes.get(`${t.name}\u0000${p.partitionIndex}`) ?? ErrorCode.NONE })),
    })),
  };
}

interface FetchTopic {
  name: string;
  partitionIndexes: number[];
}

function fetchGroup(broker: BrokerContext, req: RequestContext, groupId: string, topics: FetchTopic[] | null) {
  if (!allowed(broker, req, 'describe', 'group', groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] as Message[] };
  let requested = topics;
  if (requested === null) {
    const byTopic = new Map<string, number[]>();
    for (const o of broker.groups.fetchAllOffsets(groupId)) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o.partition]);
    requested = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  }
  const out = requested
    .filter((t) => allowed(broker, req, 'describe', 'topic', t.name))
    .map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => {
        const c = broker.groups.fetchOffset(groupId, t.name, partitionIndex);
        return {
          partitionIndex,
          committedOffset: c?.offset ?? -1,
          committedLeaderEpoch: c?.leaderEpoch ?? -1,
          metadata: c ? c.metadata : '',
          errorCode: ErrorCode.NONE,
        };
      }),
    }));
  return { errorCode: ErrorCode.NONE, topics: out };
}

export function offsetFetch(broker: BrokerContext, req: RequestContext, body: Message): Message {
  const version = req.header.apiVersion;
  if (version >= 8) {
    const groups = body.groups as Array<{ groupId: string; topics: FetchTopic[] | null }>;
    return {
      throttleTimeMs: 0,
      groups: groups.map((g) => {
        const r = fetchGroup(broker, req, g.groupId, g.topics);
        return { groupId: g.groupId, topics: r.topics, errorCode: r.errorCode };
      }),
    };
  }
  const r = fetchGroup(broker, req, body.groupId as string, (body.topics as FetchTopic[] | null) ?? null);
  return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode };
}
