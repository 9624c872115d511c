/**
 * Partition assignors run by the group leader (pure functions). Names and results match
 * Kafka's `range` and `roundrobin` assignors, so a group can mix in-process consumers with
 * Kafka clients that offer the same protocol.
 */
import type { TopicPartition } from './types.ts';

export interface AssignorMember {
  memberId: string;
  topics: string[];
}

export type Assignor = (members: AssignorMember[], partitionsPerTopic: Map<string, number>) => Map<string, TopicPartition[]>;

/** Per topic, consecutive ranges of partitions; earlier members (by id) get one extra when it does not divide. */
export const rangeAssignor: Assignor = (members, partitionsPerTopic) => {
  const out = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const n = partitionsPerTopic.get(topic);
    if (n === undefined) continue;
    const subscribers = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort();
    const per = Math.floor(n / subscribers.length);
    const extra = n % subscribers.length;
    subscribers.forEach((memberId, i) => {
      const start = per * i + Math.min(i, extra);
      const length = per + (i < extra ? 1 : 0);
      for (let p = start; p < start + length; p++) out.get(memberId)!.push({ topic, partition: p });
    });
  }
  return out;
};

/** All partitions of all topics, sorted, dealt out one by one to the members subscribed to each topic. */
export const roundRobinAssignor: Assignor = (members, partitionsPerTopic) => {
  const out = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  let next = 0;
  for (const topic of topics) {
    const n = partitionsPerTopic.get(topic);
    if (n === undefined) continue;
    for (let p = 0; p < n; p++) {
      for (let tries = 0; tries < sorted.length; tries++) {
        const m = sorted[next++ % sorted.length]!;
        if (m.topics.includes(topic)) {
          out.get(m.memberId)!.push({ topic, partition: p });
          break;
        }
      }
    }
  }
  return out;
};

export const assignors: Record<string, Assignor> = { range: rangeAssignor, roundrobin: roundRobinAssignor };
