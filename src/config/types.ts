/** The shapes of a Tributary project configuration (`tributary.config.ts`). */
import type { z } from 'zod';
import type { ExternalClusterConfig } from '../kafka/client/config.ts';
import type { ConnectConfig, ResolvedConnectConfig } from '../connect/settings.ts';
import type { LakeConfig, ResolvedLakeConfig } from '../lake/config.ts';
import type { ResolvedStreamsConfig, StreamsConfig } from '../streams/config.ts';
import type { FlowConfig, ResolvedFlowConfig } from '../flow/config.ts';
import type { ResolvedWarehouseConfig, WarehouseConfig } from '../warehouse/config.ts';
import type { TopicConfig } from '../log/types.ts';
import type { configSchema, LogLevel } from './schema.ts';

export type { LogLevel, ExternalClusterConfig };

export interface ListenerConfig {
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Interface to bind (default `127.0.0.1`; `0.0.0.0` for every interface). */
  host?: string;
}

export interface KafkaListenerConfig extends ListenerConfig {
  /** Serve the Kafka protocol (default true). */
  enabled?: boolean;
  /** Host name put in Metadata for clients to connect to (default: the bound host). */
  advertisedHost?: string;
  /** Require SASL PLAIN authentication; the user becomes the request's principal (`User:<name>`). */
  sasl?: { mechanisms?: Array<'PLAIN'>; users: Record<string, string> };
}

export interface ShopGeneratorConfig {
  kind: 'shop';
  /** Events per second across the five shop topics. */
  ratePerSecond: number;
  /** Same seed, same events (default 1). */
  seed?: number;
  /** Prepended verbatim to the topic names (default `shop.` → `shop.orders`, …). */
  topicPrefix?: string;
}

export type GeneratorConfig = ShopGeneratorConfig;

export interface BrokerConfig {
  /** Create a topic on first produce or subscribe (default true, as Kafka's `auto.create.topics.enable`). */
  autoCreateTopics?: boolean;
  /** Configuration of topics created without explicit settings. */
  defaultTopicConfig?: Partial<TopicConfig>;
  /**
   * Use an existing Kafka cluster (Apache Kafka, Redpanda, MSK, …) instead of the embedded log.
   * `tributary up` then opens no log in the data directory and serves no Kafka listener:
   * Kafka clients connect to the cluster itself.
   *
   * @example
   * ```ts
   * broker: { external: { brokers: ['kafka-1:9092', 'kafka-2:9092'], sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', password: process.env.KAFKA_PASSWORD! }, ssl: true } }
   * ```
   */
  external?: ExternalClusterConfig;
}

/**
 * A project's configuration, as written in `tributary.config.ts`.
 *
 * @example
 * ```ts
 * import { defineConfig } from 'tributary';
 * export default defineConfig({
 *   topics: { orders: { partitions: 6, retentionMs: 7 * 24 * 3600_000 } },
 *   generators: [{ kind: 'shop', ratePerSecond: 50 }],
 * });
 * ```
 */
export interface TributaryConfig {
  broker?: BrokerConfig;
  /** Where the log and metadata live; relative to the config file's folder (default `./.tributary`). */
  dataDir?: string;
  /** The HTTP API, metrics and UI (default port 8080). */
  http?: ListenerConfig;
  /** The Kafka protocol listener (default port 9092). */
  kafka?: KafkaListenerConfig;
  /** Topics created at start-up when missing; the key is the topic name. */
  topics?: Record<string, Partial<TopicConfig>>;
  /** Built-in event generators (demo data). */
  generators?: GeneratorConfig[];
  logLevel?: LogLevel;
  /** Connectors (sources and sinks) started with `tributary up`, and your own connector plugins. */
  connect?: ConnectConfig;
  /** The data lake: location, zone retention, topic → table sinks (default: a lake folder in the data directory). */
  lake?: LakeConfig;
  /** Stream apps (`streams/*.ts`) that `tributary up` runs, and their settings. */
  streams?: StreamsConfig;
  /** Workflows: DAG files (`dags/*.ts`), metadata store (SQLite or PostgreSQL), workers, pools. */
  flow?: FlowConfig;
  /** The SQL warehouse: the models folder (SQL models, tests) and the DuckDB database file. */
  warehouse?: WarehouseConfig;
}

// The hand-written interface (with its docs) and the schema must describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesInterface: Same<z.input<typeof configSchema>, TributaryConfig> = true;
void schemaMatchesInterface;

/** The configuration `tributary up` runs with: every source merged, every default filled in. */
export interface ResolvedConfig {
  /** Absolute path of the config file that was loaded, or null when running on defaults. */
  configFile: string | null;
  /** Absolute. */
  dataDir: string;
  http: { host: string; port: number };
  kafka: { host: string; port: number; enabled: boolean; advertisedHost: string | null; sasl: { mechanisms: string[]; users: Record<string, string> } | null };
  logLevel: LogLevel;
  broker: { autoCreateTopics: boolean; defaultTopicConfig: Partial<TopicConfig>; external: ExternalClusterConfig | null };
  topics: Record<string, Partial<TopicConfig>>;
  generators: GeneratorConfig[];
  lake: ResolvedLakeConfig;
  streams: ResolvedStreamsConfig;
  connect: ResolvedConnectConfig;
  flow: ResolvedFlowConfig;
  warehouse: ResolvedWarehouseConfig;
}
