/**
 * A real Tributary Kafka broker for tests: the embedded bus on a temp data directory and the
 * Kafka listener on a free loopback port. Clients bootstrap from `bootstrap`.
 */
import pino from 'pino';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/index.ts';
import { startKafkaServer, type KafkaServerOptions, type RunningKafkaServer } from '../../src/kafka/index.ts';
import { tempDir } from './temp-dir.ts';

export interface TestBroker {
  bootstrap: string;
  port: number;
  bus: EmbeddedBus;
  server: RunningKafkaServer;
  dataDir: string;
  /** Stops the listener and the bus, and removes the data directory. */
  close(): Promise<void>;
}

export async function startTestBroker(
  opts: { autoCreateTopics?: boolean; dataDir?: string; keepData?: boolean } & Partial<Pick<KafkaServerOptions, 'sasl' | 'governance' | 'maxFrameBytes'>> = {},
): Promise<TestBroker> {
  const temp = opts.dataDir ? null : tempDir('tributary-kafka-');
  const dataDir = opts.dataDir ?? temp!.dir;
  const logger = pino({ level: process.env.TRIBUTARY_TEST_LOG ?? 'silent' });
  const bus = await openEmbeddedBus({ dataDir, logger, autoCreateTopics: opts.autoCreateTopics ?? true, log: { maintenanceIntervalMs: 0 } });
  const server = await startKafkaServer({
    bus,
    port: 0,
    logger,
    ...(opts.sasl !== undefined ? { sasl: opts.sasl } : {}),
    ...(opts.governance ? { governance: opts.governance } : {}),
    ...(opts.maxFrameBytes ? { maxFrameBytes: opts.maxFrameBytes } : {}),
  });
  return {
    bootstrap: server.address,
    port: server.port,
    bus,
    server,
    dataDir,
    close: async () => {
      await server.close();
      await bus.close();
      if (!opts.keepData) temp?.cleanup();
    },
  };
}
