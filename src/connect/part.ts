/**
 * The connect feature part of `tributary up`: the connector runtime, its REST API under
 * `/api/connectors` and `/api/connector-plugins`, and the HTTP ingest endpoint `POST /ingest/<topic>`.
 * Connectors declared in `tributary.config.ts` (`connect.connectors`) start with it.
 */
import { Hono } from 'hono';
import type { FeaturePart, PartContext } from '../server/parts.ts';
import { connectorRoutes } from './api/routes.ts';
import { builtinPlugins, IngestRouter, ingestHandler } from './plugins/index.ts';
import { ConnectRuntime } from './runtime/runtime.ts';

export async function createConnectPart(ctx: PartContext): Promise<FeaturePart> {
  const settings = ctx.config.connect ?? { connectors: {}, plugins: [] };
  const router = new IngestRouter();
  const runtime = new ConnectRuntime({
    bus: ctx.bus,
    governance: ctx.governance,
    logger: ctx.logger.child({ part: 'connect' }),
    registry: ctx.registry,
    plugins: [...builtinPlugins(router), ...(settings.plugins ?? [])],
    ...(settings.offsetsTopic ? { offsetsTopic: settings.offsetsTopic } : {}),
    ...(settings.configsTopic ? { configsTopic: settings.configsTopic } : {}),
  });
  const { connectors, plugins } = connectorRoutes(() => runtime, ctx.governance);
  const ingest = new Hono();
  ingest.post('/:topic', ingestHandler({ router, governance: ctx.governance, stateOf: (n) => runtime.stateOf(n) }));
  let started = false;
  return {
    name: 'connect',
    routes: [
      { path: 'connectors', app: connectors },
      { path: 'connector-plugins', app: plugins },
    ],
    rootRoutes: [{ path: 'ingest', app: ingest }],
    async start() {
      await runtime.start(settings.connectors ?? {});
      started = true;
    },
    async stop() {
      await runtime.stop();
    },
    status() {
      return { state: started ? 'ready' : 'starting', detail: runtime.summary() };
    },
  };
}
