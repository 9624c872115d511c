/** Topology tests (test driver) for the stateless operators, grouping, aggregations and tables. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamsBuilder, TopologyTestDriver, Serdes, StreamsError, describeTopology } from '../../src/streams/index.ts';

interface Order {
  user: string;
  total: number;
  items?: string[];
}

function values<V>(driver: TopologyTestDriver, topic: string): V[] {
  return driver.read<string, V>(topic).map((r) => r.value);
}

test('filter, filterNot, mapValues, map, flatMap, flatMapValues, peek and to', () => {
  const b = new StreamsBuilder('ops');
  const seen: string[] = [];
  const s = b.stream<string, Order>('orders');
  s.filter((_k, v) => v.total >= 10).mapValues((v) => ({ ...v, total: v.total * 2 })).to('big');
  s.filterNot((_k, v) => v.total >= 10).to('small');
  s.map((k, v) => [v.user, `${k}:${v.total}`]).to('by-user', { value: Serdes.string() });
  s.flatMap((k, v) => (v.items ?? []).map((i) => [i, k] as [string, string])).to('items');
  s.flatMapValues((v) => v.items ?? []).peek((k, v) => seen.push(`${k}=${v}`)).to('item-values');
  const d = new TopologyTestDriver(b.build());
  d.pipe('orders', 'o1', { user: 'u1', total: 5, items: ['a', 'b'] }, 1);
  d.pipe('orders', 'o2', { user: 'u2', total: 50, items: [] }, 2);
  d.pipe('orders', 'o3', { user: 'u1', total: 10, items: ['c'] }, 3);
  assert.deepEqual(values<Order>(d, 'big').map((o) => o.total), [100, 20]);
  assert.deepEqual(values<Order>(d, 'small').map((o) => o.total), [5]);
  assert.deepEqual(d.read('by-user', { value: Serdes.string() }).map((r) => [r.key, r.value]), [['u1', 'o1:5'], ['u2', 'o2:50'], ['u1', 'o3:10']]);
  assert.deepEqual(d.read('items', { value: Serdes.string() }).map((r) => [r.key, r.value]), [['a', 'o1'], ['b', 'o1'], ['c', 'o3']]);
  assert.deepEqual(seen, ['o1=a', 'o1=b', 'o3=c']);
  // Timestamps travel with the records.
  assert.deepEqual(d.read('big').map((r) => r.ts), [2, 3]);
});

test('branch sends a record to the first matching branch only; merge unites streams', () => {
  const b = new StreamsBuilder('branching');
  const [large, medium, rest] = b.stream<string, number>('n', { value: Serdes.number() }).branch((_k, v) => v > 100, (_k, v) => v > 10, () => true);
  large!.to('large');
  medium!.to('medium');
  large!.merge(rest!).to('large-or-small');
  const d = new TopologyTestDriver(b.build());
  for (const [i, v] of [500, 50, 5, 101, 11, 1].entries()) d.pipe('n', `k${i}`, String(v), i);
  assert.deepEqual(values(d, 'large'), [500, 101]);
  assert.deepEqual(values(d, 'medium'), [50, 11]);
  assert.deepEqual(values(d, 'large-or-small'), [500, 5, 101, 1]);
});

test('selectKey + groupByKey repartitions through <app>-<name>-repartition; count per new key', () => {
  const b = new StreamsBuilder('rk');
  b.stream<string, Order>('orders')
    .selectKey((_k, v) => v.user)
    .groupByKey({ name: 'by-user' })
    .count({ name: 'orders-per-user' })
    .toStream()
    .to('counts');
  const topology = b.build();
  assert.ok(topology.internalTopics.has('rk-by-user-repartition'));
  assert.equal(topology.subtopologies.length, 2);
  const d = new TopologyTestDriver(topology, { partitions: { orders: 3 } });
  const users = ['u1', 'u2', 'u1', 'u3', 'u1', 'u2'];
  users.forEach((u, i) => d.pipe('orders', `o${i}`, { user: u, total: i }, i));
  // Every record crossed the repartition topic, keyed by user.
  assert.deepEqual(d.read('rk-by-user-repartition').map((r) => r.key).sort(), [...users].sort());
  const last = new Map(d.read<string, number>('counts').map((r) => [r.key, r.value]));
  assert.deepEqual(Object.fromEntries(last), { u1: 3, u2: 2, u3: 1 });
  // The three partitions of the repartition topic are the three tasks of the second sub-topology.
  let total = 0;
  for (const t of d.taskList()) for (const s of t.stores.values()) total += s.size;
  assert.equal(total, 3);
});

test('groupBy + reduce and aggregate keep one value per key and forward every change', () => {
  const b = new StreamsBuilder('agg');
  const s = b.stream<string, Order>('orders');
  s.groupBy((_k, v) => v.user, { name: 'by-user' }).reduce((a, v) => ({ ...a, total: a.total + v.total }), { name: 'totals' }).toStream().mapValues((v) => v?.total ?? null).to('totals');
  s.groupByKey()
    .aggregate(() => ({ n: 0, max: -Infinity }), (_k, v, a) => ({ n: a.n + 1, max: Math.max(a.max, v.total) }), { name: 'stats' })
    .toStream()
    .to('stats');
  const d = new TopologyTestDriver(b.build());
  d.pipe('orders', 'a', { user: 'x', total: 3 }, 1);
  d.pipe('orders', 'a', { user: 'y', total: 4 }, 2);
  d.pipe('orders', 'b', { user: 'x', total: 5 }, 3);
  assert.deepEqual(d.read<string, number>('totals').map((r) => [r.key, r.value]), [['x', 3], ['y', 4], ['x', 8]]);
  assert.deepEqual(d.read<string, { n: number; max: number }>('stats').map((r) => [r.key, r.value.n, r.value.max]), [['a', 1, 3], ['a', 2, 4], ['b', 1, 5]]);
  // Changelog: one record per changed key per commit, keyed by the encoded key.
  const cl = d.changelog('stats');
  assert.equal(cl.length, 3);
  assert.deepEqual(JSON.parse(cl[2]!.value!.toString()), { n: 1, max: 5 });
});

test('records with null key or value are skipped by aggregations (Kafka semantics)', () => {
  const b = new StreamsBuilder('nulls');
  b.stream<string | null, Order | null>('orders').groupByKey().count({ name: 'c' }).toStream().to('out');
  const d = new TopologyTestDriver(b.build());
  d.pipeRaw('orders', null, Buffer.from('{"user":"u","total":1}'), 1);
  d.pipeRaw('orders', Buffer.from('k'), null, 2);
  d.pipe('orders', 'k', { user: 'u', total: 1 }, 3);
  assert.deepEqual(d.read('out').map((r) => [r.key, r.value]), [['k', 1]]);
});

test('tables: latest value per key, tombstones delete, filter/mapValues forward changes, toStream', () => {
  const b = new StreamsBuilder('tables');
  const t = b.table<string, { price: number }>('prices', { name: 'prices' });
  t.filter((_k, v) => v.price > 10).toStream().to('expensive');
  t.mapValues((v) => v.price * 100, { name: 'cents', materialized: true }).toStream().to('cents');
  const d = new TopologyTestDriver(b.build());
  d.pipe('prices', 'apple', { price: 5 }, 1);
  d.pipe('prices', 'pear', { price: 20 }, 2);
  d.pipe('prices', 'apple', { price: 15 }, 3);
  d.pipe('prices', 'pear', { price: 8 }, 4); // leaves the filtered table: a tombstone downstream
  d.pipeRaw('prices', Buffer.from('apple'), null, 5); // delete
  assert.deepEqual(d.read('expensive').map((r) => [r.key, r.value]), [['pear', { price: 20 }], ['apple', { price: 15 }], ['pear', null], ['apple', null]]);
  assert.deepEqual(d.read('cents').map((r) => [r.key, r.value]), [['apple', 500], ['pear', 2000], ['apple', 1500], ['pear', 800], ['apple', null]]);
  assert.equal(d.store('prices').size, 1);
  assert.equal((d.store('cents') as unknown as { get(k: string): unknown }).get('pear'), 800);
});

test('stream.toTable materializes the latest value per key', () => {
  const b = new StreamsBuilder('tt');
  b.stream<string, number>('n', { value: Serdes.number() }).selectKey((_k, v) => (v % 2 ? 'odd' : 'even')).toTable({ name: 'last' }).toStream().to('out');
  const d = new TopologyTestDriver(b.build());
  for (const v of [1, 2, 3, 4, 5]) d.pipe('n', `k${v}`, String(v), v);
  assert.deepEqual(d.read('out').map((r) => [r.key, r.value]), [['odd', 1], ['even', 2], ['odd', 3], ['even', 4], ['odd', 5]]);
  assert.ok(b.build().internalTopics.has('tt-last-repartition'));
});

test('unnamed stateful operators, duplicate names and topics read twice are rejected at build time', () => {
  const b = new StreamsBuilder('bad');
  const s = b.stream<string, number>('n');
  assert.throws(() => s.groupByKey().count({} as never), (e: unknown) => e instanceof StreamsError && e.code === 'TOPOLOGY_INVALID' && /needs a name/.test(e.message));
  assert.throws(() => s.groupBy((k) => k, {} as never), /needs a name/);
  assert.throws(() => b.table('t', {} as never), /needs a name/);
  s.groupByKey().count({ name: 'c' });
  assert.throws(() => s.groupByKey().count({ name: 'c' }), /used twice/);
  b.stream('n');
  assert.throws(() => b.build(), /read twice/);
});

test('describe lists sub-topologies, stores, changelogs and internal topics', () => {
  const b = new StreamsBuilder('desc');
  b.stream<string, Order>('orders').groupBy((_k, v) => v.user, { name: 'by-user' }).count({ name: 'counts' });
  const d = describeTopology(b.build());
  assert.equal(d.subtopologies.length, 2);
  assert.deepEqual(d.subtopologies[0]!.sinkTopics, ['desc-by-user-repartition']);
  assert.deepEqual(d.stores.map((s) => [s.name, s.changelogTopic]), [['counts', 'desc-counts-changelog']]);
  assert.deepEqual(d.internalTopics.map((t) => t.name).sort(), ['desc-by-user-repartition', 'desc-counts-changelog']);
});
