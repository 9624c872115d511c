import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readDeadLetterHeaders } from '../../src/connect/runtime/dead-letter.ts';
import { Governance } from '../../src/govern/index.ts';
import { harness, readTopic, topicCount, values, waitFor } from './helpers.ts';

function inputDir(root: string, name = 'in'): string {
  const d = path.join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
}

describe('connector runtime', () => {
  it('rejects bad configs with every problem, by field, with "did you mean"', async () => {
    const h = await harness();
    try {
      const dir = inputDir(h.dir);
      await assert.rejects(h.runtime.create('a', { connector: 'file-sorce', directory: dir, topic: 't' }), /unknown connector plugin "file-sorce" \(did you mean "file-source"\?\)/);
      await assert.rejects(
        h.runtime.create('a', { connector: 'file-source', directroy: dir, topic: 't', tasksMax: 0, errors: { tolerance: 'some' } }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'CONNECTOR_CONFIG_INVALID');
          assert.match(err.message, /directroy: unknown field "directroy" \(did you mean "directory"\?\)/);
          assert.match(err.message, /tasksMax: expected a whole number from 1 to 256, got 0/);
          assert.match(err.message, /errors\.tolerance: expected one of "none", "all", got "some"/);
          return true;
        },
      );
      await assert.rejects(h.runtime.create('a', { connector: 'file-sink', path: '/tmp/x' }), /a sink reads either "topics" \(a list\) or "topicsRegex"/);
      await assert.rejects(h.runtime.create('a', { connector: 'file-source', directory: path.join(dir, 'nope'), topic: 't' }), /directory: .* does not exist/);
      await assert.rejects(h.runtime.create('bad name!', { connector: 'file-source', directory: dir, topic: 't' }), /invalid connector name/);
      await h.runtime.create('a', { connector: 'file-source', directory: dir, topic: 't' });
      await assert.rejects(h.runtime.create('a', { connector: 'file-source', directory: dir, topic: 't' }), (e: Error & { code?: string }) => e.code === 'CONNECTOR_EXISTS');
      const v = await h.runtime.validate('postgres-sink', { url: 'postgres://x/y', topics: ['t'], insertMode: 'upsert' });
      assert.equal(v.errorCount, 1);
      assert.match(v.problems[0]!.message, /upsert needs a key/);
    } finally {
      await h.close();
    }
  });

  it('tails NDJSON and CSV files exactly once, through partial lines and rotation', async () => {
    const h = await harness();
    try {
      const dir = inputDir(h.dir);
      writeFileSync(path.join(dir, 'app.ndjson'), '{"n":1}\n{"n":2}\n{"n":3');
      writeFileSync(path.join(dir, 'sales.csv'), 'store,amount\ns1,10\n"s,2","2""0"\n');
      await h.runtime.create('files', { connector: 'file-source', directory: dir, pattern: '*.ndjson', topic: 'app', pollIntervalMs: 20 });
      await h.runtime.create('csv', { connector: 'file-source', directory: dir, pattern: '*.csv', topic: 'sales', pollIntervalMs: 20, keyField: 'store' });
      await waitFor('two app records', async () => (await topicCount(h.bus, 'app')) === 2);
      appendFileSync(path.join(dir, 'app.ndjson'), '}\n{"n":4}\n{"n":5}');
      await waitFor('four app records', async () => (await topicCount(h.bus, 'app')) === 4);
      // Rotation: the old file's unterminated last line can no longer grow, so it is a record.
      renameSync(path.join(dir, 'app.ndjson'), path.join(dir, 'app.ndjson.1'));
      writeFileSync(path.join(dir, 'app.ndjson'), '{"n":6}\n');
      await waitFor('six app records', async () => (await topicCount(h.bus, 'app')) === 6);
      assert.deepEqual(values(await readTopic(h.bus, 'app')), [1, 2, 3, 4, 5, 6].map((n) => ({ n })));
      await waitFor('two sales rows', async () => (await topicCount(h.bus, 'sales')) === 2);
      const sales = await readTopic(h.bus, 'sales');
      assert.deepEqual(values(sales), [{ store: 's1', amount: '10' }, { store: 's,2', amount: '2"0' }]);
      assert.deepEqual(sales.map((r) => r.key?.toString()), ['s1', 's,2']);
      const offsets = await waitFor('stored offsets', async () => {
        const o = (await h.runtime.getOffsets('files')).offsets;
        return o[0]?.offset['position'] === Buffer.byteLength('{"n":6}\n') ? o : null;
      });
      assert.deepEqual(offsets.map((o) => o.partition), [{ file: 'app.ndjson' }]);
    } finally {
      await h.close();
    }
  });

  it('resumes from stored offsets after a restart: nothing again, nothing missed, state kept', async () => {
    const h = await harness();
    const dir = inputDir(h.dir);
    writeFileSync(path.join(dir, 'a.ndjson'), '{"n":1}\n{"n":2}\n');
    await h.runtime.create('files', { connector: 'file-source', directory: dir, pattern: '*.ndjson', topic: 'a', pollIntervalMs: 20 });
    await h.runtime.create('sleepy', { connector: 'file-source', directory: dir, pattern: '*.none', topic: 'b' });
    await h.runtime.pause('sleepy');
    await waitFor('2 records', async () => (await topicCount(h.bus, 'a')) === 2);
    await h.close();
    appendFileSync(path.join(dir, 'a.ndjson'), '{"n":3}\n');
    const h2 = await harness({ dataDir: h.dir });
    try {
      assert.deepEqual(h2.runtime.list(), ['files', 'sleepy']);
      assert.equal(h2.runtime.status('sleepy').connector.state, 'PAUSED');
      await waitFor('3 records', async () => (await topicCount(h2.bus, 'a')) === 3);
      assert.deepEqual(values(await readTopic(h2.bus, 'a')), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    } finally {
      await h2.close();
    }
  });

  it('errors.tolerance none fails the task with the error and stores nothing past it', async () => {
    const h = await harness();
    try {
      const dir = inputDir(h.dir);
      writeFileSync(path.join(dir, 'a.ndjson'), '{"n":1}\nnot json\n{"n":3}\n');
      await h.runtime.create('strict', { connector: 'file-source', directory: dir, topic: 'strict', pollIntervalMs: 20 });
      const st = await waitFor('a failed task', () => h.runtime.status('strict').tasks.find((t) => t.state === 'FAILED'));
      assert.match(st.trace!, /RECORD_INVALID: a\.ndjson at byte 8: not valid JSON/);
      assert.equal(await topicCount(h.bus, 'strict'), 1);
      const stored = (await h.runtime.getOffsets('strict')).offsets;
      assert.ok(stored.every((o) => Number(o.offset['position']) <= 8), 'the bad line is not passed over');
      // Fix the input and restart: it goes on from the bad line.
      writeFileSync(path.join(dir, 'a.ndjson'), '{"n":1}\n{"n":2}    \n{"n":3}\n');
      await h.runtime.restart('strict');
      await waitFor('3 records', async () => (await topicCount(h.bus, 'strict')) === 3);
      assert.deepEqual(values(await readTopic(h.bus, 'strict')), [{ n: 1 }, { n: 2 }, { n: 3 }]);
      assert.equal(h.runtime.status('strict').tasks[0]!.state, 'RUNNING');
    } finally {
      await h.close();
    }
  });

  it('errors.tolerance all dead-letters bad source records with the error and where they came from', async () => {
    const h = await harness();
    try {
      const dir = inputDir(h.dir);
      writeFileSync(path.join(dir, 'a.ndjson'), '{"n":1}\n{oops}\n{"n":3}\n');
      await h.runtime.create('lenient', {
        connector: 'file-source', directory: dir, topic: 'ok', pollIntervalMs: 20,
        transforms: [{ type: 'cast', fields: { n: 'boolean' } }],
        errors: { tolerance: 'all', deadLetterTopic: 'ok.dlq' },
      });
      await waitFor('2 dead letters', async () => (await topicCount(h.bus, 'ok.dlq')) === 2);
      await waitFor('1 good record', async () => (await topicCount(h.bus, 'ok')) === 1);
      const dlq = await readTopic(h.bus, 'ok.dlq');
      const heads = dlq.map((r) => readDeadLetterHeaders(r.headers));
      assert.deepEqual(heads.map((x) => x['stage']), ['SOURCE', 'TRANSFORMATION']);
      assert.equal(dlq[0]!.value!.toString(), '{oops}');
      assert.match(heads[0]!['exception.message']!, /not valid JSON/);
      assert.equal(heads[0]!['connector.name'], 'lenient');
      assert.deepEqual(JSON.parse(heads[0]!['source.partition']!), { file: 'a.ndjson' });
      assert.equal(JSON.parse(heads[0]!['source.offset']!).position, Buffer.byteLength('{"n":1}\n{oops}\n'));
      assert.match(heads[1]!['exception.message']!, /cannot cast 3 to boolean/);
      assert.deepEqual(values(await readTopic(h.bus, 'ok')), [{ n: true }]);
      assert.equal(h.runtime.status('lenient').tasks[0]!.state, 'RUNNING');
    } finally {
      await h.close();
    }
  });

  it('sink: bad records go to the dead-letter topic with their topic, partition and offset', async () => {
    const h = await harness();
    try {
      await h.bus.admin().createTopic('in', { partitions: 1 });
      const p = h.bus.producer();
      await p.send('in', ['{"a":1}', 'broken', '{"a":3}'].map((v) => ({ value: Buffer.from(v), headers: [{ key: 'trace', value: Buffer.from('t1') }] })));
      const out = path.join(h.dir, 'out', '${topic}.ndjson');
      await h.runtime.create('sink', { connector: 'file-sink', topics: ['in'], path: out, errors: { tolerance: 'all', deadLetterTopic: 'in.dlq' } });
      await waitFor('dead letter', async () => (await topicCount(h.bus, 'in.dlq')) === 1);
      const file = path.join(h.dir, 'out', 'in.ndjson');
      await waitFor('two lines', () => { try { return readFileSync(file, 'utf8').split('\n').filter(Boolean).length === 2; } catch { return false; } });
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), [{ a: 1 }, { a: 3 }]);
      const [d] = await readTopic(h.bus, 'in.dlq');
      const hd = readDeadLetterHeaders(d!.headers);
      assert.equal(d!.value!.toString(), 'broken');
      assert.equal(d!.headers.find((x) => x.key === 'trace')?.value?.toString(), 't1', 'original headers are kept');
      assert.deepEqual([hd['topic'], hd['partition'], hd['offset'], hd['stage'], hd['connector.name']], ['in', '0', '1', 'VALUE_CONVERTER', 'sink']);
      await waitFor('offsets committed', async () => (await h.runtime.getOffsets('sink')).offsets[0]?.offset['offset'] === 3);
    } finally {
      await p_close(h);
    }
    async function p_close(x: typeof h) {
      await x.close();
    }
  });

  it('pause, resume, stop, reset offsets, delete', async () => {
    const h = await harness();
    try {
      const dir = inputDir(h.dir);
      writeFileSync(path.join(dir, 'a.ndjson'), '{"n":1}\n');
      await h.runtime.create('f', { connector: 'file-source', directory: dir, topic: 'f', pollIntervalMs: 20 });
      await waitFor('1', async () => (await topicCount(h.bus, 'f')) === 1);
      await h.runtime.pause('f');
      assert.equal(h.runtime.status('f').connector.state, 'PAUSED');
      assert.ok(h.runtime.status('f').tasks.every((t) => t.state === 'PAUSED'));
      appendFileSync(path.join(dir, 'a.ndjson'), '{"n":2}\n');
      await h.runtime.resume('f');
      await waitFor('2', async () => (await topicCount(h.bus, 'f')) === 2);
      await assert.rejects(h.runtime.resetOffsets('f'), /must be stopped to reset its offsets/);
      await h.runtime.stopConnector('f');
      assert.equal(h.runtime.status('f').connector.state, 'STOPPED');
      assert.equal(h.runtime.status('f').tasks.length, 0);
      await h.runtime.resetOffsets('f');
      assert.deepEqual((await h.runtime.getOffsets('f')).offsets, []);
      await h.runtime.resume('f');
      await waitFor('read again from the start', async () => (await topicCount(h.bus, 'f')) === 4);
      await h.runtime.delete('f');
      assert.deepEqual(h.runtime.list(), []);
      assert.throws(() => h.runtime.status('f'), /no connector named "f"/);
    } finally {
      await h.close();
    }
  });

  it('sink tasks share partitions and rebalance gracefully when reconfigured: every record once', async () => {
    const h = await harness();
    try {
      await h.bus.admin().createTopic('many', { partitions: 4 });
      const p = h.bus.producer();
      const send = (from: number, n: number) => p.send('many', Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${from + i}`), value: Buffer.from(JSON.stringify({ i: from + i })) })));
      await send(0, 200);
      const out = path.join(h.dir, 'many.ndjson');
      await h.runtime.create('fan', { connector: 'file-sink', topics: ['many'], path: out, tasksMax: 2, batchSize: 20 });
      await waitFor('two tasks with partitions', () => h.runtime.status('fan').tasks.length === 2);
      const lines = () => { try { return readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).i as number); } catch { return []; } };
      await waitFor('some written', () => lines().length > 50);
      await h.runtime.putConfig('fan', { connector: 'file-sink', topics: ['many'], path: out, tasksMax: 3, batchSize: 20 });
      await send(200, 200);
      assert.equal(h.runtime.status('fan').tasks.length, 3);
      await waitFor('all 400 written', () => lines().length >= 400);
      const got = lines();
      assert.equal(new Set(got).size, 400, 'every record arrived');
      assert.equal(got.length, 400, 'and none twice: tasks committed before leaving the group');
      const groups = await h.bus.admin().describeGroup('connect-fan');
      assert.equal(groups.members, 3);
      await p.close();
    } finally {
      await h.close();
    }
  });

  it('every topic access passes governance', async () => {
    const gov = new Governance((principal, action, resource) => !(resource.type === 'topic' && resource.name === 'secret' && action === 'write'));
    const seen: string[] = [];
    gov.onAudit((e) => seen.push(`${e.principal} ${e.action} ${e.resource.type}:${e.resource.name} ${e.allowed} ${e.via}`));
    const h = await harness({ governance: gov });
    try {
      const dir = inputDir(h.dir);
      writeFileSync(path.join(dir, 'a.ndjson'), '{"n":1}\n');
      await h.runtime.create('g', { connector: 'file-source', directory: dir, topic: 'secret', pollIntervalMs: 20, principal: 'User:etl' });
      const t = await waitFor('denied', () => h.runtime.status('g').tasks.find((x) => x.state === 'FAILED'));
      assert.match(t.trace!, /ACCESS_DENIED: User:etl may not write topic secret/);
      assert.ok(seen.includes('User:etl write topic:secret false connect'));
      assert.equal(await topicCount(h.bus, 'secret'), 0);
    } finally {
      await h.close();
    }
  });
});
