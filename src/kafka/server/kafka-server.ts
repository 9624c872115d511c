/**
 * The Kafka listener of `tributary up`: any Kafka client can produce to and consume from the
 * embedded log on this port. One broker (node 0) leads every partition.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createKafkaMetrics, noopKafkaMetrics } from './metrics.ts';
import type { EmbeddedBus } from '../../bus/index.ts';
import { joinPath, writeFileAtomic } from '../../log/fs/file-system.ts';
import { KafkaConnection } from './connection.ts';
import type { BrokerContext } from './context.ts';
import { Governance } from '../../govern/index.ts';
import type { SaslConfig } from './handlers/sasl.ts';
import { registerKafkaCodecs } from '../protocol/records/compression-codecs.ts';

export interface KafkaServerOptions {
  bus: EmbeddedBus;
  host?: string;
  port?: number;
  /** What Metadata tells clients to connect to (default: the bound host and port). */
  advertisedHost?: string;
  advertisedPort?: number;
  logger: Logger;
  autoCreateTopics?: boolean;
  sasl?: SaslConfig | null;
  /** Authorization and audit (default: allow everything, audit in memory). */
  governance?: Governance;
  /** Frames larger than this close the connection (default 100 MiB, Kafka's socket.request.max.bytes). */
  maxFrameBytes?: number;
  /** Prometheus registry for the listener's metrics. */
  registry?: Registry;
}

export interface RunningKafkaServer {
  host: string;
  port: number;
  /** `host:port` clients bootstrap from. */
  address: string;
  connections(): number;
  close(): Promise<void>;
}

/** The cluster id is created once per data directory and kept (clients compare it). */
async function clusterIdFor(bus: EmbeddedBus): Promise<string> {
  const { fs, dataDir } = bus.log;
  const path = joinPath(dataDir, 'kafka-cluster.json');
  if (fs.exists(path)) return (JSON.parse(fs.readFile(path).toString('utf8')) as { clusterId: string }).clusterId;
  const clusterId = randomBytes(16).toString('base64url');
  await writeFileAtomic(fs, path, Buffer.from(JSON.stringify({ clusterId })));
  return clusterId;
}

export async function startKafkaServer(opts: KafkaServerOptions): Promise<RunningKafkaServer> {
  registerKafkaCodecs();
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger.child({ component: 'kafka' });
  const { log, groups } = opts.bus;
  const connections = new Set<KafkaConnection>();
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9092, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : (opts.port ?? 9092);
  const broker: BrokerContext = {
    log,
    groups,
    producerIds: opts.bus.producerIds,
    txns: opts.bus.txns,
    logger,
    nodeId: 0,
    clusterId: await clusterIdFor(opts.bus),
    advertised: { host: opts.advertisedHost ?? host, port: opts.advertisedPort ?? port },
    autoCreateTopics: opts.autoCreateTopics ?? log.autoCreateTopics,
    sasl: opts.sasl ?? null,
    governance: opts.governance ?? new Governance(),
  };
  const maxFrameBytes = opts.maxFrameBytes ?? 100 * 1024 * 1024;
  const metrics = opts.registry ? createKafkaMetrics(opts.registry) : noopKafkaMetrics;
  server.on('connection', (socket: Socket) => {
    const conn = new KafkaConnection(socket, broker, { maxFrameBytes, saslRequired: broker.sasl !== null, metrics }, logger, () => connections.delete(conn));
    connections.add(conn);
  });
  logger.info({ host, port, advertised: broker.advertised }, 'kafka listener started');
  return {
    host,
    port,
    address: `${broker.advertised.host}:${broker.advertised.port}`,
    connections: () => connections.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.close();
        server.close(() => resolve());
      }),
  };
}
