/**
 * The `connect` section of `tributary.config.ts` (checked by the config schema; each connector
 * is validated against its plugin when `tributary up` starts, and a bad one fails start-up with
 * `connect.connectors.<name>.<field>: …`).
 *
 * @example
 * ```ts
 * connect: {
 *   connectors: {
 *     'orders-in': { connector: 'http-ingest', topics: ['shop.orders'], tokens: { [process.env.INGEST_TOKEN!]: 'User:shop-app' } },
 *     'orders-to-pg': { connector: 'postgres-sink', topics: ['shop.orders'], url: process.env.PG_URL!, insertMode: 'upsert', pkMode: 'record_key' },
 *   },
 * }
 * ```
 */
import { z } from 'zod';
import { got, obj, str } from '../util/schema.ts';
import type { ConnectorPlugin } from './types.ts';

/** A connector as declared: its plugin (`connector`) and that plugin's settings. */
export interface ConnectorDeclaration {
  connector: string;
  [setting: string]: unknown;
}

export interface ConnectConfig {
  /** Connectors started with `tributary up`, by name. */
  connectors?: Record<string, ConnectorDeclaration>;
  /** Your own connector plugins (`defineSourcePlugin` / `defineSinkPlugin`), next to the built-in ones. */
  plugins?: ConnectorPlugin[];
  /** Compacted topic of source offsets (default `_connect-offsets`). */
  offsetsTopic?: string;
  /** Compacted topic of connector configs and states (default `_connect-configs`). */
  configsTopic?: string;
}

export interface ResolvedConnectConfig {
  connectors: Record<string, ConnectorDeclaration>;
  plugins: ConnectorPlugin[];
  offsetsTopic?: string;
  configsTopic?: string;
}

const name = z.string().regex(/^[a-zA-Z0-9._-]{1,100}$/, { error: (iss) => `invalid connector name${got(iss.input)}: use 1–100 of a-z A-Z 0-9 . _ -` });
const topic = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, { error: (iss) => `invalid topic name${got(iss.input)}` });

export const connectConfigSchema = obj({
  connectors: z
    .record(name, z.looseObject({ connector: str('a connector plugin name (see GET /api/connector-plugins)') }), {
      error: (iss) => `expected an object of connector name → { connector: "<plugin>", … }${got(iss.input)}`,
    })
    .optional(),
  plugins: z
    .array(
      z.custom<ConnectorPlugin>((v) => typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' && ((v as { kind?: unknown }).kind === 'source' || (v as { kind?: unknown }).kind === 'sink'), {
        error: 'expected a plugin made with defineSourcePlugin or defineSinkPlugin',
      }),
    )
    .optional(),
  offsetsTopic: topic.optional(),
  configsTopic: topic.optional(),
});

export function resolveConnectConfig(c: ConnectConfig | undefined): ResolvedConnectConfig {
  return {
    connectors: c?.connectors ?? {},
    plugins: c?.plugins ?? [],
    ...(c?.offsetsTopic ? { offsetsTopic: c.offsetsTopic } : {}),
    ...(c?.configsTopic ? { configsTopic: c.configsTopic } : {}),
  };
}
