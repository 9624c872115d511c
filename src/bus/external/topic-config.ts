/**
 * Topic configuration ↔ Kafka config entries (`retention.ms`, …), using the one name table of
 * the log (`kafkaTopicConfigNames`). Settings a cluster reports that we have no field for are
 * ignored; fields it does not report keep Kafka's meaning where it differs from ours.
 */
import { kafkaTopicConfigNames, parseTopicConfigValue } from '../../log/topic-config.ts';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../log/types.ts';

const kafkaNameOf = new Map<keyof TopicConfig, string>(Object.entries(kafkaTopicConfigNames).map(([name, field]) => [field, name]));

/** The given fields as CreateTopics config entries (the partition count travels separately). */
export function toKafkaConfigEntries(config: Partial<TopicConfig>): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const [field, value] of Object.entries(config) as Array<[keyof TopicConfig, unknown]>) {
    if (field === 'partitions' || value === undefined) continue;
    const name = kafkaNameOf.get(field);
    if (!name) continue;
    out.push({ name, value: value === null ? '-1' : String(value) });
  }
  return out;
}

/** A topic's configuration from DescribeConfigs entries. */
export function fromKafkaConfigEntries(entries: Array<{ name: string; value: string | null }>, partitions: number): TopicConfig {
  const config: TopicConfig = { ...DEFAULT_TOPIC_CONFIG, partitions };
  const byName = new Map(entries.map((e) => [e.name, e.value]));
  for (const [name, field] of Object.entries(kafkaTopicConfigNames)) {
    const raw = byName.get(name);
    if (raw === undefined || raw === null) continue;
    try {
      const value = field === 'cleanupPolicy' ? normalizeCleanupPolicy(raw) : parseTopicConfigValue(field, raw, name);
      (config as unknown as Record<string, unknown>)[field] = value;
    } catch {
      // A value outside our range (Kafka's "never" is Long.MAX_VALUE): keep our default.
    }
  }
  // A Kafka broker acknowledges after replication, not after fsync, unless told to flush every message.
  if (!byName.has('tributary.ack.policy')) config.ackPolicy = byName.get('flush.messages') === '1' ? 'fsync' : 'relaxed';
  return config;
}

function normalizeCleanupPolicy(raw: string): TopicConfig['cleanupPolicy'] {
  const parts = new Set(raw.split(',').map((s) => s.trim()).filter(Boolean));
  if (parts.has('compact') && parts.has('delete')) return 'compact,delete';
  return parts.has('compact') ? 'compact' : 'delete';
}
