/**
 * One running Tributary: what `tributary up` starts, usable from code as well.
 *
 * Start order: bus (opens the data directory, or connects to `broker.external`) → topics of the
 * config → Kafka listener (embedded bus only) → HTTP API → generators;
 * stop order is the reverse, so nothing writes to a closed bus. A failure half-way closes what
 * was already started before it is rethrown.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, BusProducer } from '../bus/types.ts';
import type { EmbeddedBus } from '../bus/index.ts';
import type { Hono } from 'hono';
import { Governance } from '../govern/index.ts';
import { PART_FACTORIES, type FeaturePart } from './parts.ts';
import type { ResolvedConfig } from '../config/types.ts';
import { createGenerator, type Generator } from '../connect/generator/index.ts';
import type { TopicConfig } from '../log/types.ts';
import { createMetricsRegistry } from '../monitor/metrics.ts';
import { createHttpApp, type PartStatus } from './app.ts';
import { startHttpServer, type RunningHttpServer } from './listen.ts';
import { createWebUi } from './web-ui.ts';

export interface TributaryInstance {
  /** `http://host:port` of the HTTP API. */
  httpUrl: string;
  /** `host:port` Kafka clients bootstrap from (the external cluster's brokers, comma-separated, when `broker.external` is set). */
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
  governance?: Governance;
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
  const external = config.broker.external;
  // With an external cluster Kafka clients talk to it directly: a listener here would only proxy.
  const serveKafka = config.kafka.enabled && !external;
  const parts: Record<string, PartStatus> = {
    bus: { state: 'starting' },
    generators: { state: config.generators.length ? 'starting' : 'disabled' },
    kafka: serveKafka
      ? { state: 'starting' }
      : external
        ? { state: 'disabled', detail: `broker.external is set: Kafka clients connect to ${external.brokers.join(',')}` }
        : { state: 'disabled' },
  };
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      await fn().catch((err) => logger.error({ err }, 'error while shutting down'));
    }
  };

  try {
    const { openBus } = await import('../bus/index.ts');
    const bus: Bus = await openBus(config, { logger, registry });
    cleanups.push(async () => {
      parts['bus'] = { state: 'stopping' };
      await bus.close();
      parts['bus'] = { state: 'stopped' };
    });
    if (external) {
      parts['bus'] = { state: 'ready', detail: `external Kafka cluster ${external.brokers.join(',')}` };
      logger.info({ brokers: external.brokers }, 'bus open on the external Kafka cluster');
    } else {
      parts['bus'] = { state: 'ready', detail: 'embedded' };
      logger.info({ dataDir: config.dataDir }, 'bus open');
    }

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

    const governance = opts.governance ?? new Governance();
    let kafkaAddress = external ? external.brokers.join(',') : `${config.kafka.host}:${config.kafka.port}`;
    if (serveKafka) {
      const { startKafkaServer } = await import('../kafka/index.ts');
      const kafka = await startKafkaServer({
        bus: bus as unknown as EmbeddedBus,
        host: config.kafka.host,
        port: config.kafka.port,
        ...(config.kafka.advertisedHost ? { advertisedHost: config.kafka.advertisedHost } : {}),
        sasl: config.kafka.sasl,
        logger,
        registry,
        governance,
      });
      kafkaAddress = kafka.address;
      parts['kafka'] = { state: 'ready', detail: kafka.address };
      cleanups.push(async () => {
        parts['kafka'] = { state: 'stopping' };
        await kafka.close();
        parts['kafka'] = { state: 'stopped' };
      });
    }

    const created = new Map<string, FeaturePart>();
    const mounts: Array<{ path: string; app: Hono }> = [];
    const rootMounts: Array<{ path: string; app: Hono }> = [];
    for (const factory of PART_FACTORIES) {
      const part = await factory({ config, bus, logger, registry, governance, dataDir: config.dataDir, parts: created });
      if (!part) continue;
      created.set(part.name, part);
      mounts.push(...(part.routes ?? []));
      rootMounts.push(...(part.rootRoutes ?? []));
      parts[part.name] = { state: 'starting' };
    }

    const http = createHttpApp({
      mounts, rootMounts, bus, registry, logger, parts: () => parts, ...(opts.version ? { version: opts.version } : {}),
      web: createWebUi({ logger }).handler });
    const server = await startHttpServer(http, { host: config.http.host, port: config.http.port, logger });
    cleanups.push(() => server.close());

    for (const part of created.values()) {
      await part.start?.();
      parts[part.name] = part.status?.() ?? { state: 'ready' };
      cleanups.push(async () => {
        parts[part.name] = { state: 'stopping' };
        await part.stop?.();
        parts[part.name] = { state: 'stopped' };
      });
    }

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
