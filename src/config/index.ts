export { defineConfig } from './define.ts';
export { loadConfig, validateConfig, displayPath } from './load.ts';
export { resolveConfig, parsePort, parseLogLevel, DEFAULTS, ENV, type ConfigOverrides } from './resolve.ts';
export { ConfigSourceError, formatPath, type ConfigProblem } from './errors.ts';
export {
  configSchema,
  topicConfigSchema,
  topicNameSchema,
  TOPIC_CONFIG_KEYS,
  TOPIC_NAME_PATTERN,
  LOG_LEVELS,
} from './schema.ts';
export type {
  TributaryConfig,
  ResolvedConfig,
  BrokerConfig,
  ListenerConfig,
  GeneratorConfig,
  ShopGeneratorConfig,
  LogLevel,
} from './types.ts';
