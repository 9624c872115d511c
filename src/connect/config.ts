/**
 * Connector configuration: the settings every connector has, merged with its plugin's own into
 * one strict object, so that a misspelt key anywhere is an error with a "did you mean" hint.
 * Every problem names its field (`errors.tolerance: expected one of "none", "all", got "some"`).
 */
import { z } from 'zod';
import { bool, describeValue, got, num, obj, oneOf, problemsFromIssues, str, suggest, type Problem } from '../util/schema.ts';
import { ConnectError } from './errors.ts';
import { topicConfigSchema } from '../config/schema.ts';
import { isPlainObject } from './transforms/paths.ts';
import { validateTransforms } from './transforms/index.ts';
import type { CommonConfig, ConnectorPlugin } from './types.ts';

export const CONNECTOR_NAME = /^[a-zA-Z0-9._-]{1,100}$/;

const topicName = z
  .string({ error: (iss) => `expected a topic name${got(iss.input)}` })
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, { error: (iss) => `invalid topic name${got(iss.input)}: use 1–249 of a-z A-Z 0-9 . _ -` });

export const topicSchema = topicName;

const errorsSchema = obj({
  tolerance: oneOf(['none', 'all'] as const).default('none'),
  retryTimeoutMs: num({ int: true, min: -1 }).default(-1),
  retryMaxDelayMs: num({ int: true, min: 1 }).default(30_000),
  deadLetterTopic: topicName.nullable().default(null),
  log: bool().default(true),
});

const converter = oneOf(['json', 'string', 'bytes'] as const);

/** Settings of every connector. */
export const COMMON_FIELDS = {
  connector: str('a connector plugin name'),
  tasksMax: num({ int: true, min: 1, max: 256 }).default(1),
  keyConverter: converter.default('string'),
  valueConverter: converter.default('json'),
  schemas: bool().default(false),
  transforms: z.unknown().optional(),
  errors: errorsSchema.default({ tolerance: 'none', retryTimeoutMs: -1, retryMaxDelayMs: 30_000, deadLetterTopic: null, log: true }),
  principal: str('a principal like "Service:connect" or "User:etl"').default('Service:connect'),
};

/** More settings of every source connector. */
export const SOURCE_FIELDS = {
  /**
   * Create the topics the connector writes when they are missing, with these settings (Kafka
   * Connect's `topic.creation.default.*`), whether or not the broker auto-creates topics.
   */
  topicCreation: topicConfigSchema.optional(),
};

/** More settings of every sink connector. */
export const SINK_FIELDS = {
  topics: z.array(topicName, { error: (iss) => `expected an array of topic names${got(iss.input)}` }).min(1).optional(),
  topicsRegex: z
    .string()
    .refine((s) => { try { new RegExp(s); return true; } catch { return false; } }, { error: (iss) => `invalid regular expression${got(iss.input)}` })
    .optional(),
  /** Most records handed to one `put()`. */
  batchSize: num({ int: true, min: 1, max: 100_000 }).default(500),
  /** With no committed offset, start at the oldest record (default) or at the end. */
  fromBeginning: bool().default(true),
};

export type PluginRegistry = ReadonlyMap<string, ConnectorPlugin>;

export interface ValidatedConfig {
  config: CommonConfig;
  plugin: ConnectorPlugin;
}

/**
 * Checks a connector config against its plugin. Returns every problem found (empty = valid).
 *
 * @example
 * ```ts
 * const r = await checkConnectorConfig({ connector: 'file-source', directroy: '/in' }, plugins);
 * r.problems; // [{ path: 'directroy', message: 'unknown field "directroy" (did you mean "directory"?); known fields: …' }]
 * ```
 */
export async function checkConnectorConfig(
  raw: unknown,
  plugins: PluginRegistry,
  opts: { skipPluginChecks?: boolean } = {},
): Promise<{ result: ValidatedConfig | null; problems: Problem[] }> {
  if (!isPlainObject(raw)) return { result: null, problems: [{ path: '', message: `expected a connector config object like { connector: "file-source", … }${got(raw)}` }] };
  const name = raw['connector'];
  if (typeof name !== 'string' || name === '') {
    return { result: null, problems: [{ path: 'connector', message: `expected the plugin name (one of ${[...plugins.keys()].join(', ')})${got(name)}` }] };
  }
  const plugin = plugins.get(name);
  if (!plugin) {
    const hint = suggest(name, [...plugins.keys()]);
    return {
      result: null,
      problems: [{ path: 'connector', message: `unknown connector plugin ${describeValue(name)}${hint ? ` (did you mean "${hint}"?)` : ''}; installed plugins: ${[...plugins.keys()].join(', ')}` }],
    };
  }
  const shape = { ...COMMON_FIELDS, ...(plugin.kind === 'sink' ? SINK_FIELDS : SOURCE_FIELDS), ...plugin.fields };
  const parsed = obj(shape).safeParse(raw);
  const problems: Problem[] = [];
  if (!parsed.success) problems.push(...problemsFromIssues(parsed.error.issues));
  const transforms = validateTransforms(raw['transforms']);
  problems.push(...transforms.problems);
  if (plugin.kind === 'sink' && parsed.success) {
    const d = parsed.data as Record<string, unknown>;
    if ((d['topics'] === undefined) === (d['topicsRegex'] === undefined)) {
      problems.push({ path: 'topics', message: 'a sink reads either "topics" (a list) or "topicsRegex" (a pattern): set one of them' });
    }
  }
  if (problems.length > 0 || !parsed.success) return { result: null, problems };
  const config = { ...(parsed.data as Record<string, unknown>), transforms: transforms.transforms } as CommonConfig;
  if (!opts.skipPluginChecks && plugin.validate) {
    try {
      problems.push(...(await plugin.validate(config)));
    } catch (err) {
      problems.push({ path: '', message: `the ${plugin.name} plugin could not check this config: ${(err as Error).message}` });
    }
  }
  return problems.length ? { result: null, problems } : { result: { config, plugin }, problems };
}

export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
}

/** Like checkConnectorConfig, but throws CONNECTOR_CONFIG_INVALID naming every problem. */
export async function parseConnectorConfig(name: string, raw: unknown, plugins: PluginRegistry, opts: { skipPluginChecks?: boolean } = {}): Promise<ValidatedConfig> {
  if (!CONNECTOR_NAME.test(name)) {
    throw new ConnectError('CONNECTOR_CONFIG_INVALID', `invalid connector name ${describeValue(name)}: use 1–100 of a-z A-Z 0-9 . _ -`);
  }
  const { result, problems } = await checkConnectorConfig(raw, plugins, opts);
  if (!result) throw new ConnectError('CONNECTOR_CONFIG_INVALID', `connector ${name}: ${formatProblems(problems)}`);
  return result;
}

/** Config as shown by the API: functions (user transforms) are not JSON. */
export function configForDisplay(raw: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(raw, (_k, v) => (typeof v === 'function' ? `[function ${(v as { name?: string }).name || 'anonymous'}]` : v)),
  ) as Record<string, unknown>;
}
