/** Shared pieces of the connect tests: an embedded bus with a runtime, reading topics, waiting. */
import path from 'node:path';
import pino from 'pino';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/index.ts';
import type { ConsumedRecord } from '../../src/bus/types.ts';
import { builtinPlugins, IngestRouter } from '../../src/connect/plugins/index.ts';
import { ConnectRuntime, type ConnectRuntimeOptions } from '../../src/connect/runtime/runtime.ts';
import type { ConnectorPlugin } from '../../src/connect/types.ts';
import { Governance } from '../../src/govern/index.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';

export const quietLogger = pino({ level: process.env['TRIBUTARY_TEST_LOG'] ?? 'silent' });

export interface Harness {
  bus: EmbeddedBus;
  runtime: ConnectRuntime;
  router: IngestRouter;
  governance: Governance;
  dir: string;
  close(): Promise<void>;
}

export async function harness(opts: { dataDir?: string; plugins?: ConnectorPlugin[]; governance?: Governance; runtime?: Partial<ConnectRuntimeOptions>; declared?: Record<string, Record<string, unknown>> } = {}): Promise<Harness> {
  const dir = opts.dataDir ?? (await tempDirUntilExit('tributary-connect-'));
  const bus = await openEmbeddedBus({ dataDir: path.join(dir, 'data'), autoCreateTopics: true });
  const router = new IngestRouter();
  const governance = opts.governance ?? new Governance();
  const runtime = new ConnectRuntime({
    bus,
    governance,
    logger: quietLogger,
    plugins: [...builtinPlugins(router), ...(opts.plugins ?? [])],
    offsetFlushIntervalMs: 200,
    ...opts.runtime,
  });
  await runtime.start(opts.declared ?? {});
  return {
    bus,
    runtime,
    router,
    governance,
    dir,
    async close() {
      await runtime.stop();
      await bus.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs` with `what`). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every record of a topic (all partitions), in partition then offset order. */
export async function readTopic(bus: EmbeddedBus, topic: string): Promise<ConsumedRecord[]> {
  const admin = bus.admin();
  if (!(await admin.listTopics({ includeInternal: true })).some((t) => t.name === topic)) return [];
  const d = await admin.describeTopic(topic);
  const out: ConsumedRecord[] = [];
  const consumer = bus.consumer({ fromBeginning: true });
  try {
    for (const p of d.partitions) {
      if (p.highWatermark <= p.logStartOffset) continue;
      consumer.assign([{ topic, partition: p.partition, offset: p.logStartOffset }]);
      let last = p.logStartOffset - 1;
      while (last < p.highWatermark - 1) {
        const batch = await consumer.poll({ timeoutMs: 500 });
        if (batch.length === 0) break;
        for (const r of batch) {
          out.push(r);
          last = r.offset;
        }
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

export async function topicCount(bus: EmbeddedBus, topic: string): Promise<number> {
  const admin = bus.admin();
  if (!(await admin.listTopics({ includeInternal: true })).some((t) => t.name === topic)) return 0;
  return (await admin.describeTopic(topic)).partitions.reduce((n, p) => n + p.highWatermark - p.logStartOffset, 0);
}

export function values(records: ConsumedRecord[]): unknown[] {
  return records.map((r) => (r.value === null ? null : JSON.parse(r.value.toString('utf8'))));
}
