/** Every API the broker serves, by key, with the versions it serves. */
import type { ApiSchema } from './schema.ts';
import { ApiVersions } from './messages/api-versions.ts';
import { Metadata } from './messages/metadata.ts';
import { Produce } from './messages/produce.ts';
import { Fetch } from './messages/fetch.ts';
import { ListOffsets } from './messages/list-offsets.ts';
import { FindCoordinator } from './messages/find-coordinator.ts';
import { DeleteGroups, DescribeGroups, Heartbeat, JoinGroup, LeaveGroup, ListGroups, SyncGroup } from './messages/groups.ts';
import { OffsetCommit, OffsetFetch } from './messages/offsets.ts';
import { CreatePartitions, CreateTopics, DeleteRecords, DeleteTopics, DescribeCluster, DescribeConfigs } from './messages/admin.ts';
import { InitProducerId, OffsetForLeaderEpoch } from './messages/producers.ts';
import { SaslAuthenticate, SaslHandshake } from './messages/sasl.ts';
import { AddOffsetsToTxn, AddPartitionsToTxn, EndTxn, TxnOffsetCommit } from './messages/transactions.ts';

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  TxnOffsetCommit: 28,
  DescribeConfigs: 32,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
  DescribeCluster: 60,
} as const;

export const APIS: ApiSchema[] = [
  Produce,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  FindCoordinator,
  JoinGroup,
  Heartbeat,
  LeaveGroup,
  SyncGroup,
  DescribeGroups,
  ListGroups,
  SaslHandshake,
  ApiVersions,
  CreateTopics,
  DeleteTopics,
  DeleteRecords,
  InitProducerId,
  OffsetForLeaderEpoch,
  AddPartitionsToTxn,
  AddOffsetsToTxn,
  EndTxn,
  TxnOffsetCommit,
  DescribeConfigs,
  SaslAuthenticate,
  CreatePartitions,
  DeleteGroups,
  DescribeCluster,
];

const byKey = new Map(APIS.map((a) => [a.apiKey, a]));

export function apiByKey(key: number): ApiSchema | undefined {
  return byKey.get(key);
}
