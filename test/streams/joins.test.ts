/**
 * Joins in the test driver, compared with DuckDB: stream–stream (inner/left/outer within a
 * window), stream–table (as-of the table's latest row), table–table (inner/left/outer on the
 * final rows) and the foreign-key table–table join.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { JoinWindows, StreamsBuilder, StreamsError, TopologyTestDriver } from '../../src/streams/index.ts';
import { Oracle, canonical } from './helpers/duckdb-oracle.ts';
import { events, rng, type Ev } from './helpers/events.ts';

let oracle: Oracle;
before(async () => {
  oracle = await Oracle.open();
});
after(() => oracle.close());

const EV = { k: 'VARCHAR', ts: 'BIGINT', v: 'BIGINT' } as const;

interface Joined {
  lv: number | null;
  rv: number | null;
  lts: number | null;
  rts: number | null;
}

const joiner = (l: Ev | null, r: Ev | null): Joined => ({ lv: l?.v ?? null, rv: r?.v ?? null, lts: l?.ts ?? null, rts: r?.ts ?? null });

for (const kind of ['inner', 'left', 'outer'] as const) {
  test(`stream–stream ${kind} join within ±1 s equals DuckDB's ${kind} join on key and time band`, async () => {
    const left = events(300, { seed: 21, keys: 6, step: 80, disorder: 1_200 });
    const right = events(300, { seed: 22, keys: 6, step: 80, disorder: 1_200 });
    const b = new StreamsBuilder('ssj');
    const l = b.stream<string, Ev>('l');
    const r = b.stream<string, Ev>('r');
    const w = JoinWindows.of(1_000).grace(2_000);
    const opts = { name: `j-${kind}` };
    const out = kind === 'inner' ? l.join(r, joiner, w, opts) : kind === 'left' ? l.leftJoin(r, joiner, w, opts) : l.outerJoin(r, joiner, w, opts);
    out.to('out');
    const d = new TopologyTestDriver(b.build(), { partitions: { l: 2, r: 2 }, idleMs: 10_000 });
    for (let i = 0; i < 300; i++) {
      d.pipe('l', left[i]!.k, left[i]!, left[i]!.ts);
      d.pipe('r', right[i]!.k, right[i]!, right[i]!.ts);
    }
    d.advanceWallClock(120_000); // every buffered record expires; unmatched ones are emitted
    await oracle.load('L', EV, left as never);
    await oracle.load('R', EV, right as never);
    const sqlJoin = kind === 'inner' ? 'JOIN' : kind === 'left' ? 'LEFT JOIN' : 'FULL OUTER JOIN';
    const expected = canonical(
      await oracle.rows(`SELECT coalesce(L.k, R.k) AS k, L.v AS lv, R.v AS rv, L.ts AS lts, R.ts AS rts FROM L ${sqlJoin} R ON L.k = R.k AND R.ts BETWEEN L.ts - 1000 AND L.ts + 1000`),
    );
    const actual = canonical(d.read<string, Joined>('out').map((x) => ({ k: x.key, ...x.value })));
    assert.ok(expected.length > 100);
    assert.deepEqual(actual, expected);
    assert.equal(d.read('ssj-j-' + kind + '-late').length, 0);
    // Buffers are empty once the watermark passed every record's window.
    for (const t of d.taskList()) for (const s of t.stores.values()) assert.equal(s.size, 0, `${s.name} of task ${t.id}`);
  });
}

test('stream–stream join: a record past its window + grace is late (side output), and a stream cannot join itself', () => {
  const b = new StreamsBuilder('late');
  const l = b.stream<string, Ev>('l');
  l.join(b.stream<string, Ev>('r'), joiner, JoinWindows.of(100).grace(50), { name: 'j' }).to('out');
  assert.throws(() => l.join(l, joiner, JoinWindows.of(1), { name: 'self' }), (e: unknown) => e instanceof StreamsError && /itself/.test(e.message));
  const d = new TopologyTestDriver(b.build(), { idleMs: 10 });
  d.pipe('l', 'a', { k: 'a', ts: 10_000, v: 1 }, 10_000);
  d.pipe('r', 'a', { k: 'a', ts: 10_050, v: 2 }, 10_050);
  d.pipe('r', 'a', { k: 'a', ts: 9_000, v: 3 }, 9_000); // 1050 ms behind: late
  assert.equal(d.read('out').length, 1);
  assert.deepEqual(d.read<string, Ev>('late-j-late').map((x) => x.value.v), [3]);
});

test('stream–table join (inner and left, through an automatic repartition) equals DuckDB ASOF joins', async () => {
  const r = rng(31);
  type Row = { k: string; ts: number; tier: number | null };
  type Click = { id: string; user: string; ts: number };
  const rows: Row[] = [];
  const clicks: Click[] = [];
  const b = new StreamsBuilder('stj');
  const users = b.table<string, { tier: number }>('users', { name: 'users' });
  const byUser = b.stream<string, Click>('clicks').selectKey((_k, c) => c.user);
  byUser.join(users, (c, u) => ({ id: c.id, tier: u.tier }), { name: 'enrich' }).to('inner');
  byUser.leftJoin(users, (c, u) => ({ id: c.id, tier: u?.tier ?? null }), { name: 'enrich-left' }).to('left');
  const topology = b.build();
  const d = new TopologyTestDriver(topology, { partitions: { users: 3, clicks: 2 } });
  let ts = 1_000_000;
  for (let i = 0; i < 400; i++) {
    ts += 2;
    const user = `u${Math.floor(r() * 8)}`;
    if (r() < 0.3) {
      const del = r() < 0.15;
      const row = { k: user, ts, tier: del ? null : Math.floor(r() * 5) };
      rows.push(row);
      if (del) d.pipeRaw('users', Buffer.from(user), null, ts);
      else d.pipe('users', user, { tier: row.tier }, ts);
    } else {
      const c = { id: `c${i}`, user, ts: ts + 1 };
      clicks.push(c);
      d.pipe('clicks', c.id, c, c.ts);
    }
  }
  await oracle.load('U', { k: 'VARCHAR', ts: 'BIGINT', tier: 'BIGINT' }, rows as never);
  await oracle.load('C', { id: 'VARCHAR', user: 'VARCHAR', ts: 'BIGINT' }, clicks as never);
  const asof = `SELECT C.id, C.user AS k, U.tier FROM C ASOF LEFT JOIN U ON C.user = U.k AND C.ts >= U.ts`;
  const left = canonical(await oracle.rows(asof));
  const inner = canonical((await oracle.rows(asof)).filter((x) => x['tier'] !== null));
  assert.deepEqual(canonical(d.read<string, { id: string; tier: number | null }>('left').map((x) => ({ id: x.value.id, k: x.key, tier: x.value.tier }))), left);
  assert.deepEqual(canonical(d.read<string, { id: string; tier: number }>('inner').map((x) => ({ id: x.value.id, k: x.key, tier: x.value.tier }))), inner);
  // The repartition topic took the table's partition count (co-partitioning).
  assert.deepEqual(new Set(d.read('stj-enrich-repartition').map((x) => x.partition)).size <= 3, true);
});

for (const kind of ['inner', 'left', 'outer'] as const) {
  test(`table–table ${kind} join: result table equals DuckDB's ${kind} join of the final rows; every change is emitted`, async () => {
    const r = rng(40 + kind.length);
    type Upd = { k: string; seq: number; v: number | null };
    const a: Upd[] = [];
    const bb: Upd[] = [];
    const b = new StreamsBuilder('ttj');
    const ta = b.table<string, { v: number }>('a', { name: 'ta' });
    const tb = b.table<string, { v: number }>('b', { name: 'tb' });
    const j = (x: { v: number } | null, y: { v: number } | null) => ({ a: x?.v ?? null, b: y?.v ?? null });
    const res = kind === 'inner' ? ta.join(tb, j, { name: 'res' }) : kind === 'left' ? ta.leftJoin(tb, j, { name: 'res' }) : ta.outerJoin(tb, j, { name: 'res' });
    res.toStream().to('out');
    const d = new TopologyTestDriver(b.build(), { partitions: { a: 2, b: 2 } });
    for (let i = 0; i < 500; i++) {
      const side = r() < 0.5 ? a : bb;
      const k = `k${Math.floor(r() * 20)}`;
      const v = r() < 0.2 ? null : Math.floor(r() * 100);
      side.push({ k, seq: i, v });
      const topic = side === a ? 'a' : 'b';
      if (v === null) d.pipeRaw(topic, Buffer.from(k), null, i);
      else d.pipe(topic, k, { v }, i);
    }
    await oracle.load('A', { k: 'VARCHAR', seq: 'BIGINT', v: 'BIGINT' }, a as never);
    await oracle.load('B', { k: 'VARCHAR', seq: 'BIGINT', v: 'BIGINT' }, bb as never);
    const last = (t: string) => `(SELECT k, arg_max_null(v, seq) AS v FROM ${t} GROUP BY k HAVING arg_max_null(v, seq) IS NOT NULL)`;
    const sqlJoin = kind === 'inner' ? 'JOIN' : kind === 'left' ? 'LEFT JOIN' : 'FULL OUTER JOIN';
    const expected = canonical(await oracle.rows(`SELECT coalesce(x.k, y.k) AS k, x.v AS a, y.v AS b FROM ${last('A')} x ${sqlJoin} ${last('B')} y ON x.k = y.k`));
    const store: Array<{ k: string; a: number | null; b: number | null }> = [];
    for (let p = 0; p < 2; p++) for (const e of (d.store('res', p) as unknown as { entries(): Iterable<{ key: string; value: { a: number | null; b: number | null } }> }).entries()) store.push({ k: e.key, ...e.value });
    assert.deepEqual(canonical(store), expected);
    // The changelog of the output (last value per key, tombstones removing) ends in the same table.
    const fromStream = new Map<string, unknown>();
    for (const x of d.read<string, { a: number | null; b: number | null } | null>('out')) {
      if (x.value === null) fromStream.delete(x.key);
      else fromStream.set(x.key, { k: x.key, ...x.value });
    }
    assert.deepEqual(canonical([...fromStream.values()] as object[]), expected);
  });
}

for (const kind of ['inner', 'left'] as const) {
  test(`foreign-key ${kind} join: orders joined with their product row equal DuckDB's join of the final tables`, async () => {
    const r = rng(kind === 'inner' ? 51 : 52);
    type O = { k: string; seq: number; pid: string | null; qty: number | null };
    type P = { k: string; seq: number; price: number | null };
    const orders: O[] = [];
    const products: P[] = [];
    const b = new StreamsBuilder('fk');
    const ot = b.table<string, { pid: string; qty: number }>('orders', { name: 'orders' });
    const pt = b.table<string, { price: number }>('products', { name: 'products' });
    const j = (o: { pid: string; qty: number }, p: { price: number } | null) => ({ pid: o.pid, qty: o.qty, price: p?.price ?? null });
    const res = kind === 'inner' ? ot.joinOnForeignKey(pt, (o) => o.pid, j, { name: 'priced' }) : ot.leftJoinOnForeignKey(pt, (o) => o.pid, j, { name: 'priced' });
    res.toStream().to('out');
    const d = new TopologyTestDriver(b.build(), { partitions: { orders: 2, products: 3 } });
    for (let i = 0; i < 600; i++) {
      if (r() < 0.4) {
        const k = `p${Math.floor(r() * 10)}`;
        const price = r() < 0.15 ? null : Math.floor(r() * 1000);
        products.push({ k, seq: i, price });
        if (price === null) d.pipeRaw('products', Buffer.from(k), null, i);
        else d.pipe('products', k, { price }, i);
      } else {
        const k = `o${Math.floor(r() * 30)}`;
        const del = r() < 0.1;
        const pid = del ? null : `p${Math.floor(r() * 12)}`;
        const qty = del ? null : 1 + Math.floor(r() * 5);
        orders.push({ k, seq: i, pid, qty });
        if (del) d.pipeRaw('orders', Buffer.from(k), null, i);
        else d.pipe('orders', k, { pid, qty }, i);
      }
    }
    await oracle.load('O', { k: 'VARCHAR', seq: 'BIGINT', pid: 'VARCHAR', qty: 'BIGINT' }, orders as never);
    await oracle.load('P', { k: 'VARCHAR', seq: 'BIGINT', price: 'BIGINT' }, products as never);
    const expected = canonical(
      await oracle.rows(`
        WITH o AS (SELECT k, arg_max_null(pid, seq) AS pid, arg_max_null(qty, seq) AS qty FROM O GROUP BY k HAVING arg_max_null(qty, seq) IS NOT NULL),
             p AS (SELECT k, arg_max_null(price, seq) AS price FROM P GROUP BY k HAVING arg_max_null(price, seq) IS NOT NULL)
        SELECT o.k, o.pid, o.qty, p.price FROM o ${kind === 'inner' ? 'JOIN' : 'LEFT JOIN'} p ON o.pid = p.k`),
    );
    const table = new Map<string, unknown>();
    for (const x of d.read<string, { pid: string; qty: number; price: number | null } | null>('out')) {
      if (x.value === null) table.delete(x.key);
      else table.set(x.key, { k: x.key, ...x.value });
    }
    assert.ok(expected.length > 10);
    assert.deepEqual(canonical([...table.values()] as object[]), expected);
    // The subscription topic is co-partitioned with the product table.
    assert.ok(d.read('fk-priced-fk-subscription').every((x) => x.partition < 3));
  });
}
