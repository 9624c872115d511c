/**
 * Windowed aggregations in the test driver — tumbling, hopping, sliding and session windows,
 * emit-final and emit-on-update — compared with DuckDB computing the same answer in batch on
 * the same events (late records excluded: they must appear on the side output instead).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SessionWindows, SlidingWindows, StreamsBuilder, TimeWindows, TopologyTestDriver, type Windowed } from '../../src/streams/index.ts';
import { Oracle, canonical } from './helpers/duckdb-oracle.ts';
import { events, type Ev } from './helpers/events.ts';

let oracle: Oracle;
before(async () => {
  oracle = await Oracle.open();
});
after(() => oracle.close());

const GRACE = 2_000;
const IDLE = 10_000;

/** On-time events plus a few that are far behind the watermark (surely late). */
function workload(seed: number): { all: Ev[]; late: Ev[] } {
  const all = events(600, { seed, keys: 4, step: 60, disorder: 1_500 });
  const late: Ev[] = [];
  for (const i of [200, 350, 500]) {
    const e = { k: 'k1', ts: all[i]!.ts - 60_000, v: 7 };
    late.push(e);
    all.splice(i, 0, e);
  }
  return { all, late };
}

type Agg = { c: number; s: number; mx: number };
const init = (): Agg => ({ c: 0, s: 0, mx: -1 });
const add = (_k: string, e: Ev, a: Agg): Agg => ({ c: a.c + 1, s: a.s + e.v, mx: Math.max(a.mx, e.v) });

function run(build: (b: StreamsBuilder) => void, all: Ev[]): TopologyTestDriver {
  const b = new StreamsBuilder('win');
  build(b);
  const d = new TopologyTestDriver(b.build(), { partitions: { ev: 2 }, idleMs: IDLE, wallClock: 0 });
  for (const e of all) d.pipe('ev', e.k, e, e.ts);
  return d;
}

async function oracleFor(name: string, sql: string, onTime: Ev[]): Promise<string[]> {
  await oracle.load(name, { k: 'VARCHAR', ts: 'BIGINT', v: 'BIGINT' }, onTime as never);
  return canonical(await oracle.rows(sql.replaceAll('$T', name)));
}

function finals(d: TopologyTestDriver, topic: string): string[] {
  return canonical(
    d.read<string, Agg>(topic).map((r) => {
      const w = JSON.parse(r.key) as Windowed<string>;
      return { k: w.key, ws: w.start, we: w.end, c: r.value.c, s: r.value.s, mx: r.value.mx };
    }),
  );
}

test('tumbling windows, emit final: equal to DuckDB GROUP BY window; late records go to the side output; idle closes the last windows', async () => {
  const { all, late } = workload(11);
  const d = run((b) => b.stream<string, Ev>('ev').groupByKey().windowedBy(TimeWindows.tumbling(5_000).grace(GRACE)).aggregate(init, add, { name: 'tumble', emit: 'final' }).toStream().to('out'), all);
  const beforeIdle = d.read('out').length;
  d.advanceWallClock(IDLE + 60_000);
  const onTime = all.filter((e) => !late.includes(e));
  const expected = await oracleFor('t1', `SELECT k, ts - ts % 5000 AS ws, ts - ts % 5000 + 5000 AS we, count(*) AS c, sum(v) AS s, max(v) AS mx FROM $T GROUP BY ALL`, onTime);
  assert.ok(beforeIdle < expected.length, 'the last windows stay open until the wall clock shows the partitions idle');
  assert.deepEqual(finals(d, 'out'), expected);
  assert.deepEqual(d.read<string, Ev>('win-tumble-late').map((r) => r.value.ts).sort(), late.map((e) => e.ts).sort());
});

