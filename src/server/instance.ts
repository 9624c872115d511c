/**
 * One running Tributary: what `tributary up` starts, usable from code as well.
 *
 * Start order: bus (opens the data directory) → topics of the config → HTTP API → generators;
 * stop order is the reverse, so nothing writes to a closed bus. A failure half-way closes what
 * was already started before it is rethrown.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, BusProducer } from '../bus/types.ts';
import type { EmbeddedBus } from '../bus/index.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { createGenerator, type Generator } from '../connect/generator/index.ts';
import type { TopicConfig } from '../log/types.ts';
import { createMetricsRegistry } from '../monitor/metrics.ts';
import { createHttpApp, type PartStatus } from './app.ts';
import { startHttpServer, type RunningHttpServer } from './listen.ts';

export interface TributaryInstance {
  /** `http://host:port` of the HTTP API. */
  httpUrl: string;
  /** `host:port` Kafka clients bootstrap from. */
  kafkaAddress: string;
  bus: Bus;
  registry: Registry;
  server: RunningHttpServer;
  generators: Generator[];
  /** Stops generators, the HTTP API and the bus, in that order. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  registry?: Registry;
  version?: string;
}

/** Creates the topics of the config that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(bus: Bus, topics: Record<string, Partial<TopicConfig>>, logger?: Logger): Promise<void> {
  const admin = bus.admin();
  const existing = new Map((await admin.listTopics({ includeInternal: true })).map((t) => [t.name, t]));
  for (const [name, config] of Object.entries(topics)) {
    const found = existing.get(name);
    if (found) {
      if (config.partitions !== undefined && config.partitions !== found.partitions.length) {
        logger?.warn(
          { topic: name, configured: config.partitions, actual: found.partitions.length },
          'topic exists with another partition count; keeping the existing topic',
        );
      }
      continue;
    }
    try {
      await admin.createTopic(name, config); // the log reports the creation
    } catch (err) {
      if ((err as { code?: string }).code !== 'TOPIC_EXISTS') throw err;
    }
  }
}

/**
 * @example
 * ```ts
 * const config = await resolveConfig({ config: 'tributary.config.ts' });
 * const instance = await startTributary(config, { logger: pino() });
 * console.log(instance.httpUrl);
 * await instance.close();
 * ```
 */
export async function startTributary(config: ResolvedConfig, opts: StartOptions): Promise<TributaryInstance> {
  const { logger } = opts;
  const registry = opts.registry ?? createMetricsRegistry();
  const parts: Record<string, PartStatus> = {
    bus: { state: 'starting' },
    generators: { state: config.generators.length ? 'starting' : 'disabled' },
    kafka: { state: config.kafka.enabled ? 'starting' : 'disabled' },
  };
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err) => logger.error({ err }, 'error while shutting down'));
    }
  };

  try {
    const { openEmbeddedBus } = await import('../bus/index.ts');
    const bus: Bus = await openEmbeddedBus({
      dataDir: config.dataDir,
      logger,
      autoCreateTopics: config.broker.autoCreateTopics,
      defaultTopicConfig: config.broker.defaultTopicConfig,
      registry,
    });
    cleanups.push(async () => {
      parts['bus'] = { state: 'stopping' };
      await bus.close();
      parts['bus'] = { state: 'stopped' };
    });
    parts['bus'] = { state: 'ready' };
    logger.info({ dataDir: config.dataDir }, 'bus open');

    await ensureTopics(bus, config.topics, logger);

    let generatorProducer: BusProducer | null = null;
    const generators: Generator[] = [];
    if (config.generators.length > 0) {
      const producer = bus.producer({ lingerMs: 5 });
      generatorProducer = producer;
      cleanups.push(() => producer.close());
      config.generators.forEach((g, i) => {
        generators.push(createGenerator(g, { producer, logger, registry, name: config.generators.length > 1 ? `${g.kind}-${i}` : g.kind }));
      });
      // Generator topics not declared in the config are created with the broker defaults.
      const undeclared = generators.flatMap((g) => g.topicNames()).filter((t) => !(t in config.topics));
      await ensureTopics(bus, Object.fromEntries(undeclared.map((t) => [t, {}])), logger);
    }

    let kafkaAddress = `${config.kafka.host}:${config.kafka.port}`;
    if (config.kafka.enabled) {
      const { startKafkaServer } = await import('../kafka/index.ts');
      const kafka = await startKafkaServer({
        bus: bus as EmbeddedBus,
        host: config.kafka.host,
        port: config.kafka.port,
        ...(config.kafka.advertisedHost ? { advertisedHost: config.kafka.advertisedHost } : {}),
        sasl: config.kafka.sasl,
        logger,
        registry,
      });
      kafkaAddress = kafka.address;
      parts['kafka'] = { state: 'ready', detail: kafka.address };
      cleanups.push(async () => {
        parts['kafka'] = { state: 'stopping' };
        await kafka.close();
        parts['kafka'] = { state: 'stopped' };
      });
    }

    const http = createHttpApp({ bus, registry, logger, parts: () => parts, ...(opts.version ? { version: opts.version } : {}) });
    const server = await startHttpServer(http, { host: config.http.host, port: config.http.port, logger });
    cleanups.push(() => server.close());

    for (const g of generators) g.start();
    if (generators.length) {
      parts['generators'] = { state: 'ready', detail: generators.map((g) => g.name).join(', ') };
      logger.info({ generators: generators.map((g) => g.name) }, 'generators started');
    }
    cleanups.push(async () => {
      parts['generators'] = { state: 'stopping' };
      await Promise.all(generators.map((g) => g.stop()));
      if (generatorProducer) await generatorProducer.flush();
      parts['generators'] = { state: 'stopped' };
    });

    let closing: Promise<void> | null = null;
    return {
      httpUrl: server.url,
      kafkaAddress,
      bus,
      registry,
      server,
      generators,
      close: () => (closing ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
