/**
 * `/api/streams`: the stream apps of this server (docs/http-api.md).
 *
 * - `GET /api/streams` → `{ apps: [...] }`
 * - `GET /api/streams/<app>` → topology, tasks, lag, store sizes
 * - `GET /api/streams/<app>/stores/<store>?key=…` → one key (windowed stores: its windows)
 * - `GET /api/streams/<app>/stores/<store>?from=…&to=…&limit=…` → a key range (kv) or window-start range (windowed)
 */
import { Hono } from 'hono';
import { intParam, queryParams } from '../server/request.ts';
import type { StreamsService } from './service.ts';

export function streamsRoutes(service: StreamsService): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    queryParams(c, []);
    return c.json({ apps: service.list() });
  });
  app.get('/:app', async (c) => {
    queryParams(c, []);
    return c.json(await service.describe(c.req.param('app')));
  });
  app.get('/:app/stores/:store', (c) => {
    const q = queryParams(c, ['key', 'from', 'to', 'limit']);
    const limit = intParam(q, 'limit', { min: 1, max: 10_000, default: 100 });
    return c.json(
      service.query(c.req.param('app'), c.req.param('store'), {
        ...(q['key'] !== undefined ? { key: q['key'] } : {}),
        ...(q['from'] !== undefined ? { from: q['from'] } : {}),
        ...(q['to'] !== undefined ? { to: q['to'] } : {}),
        limit,
      }) as object,
    );
  });
  return app;
}