test('hopping windows, emit final: equal to DuckDB over every window holding each event', async () => {
  const { all, late } = workload(12);
  const d = run((b) => b.stream<string, Ev>('ev').groupByKey().windowedBy(TimeWindows.hopping(6_000, 2_000).grace(GRACE)).aggregate(init, add, { name: 'hop', emit: 'final' }).toStream().to('out'), all);
  d.advanceWallClock(IDLE + 60_000);
  const onTime = all.filter((e) => !late.includes(e));
  const expected = await oracleFor(
    't2',
    `SELECT k, ws, ws + 6000 AS we, count(*) AS c, sum(v) AS s, max(v) AS mx
       FROM (SELECT k, v, ts - ts % 2000 - i * 2000 AS ws, ts FROM $T, range(0, 3) r(i)) WHERE ws + 6000 > ts GROUP BY ALL`,
    onTime,
  );
  assert.deepEqual(finals(d, 'out'), expected);
  assert.equal(d.read('win-hop-late').length, late.length);
});

test('sliding windows, emit final: one window [t-size, t] per distinct event time, equal to a DuckDB self-join', async () => {
  const { all, late } = workload(13);
  const d = run((b) => b.stream<string, Ev>('ev').groupByKey().windowedBy(SlidingWindows.of(3_000).grace(GRACE)).aggregate(init, add, { name: 'slide', emit: 'final' }).toStream().to('out'), all);
  d.advanceWallClock(IDLE + 60_000);
  const onTime = all.filter((e) => !late.includes(e));
  const expected = await oracleFor(
    't3',
    `SELECT a.k, a.ts - 3000 AS ws, a.ts AS we, count(*) AS c, sum(b.v) AS s, max(b.v) AS mx
       FROM (SELECT DISTINCT k, ts FROM $T) a JOIN $T b ON a.k = b.k AND b.ts BETWEEN a.ts - 3000 AND a.ts GROUP BY ALL`,
    onTime,
  );
  assert.deepEqual(finals(d, 'out'), expected);
  assert.equal(d.read('win-slide-late').length, late.length);
  // Buffered records of closed windows are dropped.
  assert.equal(d.taskList().reduce((n, t) => n + (t.stores.get('slide-records')?.size ?? 0), 0), 0);
});

test('session windows, emit final: equal to DuckDB gaps-and-islands sessions', async () => {
  const all = events(500, { seed: 14, keys: 3, step: 400, disorder: 800 });
  const d = run((b) => b.stream<string, Ev>('ev').groupByKey().windowedBy(SessionWindows.withGap(1_000).grace(GRACE)).aggregate(init, add, (_k, a, c) => ({ c: a.c + c.c, s: a.s + c.s, mx: Math.max(a.mx, c.mx) }), { name: 'sess', emit: 'final' }).toStream().to('out'), all);
  d.advanceWallClock(IDLE + 60_000);
  const expected = await oracleFor(
    't4',
    `SELECT k, min(ts) AS ws, max(ts) AS we, count(*) AS c, sum(v) AS s, max(v) AS mx FROM (
       SELECT *, sum(CASE WHEN prev IS NULL OR ts - prev >= 1000 THEN 1 ELSE 0 END) OVER (PARTITION BY k ORDER BY ts, v) AS sid
       FROM (SELECT *, lag(ts) OVER (PARTITION BY k ORDER BY ts, v) AS prev FROM $T)) GROUP BY k, sid`,
    all,
  );
  assert.ok(expected.length > 20, 'the workload makes many sessions');
  assert.deepEqual(finals(d, 'out'), expected);
});

