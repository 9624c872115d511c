/**
 * The embedded bus: the durable log, its group and share-group coordinators, and the
 * in-process producer/consumer API over them, all in this process.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Log, type LogOptions } from '../../log/log.ts';
import { GroupCoordinator, type CoordinatorOptions } from '../../log/groups/group-coordinator.ts';
import { ShareCoordinator } from '../../log/share/share-coordinator.ts';
import { createLogMetrics } from '../../log/metrics.ts';
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
import { EmbeddedTransactionalProducer } from './transactional-producer.ts';
import { ProducerIdAllocator } from '../../log/txn/producer-ids.ts';
import { TransactionCoordinator } from '../../log/txn/transaction-coordinator.ts';
import { joinPath } from '../../log/fs/file-system.ts';
import { EmbeddedAdmin } from './admin.ts';
import { EmbeddedConsumer } from './consumer.ts';
import { EmbeddedProducer } from './producer.ts';
import { EmbeddedShareConsumer } from './share-consumer.ts';

export interface EmbeddedBusOptions {
  dataDir: string;
  logger?: Logger;
  /** Prometheus registry for the log's metrics. */
  registry?: Registry;
  autoCreateTopics?: boolean;
  defaultTopicConfig?: Partial<TopicConfig>;
  groups?: CoordinatorOptions;
  /** Passed through to the log (file system, clock, maintenance interval, lock). */
  log?: Partial<LogOptions>;
}

export class EmbeddedBus implements Bus {
  readonly kind = 'embedded' as const;
  private readonly producers = new Set<BusProducer>();
  private readonly consumers = new Set<BusConsumer | BusShareConsumer>();
  private readonly adminApi: EmbeddedAdmin;
  private closed = false;

  private readonly transactional = new Set<TransactionalProducer>();

  private constructor(
    readonly log: Log,
    readonly groups: GroupCoordinator,
    readonly shares: ShareCoordinator,
    readonly producerIds: ProducerIdAllocator,
    readonly txns: TransactionCoordinator,
  ) {
    this.adminApi = new EmbeddedAdmin(log, groups);
  }

  static async open(opts: EmbeddedBusOptions): Promise<EmbeddedBus> {
    const log = await Log.open({
      dataDir: opts.dataDir,
      logger: opts.logger,
      metrics: opts.registry ? createLogMetrics(opts.registry) : undefined,
      autoCreateTopics: opts.autoCreateTopics,
      defaultTopicConfig: opts.defaultTopicConfig,
      ...opts.log,
    });
    try {
      const groups = await GroupCoordinator.open(log, { clock: log.clock, ...opts.groups });
      const shares = await ShareCoordinator.open(log, log.clock);
      const producerIds = await ProducerIdAllocator.open(log.fs, joinPath(log.dataDir, 'kafka-producer-ids.json'));
      const txns = await TransactionCoordinator.open(log, groups, producerIds, log.clock);
      return new EmbeddedBus(log, groups, shares, producerIds, txns);
    } catch (err) {
      await log.close().catch(() => {});
      throw err;
    }
  }

  admin(): BusAdmin {
    return this.adminApi;
  }

  producer(opts?: ProducerOptions): BusProducer {
    const p = new EmbeddedProducer(this.log, opts);
    this.producers.add(p);
    return p;
  }

  consumer(opts?: ConsumerOptions): EmbeddedConsumer {
    const c = new EmbeddedConsumer(this.log, this.groups, opts);
    this.consumers.add(c);
    return c;
  }

  shareConsumer(opts: ShareConsumerOptions): BusShareConsumer {
    const c = new EmbeddedShareConsumer(this.log, this.shares, opts);
    this.consumers.add(c);
    return c;
  }

  transactionalProducer(opts: TransactionalProducerOptions): TransactionalProducer {
    const p = new EmbeddedTransactionalProducer(this.log, this.txns, opts);
    this.transactional.add(p);
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.producers) await p.close().catch(() => {});
    for (const c of this.consumers) await c.close().catch(() => {});
    for (const t of this.transactional) await t.close().catch(() => {});
    this.txns.close();
    this.groups.close();
    await this.log.close();
  }
}
