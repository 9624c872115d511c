/**
 * `tributary connectors …` against a running server, connectors declared in the config file
 * (including a user plugin and a function transform), and the generator source.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { EmbeddedBus } from '../../src/bus/index.ts';
import { resolveConfig } from '../../src/config/resolve.ts';
import { validateConfig } from '../../src/config/index.ts';
import { defineSourcePlugin, type ConnectRecord } from '../../src/connect/types.ts';
import { startTributary, type TributaryInstance } from '../../src/server/instance.ts';
import { runCliCaptured } from '../helpers/cli.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { quietLogger, readTopic, topicCount, values, waitFor } from './helpers.ts';

const counter = defineSourcePlugin({
  name: 'counter',
  description: 'counts',
  fields: { topic: z.string(), upTo: z.number().int() },
  createTask(config, _task, ctx) {
    let next = Number(ctx.offset({ counter: 1 })?.['next'] ?? 0);
    return {
      async poll(signal) {
        if (next >= config.upTo) {
          await ctx.sleep(100, signal);
          return [];
        }
        const n = next++;
        return [{ topic: config.topic, value: { n }, sourcePartition: { counter: 1 }, sourceOffset: { next } }];
      },
      async stop() {},
    };
  },
});

let t: TributaryInstance;
let dir: string;
const cli = (...args: string[]) => runCliCaptured([...args, '--server', t.httpUrl], { cwd: dir });

before(async () => {
  dir = await tempDirUntilExit('tributary-connect-cli-');
  mkdirSync(path.join(dir, 'in'));
  const config = await resolveConfig({ dataDir: path.join(dir, 'data'), httpPort: '0', kafkaPort: '0' }, {}, dir);
  config.kafka.enabled = false;
  config.connect = {
    plugins: [counter],
    connectors: {
      count: { connector: 'counter', topic: 'numbers', upTo: 5, transforms: [(r: ConnectRecord) => ({ ...r, value: { ...(r.value as object), doubled: (r.value as { n: number }).n * 2 } })] },
      shop: { connector: 'generator', ratePerSecond: 500, seed: 3, topicPrefix: 'demo.', maxEvents: 40 },
    },
  };
  t = await startTributary(config, { logger: quietLogger });
});

after(async () => {
  await t?.close();
});

describe('connectors declared in tributary.config.ts', () => {
  it('start with the server: a user plugin with a function transform, and the shop generator', async () => {
    await waitFor('five numbers', async () => (await topicCount(t.bus as EmbeddedBus, 'numbers')) === 5);
    assert.deepEqual(values(await readTopic(t.bus as EmbeddedBus, 'numbers')), [0, 1, 2, 3, 4].map((n) => ({ n, doubled: n * 2 })));
    const topics = ['searches', 'orders', 'reviews', 'deliveries', 'pos-sales'].map((x) => `demo.${x}`);
    await waitFor('40 shop events', async () => {
      let n = 0;
      for (const x of topics) n += await topicCount(t.bus as EmbeddedBus, x);
      return n === 40;
    });
    const orders = await readTopic(t.bus as EmbeddedBus, 'demo.orders');
    for (const r of orders) assert.equal(JSON.parse(r.value!.toString()).orderId, r.key!.toString());
  });

  it('the config schema checks the connect section; plugin settings are checked at start-up with their path', async () => {
    assert.throws(() => validateConfig({ connect: { connectors: { x: { conector: 'file-source' } } } }, 'tributary.config.ts'), /tributary\.config\.ts: connect\.connectors\.x\.connector: expected a connector plugin name/);
    assert.throws(() => validateConfig({ connect: { conectors: {} } }, 'tributary.config.ts'), /connect\.conectors: unknown field "conectors" \(did you mean "connectors"\?\)/);
    const d2 = await tempDirUntilExit('tributary-connect-bad-');
    const config = await resolveConfig({ dataDir: path.join(d2, 'data'), httpPort: '0', kafkaPort: '0' }, {}, d2);
    config.kafka.enabled = false;
    config.connect = { plugins: [], connectors: { files: { connector: 'file-source', directory: d2, topic: 'x', pollIntervalMS: 5 } } };
    await assert.rejects(startTributary(config, { logger: quietLogger }), /connect\.connectors\.files: pollIntervalMS: unknown field "pollIntervalMS" \(did you mean "pollIntervalMs"\?\)/);
  });
});

describe('tributary connectors (CLI)', () => {
  it('plugins, create, list, get, status, config, pause, resume, restart, offsets, stop, delete, validate', async () => {
    const plugins = await cli('connectors', 'plugins');
    assert.equal(plugins.code, 0);
    assert.match(plugins.stdout, /postgres-source\s+source/);
    assert.match(plugins.stdout, /counter\s+source/);

    writeFileSync(path.join(dir, 'in', 'a.ndjson'), '{"a":1}\n');
    const file = path.join(dir, 'conn.json');
    writeFileSync(file, JSON.stringify({ name: 'ignored', config: { connector: 'file-source', directory: path.join(dir, 'in'), topic: 'cli' } }));
    const created = await cli('connectors', 'create', 'files', '--file', file, '--set', 'pollIntervalMs=20');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created connector files \(source, 1 task\)/);
    const dup = await cli('connectors', 'create', 'files', '--file', file);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /error: connector files already exists/);

    const list = await cli('connectors', 'list');
    assert.match(list.stdout, /files\s+source\s+RUNNING\s+1\/1 running/);
    const listJson = JSON.parse((await cli('connectors', 'list', '--json')).stdout);
    assert.deepEqual(listJson.map((s: { name: string }) => s.name).sort(), ['count', 'files', 'shop']);

    const get = await cli('connectors', 'get', 'files');
    assert.match(get.stdout, /connector files \(source, from the API\)/);
    assert.match(get.stdout, /pollIntervalMs = 20/);
    const cfg = JSON.parse((await cli('connectors', 'config', 'files')).stdout);
    assert.equal(cfg.topic, 'cli');
    const changed = await cli('connectors', 'config', 'files', '--merge', '--set', 'pollIntervalMs=25');
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(JSON.parse((await cli('connectors', 'config', 'files')).stdout).pollIntervalMs, 25);

    assert.match((await cli('connectors', 'pause', 'files')).stdout, /connector files \(source\): PAUSED/);
    assert.match((await cli('connectors', 'status', 'files')).stdout, /0\s+PAUSED/);
    assert.match((await cli('connectors', 'resume', 'files')).stdout, /RUNNING/);
    assert.match((await cli('connectors', 'restart', 'files')).stdout, /RUNNING/);
    assert.match((await cli('connectors', 'restart', 'files', '--task', '0')).stdout, /restarted task 0 of files/);
    await waitFor('record', async () => (await topicCount(t.bus as EmbeddedBus, 'cli')) === 1);
    const offsets = await waitFor('offsets', async () => {
      const o = await cli('connectors', 'offsets', 'files');
      return o.stdout.includes('a.ndjson') ? o : null;
    });
    assert.match(offsets.stdout, /\{"file":"a\.ndjson"\}\s+\{"position":8,"ino":\d+\}/);
    const refused = await cli('connectors', 'offsets', 'files', '--reset');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /must be stopped/);
    assert.match((await cli('connectors', 'stop', 'files')).stdout, /STOPPED/);
    assert.match((await cli('connectors', 'offsets', 'files', '--reset')).stdout, /were reset/);

    const invalid = await cli('connectors', 'validate', 'file-source', '--set', 'directry=/tmp', '--set', 'topic=x');
    assert.equal(invalid.code, 1);
    assert.match(invalid.stdout, /directry: unknown field "directry" \(did you mean "directory"\?\)/);
    const valid = await cli('connectors', 'validate', 'file-source', '--config', JSON.stringify({ directory: dir, topic: 'x' }));
    assert.equal(valid.code, 0);
    assert.match(valid.stdout, /the config is valid for file-source/);

    assert.match((await cli('connectors', 'delete', 'files')).stdout, /deleted connector files/);
    const gone = await cli('connectors', 'status', 'files');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no connector named "files"/);
    const usage = await cli('connectors', 'create', 'x');
    assert.equal(usage.code, 2);
  });
});
