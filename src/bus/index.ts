/** The bus: produce/consume for every part of Tributary. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { parseExternalClusterConfig, type ExternalClusterConfig } from '../kafka/client/config.ts';
import type { TopicConfig } from '../log/types.ts';
import { ConfigError } from '../util/errors.ts';
import { EmbeddedBus, type EmbeddedBusOptions } from './embedded/embedded-bus.ts';
import { ExternalBus, type ExternalBusOptions } from './external/external-bus.ts';
import type { Bus } from './types.ts';

export * from './types.ts';
export { BusError } from './errors.ts';
export { murmur2, partitionForKey, Partitioner } from './partitioner.ts';
export { rangeAssignor, roundRobinAssignor } from './assignors.ts';
export { EmbeddedBus, type EmbeddedBusOptions };
export { ExternalBus, type ExternalBusOptions };
export { ExternalConsumer } from './external/consumer.ts';
export { BusUnsupportedError, type ExternalBusErrorCode } from './external/errors.ts';
export type { ExternalClusterConfig };

/**
 * Opens the embedded bus over a data directory.
 * @example
 * const bus = await openEmbeddedBus({ dataDir: './.tributary' });
 * await bus.admin().createTopic('orders', { partitions: 3 });
 * await bus.producer().send('orders', [{ key: Buffer.from('u1'), value: Buffer.from('{"total":5}') }]);
 */
export function openEmbeddedBus(opts: EmbeddedBusOptions): Promise<EmbeddedBus> {
  return EmbeddedBus.open(opts);
}

/**
 * Opens the bus over an existing Kafka cluster.
 * @example
 * const bus = await openExternalBus({ cluster: { brokers: ['localhost:9092'] } });
 */
export function openExternalBus(opts: ExternalBusOptions): Promise<ExternalBus> {
  return ExternalBus.open(opts);
}

/** The part of a Tributary configuration that chooses and sets up the bus (a `ResolvedConfig` fits). */
export interface BusConfig {
  /** The embedded log's directory (needed unless `broker.external` is set). */
  dataDir?: string;
  broker?: {
    autoCreateTopics?: boolean;
    defaultTopicConfig?: Partial<TopicConfig>;
    /** An existing Kafka cluster; when set, no embedded log is opened. */
    external?: ExternalClusterConfig | null;
  };
}

export interface OpenBusOptions {
  logger?: Logger;
  /** Prometheus registry for the embedded log's metrics. */
  registry?: Registry;
  /** More settings of the embedded bus (group coordinator, log). */
  embedded?: Partial<EmbeddedBusOptions>;
}

/**
 * Opens the bus a configuration asks for: the embedded log in `dataDir` by default, or the
 * external Kafka cluster of `broker.external`. The external settings are validated first;
 * a bad one is a ConfigError naming the field (`broker.external.brokers[0]: …`).
 *
 * @example
 * const bus = await openBus({ dataDir: './.tributary' });                                   // embedded
 * const bus2 = await openBus({ broker: { external: { brokers: ['kafka-1:9092'] } } });     // external
 */
export async function openBus(config: BusConfig, opts: OpenBusOptions = {}): Promise<Bus> {
  const broker = config.broker ?? {};
  if (broker.external !== undefined && broker.external !== null) {
    const cluster = parseExternalClusterConfig(broker.external, 'broker.external');
    return ExternalBus.open({
      cluster,
      ...(broker.autoCreateTopics !== undefined ? { autoCreateTopics: broker.autoCreateTopics } : {}),
      ...(broker.defaultTopicConfig ? { defaultTopicConfig: broker.defaultTopicConfig } : {}),
    });
  }
  const dataDir = config.dataDir ?? opts.embedded?.dataDir;
  if (!dataDir) throw new ConfigError('dataDir', 'the embedded bus needs a data directory (or set broker.external to use a Kafka cluster)');
  return EmbeddedBus.open({
    ...opts.embedded,
    dataDir,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(broker.autoCreateTopics !== undefined ? { autoCreateTopics: broker.autoCreateTopics } : {}),
    ...(broker.defaultTopicConfig ? { defaultTopicConfig: broker.defaultTopicConfig } : {}),
  });
}
