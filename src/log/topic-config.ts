/**
 * Topic configuration: validation (zod), defaults, and the mapping to Kafka's config names
 * (`retention.ms`, …) used by the CLI's `--config k=v` and the Kafka protocol.
 */
import { z } from 'zod';
import { LogError } from './errors.ts';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from './types.ts';

const positiveInt = z.number().int().positive();

export const topicConfigSchema = z
  .object({
    partitions: z.number().int().min(1, 'partitions must be at least 1').max(10_000),
    retentionMs: positiveInt.nullable(),
    retentionBytes: positiveInt.nullable(),
    segmentBytes: z.number().int().min(1024, 'segmentBytes must be at least 1024'),
    segmentMs: positiveInt.nullable(),
    maxRecordBytes: z.number().int().min(64, 'maxRecordBytes must be at least 64').max(256 * 1024 * 1024),
    cleanupPolicy: z.enum(['delete', 'compact', 'compact,delete']),
    deleteRetentionMs: z.number().int().min(0),
    minCompactionLagMs: z.number().int().min(0),
    ackPolicy: z.enum(['fsync', 'relaxed']),
    flushIntervalMs: z.number().int().min(1),
  })
  .strict();

export const partialTopicConfigSchema = topicConfigSchema.partial();

/** Kafka's config name for each field (what DescribeConfigs reports). */
export const kafkaTopicConfigNames: Record<string, keyof TopicConfig> = {
  'retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'segment.bytes': 'segmentBytes',
  'segment.ms': 'segmentMs',
  'max.message.bytes': 'maxRecordBytes',
  'cleanup.policy': 'cleanupPolicy',
  'delete.retention.ms': 'deleteRetentionMs',
  'min.compaction.lag.ms': 'minCompactionLagMs',
  'tributary.ack.policy': 'ackPolicy',
  'flush.ms': 'flushIntervalMs',
};

/** Other spellings accepted on input. */
const aliases: Record<string, keyof TopicConfig> = {
  'ack.policy': 'ackPolicy',
  'flush.interval.ms': 'flushIntervalMs',
};

const NULLABLE = new Set<keyof TopicConfig>(['retentionMs', 'retentionBytes', 'segmentMs']);

/** The field a setting name means: a Kafka name, an alias, or the camelCase field itself. */
export function topicConfigField(name: string): keyof TopicConfig | undefined {
  return kafkaTopicConfigNames[name] ?? aliases[name] ?? (name in DEFAULT_TOPIC_CONFIG ? (name as keyof TopicConfig) : undefined);
}

/** Parses a setting's string form; -1, `null` or `none` mean "no limit" where a limit is optional. */
export function parseTopicConfigValue(field: keyof TopicConfig, raw: string, name: string = field): unknown {
  const value = raw.trim();
  if (field === 'cleanupPolicy' || field === 'ackPolicy') return value.replace(/\s+/g, '');
  if (NULLABLE.has(field) && (value === '-1' || value === 'null' || value === 'none')) return null;
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new LogError('TOPIC_CONFIG_INVALID', `${name}: expected a whole number, got "${raw}"`);
  return n;
}

/** Converts `{ 'retention.ms': '1000', segmentBytes: '1048576' }`-style settings into our fields. */
export function topicConfigFromStrings(entries: Record<string, string>): Partial<TopicConfig> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(entries)) {
    const field = topicConfigField(name);
    if (!field) {
      throw new LogError(
        'TOPIC_CONFIG_INVALID',
        `unknown topic setting "${name}"; known: ${Object.keys(kafkaTopicConfigNames).join(', ')} (or camelCase: ${Object.keys(DEFAULT_TOPIC_CONFIG).join(', ')})`,
      );
    }
    out[field] = parseTopicConfigValue(field, raw, name);
  }
  return out as Partial<TopicConfig>;
}

/** Merges and validates; throws LogError TOPIC_CONFIG_INVALID naming the field. */
export function resolveTopicConfig(partial: Partial<TopicConfig> | undefined, defaults: TopicConfig = DEFAULT_TOPIC_CONFIG): TopicConfig {
  const merged = { ...defaults, ...stripUndefined(partial ?? {}) };
  const parsed = topicConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.') || '(config)';
    throw new LogError('TOPIC_CONFIG_INVALID', `invalid topic config ${path}: ${issue.message}`);
  }
  return parsed.data;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new LogError('TOPIC_NAME_INVALID', 'topic name is empty');
  if (name.length > 249) throw new LogError('TOPIC_NAME_INVALID', `topic name is ${name.length} characters long; the limit is 249`);
  if (name === '.' || name === '..') throw new LogError('TOPIC_NAME_INVALID', `topic name cannot be "${name}"`);
  if (!TOPIC_NAME.test(name)) {
    throw new LogError('TOPIC_NAME_INVALID', `topic name "${name}" is invalid: use only letters, digits, '.', '_' and '-'`);
  }
}
