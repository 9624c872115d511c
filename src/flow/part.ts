/**
 * The flow part of `tributary up`: loads the project's DAG files, opens the metadata store
 * (SQLite in the data directory, or PostgreSQL), runs a scheduler and a worker (child processes
 * by default), serves `/api/dags` and `/api/datasets`, and offers `onDatasetUpdated` to the
 * other parts (the lake calls it when a table gets a new snapshot).
 */
import { mkdirSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { FeaturePart, PartContext } from '../server/parts.ts';
import { gauge, counter } from '../monitor/metrics.ts';
import { FlowEngine } from './engine/engine.ts';
import type { LakeProbe } from './engine/host-sensors.ts';
import type { WarehouseResolver } from './engine/host-warehouse.ts';
import type { WarehousePart } from '../warehouse/index.ts';
import { DagRegistry } from './engine/registry.ts';
import { InlineExecutor } from './exec/inline-executor.ts';
import { ProcessExecutor } from './exec/process-pool.ts';
import type { TaskExecutor } from './exec/types.ts';
import { loadDagsDir } from './loader/load-dags.ts';
import { dagRoutes, datasetRoutes } from './server/routes.ts';
import { FlowStore } from './store/flow-store.ts';
import { openPostgres, openSqlite, redact } from './store/sql.ts';
import { TASK_STATES } from './core/states.ts';

/** What other parts may call: report that a dataset (lake table, model) got a new snapshot. */
export interface DatasetEventHook {
  onDatasetUpdated(name: string, info?: Record<string, unknown>): Promise<void>;
}

export interface FlowPart extends FeaturePart, DatasetEventHook {
  engine: FlowEngine;
}

/** Finds the flow part's dataset hook among a process's parts (null when flow is disabled). */
export function findDatasetHook(parts: ReadonlyMap<string, FeaturePart>): DatasetEventHook | null {
  const p = parts.get('flow') as Partial<FlowPart> | undefined;
  return p && typeof p.onDatasetUpdated === 'function' ? (p as FlowPart) : null;
}

function lakeProbe(parts: ReadonlyMap<string, FeaturePart>): LakeProbe | null {
  const lake = parts.get('lake') as (FeaturePart & Partial<LakeProbe>) | undefined;
  if (lake && typeof lake.partitionExists === 'function') return { partitionExists: (t, p) => lake.partitionExists!(t, p) };
  return null;
}

/** The warehouse part's gateway and model runner, looked up at each call (null while it is absent or stopped). */
function warehouseResolver(parts: ReadonlyMap<string, FeaturePart>): WarehouseResolver {
  return () => {
    const w = parts.get('warehouse') as (FeaturePart & Partial<WarehousePart>) | undefined;
    return w && w.gateway && w.runner ? { gateway: w.gateway, runner: w.runner } : null;
  };
}

function dirStamp(dir: string): string {
  try {
    return readdirSync(dir)
      .sort()
      .map((n) => {
        try {
          return `${n}:${statSync(path.join(dir, n)).mtimeMs}`;
        } catch {
          return n;
        }
      })
      .join('|');
  } catch {
    return '';
  }
}

export async function openFlowStore(metadata: { postgres: string | null }, dataDir: string): Promise<FlowStore> {
  if (metadata.postgres) return FlowStore.open(await openPostgres(metadata.postgres));
  const dir = path.join(dataDir, 'flow');
  mkdirSync(dir, { recursive: true });
  return FlowStore.open(await openSqlite(path.join(dir, 'flow.db')));
}

/**
 * @example
 * ```ts
 * // src/server/parts.ts
 * export const PART_FACTORIES: PartFactory[] = [createLakePart, createFlowPart];
 * ```
 */
export async function createFlowPart(ctx: PartContext): Promise<FlowPart | null> {
  const cfg = ctx.config.flow;
  if (!cfg || !cfg.enabled) return null;
  const logger = ctx.logger.child({ part: 'flow' });
  const loaded = await loadDagsDir(cfg.dagsDir);
  for (const e of loaded.errors) logger.error({ file: e.file }, `flow: DAG file not loaded: ${e.message}`);
  if (loaded.dags.length) logger.info({ dags: loaded.dags.map((d) => d.id), dir: cfg.dagsDir }, 'flow: DAGs loaded');
  const registry = new DagRegistry(loaded.dags);
  registry.replace(loaded.dags, loaded.errors);
  const store = await openFlowStore(cfg.metadata, ctx.dataDir);
  const executor: TaskExecutor =
    cfg.mode === 'inline' ? new InlineExecutor((id) => registry.get(id)) : new ProcessExecutor({ size: Math.max(1, cfg.workers), logger });
  const engine = new FlowEngine({
    store,
    registry,
    executor,
    workerSlots: cfg.workers,
    pools: cfg.pools,
    taskLeaseMs: cfg.taskLeaseMs,
    governance: ctx.governance,
    logger,
    bus: ctx.bus,
    lake: lakeProbe(ctx.parts),
    warehouse: warehouseResolver(ctx.parts),
  });

  const runsFinished = counter(ctx.registry, { name: 'tributary_flow_runs_finished_total', help: 'DAG runs finished, by DAG and final state.', labelNames: ['dag', 'state'] });
  engine.events.on('run', (_id: number, state: string, dagId: string) => runsFinished.inc({ dag: dagId, state }));
  let lastCounts: Partial<Record<string, number>> = {};
  gauge(ctx.registry, {
    name: 'tributary_flow_task_instances',
    help: 'Task instances of unfinished runs, by state.',
    labelNames: ['state'],
    async collect() {
      try {
        lastCounts = await store.activeTaskCounts();
      } catch {
        // keep the last known figures while the metadata store is unreachable
      }
      for (const s of TASK_STATES) this.set({ state: s }, lastCounts[s] ?? 0);
    },
  });

  let reloadTimer: NodeJS.Timeout | null = null;
  let stamp = dirStamp(cfg.dagsDir);
  const reload = async () => {
    const now = dirStamp(cfg.dagsDir);
    if (now === stamp) return;
    stamp = now;
    const next = await loadDagsDir(cfg.dagsDir);
    for (const e of next.errors) logger.error({ file: e.file }, `flow: DAG file not loaded: ${e.message}`);
    // A file that broke keeps its previous DAGs running rather than stopping them.
    const broken = new Set(next.errors.map((e) => path.resolve(e.file)));
    const kept = [...registry.dags.values()].filter((d) => d.file && broken.has(d.file) && !next.dags.some((n) => n.id === d.id));
    registry.replace([...next.dags, ...kept], next.errors);
    await engine.syncDags();
    logger.info({ dags: [...registry.dags.keys()] }, 'flow: DAG folder reloaded');
  };

  const part: FlowPart = {
    name: 'flow',
    engine,
    routes: [
      { path: 'dags', app: dagRoutes(engine) },
      { path: 'datasets', app: datasetRoutes(engine) },
    ],
    async start() {
      await engine.start();
      reloadTimer = setInterval(() => void reload().catch((err) => logger.warn({ err }, 'flow: reloading DAG files failed')), 5000);
      reloadTimer.unref();
    },
    async stop() {
      if (reloadTimer) clearInterval(reloadTimer);
      await engine.stop();
      await store.close();
    },
    status() {
      const errs = registry.importErrors.length;
      return {
        state: 'ready',
        detail: `${registry.dags.size} DAG${registry.dags.size === 1 ? '' : 's'}${errs ? `, ${errs} file${errs === 1 ? '' : 's'} failed to load` : ''}; ${cfg.workers} worker slot${cfg.workers === 1 ? '' : 's'} (${cfg.mode}); metadata ${cfg.metadata.postgres ? `PostgreSQL ${redact(cfg.metadata.postgres)}` : 'SQLite'}`,
      };
    },
    async onDatasetUpdated(name: string, info: Record<string, unknown> = {}) {
      await engine.onDatasetUpdated(name, info);
    },
  };
  return part;
}
