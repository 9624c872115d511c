/** The dispatch table: API key → handler. */
import { ApiKey } from '../../protocol/apis.ts';
import type { Handler } from '../context.ts';
import { createPartitions, createTopics, deleteRecords, deleteTopics, describeConfigs } from './admin.ts';
import { apiVersions } from './api-versions.ts';
import { fetch } from './fetch.ts';
import { deleteGroups, describeGroups, findCoordinator, heartbeat, joinGroup, leaveGroup, listGroups, syncGroup } from './groups.ts';
import { listOffsets } from './list-offsets.ts';
import { describeCluster, metadata } from './metadata.ts';
import { offsetCommit, offsetFetch } from './offsets.ts';
import { produce } from './produce.ts';
import { initProducerId, offsetForLeaderEpoch } from './producers.ts';
import { saslAuthenticate, saslHandshake } from './sasl.ts';
import { addOffsetsToTxn, addPartitionsToTxn, endTxn, txnOffsetCommit } from './transactions.ts';

export { unsupportedVersionResponse } from './api-versions.ts';

export const handlers: Record<number, Handler> = {
  [ApiKey.ApiVersions]: () => apiVersions(),
  [ApiKey.Metadata]: metadata,
  [ApiKey.Produce]: produce,
  [ApiKey.Fetch]: fetch,
  [ApiKey.ListOffsets]: listOffsets,
  [ApiKey.FindCoordinator]: findCoordinator,
  [ApiKey.JoinGroup]: joinGroup,
  [ApiKey.SyncGroup]: syncGroup,
  [ApiKey.Heartbeat]: heartbeat,
  [ApiKey.LeaveGroup]: leaveGroup,
  [ApiKey.OffsetCommit]: offsetCommit,
  [ApiKey.OffsetFetch]: offsetFetch,
  [ApiKey.DescribeGroups]: describeGroups,
  [ApiKey.ListGroups]: listGroups,
  [ApiKey.DeleteGroups]: deleteGroups,
  [ApiKey.CreateTopics]: createTopics,
  [ApiKey.DeleteTopics]: deleteTopics,
  [ApiKey.CreatePartitions]: createPartitions,
  [ApiKey.DeleteRecords]: deleteRecords,
  [ApiKey.DescribeConfigs]: describeConfigs,
  [ApiKey.DescribeCluster]: (broker) => describeCluster(broker),
  [ApiKey.InitProducerId]: initProducerId,
  [ApiKey.OffsetForLeaderEpoch]: offsetForLeaderEpoch,
  [ApiKey.AddPartitionsToTxn]: addPartitionsToTxn,
  [ApiKey.AddOffsetsToTxn]: addOffsetsToTxn,
  [ApiKey.EndTxn]: endTxn,
  [ApiKey.TxnOffsetCommit]: txnOffsetCommit,
  [ApiKey.SaslHandshake]: saslHandshake,
  [ApiKey.SaslAuthenticate]: saslAuthenticate,
};
