/**
 * Stream apps inside `tributary up`: loads the modules of the project's streams folder
 * (`streams.dir`, default `./streams` beside the config file), runs each app, and mounts
 * `/api/streams`. Snapshots live in `<dataDir>/streams/<app>/`. On an external Kafka cluster the
 * apps run at-least-once (the cluster's transactions are not used).
 */
import path from 'node:path';
import type { PartStatus } from '../server/app.ts';
import type { FeaturePart, PartContext } from '../server/parts.ts';
import { streamsRoutes } from './http.ts';
import { loadStreamApps } from './loader.ts';
import { StreamsService } from './service.ts';

export interface StreamsPart extends FeaturePart {
  name: 'streams';
  service: StreamsService;
}

export async function createStreamsPart(ctx: PartContext): Promise<StreamsPart> {
  const cfg = ctx.config.streams ?? { dir: path.resolve('streams'), apps: {} };
  const external = ctx.bus.kind === 'external';
  const settings = Object.fromEntries(
    Object.entries(cfg.apps).map(([id, s]) => [id, external && s.processingGuarantee === 'exactly_once' ? { ...s, processingGuarantee: 'at_least_once' as const } : s]),
  );
  const service = new StreamsService({ bus: ctx.bus, logger: ctx.logger, registry: ctx.registry, stateDir: path.join(ctx.dataDir, 'streams'), settings });
  const loaded = await loadStreamApps(cfg.dir);
  for (const l of loaded) {
    if (l.app && external && l.app.processingGuarantee === 'exactly_once') {
      ctx.logger.warn({ app: l.app.id }, 'exactly_once needs the embedded log: running at_least_once on the external cluster');
      l.app = { ...l.app, processingGuarantee: 'at_least_once' };
    }
    service.add(l.app, l.file, l.error);
  }
  return {
    name: 'streams',
    service,
    routes: [{ path: 'streams', app: streamsRoutes(service) }],
    async start() {
      service.start();
      if (loaded.length) ctx.logger.info({ apps: service.list().map((a) => a.id), dir: cfg.dir }, 'stream apps started');
    },
    async stop() {
      await service.stop();
    },
    status(): PartStatus {
      const apps = service.list();
      if (apps.length === 0) return { state: 'ready', detail: `no stream apps in ${cfg.dir}` };
      const bad = apps.filter((a) => a.state === 'failed');
      return bad.length ? { state: 'failed', detail: bad.map((a) => `${a.id}: ${a.detail}`).join('; ') } : { state: 'ready', detail: apps.map((a) => a.id).join(', ') };
    },
  };
}
