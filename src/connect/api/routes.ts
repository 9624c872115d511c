/**
 * The connector REST API, modelled on Kafka Connect's (mounted under /api):
 *
 * | method | path | does |
 * |---|---|---|
 * | GET | /connectors[?expand=status\|info] | names (or name → status/info) |
 * | POST | /connectors `{ name, config }` | create (201; 409 when the name is taken) |
 * | GET | /connectors/:name | name, type, config, tasks |
 * | GET / PUT | /connectors/:name/config | read / create-or-reconfigure (tasks restart) |
 * | GET | /connectors/:name/status | connector and task states, errors as `trace` |
 * | GET | /connectors/:name/tasks | task ids and settings |
 * | GET | /connectors/:name/tasks/:id/status | one task |
 * | POST | /connectors/:name/tasks/:id/restart | restart one task |
 * | PUT | /connectors/:name/pause, /resume, /stop | target state (202) |
 * | POST | /connectors/:name/restart[?includeTasks&onlyFailed] | graceful restart, work split again |
 * | DELETE | /connectors/:name | delete (204) |
 * | GET / DELETE | /connectors/:name/offsets | read / reset (connector must be stopped) |
 * | GET | /connector-plugins | installed plugins |
 * | PUT | /connector-plugins/:type/config/validate | check a config, every problem by field |
 *
 * Management calls pass governance as the request's principal on resource `connector:<name>`.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ANONYMOUS, type Action, type Governance } from '../../govern/index.ts';
import { HttpError } from '../../server/errors.ts';
import { boolParam, queryParams, readJson } from '../../server/request.ts';
import { got, obj, str } from '../../util/schema.ts';
import { ConnectError } from '../errors.ts';
import type { ConnectRuntime } from '../runtime/runtime.ts';

const configSchema = z.record(z.string(), z.unknown(), { error: (iss) => `expected a connector config object${got(iss.input)}` });
const createSchema = obj({ name: str('a connector name'), config: configSchema });

export function connectorRoutes(runtime: () => ConnectRuntime, governance: Governance): { connectors: Hono; plugins: Hono } {
  const allow = (c: Context, action: Action, name: string) => {
    void c;
    governance.authorize(ANONYMOUS, action, { type: 'connector', name }, 'http');
  };
  const connectors = new Hono();

  connectors.get('/', async (c) => {
    const q = queryParams(c, ['expand']);
    const rt = runtime();
    const names = rt.list();
    if (!q['expand']) return c.json(names);
    const expand = q['expand'].split(',');
    for (const e of expand) if (e !== 'status' && e !== 'info') throw new HttpError('BAD_REQUEST', `query parameter expand: expected status and/or info, got ${JSON.stringify(e)}`);
    const out: Record<string, Record<string, unknown>> = {};
    for (const n of names) {
      out[n] = {};
      if (expand.includes('status')) out[n]['status'] = rt.status(n);
      if (expand.includes('info')) out[n]['info'] = rt.info(n);
    }
    return c.json(out);
  });

  connectors.post('/', async (c) => {
    queryParams(c, []);
    const body = await readJson(c, createSchema);
    allow(c, 'create', body.name);
    const info = await runtime().create(body.name, body.config);
    return c.json(info, 201);
  });

  connectors.get('/:name', (c) => {
    queryParams(c, []);
    allow(c, 'describe', c.req.param('name'));
    return c.json(runtime().info(c.req.param('name')));
  });

  connectors.get('/:name/config', (c) => {
    queryParams(c, []);
    allow(c, 'describe', c.req.param('name'));
    return c.json(runtime().config(c.req.param('name')));
  });

  connectors.put('/:name/config', async (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    const body = await readJson(c, configSchema);
    allow(c, 'alter', name);
    const { created, info } = await runtime().putConfig(name, body);
    return c.json(info, created ? 201 : 200);
  });

  connectors.get('/:name/status', (c) => {
    queryParams(c, []);
    allow(c, 'describe', c.req.param('name'));
    return c.json(runtime().status(c.req.param('name')));
  });

  connectors.get('/:name/tasks', (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    allow(c, 'describe', name);
    return c.json(runtime().taskConfigs(name));
  });

  const taskId = (c: Context): number => {
    const raw = c.req.param('id') ?? '';
    if (!/^\d+$/.test(raw)) throw new HttpError('BAD_REQUEST', `task id: expected a whole number, got ${JSON.stringify(raw)}`);
    return Number(raw);
  };

  connectors.get('/:name/tasks/:id/status', (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    allow(c, 'describe', name);
    const id = taskId(c);
    const t = runtime().status(name).tasks.find((x) => x.id === id);
    if (!t) throw new ConnectError('TASK_NOT_FOUND', `connector ${name} has no task ${id}`);
    return c.json(t);
  });

  connectors.post('/:name/tasks/:id/restart', async (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    allow(c, 'alter', name);
    await runtime().restartTask(name, taskId(c));
    return c.body(null, 204);
  });

  for (const verb of ['pause', 'resume', 'stop'] as const) {
    connectors.put(`/:name/${verb}`, async (c) => {
      queryParams(c, []);
      const name = c.req.param('name');
      allow(c, 'alter', name);
      const rt = runtime();
      if (verb === 'pause') await rt.pause(name);
      else if (verb === 'resume') await rt.resume(name);
      else await rt.stopConnector(name);
      return c.json(rt.status(name), 202);
    });
  }

  connectors.post('/:name/restart', async (c) => {
    const q = queryParams(c, ['includeTasks', 'onlyFailed']);
    const name = c.req.param('name');
    allow(c, 'alter', name);
    const status = await runtime().restart(name, { includeTasks: boolParam(q, 'includeTasks', true), onlyFailed: boolParam(q, 'onlyFailed') });
    return c.json(status, 202);
  });

  connectors.delete('/:name', async (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    allow(c, 'delete', name);
    await runtime().delete(name);
    return c.body(null, 204);
  });

  connectors.get('/:name/offsets', async (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    allow(c, 'describe', name);
    return c.json(await runtime().getOffsets(name));
  });

  connectors.delete('/:name/offsets', async (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    allow(c, 'alter', name);
    await runtime().resetOffsets(name);
    return c.json({ message: `the offsets of connector ${name} were reset; resume it to start over` });
  });

  const plugins = new Hono();
  plugins.get('/', (c) => {
    queryParams(c, []);
    return c.json(runtime().pluginList());
  });
  plugins.put('/:type/config/validate', async (c) => {
    queryParams(c, []);
    const body = await readJson(c, configSchema);
    return c.json(await runtime().validate(c.req.param('type'), body));
  });

  return { connectors, plugins };
}
