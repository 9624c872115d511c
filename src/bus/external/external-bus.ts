/**
 * The bus over an existing Kafka cluster (Apache Kafka, Redpanda, MSK, or another Tributary):
 * the same interface as the embedded bus, so connectors, streams and the HTTP API run on it
 * unchanged. Share consumers are the exception (see share-consumer.ts).
 */
import { KafkaCluster, parseExternalClusterConfig, translateKafkaError, type ExternalClusterConfig } from '../../kafka/client/index.ts';
import { BusError } from '../errors.ts';
import type { TopicConfig } from '../../log/types.ts';
import type {
  Bus,
  BusAdmin,
  BusConsumer,
  BusProducer,
  BusShareConsumer,
  ConsumerOptions,
  ProducerOptions,
  ShareConsumerOptions,
  TransactionalProducer,
  TransactionalProducerOptions,
} from '../types.ts';
import { ExternalAdmin } from './admin.ts';
import { ExternalConsumer } from './consumer.ts';
import { ExternalProducer } from './producer.ts';
import { UnsupportedShareConsumer } from './share-consumer.ts';

export interface ExternalBusOptions {
  /** The cluster: bootstrap brokers, SASL, TLS (validated; errors name `broker.external.…`). */
  cluster: ExternalClusterConfig;
  /** Ask the cluster to create unknown topics on produce and subscribe (default true; the cluster's `auto.create.topics.enable` still decides). */
  autoCreateTopics?: boolean;
  /** Settings of topics created through `admin().createTopic`, under the ones given there. */
  defaultTopicConfig?: Partial<TopicConfig>;
}

export class ExternalBus implements Bus {
  readonly kind = 'external' as const;
  private readonly producers = new Set<BusProducer>();
  private readonly consumers = new Set<BusConsumer>();
  private readonly adminApi: ExternalAdmin;
  private closed = false;

  private constructor(
    readonly cluster: KafkaCluster,
    private readonly opts: ExternalBusOptions,
  ) {
    this.adminApi = new ExternalAdmin(cluster, {
      ...(opts.defaultTopicConfig ? { defaultTopicConfig: opts.defaultTopicConfig } : {}),
      ...(opts.cluster.replicationFactor !== undefined ? { replicationFactor: opts.cluster.replicationFactor } : {}),
    });
  }

  /**
   * Connects to the cluster (fails fast, with BROKER_UNAVAILABLE, when no bootstrap broker answers).
   * @example
   * const bus = await ExternalBus.open({ cluster: { brokers: ['localhost:9092'] } });
   */
  static async open(opts: ExternalBusOptions): Promise<ExternalBus> {
    const cluster = new KafkaCluster(parseExternalClusterConfig(opts.cluster));
    try {
      await cluster.metadata([]);
    } catch (err) {
      await cluster.close();
      throw translateKafkaError(err, `connecting to ${opts.cluster.brokers.join(', ')}`);
    }
    return new ExternalBus(cluster, opts);
  }

  admin(): BusAdmin {
    return this.adminApi;
  }

  producer(opts?: ProducerOptions): BusProducer {
    const p = new ExternalProducer(this.cluster, { ...opts, autoCreateTopics: this.opts.autoCreateTopics ?? true });
    this.producers.add(p);
    return p;
  }

  consumer(opts?: ConsumerOptions): ExternalConsumer {
    const c = new ExternalConsumer(this.cluster, { ...opts, autoCreateTopics: this.opts.autoCreateTopics ?? true });
    this.consumers.add(c);
    return c;
  }

  shareConsumer(opts: ShareConsumerOptions): BusShareConsumer {
    return new UnsupportedShareConsumer(opts);
  }

  /** Transactions are not offered on external clusters yet: parts fall back to at-least-once with idempotent producers. */
  transactionalProducer(opts: TransactionalProducerOptions): TransactionalProducer {
    throw new BusError('UNSUPPORTED', `transactional producer ${opts.transactionalId}: transactions are not supported on an external cluster yet; use an idempotent producer (at-least-once)`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.producers) await p.close().catch(() => {});
    for (const c of this.consumers) await c.close().catch(() => {});
    await this.cluster.close();
  }
}