test('emit on update: every record updates its windows; the last update of each window equals the final result', async () => {
  const { all, late } = workload(15);
  const d = run((b) => {
    const w = b.stream<string, Ev>('ev').groupByKey().windowedBy(TimeWindows.tumbling(5_000).grace(GRACE));
    w.aggregate(init, add, { name: 'upd' }).toStream().to('updates');
  }, all);
  const updates = d.read<string, Agg>('updates');
  const onTime = all.filter((e) => !late.includes(e));
  assert.equal(updates.length, onTime.length, 'one update per on-time record');
  const last = new Map<string, Agg>();
  for (const u of updates) last.set(u.key, u.value);
  const expected = await oracleFor('t5', `SELECT k, ts - ts % 5000 AS ws, ts - ts % 5000 + 5000 AS we, count(*) AS c, sum(v) AS s, max(v) AS mx FROM $T GROUP BY ALL`, onTime);
  assert.deepEqual(
    canonical([...last].map(([key, v]) => {
      const w = JSON.parse(key) as Windowed<string>;
      return { k: w.key, ws: w.start, we: w.end, c: v.c, s: v.s, mx: v.mx };
    })),
    expected,
  );
});

test('session windows on update retract merged sessions', () => {
  const b = new StreamsBuilder('merge');
  b.stream<string, Ev>('ev').groupByKey().windowedBy(SessionWindows.withGap(100).grace(500)).count({ name: 's' }).toStream().to('out');
  const d = new TopologyTestDriver(b.build());
  d.pipe('ev', 'a', { k: 'a', ts: 1000, v: 1 }, 1000);
  d.pipe('ev', 'a', { k: 'a', ts: 1150, v: 1 }, 1150);
  d.pipe('ev', 'a', { k: 'a', ts: 1075, v: 1 }, 1075); // bridges both sessions
  const out = d.read<string, number | null>('out').map((r) => [JSON.parse(r.key).start, JSON.parse(r.key).end, r.value]);
  assert.deepEqual(out, [[1000, 1000, 1], [1150, 1150, 1], [1000, 1000, null], [1150, 1150, null], [1000, 1150, 3]]);
});

test('windowed store contents are queryable and closed windows are removed', () => {
  const b = new StreamsBuilder('q');
  b.stream<string, Ev>('ev').groupByKey().windowedBy(TimeWindows.tumbling(1_000)).count({ name: 'c' });
  const d = new TopologyTestDriver(b.build(), { idleMs: 1_000 });
  d.pipe('ev', 'a', { k: 'a', ts: 10_100, v: 1 }, 10_100);
  d.pipe('ev', 'a', { k: 'a', ts: 10_200, v: 1 }, 10_200);
  d.pipe('ev', 'a', { k: 'a', ts: 11_100, v: 1 }, 11_100); // closes [10000, 11000)
  const s = d.store('c') as unknown as { byKey(k: string): Array<{ start: number; value: number }> };
  assert.deepEqual(s.byKey('a').map((w) => [w.start, w.value]), [[11_000, 1]]);
});

test('after a repartition the watermark is the smallest over the upstream tasks: a fast upstream task does not make a slow one late', async () => {
  const { partitionForKey } = await import('../../src/bus/partitioner.ts');
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  const k0 = keys.find((k) => partitionForKey(Buffer.from(k), 2) === 0)!;
  const k1 = keys.find((k) => partitionForKey(Buffer.from(k), 2) === 1)!;
  const b = new StreamsBuilder('chan');
  b.stream<string, Ev>('ev').groupBy(() => 'all', { name: 'all' }).windowedBy(TimeWindows.tumbling(1_000)).count({ name: 'c', emit: 'final' }).toStream().to('out');
  const d = new TopologyTestDriver(b.build(), { partitions: { ev: 2 }, idleMs: 5_000 });
  for (let i = 0; i < 50; i++) d.pipe('ev', k0, { k: k0, ts: i * 1_000, v: 1 }, i * 1_000); // upstream task 0 races ahead
  for (let i = 0; i < 50; i++) d.pipe('ev', k1, { k: k1, ts: i * 1_000 + 500, v: 1 }, i * 1_000 + 500); // then task 1 catches up
  d.advanceWallClock(60_000);
  assert.equal(d.read('chan-c-late').length, 0, 'no record is late');
  const counts = d.read<string, number>('out').map((r) => r.value);
  assert.equal(counts.length, 50);
  assert.ok(counts.every((c) => c === 2));
});
