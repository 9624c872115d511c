/** CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs. */
import { LogError } from '../../../log/errors.ts';
import { kafkaTopicConfigNames, resolveTopicConfig, topicConfigFromStrings, validateTopicName } from '../../../log/topic-config.ts';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../../log/types.ts';
import type { Message } from '../../protocol/codec.ts';
import { ZERO_UUID } from '../../protocol/buffers.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../kafka-errors.ts';

interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: unknown[];
  configs: Array<{ name: string; value: string | null }>;
}

/** Our topic config as Kafka's name → string value pairs. */
export function kafkaConfigEntries(config: TopicConfig): Array<{ name: string; value: string }> {
  return Object.entries(kafkaTopicConfigNames).map(([name, field]) => {
    const v = config[field];
    return { name, value: v === null ? '-1' : String(v) };
  });
}

export async function createTopics(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const validateOnly = Boolean(body.validateOnly);
  const topics = [];
  for (const t of body.topics as CreatableTopic[]) topics.push(await createOne(broker, req, t, validateOnly));
  return { throttleTimeMs: 0, topics };
}

async function createOne(broker: BrokerContext, req: RequestContext, t: CreatableTopic, validateOnly: boolean): Promise<Message> {
  const { log } = broker;
  const fail = (errorCode: number, errorMessage: string) => ({ name: t.name, topicId: ZERO_UUID, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null });
  if (!allowed(broker, req, 'create', 'topic', t.name)) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `not allowed to create topic ${t.name}`);
  // Kafka's rule: -1 means "the default", anything else must be positive.
  if (t.replicationFactor < -1 || t.replicationFactor === 0) {
    return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be larger than 0, or -1 for the default; got ${t.replicationFactor}`);
  }
  if (t.numPartitions < -1 || t.numPartitions === 0) {
    return fail(ErrorCode.INVALID_PARTITIONS, `number of partitions must be larger than 0, or -1 for the default; got ${t.numPartitions}`);
  }
  if (t.replicationFactor > 1) {
    return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${t.replicationFactor} is larger than the number of brokers (1)`);
  }
  if (t.assignments.length > 0) return fail(ErrorCode.INVALID_REQUEST, 'manual replica assignments are not supported: one broker holds every partition');
  try {
    validateTopicName(t.name);
    if (t.name.startsWith('__')) throw new LogError('TOPIC_NAME_INVALID', `topic names starting with "__" are reserved for internal topics: "${t.name}"`);
    if (log.hasTopic(t.name)) throw new LogError('TOPIC_EXISTS', `topic ${t.name} already exists`);
    const strings: Record<string, string> = {};
    for (const c of t.configs) if (c.value !== null) strings[c.name] = c.value;
    const partial: Partial<TopicConfig> = topicConfigFromStrings(strings);
    if (t.numPartitions !== -1) partial.partitions = t.numPartitions;
    const config = resolveTopicConfig(partial, log.defaults);
    const configs = kafkaConfigEntries(config).map((c) => ({ ...c, readOnly: false, configSource: 5, isSensitive: false }));
    if (validateOnly) return { name: t.name, topicId: ZERO_UUID, errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: config.partitions, replicationFactor: 1, configs };
    await log.createTopic(t.name, partial);
    return { name: t.name, topicId: log.topicId(t.name), errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: config.partitions, replicationFactor: 1, configs };
  } catch (err) {
    return fail(errorCodeOf(err), errorMessageOf(err));
  }
}

