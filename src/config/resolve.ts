import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigSourceError } from './errors.ts';
import { displayPath, loadConfig } from './load.ts';
import { describeValue, LOG_LEVELS, type LogLevel } from './schema.ts';
import type { ResolvedConfig, TributaryConfig } from './types.ts';
import { resolveLakeConfig } from '../lake/config.ts';
import { resolveConnectConfig } from '../connect/settings.ts';
import { resolveStreamsConfig } from '../streams/config.ts';
import { resolveFlowConfig } from '../flow/config.ts';
import { resolveWarehouseConfig } from '../warehouse/config.ts';

export const DEFAULTS = {
  configFile: './tributary.config.ts',
  dataDir: './.tributary',
  httpHost: '127.0.0.1',
  httpPort: 8080,
  kafkaHost: '127.0.0.1',
  kafkaPort: 9092,
  logLevel: 'info' as LogLevel,
} as const;

/** Environment variables `tributary up` reads; a flag wins over them, they win over the file. */
export const ENV = {
  config: 'TRIBUTARY_CONFIG',
  dataDir: 'TRIBUTARY_DATA_DIR',
  httpPort: 'TRIBUTARY_HTTP_PORT',
  kafkaPort: 'TRIBUTARY_KAFKA_PORT',
  logLevel: 'TRIBUTARY_LOG_LEVEL',
} as const;

/** Settings given on the command line (strings as commander hands them over). */
export interface ConfigOverrides {
  config?: string;
  dataDir?: string;
  httpPort?: string | number;
  kafkaPort?: string | number;
  logLevel?: string;
}

/** Parses a port given as a flag or environment variable; `source` names it in the error. */
export function parsePort(value: string | number, source: string): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigSourceError(source, [
      { path: '', message: `expected a port number from 0 to 65535, got ${describeValue(value)}` },
    ]);
  }
  return n;
}

export function parseLogLevel(value: string, source: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigSourceError(source, [
      { path: '', message: `expected one of ${LOG_LEVELS.join(', ')}, got ${describeValue(value)}` },
    ]);
  }
  return value as LogLevel;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Merges every source of configuration for `tributary up`:
 * flag > environment (`TRIBUTARY_*`) > config file > defaults.
 *
 * The config file is `--config`, else `TRIBUTARY_CONFIG`, else `./tributary.config.ts`; the
 * default file may be missing (then defaults apply), a named one may not. Paths from flags and
 * the environment are relative to the working directory, `dataDir` in the file to the file's
 * folder.
 *
 * @example
 * ```ts
 * const cfg = await resolveConfig({ httpPort: '8081' });
 * cfg.http.port; // 8081
 * ```
 */
export async function resolveConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Promise<ResolvedConfig> {
  const explicitFile = nonEmpty(overrides.config) ?? nonEmpty(env[ENV.config]);
  const candidate = path.resolve(cwd, explicitFile ?? DEFAULTS.configFile);

  let file: TributaryConfig = {};
  let configFile: string | null = null;
  if (explicitFile !== undefined || existsSync(candidate)) {
    if (!existsSync(candidate)) {
      const via = nonEmpty(overrides.config) !== undefined ? '--config' : ENV.config;
      throw new ConfigSourceError(displayPath(candidate, cwd), [
        { path: '', message: `no such file (named by ${via}): check the path, or create one with \`tributary init\`` },
      ]);
    }
    const loaded = await loadConfig(candidate, { cwd });
    file = loaded.config;
    configFile = loaded.file;
  }
  const fileDir = configFile ? path.dirname(configFile) : cwd;

  const flagOrEnv = (flag: string | number | undefined, envName: string): { value: string | number; source: string } | undefined => {
    if (flag !== undefined && flag !== '') return { value: flag, source: 'flag' };
    const e = nonEmpty(env[envName]);
    return e === undefined ? undefined : { value: e, source: `env ${envName}` };
  };

  const httpPortIn = flagOrEnv(overrides.httpPort, ENV.httpPort);
  const kafkaPortIn = flagOrEnv(overrides.kafkaPort, ENV.kafkaPort);
  const dataDirIn = flagOrEnv(overrides.dataDir, ENV.dataDir);
  const logLevelIn = flagOrEnv(overrides.logLevel, ENV.logLevel);

  const dataDir = dataDirIn
    ? path.resolve(cwd, String(dataDirIn.value))
    : file.dataDir !== undefined
      ? path.resolve(fileDir, file.dataDir)
      : path.resolve(cwd, DEFAULTS.dataDir);

  return {
    configFile,
    dataDir,
    http: {
      host: file.http?.host ?? DEFAULTS.httpHost,
      port: httpPortIn
        ? parsePort(httpPortIn.value, httpPortIn.source === 'flag' ? '--http-port' : httpPortIn.source)
        : (file.http?.port ?? DEFAULTS.httpPort),
    },
    kafka: {
      enabled: file.kafka?.enabled ?? true,
      advertisedHost: file.kafka?.advertisedHost ?? null,
      sasl: file.kafka?.sasl ? { mechanisms: file.kafka.sasl.mechanisms ?? ['PLAIN'], users: file.kafka.sasl.users } : null,
      host: file.kafka?.host ?? DEFAULTS.kafkaHost,
      port: kafkaPortIn
        ? parsePort(kafkaPortIn.value, kafkaPortIn.source === 'flag' ? '--kafka-port' : kafkaPortIn.source)
        : (file.kafka?.port ?? DEFAULTS.kafkaPort),
    },
    logLevel: logLevelIn
      ? parseLogLevel(String(logLevelIn.value), logLevelIn.source === 'flag' ? '--log-level' : logLevelIn.source)
      : (file.logLevel ?? DEFAULTS.logLevel),
    broker: {
      autoCreateTopics: file.broker?.autoCreateTopics ?? true,
      defaultTopicConfig: file.broker?.defaultTopicConfig ?? {},
      external: file.broker?.external ?? null,
    },
    topics: file.topics ?? {},
    generators: file.generators ?? [],
    lake: resolveLakeConfig(file.lake, { fileDir, dataDir }),
    streams: resolveStreamsConfig(file.streams, { fileDir }),
    connect: resolveConnectConfig(file.connect),
    flow: resolveFlowConfig(file.flow, { fileDir }),
    warehouse: resolveWarehouseConfig(file.warehouse, { fileDir, dataDir }),
  };
}
