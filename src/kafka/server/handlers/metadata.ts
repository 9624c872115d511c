/** Metadata and DescribeCluster: one broker that leads every partition. */
import { LogError } from '../../../log/errors.ts';
import { validateTopicName } from '../../../log/topic-config.ts';
import type { Message } from '../../protocol/codec.ts';
import { ZERO_UUID } from '../../protocol/buffers.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode, errorCodeOf } from '../kafka-errors.ts';

interface RequestedTopic {
  topicId: string;
  name: string | null;
}

export function describeTopicForMetadata(broker: BrokerContext, name: string): Message {
  const { log, nodeId } = broker;
  const partitions = Array.from({ length: log.partitionCount(name) }, (_, i) => ({
    errorCode: ErrorCode.NONE,
    partitionIndex: i,
    leaderId: nodeId,
    leaderEpoch: 0,
    replicaNodes: [nodeId],
    isrNodes: [nodeId],
    offlineReplicas: [],
  }));
  return { errorCode: ErrorCode.NONE, name, topicId: log.topicId(name), isInternal: log.isInternal(name), partitions, topicAuthorizedOperations: -2147483648 };
}

export async function metadata(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const { log } = broker;
  const version = req.header.apiVersion;
  const requested = body.topics as RequestedTopic[] | null;
  const allowAutoCreate = version < 4 ? true : (body.allowAutoTopicCreation as boolean);
  const topics: Message[] = [];
  if (requested === null || (version === 0 && requested.length === 0)) {
    for (const name of log.topicNames({ includeInternal: true })) {
      if (allowed(broker, req, 'describe', 'topic', name)) topics.push(describeTopicForMetadata(broker, name));
    }
  } else {
    for (const t of requested) topics.push(await describeRequested(broker, req, t, allowAutoCreate));
  }
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: broker.nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: null }],
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    topics,
    clusterAuthorizedOperations: -2147483648,
  };
}

async function describeRequested(broker: BrokerContext, req: RequestContext, t: RequestedTopic, allowAutoCreate: boolean): Promise<Message> {
  const { log } = broker;
  const failed = (errorCode: number, name: string | null) => ({ errorCode, name, topicId: t.topicId ?? ZERO_UUID, isInternal: false, partitions: [] });
  let name = t.name;
  if (name === null || name === '') {
    name = t.topicId && t.topicId !== ZERO_UUID ? (log.topicNameById(t.topicId) ?? null) : null;
    if (name === null) return failed(ErrorCode.UNKNOWN_TOPIC_ID, null);
  }
  try {
    validateTopicName(name);
  } catch {
    return failed(ErrorCode.INVALID_TOPIC_EXCEPTION, name);
  }
  if (!allowed(broker, req, 'describe', 'topic', name)) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name);
  if (!log.hasTopic(name)) {
    if (!broker.autoCreateTopics || !allowAutoCreate || name.startsWith('__')) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name);
    if (!allowed(broker, req, 'create', 'topic', name)) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name);
    try {
      await log.ensureTopic(name);
      broker.logger.info({ topic: name, client: req.header.clientId }, 'auto-created topic on metadata request');
    } catch (err) {
      if (!(err instanceof LogError)) throw err;
      return failed(errorCodeOf(err), name);
    }
  }
  try {
    return describeTopicForMetadata(broker, name);
  } catch (err) {
    // Deleted while we were creating it.
    if (err instanceof LogError) return failed(errorCodeOf(err), name);
    throw err;
  }
}

export function describeCluster(broker: BrokerContext): Message {
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    endpointType: 1,
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    brokers: [{ brokerId: broker.nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: null }],
    clusterAuthorizedOperations: -2147483648,
  };
}
