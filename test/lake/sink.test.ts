/**
 * The lake sink with a real embedded bus and lake: event-time partitions, declared and inferred
 * schemas (with evolution), dead letters with reasons, rolling by size and by time (and the roll buffer itself), resuming from the
 * manifest's positions after a restart, and fencing of a second instance.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/index.ts';
import type { ConsumedRecord } from '../../src/bus/types.ts';
import { LakeSink, type Lake, type LakeSinkOptions } from '../../src/lake/index.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { freshLake, sqlOver } from './helpers/lake.ts';

let bus: EmbeddedBus;
let lake: Lake;
before(async () => {
  bus = await openEmbeddedBus({ dataDir: path.join(await tempDirUntilExit('tributary-sink-'), 'bus') });
  lake = await freshLake('sqlite');
});
after(async () => {
  await lake.close();
  await bus.close();
});

async function produce(topic: string, values: Array<string | null>, opts: { partitions?: number; timestamp?: (i: number) => number } = {}): Promise<void> {
  const admin = bus.admin();
  try {
    await admin.describeTopic(topic);
  } catch {
    await admin.createTopic(topic, { partitions: opts.partitions ?? 1 });
  }
  await bus.producer().send(
    topic,
    values.map((v, i) => ({ value: v === null ? null : Buffer.from(v), partition: i % (opts.partitions ?? 1), ...(opts.timestamp ? { timestamp: opts.timestamp(i) } : {}) })),
  );
}

async function readAll(topic: string): Promise<ConsumedRecord[]> {
  const c = bus.consumer();
  const d = await bus.admin().describeTopic(topic);
  c.assign(d.partitions.map((p) => ({ topic, partition: p.partition, offset: 0 })));
  const out: ConsumedRecord[] = [];
  const total = d.partitions.reduce((s, p) => s + p.highWatermark, 0);
  while (out.length < total) out.push(...(await c.poll({ timeoutMs: 1000 })));
  await c.close();
  return out;
}

async function drain(opts: Omit<LakeSinkOptions, 'bus' | 'lake'>): Promise<LakeSink> {
  const sink = new LakeSink({ bus, lake, rollMs: 60_000, ...opts });
  await sink.start();
  // Wait until the sink has read to the end of its topics, then roll and stop.
  const ends = new Map<string, number>();
  for (const t of opts.topics) for (const p of (await bus.admin().describeTopic(t)).partitions) ends.set(`${t}/${p.partition}`, p.highWatermark);
  for (let i = 0; i < 500; i++) {
    const pos = sink.status().positions;
    if ([...ends].every(([k, end]) => (pos.find((p) => `${p.topic}/${p.partition}` === k)?.offset ?? 0) >= end)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await sink.stop();
  return sink;
}

const header = (r: ConsumedRecord, key: string) => r.headers.find((h) => h.key === key)?.value?.toString();

describe('lake sink', () => {
  test('declared schema: fitting records land in event-time partitions, the others in the dead-letter topic with the reason', async () => {
    const good = (i: number, hour: number) => JSON.stringify({ id: i, name: `n${i}`, at: `2024-05-01T${String(hour).padStart(2, '0')}:15:00Z` });
    await produce('orders', [
      good(1, 7),
      good(2, 7),
      good(3, 8),
      'not json',
      JSON.stringify({ id: 'x', name: 'bad type', at: '2024-05-01T07:00:00Z' }),
      JSON.stringify({ name: 'no id', at: '2024-05-01T07:00:00Z' }),
      JSON.stringify({ id: 4, name: 'extra', at: '2024-05-01T07:00:00Z', color: 'red' }),
      JSON.stringify({ id: 5, name: 'bad time', at: 'yesterday' }),
      '[1,2]',
      null,
      good(6, 9),
    ]);
    const sink = await drain({
      topics: ['orders'],
      table: 'raw.orders',
      eventTime: { field: 'at' },
      schema: [
        { name: 'id', type: 'int64', nullable: false },
        { name: 'name', type: 'string' },
        { name: 'at', type: 'timestamp' },
      ],
    });
    assert.equal(sink.status().state, 'stopped');
    assert.equal(sink.status().committedRecords, 4);
    assert.equal(sink.status().deadLettered, 7);
    const rows = await sqlOver(lake, 'raw.orders', 'SELECT id, dt::VARCHAR AS dt, hr FROM t ORDER BY id');
    assert.deepEqual(rows, [
      { id: '1', dt: '2024-05-01', hr: 7 },
      { id: '2', dt: '2024-05-01', hr: 7 },
      { id: '3', dt: '2024-05-01', hr: 8 },
      { id: '6', dt: '2024-05-01', hr: 9 },
    ]);
    const t = await lake.table('raw.orders');
    assert.deepEqual(t.partitionBy, [
      { name: 'dt', transform: 'day', source: 'at' },
      { name: 'hr', transform: 'hour', source: 'at' },
    ]);
    const files = await lake.files('raw.orders');
    assert.deepEqual(files.map((f) => f.key.split('/').slice(0, 4).join('/')).sort(), ['raw/orders/dt=2024-05-01/hr=07', 'raw/orders/dt=2024-05-01/hr=08', 'raw/orders/dt=2024-05-01/hr=09']);

    const dlq = await readAll('raw.orders.dlq');
    const reasons = dlq.map((r) => [header(r, 'lake.source.offset'), header(r, 'lake.error')]);
    assert.deepEqual(reasons.map((r) => r[0]), ['3', '4', '5', '6', '7', '8', '9']);
    assert.match(reasons[0]![1]!, /^not valid JSON/);
    assert.equal(reasons[1]![1], 'field "id": expected a whole number, got "x"');
    assert.equal(reasons[2]![1], 'field "id": required (NOT NULL), got nothing');
    assert.equal(reasons[3]![1], 'field "color" is not in the table schema');
    assert.equal(reasons[4]![1], 'field "at": expected an ISO-8601 timestamp string, got "yesterday"');
    assert.equal(reasons[5]![1], 'expected a JSON object, got an array');
    assert.equal(reasons[6]![1], 'the record has no value (null)');
    assert.equal(dlq[0]!.value!.toString(), 'not json', 'the original value is kept');
    assert.equal(header(dlq[0]!, 'lake.source.topic'), 'orders');
  });

  test('inferred schema: columns follow the records, new fields evolve the table, conflicting types are dead-lettered', async () => {
    const ts = (i: number) => Date.UTC(2024, 4, 2, i % 2);
    await produce('clicks', [JSON.stringify({ user: 'a', n: 1 }), JSON.stringify({ user: 'b', n: 2.5 })], { timestamp: ts });
    await drain({ topics: ['clicks'], table: 'clicks', zone: 'raw', partitionBy: 'day' });
    let t = await lake.table('raw.clicks');
    assert.deepEqual(t.schema.columns.map((c) => [c.name, c.type]), [['user', 'string'], ['n', 'float64']]);
    assert.deepEqual(t.partitionBy, [{ name: 'dt', transform: 'day' }]);

    await produce('clicks', [JSON.stringify({ user: 'c', n: 3, ref: 'home', tags: ['x'] }), JSON.stringify({ user: 4 }), JSON.stringify({ user: 'd' })], { timestamp: ts });
    const sink = await drain({ topics: ['clicks'], table: 'clicks', zone: 'raw', partitionBy: 'day' });
    assert.equal(sink.status().deadLettered, 1);
    t = await lake.table('raw.clicks');
    assert.deepEqual(t.schema.columns.map((c) => [c.name, c.type]), [['user', 'string'], ['n', 'float64'], ['ref', 'string'], ['tags', 'json']]);
    assert.equal(t.schema.version, 2);
    const rows = await sqlOver(lake, 'raw.clicks', 'SELECT "user", n, ref, tags::VARCHAR AS tags FROM t ORDER BY "user"');
    assert.deepEqual(rows, [
      { user: 'a', n: 1, ref: null, tags: null },
      { user: 'b', n: 2.5, ref: null, tags: null },
      { user: 'c', n: 3, ref: 'home', tags: '["x"]' },
      { user: 'd', n: null, ref: null, tags: null },
    ]);
  });

  test('resumes from the positions committed with its files, not from group offsets', async () => {
    const values = (from: number, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ seq: from + i }));
    await produce('seqs', values(0, 300), { partitions: 3 });
    await drain({ topics: ['seqs'], table: 'raw.seqs', metadataColumns: true, rollBytes: 2048 });
    // Group offsets moved elsewhere must not matter.
    const c = bus.consumer({ groupId: 'lake-sink.raw.seqs' });
    await c.commit([{ topic: 'seqs', partition: 0, offset: 0 }]);
    await c.close();
    await produce('seqs', values(300, 150), { partitions: 3 });
    await drain({ topics: ['seqs'], table: 'raw.seqs', metadataColumns: true, rollBytes: 2048 });
    const r = await sqlOver(lake, 'raw.seqs', 'SELECT count(*) AS n, count(DISTINCT seq) AS d, count(DISTINCT (_partition, _offset)) AS o, max(seq) AS mx FROM t');
    assert.deepEqual(r, [{ n: '450', d: '450', o: '450', mx: '449' }]);
    assert.ok((await lake.files('raw.seqs')).length > 3, 'rollBytes made several files');
    assert.deepEqual(
      (await lake.sinkPositions('raw.seqs')).map((p) => [p.partition, p.offset]),
      [
        [0, 150],
        [1, 150],
        [2, 150],
      ],
    );
    const group = await bus.admin().describeGroup('lake-sink.raw.seqs');
    assert.deepEqual(group.offsets.map((o) => o.lag), [0, 0, 0], 'group offsets show the lag after each commit');
  });

  test('a second instance of the same sink is fenced off by the positions it started from', async () => {
    await produce('fenced', [JSON.stringify({ a: 1 })]);
    const first = new LakeSink({ bus, lake, topics: ['fenced'], table: 'raw.fenced', rollMs: 50 });
    const second = new LakeSink({ bus, lake, topics: ['fenced'], table: 'raw.fenced', rollMs: 50 });
    await first.start();
    await second.start();
    for (let i = 0; i < 200 && first.status().commits + second.status().commits === 0; i++) await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 50 && first.status().state !== 'failed' && second.status().state !== 'failed'; i++) await new Promise((r) => setTimeout(r, 20));
    await first.stop();
    await second.stop();
    const states = [first.status(), second.status()];
    assert.equal(states.filter((s) => s.state === 'failed').length, 1, JSON.stringify(states));
    assert.match(states.find((s) => s.state === 'failed')!.lastError!, /another instance of the sink committed meanwhile/);
    assert.deepEqual(await sqlOver(lake, 'raw.fenced', 'SELECT count(*) AS n FROM t'), [{ n: '1' }]);
  });
});

test('inferred columns widen until the first commit: an integer column that sees 2.5 becomes float64', async () => {
  await produce('pings', [JSON.stringify({ speed: 10 }), JSON.stringify({ speed: 12 })]);
  const sink = new LakeSink({ bus, lake, topics: ['pings'], table: 'raw.pings', rollMs: 60_000 });
  await sink.start();
  for (let i = 0; i < 200 && sink.status().bufferedRecords < 2; i++) await new Promise((r) => setTimeout(r, 10));
  await produce('pings', [JSON.stringify({ speed: 2.5 })]);
  for (let i = 0; i < 200 && sink.status().bufferedRecords < 3; i++) await new Promise((r) => setTimeout(r, 10));
  await sink.stop();
  assert.equal(sink.status().deadLettered, 0);
  const t = await lake.table('raw.pings');
  assert.deepEqual(t.schema.columns.map((c) => [c.name, c.type]), [['speed', 'float64']]);
  assert.deepEqual(await sqlOver(lake, 'raw.pings', 'SELECT speed FROM t ORDER BY speed'), [{ speed: 2.5 }, { speed: 10 }, { speed: 12 }]);
});

test('a record the Parquet writer rejects although it passed the checks is isolated and dead-lettered whole', async () => {
  // 1e30 is a whole number to JavaScript but does not fit DuckDB's BIGINT.
  await produce('big', [JSON.stringify({ n: 1 }), JSON.stringify({ n: 1e30 }), JSON.stringify({ n: 3 }), JSON.stringify({ n: 4 })]);
  const sink = await drain({ topics: ['big'], table: 'raw.big', schema: [{ name: 'n', type: 'int64' }] });
  assert.equal(sink.status().state, 'stopped', sink.status().lastError ?? '');
  assert.deepEqual(await sqlOver(lake, 'raw.big', 'SELECT n FROM t ORDER BY n'), [{ n: '1' }, { n: '3' }, { n: '4' }]);
  const dlq = await readAll('raw.big.dlq');
  assert.equal(dlq.length, 1);
  assert.equal(dlq[0]!.value!.toString(), '{"n":1e+30}');
  assert.equal(header(dlq[0]!, 'lake.source.offset'), '1');
  assert.match(header(dlq[0]!, 'lake.error')!, /^rejected by the Parquet writer: /);
});

test('rolls by time: records commit rollMs after the first one, while the sink keeps running', async () => {
  const sink = new LakeSink({ bus, lake, topics: ['ticks'], table: 'raw.ticks', rollMs: 150, rollBytes: 64 * 1024 * 1024 });
  await produce('ticks', [JSON.stringify({ n: 1 }), JSON.stringify({ n: 2 })]);
  await sink.start();
  try {
    // No flush, no stop, far below rollBytes: only the clock can commit these.
    for (let i = 0; i < 1500 && sink.status().commits < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sink.status().commits, 1, 'the time roll committed the first records');
    assert.equal(sink.status().state, 'running');
    await produce('ticks', [JSON.stringify({ n: 3 })]);
    for (let i = 0; i < 1500 && sink.status().commits < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sink.status().commits, 2, 'a later record starts the clock again');
    assert.deepEqual(await sqlOver(lake, 'raw.ticks', 'SELECT n FROM t ORDER BY n'), [{ n: '1' }, { n: '2' }, { n: '3' }]);
    assert.equal((await lake.snapshots({ table: 'raw.ticks' })).length >= 2, true);
  } finally {
    await sink.stop();
  }
});

test('rolls by size: a partition reaching rollBytes commits at once, files stay near that size', async () => {
  const pad = 'x'.repeat(200);
  const values = Array.from({ length: 400 }, (_, i) => JSON.stringify({ i, pad }));
  await produce('sized', values);
  const rollBytes = 16 * 1024;
  // The clock alone would never roll (an hour): every commit below comes from the size trigger.
  const sink = new LakeSink({ bus, lake, topics: ['sized'], table: 'raw.sized', rollMs: 3_600_000, rollBytes, partitionBy: 'none' });
  await sink.start();
  try {
    for (let i = 0; i < 1500 && sink.status().committedRecords < 360; i++) await new Promise((r) => setTimeout(r, 20));
    const st = sink.status();
    assert.equal(st.state, 'running');
    // ~230 B per line: a roll holds ~70 records, so at least 5 full rolls committed before any stop.
    assert.ok(st.commits >= 5, `${st.commits} commits`);
    assert.ok(st.bufferedRecords < rollBytes / 200, `at most one roll is buffered (${st.bufferedRecords})`);
    const files = await lake.files('raw.sized');
    for (const f of files) assert.ok(f.rows <= Math.ceil(rollBytes / 220) + 1, `a file holds one roll (${f.rows} rows)`);
  } finally {
    await sink.stop();
  }
  assert.deepEqual(await sqlOver(lake, 'raw.sized', 'SELECT count(*) AS n, count(DISTINCT i) AS d, min(i) AS lo, max(i) AS hi FROM t'), [{ n: '400', d: '400', lo: '0', hi: '399' }]);
});

test('roll buffer: lines are tagged with their partition, kept whole across chunks, line breaks blanked', async () => {
  const { ChunkPool, RollBuffer, PART_COLUMN } = await import('../../src/lake/sink/roll-buffer.ts');
  const pool = new ChunkPool(64 * 1024, 4);
  const rec = (offset: number) => ({ topic: 't', partition: 0, offset, key: null, value: null, timestamp: 0, headers: [] }) as unknown as ConsumedRecord;
  const values = [
    ...Array.from({ length: 600 }, (_, i) => JSON.stringify({ i, s: 'y'.repeat(i % 300) })),
    '{\n  "i": 600,\n  "s": "pretty"\r\n}',
    JSON.stringify({ i: 601, s: 'z'.repeat(100 * 1024) }), // longer than a chunk
    '{}',
  ];
  const roll = new RollBuffer(pool);
  values.forEach((v, i) => roll.add(rec(i), Buffer.from(v), i % 2 ? 'odd' : 'even', { p: i % 2 ? 'odd' : 'even' }));
  assert.equal(roll.size, values.length);
  assert.deepEqual(roll.partitions.map((p) => [p.values['p'], p.rows]), [['even', 302], ['odd', 301]]);
  const lines = roll.lines().toString().split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, values.length);
  lines.forEach((l, i) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    assert.equal(o[PART_COLUMN], i % 2);
    const { [PART_COLUMN]: _, ...rest } = o;
    assert.deepEqual(rest, JSON.parse(values[i]!));
  });
  // Any range, across chunk boundaries, is exactly those lines.
  for (const [from, to] of [[0, 1], [123, 457], [599, 603], [300, 300]] as const) {
    assert.equal(roll.lines(from, to).toString(), lines.slice(from, to).map((l) => `${l}\n`).join(''));
  }
  assert.equal(roll.bytes, roll.lines().length);
  roll.release();
  // Pooled chunks are reused by the next roll, and its lines are its own.
  const next = new RollBuffer(pool);
  next.add(rec(0), Buffer.from('{"a":1}'), 'k', {});
  assert.equal(next.lines().toString(), `{"${PART_COLUMN}":0,"a":1}\n`);
});
