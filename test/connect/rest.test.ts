/**
 * The connector REST API and the HTTP ingest endpoint of a real `startTributary` (HTTP on a free
 * loopback port, embedded log in a temporary directory).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolve.ts';
import { Governance } from '../../src/govern/index.ts';
import { startTributary, type TributaryInstance } from '../../src/server/instance.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { quietLogger, readTopic, topicCount, waitFor } from './helpers.ts';
import type { EmbeddedBus } from '../../src/bus/index.ts';

let t: TributaryInstance;
let base: string;
let dir: string;
const TOKEN = 'token-for-the-app';
const READER = 'token-of-a-reader';

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const ingest = (topic: string, body: unknown, token: string | null = TOKEN, headers: Record<string, string> = {}) =>
  call('POST', `/ingest/${topic}`, body, { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers });

before(async () => {
  dir = await tempDirUntilExit('tributary-connect-rest-');
  mkdirSync(path.join(dir, 'in'));
  const config = await resolveConfig({ dataDir: path.join(dir, 'data'), httpPort: '0', kafkaPort: '0' }, {}, dir);
  config.kafka.enabled = false;
  config.topics = { events: { partitions: 3 }, small: { partitions: 1, maxRecordBytes: 300 } };
  config.connect = {
    connectors: {
      ingest: { connector: 'http-ingest', topics: ['events', 'small', 'limited'], tokens: { [TOKEN]: 'User:app', [READER]: 'User:reader' }, maxBodyBytes: 20_000 },
      tight: { connector: 'http-ingest', topics: ['tight'], tokens: { [TOKEN]: 'User:app' }, maxInFlightRecords: 5, retryAfterSeconds: 2 },
    },
    plugins: [],
  };
  const governance = new Governance((p, action, r) => !(p.name === 'User:reader' && action === 'write' && r.type === 'topic'));
  t = await startTributary(config, { logger: quietLogger, governance });
  base = t.httpUrl;
  await waitFor('connect ready', async () => (await call('GET', '/api/connectors')).status === 200);
});

after(async () => {
  await t?.close();
});

describe('connector REST API', () => {
  it('lists plugins and validates configs with field-level problems', async () => {
    const plugins = await call('GET', '/api/connector-plugins');
    assert.equal(plugins.status, 200);
    assert.deepEqual(plugins.body.map((p: { name: string }) => p.name).sort(), ['file-sink', 'file-source', 'generator', 'http-ingest', 'http-sink', 'postgres-sink', 'postgres-source']);
    const v = await call('PUT', '/api/connector-plugins/file-source/config/validate', { directory: path.join(dir, 'in'), topci: 'x' });
    assert.equal(v.status, 200);
    assert.equal(v.body.errorCount, 2);
    assert.deepEqual(v.body.problems.map((p: { path: string }) => p.path).sort(), ['topci', 'topic']);
    assert.match(v.body.problems.find((p: { path: string }) => p.path === 'topci').message, /did you mean "topic"/);
    const unknown = await call('PUT', '/api/connector-plugins/nope/config/validate', {});
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'PLUGIN_NOT_FOUND');
  });

  it('create, read, reconfigure, pause, resume, restart, offsets, delete', async () => {
    const config = { connector: 'file-source', directory: path.join(dir, 'in'), topic: 'files', pollIntervalMs: 20 };
    const bad = await call('POST', '/api/connectors', { name: 'f', config: { ...config, tasksMax: 'two' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'CONNECTOR_CONFIG_INVALID');
    assert.match(bad.body.error.message, /tasksMax: expected a whole number/);
    assert.equal((await call('POST', '/api/connectors', { name: 'f' })).status, 400);

    const created = await call('POST', '/api/connectors', { name: 'f', config });
    assert.equal(created.status, 201);
    assert.deepEqual([created.body.name, created.body.type, created.body.tasks], ['f', 'source', [{ connector: 'f', task: 0 }]]);
    assert.equal((await call('POST', '/api/connectors', { name: 'f', config })).status, 409);

    const list = await call('GET', '/api/connectors');
    assert.deepEqual(list.body, ['f', 'ingest', 'tight']);
    const expanded = await call('GET', '/api/connectors?expand=status,info');
    assert.equal(expanded.body.f.status.connector.state, 'RUNNING');
    assert.equal(expanded.body.f.info.config.topic, 'files');
    assert.equal((await call('GET', '/api/connectors?expand=everything')).status, 400);
    assert.equal((await call('GET', '/api/connectors?expnd=status')).status, 400);

    assert.deepEqual((await call('GET', '/api/connectors/f/config')).body, config);
    const put = await call('PUT', '/api/connectors/f/config', { ...config, pollIntervalMs: 30 });
    assert.equal(put.status, 200);
    assert.equal((await call('GET', '/api/connectors/f/config')).body.pollIntervalMs, 30);
    const tasks = await call('GET', '/api/connectors/f/tasks');
    assert.equal(tasks.status, 200);
    assert.deepEqual(tasks.body.map((x: { id: unknown }) => x.id), [{ connector: 'f', task: 0 }]);
    assert.equal(tasks.body[0].config.topic, 'files');
    assert.equal(tasks.body[0].config.pollIntervalMs, 30);
    assert.equal(tasks.body[0].config['task.id'], 0);
    const putNew = await call('PUT', '/api/connectors/g/config', { ...config, topic: 'files2' });
    assert.equal(putNew.status, 201);

    writeFileSync(path.join(dir, 'in', 'x.ndjson'), '{"a":1}\n');
    await waitFor('record', async () => (await topicCount(t.bus as EmbeddedBus, 'files')) === 1);

    const paused = await call('PUT', '/api/connectors/f/pause');
    assert.equal(paused.status, 202);
    assert.equal((await call('GET', '/api/connectors/f/status')).body.connector.state, 'PAUSED');
    assert.equal((await call('GET', '/api/connectors/f/tasks/0/status')).body.state, 'PAUSED');
    assert.equal((await call('PUT', '/api/connectors/f/resume')).status, 202);
    assert.equal((await call('GET', '/api/connectors/f/status')).body.connector.state, 'RUNNING');
    const restarted = await call('POST', '/api/connectors/f/restart?includeTasks=true');
    assert.equal(restarted.status, 202);
    assert.equal(restarted.body.tasks[0].state, 'RUNNING');
    assert.equal((await call('POST', '/api/connectors/f/tasks/0/restart')).status, 204);
    const noTask = await call('POST', '/api/connectors/f/tasks/9/restart');
    assert.equal(noTask.status, 404);
    assert.equal(noTask.body.error.code, 'TASK_NOT_FOUND');

    const offsets = await waitFor('offsets', async () => ((await call('GET', '/api/connectors/f/offsets')).body.offsets.length ? (await call('GET', '/api/connectors/f/offsets')).body : null));
    assert.deepEqual(offsets.offsets[0].partition, { file: 'x.ndjson' });
    const conflict = await call('DELETE', '/api/connectors/f/offsets');
    assert.equal(conflict.status, 409);
    assert.match(conflict.body.error.message, /must be stopped/);
    assert.equal((await call('PUT', '/api/connectors/f/stop')).status, 202);
    assert.equal((await call('DELETE', '/api/connectors/f/offsets')).status, 200);
    assert.deepEqual((await call('GET', '/api/connectors/f/offsets')).body.offsets, []);

    assert.equal((await call('DELETE', '/api/connectors/f')).status, 204);
    assert.equal((await call('DELETE', '/api/connectors/g')).status, 204);
    const gone = await call('GET', '/api/connectors/f/status');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'CONNECTOR_NOT_FOUND');
  });
});

describe('HTTP ingest endpoint', () => {
  it('writes one record and answers where it landed', async () => {
    const r = await ingest('events', { key: 'u1', value: { clicked: 'buy' }, headers: { source: 'web' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.topic, 'events');
    assert.ok(Number.isInteger(r.body.partition) && Number.isInteger(r.body.offset));
    const recs = await readTopic(t.bus as EmbeddedBus, 'events');
    const mine = recs.find((x) => x.partition === r.body.partition && x.offset === r.body.offset)!;
    assert.equal(mine.key!.toString(), 'u1');
    assert.deepEqual(JSON.parse(mine.value!.toString()), { clicked: 'buy' });
    assert.equal(mine.headers.find((h) => h.key === 'source')?.value?.toString(), 'web');
  });

  it('batches report per-record results, with partial failures in place', async () => {
    const big = 'x'.repeat(400);
    const r = await ingest('small', { records: [{ value: 1 }, { valu: 2 }, { value: big }, { value: 4, partition: 7 }, { value: 5 }] });
    assert.equal(r.status, 200);
    assert.equal(r.body.failedRecordCount, 3);
    const rs = r.body.records;
    assert.ok(Number.isInteger(rs[0].offset));
    assert.equal(rs[1].errorCode, 'RECORD_INVALID');
    assert.match(rs[1].errorMessage, /unknown field "valu" \(did you mean "value"\?\)/);
    assert.equal(rs[2].errorCode, 'RECORD_TOO_LARGE');
    assert.ok(rs[3].errorCode, 'a partition the topic does not have');
    assert.equal(rs[4].offset, rs[0].offset + 1);
    const values = (await readTopic(t.bus as EmbeddedBus, 'small')).map((x) => x.value!.toString());
    assert.deepEqual(values, ['1', '5'], 'failed records were not written');
    const nd = await call('POST', '/ingest/small', '{"a":1}\nnope\n{"a":3}\n', { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-ndjson' });
    assert.equal(nd.body.failedRecordCount, 1);
    assert.match(nd.body.records[1].errorMessage, /line 2: not valid JSON/);
  });

  it('auth by token, governance, size limits, unknown topics, paused connectors', async () => {
    const none = await ingest('events', { value: 1 }, null);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await ingest('events', { value: 1 }, 'wrong-token-xyz')).status, 401);
    const denied = await ingest('events', { value: 1 }, READER);
    assert.equal(denied.status, 403);
    assert.match(denied.body.error.message, /User:reader may not write topic events/);
    const nowhere = await ingest('elsewhere', { value: 1 });
    assert.equal(nowhere.status, 404);
    assert.match(nowhere.body.error.message, /no http-ingest connector accepts topic "elsewhere"/);
    const huge = await ingest('events', { value: 'y'.repeat(30_000) });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'INGEST_TOO_LARGE');
    // Without Content-Length (chunked) the limit is counted while reading.
    const chunked = async (text: string) => {
      const parts = [text.slice(0, 10), text.slice(10)];
      const body = new ReadableStream<Uint8Array>({ pull(ctl) { const p = parts.shift(); if (p === undefined) ctl.close(); else ctl.enqueue(new TextEncoder().encode(p)); } });
      const res = await fetch(`${base}/ingest/events`, { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } } as RequestInit);
      return { status: res.status, body: (await res.json()) as { error: { code: string }; topic: string } };
    };
    const bigChunked = await chunked(JSON.stringify({ value: 'z'.repeat(30_000) }));
    assert.equal(bigChunked.status, 413);
    assert.equal(bigChunked.body.error.code, 'INGEST_TOO_LARGE');
    const okChunked = await chunked(JSON.stringify({ value: { small: true } }));
    assert.equal(okChunked.status, 200);
    assert.equal(okChunked.body.topic, 'events');
    assert.equal((await ingest('events', '{not json')).status, 400);
    assert.equal((await ingest('events', { records: [] })).status, 400);
    await call('PUT', '/api/connectors/ingest/pause');
    const paused = await ingest('events', { value: 1 });
    assert.equal(paused.status, 503);
    assert.equal(paused.headers.get('retry-after'), '5');
    await call('PUT', '/api/connectors/ingest/resume');
    assert.equal((await ingest('events', { value: 1 })).status, 200);
  });

  it('answers 429 with Retry-After when more records wait than the connector allows', async () => {
    const r = await ingest('tight', { records: Array.from({ length: 6 }, (_, i) => ({ value: i })) });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.equal(r.body.error.code, 'INGEST_BUSY');
    assert.equal(r.body.error.retriable, true);
    assert.equal(await topicCount(t.bus as EmbeddedBus, 'tight'), 0, 'nothing of a refused request is written');
    const ok = await ingest('tight', { records: Array.from({ length: 5 }, (_, i) => ({ value: i })) });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.failedRecordCount, 0);
  });

  it('under concurrent load every acknowledged record is in the log exactly once', async () => {
    const before = await topicCount(t.bus as EmbeddedBus, 'events');
    const clients = 8;
    const requests = 25;
    const perRequest = 20;
    const acked: string[] = [];
    let refused = 0;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; i < requests; i++) {
          const records = Array.from({ length: perRequest }, (_, j) => ({ key: `c${c}`, value: { c, i, j } }));
          const r = await ingest('events', { records });
          if (r.status === 429) {
            refused++;
            i--; // the client retries the same batch (bounded: the loop ends when all are in)
            await new Promise((res) => setTimeout(res, 50));
            continue;
          }
          assert.equal(r.status, 200);
          assert.equal(r.body.failedRecordCount, 0);
          for (const x of r.body.records) acked.push(`${x.partition}:${x.offset}`);
        }
      }),
    );
    assert.equal(acked.length, clients * requests * perRequest);
    assert.equal(new Set(acked).size, acked.length, 'no two records share a position');
    assert.equal(await topicCount(t.bus as EmbeddedBus, 'events'), before + acked.length);
    const recs = await readTopic(t.bus as EmbeddedBus, 'events');
    for (let c = 0; c < clients; c++) {
      const mine = recs.filter((x) => x.key?.toString() === `c${c}`).map((x) => JSON.parse(x.value!.toString()));
      assert.equal(mine.length, requests * perRequest);
      // one key → one partition, in the order the client sent them
      assert.deepEqual(mine.map((v) => v.i * perRequest + v.j), Array.from({ length: requests * perRequest }, (_, k) => k));
    }
    void refused;
  });
});
