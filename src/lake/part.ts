/**
 * The lake inside `tributary up`: opens the lake of the config (`lake` section), runs its
 * sinks, a maintenance loop (zone retention + snapshot expiry) and mounts `/api/lake`.
 * Other parts (the warehouse) find it as `ctx.parts.get('lake')` and use `part.lake`.
 */
import type { FeaturePart, PartContext } from '../server/parts.ts';
import type { PartStatus } from '../server/app.ts';
import { lakeRoutes } from './http/routes.ts';
import { openLake, type Lake } from './lake.ts';
import { LakeSink } from './sink/lake-sink.ts';

export interface LakePart extends FeaturePart {
  name: 'lake';
  lake: Lake;
  sinks: LakeSink[];
  /** Whether a table has data in a partition at its current snapshot (flow's lake-partition sensor). */
  partitionExists(table: string, partition: Record<string, string>): Promise<boolean>;
}

/** What the flow part offers (found by duck typing: a foundation does not import a feature). */
interface DatasetHook {
  onDatasetUpdated(name: string, info?: Record<string, unknown>): Promise<void>;
}

/** The lake part of a running Tributary (see `PART_FACTORIES`). */
export async function createLakePart(ctx: PartContext): Promise<LakePart> {
  const cfg = ctx.config.lake;
  const lake = await openLake({
    root: cfg.root,
    zones: cfg.zones,
    snapshotRetentionMs: cfg.snapshotRetentionMs,
    ...(cfg.manifest.postgres ? { manifest: { postgres: cfg.manifest.postgres, schema: cfg.manifest.schema } } : {}),
    ...(cfg.s3 ? { s3: cfg.s3 } : {}),
  });
  const sinks = cfg.sinks.map(
    (s) =>
      new LakeSink({
        bus: ctx.bus,
        lake,
        topics: s.topics,
        table: s.table,
        ...(s.name ? { name: s.name } : {}),
        ...(s.zone ? { zone: s.zone } : {}),
        ...(s.partitionBy ? { partitionBy: s.partitionBy } : {}),
        ...(s.eventTime ? { eventTime: s.eventTime } : {}),
        ...(s.schema ? { schema: s.schema } : {}),
        ...(s.rollBytes ? { rollBytes: s.rollBytes } : {}),
        ...(s.rollMs ? { rollMs: s.rollMs } : {}),
        ...(s.deadLetterTopic ? { deadLetterTopic: s.deadLetterTopic } : {}),
        ...(s.metadataColumns !== undefined ? { metadataColumns: s.metadataColumns } : {}),
        logger: ctx.logger,
        registry: ctx.registry,
      }),
  );
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;
  let running: Promise<void> | null = null;
  const maintain = () => {
    running ??= (async () => {
      try {
        await lake.applyRetention();
        await lake.expire();
      } catch (err) {
        ctx.logger.warn({ err }, 'lake maintenance failed; it runs again at the next interval');
      } finally {
        running = null;
      }
    })();
  };
  return {
    name: 'lake',
    lake,
    sinks,
    routes: [{ path: 'lake', app: lakeRoutes({ lake, sinks: () => sinks, governance: ctx.governance }) }],
    async partitionExists(table, partition) {
      try {
        return (await lake.files(table, { partition })).length > 0;
      } catch (err) {
        if ((err as { code?: string }).code === 'LAKE_TABLE_UNKNOWN') return false;
        throw err;
      }
    },
    async start() {
      // Every commit is a dataset event for workflows waiting on a table (created after the lake, so looked up now).
      const flow = ctx.parts.get('flow') as (FeaturePart & Partial<DatasetHook>) | undefined;
      if (flow && typeof flow.onDatasetUpdated === 'function') {
        const hook = flow as DatasetHook;
        unsubscribe = lake.onCommit(({ snapshot, table }) => {
          hook
            .onDatasetUpdated(table, { snapshot: snapshot.id, kind: snapshot.kind, addedRows: snapshot.summary.addedRows, time: snapshot.time })
            .catch((err: unknown) => ctx.logger.warn({ err, table }, 'could not report a lake commit to flow'));
        });
      }
      for (const s of sinks) await s.start();
      if (cfg.maintenanceIntervalMs !== null) {
        timer = setInterval(maintain, cfg.maintenanceIntervalMs);
        timer.unref();
      }
      ctx.logger.info({ root: cfg.root, sinks: sinks.map((s) => s.name), store: lake.store.description }, 'lake open');
    },
    async stop() {
      if (timer) clearInterval(timer);
      unsubscribe?.();
      if (running) await running;
      for (const s of sinks) await s.stop();
      await lake.close();
    },
    status(): PartStatus {
      const failed = sinks.filter((s) => s.status().state === 'failed');
      if (failed.length) return { state: 'failed', detail: failed.map((s) => `${s.name}: ${s.status().lastError}`).join('; ') };
      return { state: 'ready', detail: `${lake.store.description}${sinks.length ? `, sinks: ${sinks.map((s) => s.name).join(', ')}` : ''}` };
    },
  };
}
