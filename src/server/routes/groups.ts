import { Hono } from 'hono';
import type { Bus } from '../../bus/types.ts';
import { queryParams } from '../request.ts';

export function groupRoutes(bus: Bus): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    queryParams(c, []);
    return c.json({ groups: await bus.admin().listGroups() });
  });

  app.get('/:id', async (c) => {
    queryParams(c, []);
    const d = await bus.admin().describeGroup(c.req.param('id'));
    const totalLag = d.offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0);
    return c.json({ ...d, totalLag });
  });

  return app;
}
