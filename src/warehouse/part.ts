/**
 * The warehouse inside `tributary up`: opens the SQL gateway over the lake part's lake (the
 * gateway owns the DuckDB database file of `warehouse.database`), runs models from
 * `warehouse.modelsDir`, and mounts `/api/sql` and `/api/models`. Without a lake part there is
 * nothing to query and the part is absent.
 */
import type { LakePart } from '../lake/index.ts';
import type { PartStatus } from '../server/app.ts';
import type { FeaturePart, PartContext } from '../server/parts.ts';
import { SqlGateway } from './gateway/gateway.ts';
import { modelRoutes, sqlRoutes } from './http/routes.ts';
import { ModelRunner } from './models/runner.ts';

export interface WarehousePart extends FeaturePart {
  name: 'warehouse';
  gateway: SqlGateway;
  runner: ModelRunner;
}

/** The warehouse part of a running Tributary (see `PART_FACTORIES`). */
export async function createWarehousePart(ctx: PartContext): Promise<WarehousePart | null> {
  const lakePart = ctx.parts.get('lake') as LakePart | undefined;
  if (!lakePart) return null;
  const cfg = ctx.config.warehouse;
  const gateway = await SqlGateway.open({ lake: lakePart.lake, governance: ctx.governance, database: cfg.database, logger: ctx.logger });
  const runner = new ModelRunner({ gateway, lake: lakePart.lake, modelsDir: cfg.modelsDir, governance: ctx.governance });
  let stopped = false;
  return {
    name: 'warehouse',
    gateway,
    runner,
    routes: [
      { path: 'sql', app: sqlRoutes({ gateway: () => gateway }) },
      { path: 'models', app: modelRoutes({ runner: () => runner, gateway: () => gateway }) },
    ],
    async start() {
      ctx.logger.info({ database: cfg.database, modelsDir: cfg.modelsDir }, 'warehouse open');
    },
    async stop() {
      stopped = true;
      await gateway.close();
    },
    status(): PartStatus {
      if (stopped) return { state: 'stopped' };
      const n = gateway.running().length;
      return { state: 'ready', detail: `${cfg.database === ':memory:' ? 'in-memory DuckDB' : cfg.database}${n ? `, ${n} running quer${n === 1 ? 'y' : 'ies'}` : ''}` };
    },
  };
}
