/**
 * Feature parts of a running Tributary (lake, warehouse, flow, streams, connect, …). Each
 * feature exposes a factory here; `startTributary` creates them in this order after the bus
 * and the Kafka listener, mounts their HTTP routes under `/api/<path>`, starts them, and stops
 * them in reverse order. A factory returns null when its feature is not configured.
 */
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/types.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { Governance } from '../govern/index.ts';
import type { PartStatus } from './app.ts';

export interface PartContext {
  config: ResolvedConfig;
  bus: Bus;
  logger: Logger;
  registry: Registry;
  governance: Governance;
  /** Absolute data directory (each part keeps its files in its own subfolder). */
  dataDir: string;
  /** Parts created before this one, by name (e.g. the warehouse finds the lake). */
  parts: ReadonlyMap<string, FeaturePart>;
}

export interface FeaturePart {
  name: string;
  /** Routes mounted under `/api/<path>`. */
  routes?: Array<{ path: string; app: Hono }>;
  /** Routes mounted at the root, `/<path>` (e.g. connect's `/ingest`), outside the JSON API. */
  rootRoutes?: Array<{ path: string; app: Hono }>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  status?(): PartStatus;
}

export type PartFactory = (ctx: PartContext) => Promise<FeaturePart | null>;

/** Feature parts in start order; a feature adds its factory with one line here. */
export const PART_FACTORIES: PartFactory[] = [
  async (ctx) => (await import('../monitor/part.ts')).createMonitorPart(ctx), // metrics history, consumer lag, live events
  async (ctx) => (await import('../connect/part.ts')).createConnectPart(ctx), // connectors: REST API, runtime, POST /ingest/<topic>
  async (ctx) => (await import('../lake/part.ts')).createLakePart(ctx), // lake: tables, snapshots, sinks, /api/lake
  async (ctx) => (await import('../warehouse/part.ts')).createWarehousePart(ctx), // SQL gateway over the lake, models: /api/sql, /api/models
  async (ctx) => (await import('../streams/part.ts')).createStreamsPart(ctx), // stream apps of streams/, /api/streams
  async (ctx) => (await import('../flow/part.ts')).createFlowPart(ctx), // workflows: DAGs of dags/, scheduler, workers, /api/dags
];
