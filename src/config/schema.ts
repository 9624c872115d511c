/**
 * The zod schema of `tributary.config.ts`.
 *
 * Every leaf carries its own error text ("expected a whole number ≥ 1, got 0") so that a
 * rejected config names the field and says what would be accepted; objects are strict, so a
 * misspelt key is an error with a "did you mean" hint instead of being silently ignored.
 */
import { z } from 'zod';
import type { AckPolicy, CleanupPolicy, TopicConfig } from '../log/types.ts';

/** Renders a value the way an error message should quote it. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return 'an object';
}

function got(input: unknown): string {
  return `, got ${describeValue(input)}`;
}

interface NumberSpec {
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound (e.g. a rate must be > 0). */
  gt?: number;
  nullable?: boolean;
}

function numberExpectation(spec: NumberSpec): string {
  const kind = spec.int ? 'a whole number' : 'a number';
  const bounds: string[] = [];
  if (spec.gt !== undefined) bounds.push(`> ${spec.gt}`);
  if (spec.min !== undefined && spec.max !== undefined) bounds.push(`from ${spec.min} to ${spec.max}`);
  else if (spec.min !== undefined) bounds.push(`≥ ${spec.min}`);
  else if (spec.max !== undefined) bounds.push(`≤ ${spec.max}`);
  return `expected ${kind}${bounds.length ? ' ' + bounds.join(' and ') : ''}${spec.nullable ? ' or null' : ''}`;
}

function num(spec: NumberSpec) {
  const message = numberExpectation(spec);
  const error = (iss: { input?: unknown }) => message + got(iss.input);
  let s = z.number({ error });
  if (spec.int) s = s.int({ error });
  if (spec.min !== undefined) s = s.min(spec.min, { error });
  if (spec.max !== undefined) s = s.max(spec.max, { error });
  if (spec.gt !== undefined) s = s.gt(spec.gt, { error });
  return s;
}

function nullableNum(spec: Omit<NumberSpec, 'nullable'>) {
  return num({ ...spec, nullable: true }).nullable();
}

function str(what = 'a non-empty string') {
  const error = (iss: { input?: unknown }) => `expected ${what}${got(iss.input)}`;
  return z.string({ error }).min(1, { error });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const list = values.map((v) => JSON.stringify(v)).join(', ');
  return z.enum(values, { error: (iss) => `expected one of ${list}${got(iss.input)}` });
}

function bool() {
  return z.boolean({ error: (iss) => `expected true or false${got(iss.input)}` });
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known key closest to `key`, if it is close enough to be a likely typo. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function unknownKeysMessage(keys: readonly string[], known: readonly string[]): string {
  const parts = keys.map((k) => {
    const hint = suggest(k, known);
    return hint ? `${JSON.stringify(k)} (did you mean ${JSON.stringify(hint)}?)` : JSON.stringify(k);
  });
  const knownList = known.map((k) => JSON.stringify(k)).join(', ');
  return `unknown ${keys.length === 1 ? 'field' : 'fields'} ${parts.join(', ')}; known fields: ${knownList}`;
}

/** A strict object: unknown keys are errors that list the known ones. */
function obj<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return unknownKeysMessage(iss.keys, known);
      return `expected an object${got(iss.input)}`;
    },
  });
}

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
  }).optional(),
  dataDir: str('a directory path').optional(),
  http: listenerSchema.optional(),
  kafka: listenerSchema.optional(),
  topics: z
    .record(topicNameSchema, topicConfigSchema, {
      error: (iss) => `expected an object of topic name → topic config${got(iss.input)}`,
    })
    .optional(),
  generators: z
    .array(generatorSchema, { error: (iss) => `expected an array of generators${got(iss.input)}` })
    .optional(),
  logLevel: logLevelSchema.optional(),
});
