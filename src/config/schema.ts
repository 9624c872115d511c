/**
 * The zod schema of `tributary.config.ts`.
 *
 * Every leaf carries its own error text ("expected a whole number ≥ 1, got 0") so that a
 * rejected config names the field and says what would be accepted; objects are strict, so a
 * misspelt key is an error with a "did you mean" hint instead of being silently ignored.
 */
import { z } from 'zod';
import { externalClusterSchema } from '../kafka/client/config.ts';
import { connectConfigSchema } from '../connect/settings.ts';
import { lakeConfigSchema } from '../lake/config.ts';
import { streamsConfigSchema } from '../streams/config.ts';
import { flowConfigSchema } from '../flow/config.ts';
import { warehouseConfigSchema } from '../warehouse/config.ts';
import type { AckPolicy, CleanupPolicy, TopicConfig } from '../log/types.ts';
import { bool, describeValue, got, num, nullableNum, obj, oneOf, str } from '../util/schema.ts';

export { describeValue };

/** Kafka's legal topic names: ASCII letters, digits, `.`, `_`, `-`; at most 249 characters. */
export const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;

export const topicNameSchema = z
  .string({ error: (iss) => `expected a topic name${got(iss.input)}` })
  .regex(TOPIC_NAME_PATTERN, {
    error: (iss) =>
      `invalid topic name${got(iss.input)}: use 1–249 of the characters a-z A-Z 0-9 . _ -`,
  })
  .refine((name) => name !== '.' && name !== '..', { error: 'a topic name cannot be "." or ".."' });

const cleanupPolicies = ['delete', 'compact', 'compact,delete'] as const satisfies readonly CleanupPolicy[];
const ackPolicies = ['fsync', 'relaxed'] as const satisfies readonly AckPolicy[];

/** Any subset of a topic's configuration (camelCase, as in `TopicConfig`). */
export const topicConfigSchema = obj({
  partitions: num({ int: true, min: 1 }).optional(),
  retentionMs: nullableNum({ int: true, min: 1 }).optional(),
  retentionBytes: nullableNum({ int: true, min: 1 }).optional(),
  segmentBytes: num({ int: true, min: 1 }).optional(),
  segmentMs: nullableNum({ int: true, min: 1 }).optional(),
  maxRecordBytes: num({ int: true, min: 1 }).optional(),
  cleanupPolicy: oneOf(cleanupPolicies).optional(),
  deleteRetentionMs: num({ int: true, min: 0 }).optional(),
  minCompactionLagMs: num({ int: true, min: 0 }).optional(),
  ackPolicy: oneOf(ackPolicies).optional(),
  flushIntervalMs: num({ int: true, min: 1 }).optional(),
});

/** The keys of TopicConfig, in declaration order. */
export const TOPIC_CONFIG_KEYS = Object.keys(topicConfigSchema.shape) as Array<keyof TopicConfig>;

const listenerSchema = obj({
  port: num({ int: true, min: 0, max: 65535 }).optional(),
  host: str('a host name or IP address').optional(),
});

const kafkaListenerSchema = obj({
  port: num({ int: true, min: 0, max: 65535 }).optional(),
  host: str('a host name or IP address').optional(),
  enabled: bool().optional(),
  advertisedHost: str('a host name clients can reach').optional(),
  sasl: obj({
    mechanisms: z.array(z.literal('PLAIN', { error: (iss) => `only "PLAIN" is supported${got(iss.input)}` })).min(1).optional(),
    users: z.record(z.string(), str('a password'), { error: (iss) => `expected an object of user name → password${got(iss.input)}` }),
  }).optional(),
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const logLevelSchema = oneOf(LOG_LEVELS);

export const shopGeneratorSchema = obj({
  kind: z.literal('shop', { error: (iss) => `expected "shop"${got(iss.input)}` }),
  ratePerSecond: num({ gt: 0, max: 1_000_000 }),
  seed: num({ int: true }).optional(),
  topicPrefix: z
    .string({ error: (iss) => `expected a string${got(iss.input)}` })
    .regex(/^[a-zA-Z0-9._-]*$/, {
      error: (iss) => `invalid topic prefix${got(iss.input)}: use the characters a-z A-Z 0-9 . _ -`,
    })
    .optional(),
});

export const generatorSchema = z.discriminatedUnion('kind', [shopGeneratorSchema], {
  error: (iss) => {
    if (iss.code === 'invalid_union') {
      const kind = (iss.input as { kind?: unknown } | undefined)?.kind;
      return `unknown generator kind ${describeValue(kind)}: expected one of "shop"`;
    }
    return `expected an object like { kind: "shop", ratePerSecond: 50 }${got(iss.input)}`;
  },
});

export const configSchema = obj({
  broker: obj({
    autoCreateTopics: bool().optional(),
    defaultTopicConfig: topicConfigSchema.optional(),
    external: externalClusterSchema.optional(),
  }).optional(),
  dataDir: str('a directory path').optional(),
  http: listenerSchema.optional(),
  kafka: kafkaListenerSchema.optional(),
  topics: z
    .record(topicNameSchema, topicConfigSchema, {
      error: (iss) => `expected an object of topic name → topic config${got(iss.input)}`,
    })
    .optional(),
  generators: z
    .array(generatorSchema, { error: (iss) => `expected an array of generators${got(iss.input)}` })
    .optional(),
  logLevel: logLevelSchema.optional(),
  connect: connectConfigSchema.optional(),
  lake: lakeConfigSchema.optional(),
  streams: streamsConfigSchema.optional(),
  flow: flowConfigSchema.optional(),
  warehouse: warehouseConfigSchema.optional(),
});