export async function deleteTopics(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const { log } = broker;
  const version = req.header.apiVersion;
  const wanted: Array<{ name: string | null; topicId: string }> =
    version >= 6 ? (body.topics as Array<{ name: string | null; topicId: string }>) : (body.topicNames as string[]).map((name) => ({ name, topicId: ZERO_UUID }));
  const responses = [];
  for (const w of wanted) {
    const name = w.name ?? log.topicNameById(w.topicId) ?? null;
    const answer = (errorCode: number, errorMessage: string | null = null) => ({ name, topicId: w.topicId, errorCode, errorMessage });
    if (name === null) {
      responses.push(answer(ErrorCode.UNKNOWN_TOPIC_ID));
      continue;
    }
    if (!allowed(broker, req, 'delete', 'topic', name)) {
      responses.push(answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      continue;
    }
    if (!log.hasTopic(name)) {
      responses.push(answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      continue;
    }
    if (log.isInternal(name)) {
      responses.push(answer(ErrorCode.INVALID_REQUEST, `${name} is an internal topic`));
      continue;
    }
    try {
      const topicId = log.topicId(name);
      await log.deleteTopic(name);
      await broker.groups.offsets.deleteTopic(name);
      responses.push({ name, topicId, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (err) {
      responses.push(answer(errorCodeOf(err), errorMessageOf(err)));
    }
  }
  return { throttleTimeMs: 0, responses };
}

export async function createPartitions(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const { log } = broker;
  const results = [];
  for (const t of body.topics as Array<{ name: string; count: number; assignments: unknown[] | null }>) {
    const answer = (errorCode: number, errorMessage: string | null = null) => ({ name: t.name, errorCode, errorMessage });
    if (!allowed(broker, req, 'alter', 'topic', t.name)) results.push(answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
    else if (!log.hasTopic(t.name)) results.push(answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    else if (t.count <= log.partitionCount(t.name)) {
      results.push(answer(ErrorCode.INVALID_PARTITIONS, `topic ${t.name} already has ${log.partitionCount(t.name)} partitions; the new count must be larger, got ${t.count}`));
    } else if (body.validateOnly) results.push(answer(ErrorCode.NONE));
    else {
      try {
        await log.addPartitions(t.name, t.count);
        results.push(answer(ErrorCode.NONE));
      } catch (err) {
        results.push(answer(errorCodeOf(err), errorMessageOf(err)));
      }
    }
  }
  return { throttleTimeMs: 0, results };
}

export async function deleteRecords(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const { log } = broker;
  const topics = body.topics as Array<{ name: string; partitions: Array<{ partitionIndex: number; offset: number }> }>;
  const out = [];
  for (const t of topics) {
    const partitions = [];
    for (const p of t.partitions) {
      const answer = (errorCode: number, lowWatermark = -1) => ({ partitionIndex: p.partitionIndex, lowWatermark, errorCode });
      if (!allowed(broker, req, 'delete', 'topic', t.name)) partitions.push(answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      else if (!log.hasTopic(t.name) || p.partitionIndex < 0 || p.partitionIndex >= log.partitionCount(t.name)) partitions.push(answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      else {
        try {
          const part = log.partition(t.name, p.partitionIndex);
          partitions.push(answer(ErrorCode.NONE, await part.deleteRecordsBefore(p.offset === -1 ? part.highWatermark : p.offset)));
        } catch (err) {
          partitions.push(answer(errorCodeOf(err)));
        }
      }
    }
    out.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics: out };
}

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

export function describeConfigs(broker: BrokerContext, req: RequestContext, body: Message): Message {
  const { log } = broker;
  const version = req.header.apiVersion;
  const resources = body.resources as Array<{ resourceType: number; resourceName: string; configurationKeys: string[] | null }>;
  const results = resources.map((r) => {
    const base = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] as Message[] };
    const pick = (entries: Array<{ name: string; value: string; source: number }>) =>
      entries
        .filter((e) => r.configurationKeys === null || r.configurationKeys.includes(e.name))
        .map((e) => ({ name: e.name, value: e.value, readOnly: e.source !== SOURCE_DYNAMIC_TOPIC && e.source !== SOURCE_DEFAULT, isDefault: e.source === SOURCE_DEFAULT, configSource: version >= 1 ? e.source : -1, isSensitive: false, synonyms: [], configType: 0, documentation: null }));
    if (r.resourceType === RESOURCE_TOPIC) {
      if (!allowed(broker, req, 'describe', 'topic', r.resourceName)) return { ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
      if (!log.hasTopic(r.resourceName)) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${r.resourceName} does not exist` };
      const config = log.topicConfig(r.resourceName);
      const entries = Object.entries(kafkaTopicConfigNames).map(([name, field]) => {
        const v = config[field];
        const isDefault = v === DEFAULT_TOPIC_CONFIG[field];
        return { name, value: v === null ? '-1' : String(v), source: isDefault ? SOURCE_DEFAULT : SOURCE_DYNAMIC_TOPIC };
      });
      return { ...base, configs: pick(entries) };
    }
    if (r.resourceType === RESOURCE_BROKER) {
      const d = log.defaults;
      const entries = [
        { name: 'auto.create.topics.enable', value: String(broker.autoCreateTopics), source: SOURCE_STATIC_BROKER },
        { name: 'num.partitions', value: String(d.partitions), source: SOURCE_STATIC_BROKER },
        { name: 'default.replication.factor', value: '1', source: SOURCE_STATIC_BROKER },
        { name: 'log.retention.ms', value: d.retentionMs === null ? '-1' : String(d.retentionMs), source: SOURCE_STATIC_BROKER },
        { name: 'log.segment.bytes', value: String(d.segmentBytes), source: SOURCE_STATIC_BROKER },
        { name: 'message.max.bytes', value: String(d.maxRecordBytes), source: SOURCE_STATIC_BROKER },
        { name: 'broker.id', value: String(broker.nodeId), source: SOURCE_STATIC_BROKER },
      ];
      return { ...base, configs: pick(entries) };
    }
    return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${r.resourceType} is not supported (2 = topic, 4 = broker)` };
  });
  return { throttleTimeMs: 0, results };
}
