import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import type { Bus } from '../../src/bus/types.ts';
import { createMetricsRegistry } from '../../src/monitor/metrics.ts';
import { createHttpApp, startHttpServer, type HttpApp, type RunningHttpServer } from '../../src/server/index.ts';
import { tempDirUntilExit as tempDir } from '../helpers/temp-dir.ts';

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

let bus: Bus;
let http: HttpApp;
let server: RunningHttpServer;

async function call(method: string, p: string, body?: unknown, raw?: string): Promise<Answer> {
  const res = await fetch(server.url + p, {
    method,
    ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    headers: { 'content-type': 'application/json' },
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // metrics are text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

function assertError(a: Answer, status: number, code: string, message?: RegExp): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.equal(a.body.error.code, code);
  assert.equal(typeof a.body.error.message, 'string');
  if (message) assert.match(a.body.error.message, message);
}

before(async () => {
  const dir = await tempDir();
  const registry = createMetricsRegistry();
  bus = await openEmbeddedBus({ dataDir: path.join(dir, 'data'), registry, autoCreateTopics: true });
  http = createHttpApp({
    bus,
    registry,
    version: 'test',
    parts: () => ({ bus: { state: 'ready' }, kafka: { state: 'disabled' } }),
    maxBodyBytes: 64 * 1024,
  });
  server = await startHttpServer(http, { port: 0 });
});

after(async () => {
  await server.close();
  await bus.close();
});

describe('health, readiness, metrics', () => {
  it('answers /health and /ready with the state of each part', async () => {
    const health = await call('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
    assert.equal(health.body.version, 'test');
    const ready = await call('GET', '/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { ready: true, parts: { bus: { state: 'ready' }, kafka: { state: 'disabled' }, http: { state: 'ready' } } });
  });

  it('serves Prometheus text with HTTP and process metrics', async () => {
    await call('GET', '/api/topics');
    const m = await call('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type')!, /^text\/plain/);
    assert.match(m.body, /^tributary_http_requests_total\{method="GET",route="\/api\/topics",status="200"\} \d+$/m);
    assert.match(m.body, /^# TYPE tributary_http_request_duration_seconds histogram$/m);
    assert.match(m.body, /^process_resident_memory_bytes /m);
  });

  it('answers unknown endpoints with a JSON 404', async () => {
    assertError(await call('GET', '/api/nothing'), 404, 'NOT_FOUND', /no such endpoint: GET \/api\/nothing/);
  });
});

describe('topics', () => {
  it('creates, lists, describes and deletes a topic', async () => {
    const created = await call('POST', '/api/topics', { name: 'api.orders', partitions: 3, config: { retentionMs: 3_600_000 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, 'api.orders');
    assert.equal(created.body.partitions.length, 3);
    assert.equal(created.body.config.retentionMs, 3_600_000);

    const list = await call('GET', '/api/topics');
    const entry = list.body.topics.find((t: { name: string }) => t.name === 'api.orders');
    assert.equal(entry.partitions, 3);
    assert.ok(!list.body.topics.some((t: { name: string }) => t.name.startsWith('__')));
    const withInternal = await call('GET', '/api/topics?internal=true');
    assert.ok(withInternal.body.topics.some((t: { internal: boolean }) => t.internal));

    const d = await call('GET', '/api/topics/api.orders');
    assert.equal(d.status, 200);
    for (const p of d.body.partitions) {
      for (const f of ['partition', 'logStartOffset', 'logEndOffset', 'highWatermark', 'sizeBytes']) assert.equal(typeof p[f], 'number', f);
    }

    assertError(await call('POST', '/api/topics', { name: 'api.orders', partitions: 1 }), 409, 'TOPIC_EXISTS');
    const del = await call('DELETE', '/api/topics/api.orders');
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.deepEqual(del.body, { deleted: 'api.orders' });
    assertError(await call('GET', '/api/topics/api.orders'), 404, 'TOPIC_UNKNOWN');
  });

  it('rejects bad topic requests with the path of the bad field', async () => {
    assertError(await call('POST', '/api/topics', { name: 'bad name' }), 400, 'BAD_REQUEST', /name: invalid topic name/);
    assertError(await call('POST', '/api/topics', { name: 'ok', partitions: 0 }), 400, 'BAD_REQUEST', /partitions: expected a whole number ≥ 1, got 0/);
    assertError(await call('POST', '/api/topics', { name: 'ok', config: { retention: 5 } }), 400, 'BAD_REQUEST', /config\.retention: unknown field "retention"/);
    assertError(await call('POST', '/api/topics', undefined, '{"name": '), 400, 'INVALID_JSON', /request body is not valid JSON/);
    assertError(await call('POST', '/api/topics', undefined, ''), 400, 'INVALID_JSON', /request body is empty/);
    assertError(await call('GET', '/api/topics?internl=true'), 400, 'BAD_REQUEST', /unknown query parameter "internl"/);
  });
});

describe('records', () => {
  before(async () => {
    await call('POST', '/api/topics', { name: 'rec', partitions: 2 });
  });

  it('produces text, base64, headers and explicit partitions, answering per-record offsets', async () => {
    const res = await call('POST', '/api/topics/rec/records', {
      records: [
        { key: 'k1', value: '주문 1', headers: { source: 'test' }, partition: 0 },
        { key: 'k1', value: 'second', partition: 0, timestamp: 1_700_000_000_000 },
        { value: null, partition: 1, headers: [{ key: 'h', value: 'a' }, { key: 'h', value: null }] },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.offsets.map((o: { partition: number; offset: number }) => [o.partition, o.offset]),
      [[0, 0], [0, 1], [1, 0]],
    );
    const b64 = await call('POST', '/api/topics/rec/records', {
      base64: true,
      records: [{ key: Buffer.from([0, 1]).toString('base64'), value: Buffer.from([255, 254, 0]).toString('base64'), partition: 1 }],
    });
    assert.equal(b64.status, 200);
    assert.deepEqual(b64.body.offsets.map((o: { offset: number }) => o.offset), [1]);

    const p0 = await call('GET', '/api/topics/rec/records?partition=0&offset=0&limit=10');
    assert.equal(p0.status, 200);
    assert.deepEqual(
      p0.body.records.map((r: any) => [r.offset, r.key, r.value, r.headers]),
      [
        [0, 'k1', '주문 1', [{ key: 'source', value: 'test' }]],
        [1, 'k1', 'second', []],
      ],
    );
    assert.equal(p0.body.records[1].timestamp, 1_700_000_000_000);
    assert.deepEqual(p0.body.nextOffsets, [{ partition: 0, offset: 2 }]);

    const fromOne = await call('GET', '/api/topics/rec/records?partition=0&offset=1');
    assert.deepEqual(fromOne.body.records.map((r: any) => r.offset), [1]);

    const p1 = await call('GET', '/api/topics/rec/records?partition=1&base64=true');
    assert.equal(p1.body.records[0].value, null);
    assert.deepEqual(p1.body.records[0].headers, [
      { key: 'h', value: Buffer.from('a').toString('base64') },
      { key: 'h', value: null },
    ]);
    assert.deepEqual(Buffer.from(p1.body.records[1].value, 'base64'), Buffer.from([255, 254, 0]));

    const all = await call('GET', '/api/topics/rec/records?limit=3');
    assert.equal(all.body.records.length, 3);
    const latest = await call('GET', '/api/topics/rec/records?offset=latest');
    assert.deepEqual(latest.body.records, []);
  });

  it('rejects bad records and bad read parameters with a message naming the problem', async () => {
    assertError(await call('POST', '/api/topics/rec/records', { records: [{ key: 'k' }] }), 400, 'BAD_REQUEST', /records\[0\]\.value: expected a value \(a string\) or null, got nothing/);
    assertError(await call('POST', '/api/topics/rec/records', { records: [] }), 400, 'BAD_REQUEST', /records: expected at least one record/);
    assertError(await call('POST', '/api/topics/rec/records', { records: [{ value: 'x', partiton: 1 }] }), 400, 'BAD_REQUEST', /records\[0\]\.partiton: unknown field "partiton" \(did you mean "partition"\?\)/);
    assertError(await call('POST', '/api/topics/rec/records', { base64: true, records: [{ value: 'not base64!' }] }), 400, 'BAD_REQUEST', /records\[0\]\.value: expected base64/);
    assertError(await call('POST', '/api/topics/rec/records', undefined, '{"records": [}'), 400, 'INVALID_JSON');
    assertError(await call('GET', '/api/topics/rec/records?partition=7'), 404, 'PARTITION_UNKNOWN', /has no partition 7/);
    assertError(await call('GET', '/api/topics/rec/records?partition=0&offset=99'), 400, 'OFFSET_OUT_OF_RANGE', /beyond the end/);
    assertError(await call('GET', '/api/topics/rec/records?offset=3'), 400, 'BAD_REQUEST', /needs a partition/);
    assertError(await call('GET', '/api/topics/rec/records?limit=0'), 400, 'BAD_REQUEST', /limit: expected a whole number from 1 to 10000, got "0"/);
    assertError(await call('GET', '/api/topics/nope/records'), 404, 'TOPIC_UNKNOWN');
  });

  it('answers 413 to a body over the size limit', async () => {
    const big = { records: [{ value: 'x'.repeat(70 * 1024) }] };
    assertError(await call('POST', '/api/topics/rec/records', big), 413, 'PAYLOAD_TOO_LARGE', /exceeds 65536 bytes/);
  });
});

describe('consumer instances and groups', () => {
  before(async () => {
    await call('POST', '/api/topics', { name: 'grp', partitions: 3 });
    await call('POST', '/api/topics/grp/records', { records: Array.from({ length: 9 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  });

  it('consumes as a group member, commits what was delivered, and reports lag', async () => {
    const created = await call('POST', '/api/consumers', { group: 'g-api', topics: ['grp'], fromBeginning: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.equal(created.body.group, 'g-api');

    const seen: string[] = [];
    while (seen.length < 9) {
      const polled = await call('GET', `/api/consumers/${id}/records?timeoutMs=2000&maxRecords=4`);
      assert.equal(polled.status, 200);
      assert.ok(polled.body.records.length > 0 && polled.body.records.length <= 4);
      seen.push(...polled.body.records.map((r: { value: string }) => r.value));
    }
    assert.deepEqual(seen.sort(), Array.from({ length: 9 }, (_, i) => `v${i}`));

    const commit = await call('POST', `/api/consumers/${id}/commit`);
    assert.equal(commit.status, 200);
    assert.equal(commit.body.committed.reduce((s: number, o: { offset: number }) => s + o.offset, 0), 9);

    const groups = await call('GET', '/api/groups');
    assert.ok(groups.body.groups.some((g: { groupId: string }) => g.groupId === 'g-api'));
    let g = await call('GET', '/api/groups/g-api');
    assert.equal(g.status, 200);
    assert.equal(g.body.members, 1);
    assert.equal(g.body.memberDetails[0].assignment.length, 3);
    assert.equal(g.body.totalLag, 0);
    assert.deepEqual(g.body.offsets.map((o: { partition: number }) => o.partition), [0, 1, 2]);

    await call('POST', '/api/topics/grp/records', { records: [{ value: 'late', partition: 2 }] });
    g = await call('GET', '/api/groups/g-api');
    assert.equal(g.body.totalLag, 1);
    assert.equal(g.body.offsets.find((o: { partition: number }) => o.partition === 2).lag, 1);

    // A long poll returns the record produced while it waits.
    const poll = call('GET', `/api/consumers/${id}/records?timeoutMs=20000`);
    const more = await poll;
    assert.deepEqual(more.body.records.map((r: { value: string }) => r.value), ['late']);
    const explicit = await call('POST', `/api/consumers/${id}/commit`, { offsets: [{ topic: 'grp', partition: 2, offset: more.body.records[0].offset + 1 }] });
    assert.equal(explicit.status, 200);
    assert.equal((await call('GET', '/api/groups/g-api')).body.totalLag, 0);

    const del = await call('DELETE', `/api/consumers/${id}`);
    assert.equal(del.status, 204);
    assertError(await call('GET', `/api/consumers/${id}/records`), 404, 'CONSUMER_UNKNOWN', /POST \/api\/consumers/);
    g = await call('GET', '/api/groups/g-api');
    assert.equal(g.body.members, 0, 'the deleted instance left the group');
  });

  it('wakes a waiting long poll when a record arrives', async () => {
    const created = await call('POST', '/api/consumers', { topics: ['grp'], fromBeginning: false });
    const id = created.body.id as string;
    const poll = call('GET', `/api/consumers/${id}/records?timeoutMs=25000`);
    // Produce until the poll has answered (the poll may start after the first produce).
    let answered: Answer | null = null;
    void poll.then((a) => (answered = a));
    while (!answered) {
      await call('POST', '/api/topics/grp/records', { records: [{ value: 'wake', partition: 0 }] });
      await new Promise((r) => setTimeout(r, 20));
    }
    const a = answered as Answer;
    assert.equal(a.status, 200);
    assert.ok(a.body.records.length >= 1);
    assert.ok(a.body.records.every((r: { value: string }) => r.value === 'wake'));
    await call('DELETE', `/api/consumers/${id}`);
  });

  it('reads explicit partitions without a group, and refuses to commit without one', async () => {
    const created = await call('POST', '/api/consumers', { partitions: [{ topic: 'grp', partition: 0, offset: 1 }] });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    const polled = await call('GET', `/api/consumers/${id}/records?timeoutMs=2000`);
    assert.ok(polled.body.records.length > 0);
    assert.equal(polled.body.records[0].offset, 1);
    assert.ok(polled.body.records.every((r: { partition: number }) => r.partition === 0));
    assertError(await call('POST', `/api/consumers/${id}/commit`), 400, 'CONSUMER_HAS_NO_GROUP');
    await call('DELETE', `/api/consumers/${id}`);
  });

  it('validates consumer requests', async () => {
    assertError(await call('POST', '/api/consumers', { group: 'g' }), 400, 'BAD_REQUEST', /topics: give either "topics"/);
    assertError(await call('POST', '/api/consumers', { topics: ['nope-topic'] }), 404, 'TOPIC_UNKNOWN');
    assertError(await call('GET', '/api/consumers/xyz/records'), 404, 'CONSUMER_UNKNOWN');
    assertError(await call('GET', '/api/groups/never-seen'), 404, 'GROUP_NOT_FOUND');
    const created = await call('POST', '/api/consumers', { topics: ['grp'] });
    assertError(await call('GET', `/api/consumers/${created.body.id}/records?timeoutMs=999999`), 400, 'BAD_REQUEST', /timeoutMs: expected a whole number from 0 to 30000/);
    assertError(await call('GET', `/api/consumers/${created.body.id}/records?maxRecords=abc`), 400, 'BAD_REQUEST', /maxRecords/);
    await call('DELETE', `/api/consumers/${created.body.id}`);
  });

  it('expires instances idle past the timeout, leaving their group', async () => {
    const created = await call('POST', '/api/consumers', { group: 'g-idle', topics: ['grp'] });
    const id = created.body.id as string;
    assert.equal((await call('GET', '/api/groups/g-idle')).body.members, 1);
    await http.consumers.sweep(Date.now() + http.consumers.idleTimeoutMs + 1);
    assertError(await call('GET', `/api/consumers/${id}/records`), 404, 'CONSUMER_UNKNOWN');
    assert.equal((await call('GET', '/api/groups/g-idle')).body.members, 0);
  });
});
