/**
 * The streams suite: Nexmark on Tributary's stream processing, exactly-once on, against DuckDB
 * computing the same answers in batch on the same events.
 *
 * Events follow the Nexmark generator's mix — per 50 events 1 person, 3 auctions, 46 bids (2 %,
 * 6 %, 92 %) — with 10 000 events per second of event time, ids and prices from a seeded
 * generator (a pure function of the event number, so the same events can be streamed to the log
 * and to DuckDB without holding them in memory). Sellers are recent persons; half the bids go to
 * a few hot auctions.
 *
 * Per query, two phases on one embedded log (fsync before acknowledging, group commit):
 * 1. throughput — the whole backlog (1M events by default, see DEFAULT_EVENTS; `--quick` 200k) is in the `nexmark` topic
 *    (4 partitions) before the app starts; figures: events/s over the wall time until every
 *    output is committed, and events per CPU-second of this process (the runner, the log and
 *    its fsyncs all run in it), i.e. per core. The outputs are then checked against DuckDB.
 * 2. latency — a producer feeds events at a fixed rate with event time = wall-clock time; a
 *    read_committed consumer notes when each output becomes visible. Latency = visible − the
 *    event time at which the output was determined (the input's time for q0–q2; window end +
 *    grace for windowed results).
 * DuckDB: the events are appended into three tables; its time is the query alone.
 */
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/index.ts';
import type { ProducerRecord } from '../../src/bus/types.ts';
import { runStreamApp, defineStreamApp, type StreamAppDefinition } from '../../src/streams/app.ts';
import { JoinWindows, TimeWindows } from '../../src/streams/index.ts';
import { percentile } from '../lib/stats.ts';
import type { CaseContext, Metrics, Suite } from '../lib/suite.ts';
import { makeWorkDir, removeWorkDir } from '../lib/workdir.ts';

// ---------------------------------------------------------------------------------------------
// Nexmark events

interface Person { t: 'p'; id: number; name: string; emailAddress: string; creditCard: string; city: string; state: string; dateTime: number }
interface Auction { t: 'a'; id: number; itemName: string; description: string; initialBid: number; reserve: number; dateTime: number; expires: number; seller: number; category: number }
interface Bid { t: 'b'; auction: number; bidder: number; price: number; channel: string; url: string; dateTime: number }
type Event = Person | Auction | Bid;

const BASE_TIME = Date.UTC(2024, 0, 1);
const EVENTS_PER_MS = 10;
const FIRST_ID = 1000;
const NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];

function hash(i: number, salt: number): number {
  let h = (i ^ Math.imul(salt, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Event number `i` (a pure function: the same i, the same event). */
function eventAt(i: number, time = BASE_TIME + Math.floor(i / EVENTS_PER_MS)): Event {
  const epoch = Math.floor(i / 50);
  const m = i % 50;
  const persons = epoch + (m >= 1 ? 1 : 0); // persons created before event i+1
  const auctions = epoch * 3 + Math.min(Math.max(m - 1, 0), 3) + (m >= 4 ? 0 : 0);
  if (m === 0) {
    const id = FIRST_ID + epoch;
    const h = hash(i, 1);
    return { t: 'p', id, name: `${NAMES[h % NAMES.length]} ${NAMES[(h >>> 8) % NAMES.length]}`, emailAddress: `u${id}@example.com`, creditCard: String(1e15 + (h % 9e14)), city: CITIES[(h >>> 4) % CITIES.length]!, state: STATES[(h >>> 12) % STATES.length]!, dateTime: time };
  }
  if (m <= 3) {
    const id = FIRST_ID + epoch * 3 + (m - 1);
    const h = hash(i, 2);
    const seller = FIRST_ID + Math.max(0, persons - 1 - (h % Math.min(persons, 20)));
    const initialBid = 100 + (h % 10_000);
    return { t: 'a', id, itemName: `item-${id}`, description: 'an item', initialBid, reserve: initialBid * 2, dateTime: time, expires: time + 20_000, seller, category: 10 + (h % 5) };
  }
  const h = hash(i, 3);
  const lastAuction = FIRST_ID + auctions - 1;
  // Half the bids go to one of the three newest hot auctions (every 10th id), the rest to a recent one.
  const hot = (h & 1) === 0;
  const auction = hot ? Math.max(FIRST_ID, lastAuction - (lastAuction % 10) - 10 * ((h >>> 1) % 3)) : Math.max(FIRST_ID, lastAuction - ((h >>> 1) % 100));
  const bidder = FIRST_ID + Math.max(0, persons - 1 - ((h >>> 8) % Math.min(persons, 100)));
  return { t: 'b', auction, bidder, price: 100 + ((h >>> 10) % 100_000), channel: CHANNELS[(h >>> 3) % CHANNELS.length]!, url: `https://www.nexmark.com/item.htm?query=${(h >>> 5) % 1000}`, dateTime: time };
}

const isBid = (e: Event): e is Bid => e.t === 'b';

// ---------------------------------------------------------------------------------------------
// The queries as stream apps

/**
 * The issue asks for 10M events if a whole run (6 queries × 3 runs, throughput and latency)
 * finishes within 25 minutes on this machine. It does not: q5 runs at ~8k events/s of wall time
 * here (2 cores shared with other work), so 10M would take ~20 min for q5 alone per run. 1M
 * events keeps the whole suite near 25 minutes. `--events 10000000` runs the full size.
 */
const DEFAULT_EVENTS = 1_000_000;
const TOPIC = 'nexmark';
const PARTITIONS = 4;
const WINDOW = 10_000;
const GRACE = 1_000;

interface QuerySpec {
  id: string;
  title: string;
  /** Grace after which windowed results are determined (0: per input). */
  grace: number;
  app(appId: string, out: string): StreamAppDefinition;
  /** DuckDB's answer, canonical rows. */
  duck(conn: DuckDBConnection): Promise<string[]>;
  /** The stream answer from the output records (value JSON, key string). */
  answer(records: Array<{ key: string | null; value: string }>): string[];
}

async function duckRows(conn: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  const r = await conn.runAndReadAll(sql);
  return r.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
}

function lastPerKey(records: Array<{ key: string | null; value: string }>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const r of records) m.set(r.key ?? '', JSON.parse(r.value));
  return m;
}

const QUERIES: QuerySpec[] = [
  {
    id: 'q0',
    title: 'q0 pass-through (bids)',
    grace: 0,
    app: (appId, out) => defineStreamApp({ id: appId, build: (b) => b.stream<null, Event>(TOPIC).filter((_k, e) => isBid(e)).to(out) }),
    duck: async (c) => (await duckRows(c, 'SELECT count(*) AS n, sum(price) AS s FROM bid')).map((r) => `${r['n']}:${r['s']}`),
    answer: (recs) => {
      let s = 0;
      for (const r of recs) s += (JSON.parse(r.value) as Bid).price;
      return [`${recs.length}:${s}`];
    },
  },
  {
    id: 'q1',
    title: 'q1 currency conversion',
    grace: 0,
    app: (appId, out) =>
      defineStreamApp({ id: appId, build: (b) => b.stream<null, Event>(TOPIC).filter((_k, e) => isBid(e)).mapValues((e) => ({ ...(e as Bid), price: Math.round((e as Bid).price * 0.908 * 100) / 100 })).to(out) }),
    duck: async (c) => (await duckRows(c, 'SELECT count(*) AS n, round(sum(round(price * 0.908, 2)), 2) AS s FROM bid')).map((r) => `${r['n']}:${Number(r['s']).toFixed(2)}`),
    answer: (recs) => {
      let s = 0;
      for (const r of recs) s += Math.round((JSON.parse(r.value) as Bid).price * 100);
      return [`${recs.length}:${(s / 100).toFixed(2)}`];
    },
  },
  {
    id: 'q2',
    title: 'q2 selection (auction % 123 = 0)',
    grace: 0,
    app: (appId, out) =>
      defineStreamApp({ id: appId, build: (b) => b.stream<null, Event>(TOPIC).filter((_k, e) => isBid(e) && e.auction % 123 === 0).mapValues((e) => ({ auction: (e as Bid).auction, price: (e as Bid).price })).to(out) }),
    duck: async (c) => (await duckRows(c, 'SELECT auction, price, count(*) AS n FROM bid WHERE auction % 123 = 0 GROUP BY ALL')).map((r) => `${r['auction']}:${r['price']}:${r['n']}`).sort(),
    answer: (recs) => {
      const m = new Map<string, number>();
      for (const r of recs) {
        const v = JSON.parse(r.value) as { auction: number; price: number };
        m.set(`${v.auction}:${v.price}`, (m.get(`${v.auction}:${v.price}`) ?? 0) + 1);
      }
      return [...m].map(([k, n]) => `${k}:${n}`).sort();
    },
  },
  {
    id: 'q5',
    title: 'q5 hot items (hopping 10 s / 2 s)',
    grace: GRACE,
    app: (appId, out) =>
      defineStreamApp({
        id: appId,
        build: (b) =>
          b
            .stream<null, Event>(TOPIC)
            .filter((_k, e) => isBid(e))
            .groupBy((_k, e) => String((e as Bid).auction), { name: 'by-auction' })
            .windowedBy(TimeWindows.hopping(WINDOW, 2_000).grace(GRACE))
            .count({ name: 'bids-per-auction', emit: 'final' })
            .toStream()
            .map((w, n) => [String(w.start), { auction: Number(w.key), n: n! }])
            .groupByKey({ name: 'by-window' })
            .aggregate(() => ({ max: 0, auctions: [] as number[] }), (_w, c, a) => (c.n > a.max ? { max: c.n, auctions: [c.auction] } : c.n === a.max ? { max: a.max, auctions: [...a.auctions, c.auction].sort((x, y) => x - y) } : a), { name: 'hottest' })
            .toStream()
            .to(out),
      }),
    duck: async (c) =>
      (
        await duckRows(
          c,
          `WITH w AS (SELECT auction, dateTime - dateTime % 2000 - i * 2000 AS ws, dateTime FROM bid, range(0, 5) r(i)),
                cnt AS (SELECT auction, ws, count(*) AS n FROM w WHERE ws + 10000 > dateTime GROUP BY ALL),
                mx AS (SELECT ws, max(n) AS m FROM cnt GROUP BY ws)
           SELECT cnt.ws, cnt.n, string_agg(cnt.auction::VARCHAR, ',' ORDER BY cnt.auction) AS a FROM cnt JOIN mx ON cnt.ws = mx.ws AND cnt.n = mx.m GROUP BY cnt.ws, cnt.n`,
        )
      ).map((r) => `${r['ws']}:${r['n']}:${r['a']}`).sort(),
    answer: (recs) => [...lastPerKey(recs)].map(([ws, v]) => `${ws}:${(v as { max: number }).max}:${(v as { auctions: number[] }).auctions.join(',')}`).sort(),
  },
  {
    id: 'q7',
    title: 'q7 highest bid (tumbling 10 s)',
    grace: GRACE,
    app: (appId, out) =>
      defineStreamApp({
        id: appId,
        build: (b) =>
          b
            .stream<null, Event>(TOPIC)
            .filter((_k, e) => isBid(e))
            .groupBy(() => 'all', { name: 'one-group' })
            .windowedBy(TimeWindows.tumbling(WINDOW).grace(GRACE))
            .aggregate(() => ({ price: -1, auction: 0, bidder: 0 }), (_k, e, a) => ((e as Bid).price > a.price ? { price: (e as Bid).price, auction: (e as Bid).auction, bidder: (e as Bid).bidder } : a), { name: 'highest', emit: 'final' })
            .toStream((w) => String(w.start))
            .to(out),
      }),
    duck: async (c) => (await duckRows(c, 'SELECT dateTime - dateTime % 10000 AS ws, max(price) AS p FROM bid GROUP BY ALL')).map((r) => `${r['ws']}:${r['p']}`).sort(),
    answer: (recs) => [...lastPerKey(recs)].map(([ws, v]) => `${ws}:${(v as { price: number }).price}`).sort(),
  },
  {
    id: 'q8',
    title: 'q8 new users (windowed join, tumbling 10 s)',
    grace: 0, // a join result is determined by its later input
    app: (appId, out) =>
      defineStreamApp({
        id: appId,
        build: (b) => {
          // Persons and auctions keyed by (person id | seller, window start): a windowed
          // stream–stream join pairs a new person with the auctions they opened in the same window.
          const events = b.stream<null, Event>(TOPIC);
          const win = (t: number) => t - (t % WINDOW);
          const persons = events.filter((_k, e) => e.t === 'p').selectKey((_k, e) => `${(e as Person).id}:${win(e.dateTime)}`);
          const auctions = events.filter((_k, e) => e.t === 'a').selectKey((_k, e) => `${(e as Auction).seller}:${win(e.dateTime)}`);
          persons
            .join(auctions, (p, a) => ({ id: (p as Person).id, name: (p as Person).name, starttime: win(p.dateTime), auction: (a as Auction).id }), JoinWindows.of(WINDOW).grace(GRACE), { name: 'new-sellers' })
            .to(out);
        },
      }),
    duck: async (c) =>
      (await duckRows(c, `SELECT p.id, p.ws FROM (SELECT id, dateTime - dateTime % 10000 AS ws FROM person) p JOIN (SELECT DISTINCT seller, dateTime - dateTime % 10000 AS ws FROM auction) a ON p.id = a.seller AND p.ws = a.ws`))
        .map((r) => `${r['id']}:${r['ws']}`)
        .sort(),
    answer: (recs) => [...new Set(recs.map((r) => JSON.parse(r.value) as { id: number; starttime: number }).map((v) => `${v.id}:${v.starttime}`))].sort(),
  },
];

// ---------------------------------------------------------------------------------------------
// Running

interface Shared {
  dir: string;
  bus: EmbeddedBus;
  events: number;
  duck: DuckDBConnection;
  duckInstance: DuckDBInstance;
  duckLoadSec: number;
}

async function produceBacklog(bus: EmbeddedBus, n: number, log: (m: string) => void): Promise<void> {
  await bus.admin().createTopic(TOPIC, { partitions: PARTITIONS, ackPolicy: 'fsync', retentionMs: null, segmentBytes: 256 * 1024 * 1024 });
  const producer = bus.producer({ lingerMs: 2 });
  const chunk = 5_000;
  const window: Array<Promise<unknown>> = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i += chunk) {
    const recs: ProducerRecord[] = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) {
      const e = eventAt(j);
      recs.push({ key: null, value: Buffer.from(JSON.stringify(e)), timestamp: e.dateTime, partition: j % PARTITIONS });
    }
    window.push(producer.send(TOPIC, recs));
    if (window.length >= 32) await window.shift();
    if (i % 1_000_000 === 0 && i > 0) log(`produced ${i.toLocaleString('en-US')} events`);
  }
  await Promise.all(window);
  await producer.close();
  log(`backlog of ${n.toLocaleString('en-US')} events produced in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function loadDuck(n: number): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection; sec: number }> {
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false', threads: '1' });
  const conn = await instance.connect();
  await conn.run('CREATE TABLE person (id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, state VARCHAR, dateTime BIGINT)');
  await conn.run('CREATE TABLE auction (id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime BIGINT, expires BIGINT, seller BIGINT, category BIGINT)');
  await conn.run('CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime BIGINT)');
  const t0 = process.hrtime.bigint();
  const ap = await conn.createAppender('person');
  const aa = await conn.createAppender('auction');
  const ab = await conn.createAppender('bid');
  for (let i = 0; i < n; i++) {
    const e = eventAt(i);
    if (e.t === 'p') {
      ap.appendBigInt(BigInt(e.id)); ap.appendVarchar(e.name); ap.appendVarchar(e.emailAddress); ap.appendVarchar(e.creditCard); ap.appendVarchar(e.city); ap.appendVarchar(e.state); ap.appendBigInt(BigInt(e.dateTime)); ap.endRow();
    } else if (e.t === 'a') {
      aa.appendBigInt(BigInt(e.id)); aa.appendVarchar(e.itemName); aa.appendVarchar(e.description); aa.appendBigInt(BigInt(e.initialBid)); aa.appendBigInt(BigInt(e.reserve)); aa.appendBigInt(BigInt(e.dateTime)); aa.appendBigInt(BigInt(e.expires)); aa.appendBigInt(BigInt(e.seller)); aa.appendBigInt(BigInt(e.category)); aa.endRow();
    } else {
      ab.appendBigInt(BigInt(e.auction)); ab.appendBigInt(BigInt(e.bidder)); ab.appendBigInt(BigInt(e.price)); ab.appendVarchar(e.channel); ab.appendVarchar(e.url); ab.appendBigInt(BigInt(e.dateTime)); ab.endRow();
    }
  }
  for (const a of [ap, aa, ab]) {
    a.flushSync();
    a.closeSync();
  }
  return { instance, conn, sec: Number(process.hrtime.bigint() - t0) / 1e9 };
}

async function readOutputs(bus: EmbeddedBus, topic: string): Promise<Array<{ key: string | null; value: string }>> {
  const desc = await bus.admin().describeTopic(topic);
  const c = bus.consumer({ isolationLevel: 'read_committed', fromBeginning: true, maxPollRecords: 50_000 });
  c.assign(desc.partitions.map((p) => ({ topic, partition: p.partition, offset: 0 })));
  const out: Array<{ key: string | null; value: string }> = [];
  try {
    for (;;) {
      const recs = await c.poll({ timeoutMs: 200 });
      if (recs.length === 0) break;
      for (const r of recs) if (r.value) out.push({ key: r.key?.toString() ?? null, value: r.value.toString() });
    }
  } finally {
    await c.close();
  }
  return out;
}

function sameAnswer(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function runThroughput(shared: Shared, q: QuerySpec, run: number, ctx: CaseContext): Promise<Metrics> {
  const appId = `${q.id}-r${run}`;
  const out = `${appId}-out`;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const runner = await runStreamApp(shared.bus, q.app(appId, out), { processingGuarantee: 'exactly_once', commitIntervalMs: 100, idleMs: 3_000, maxFutureMs: Number.MAX_SAFE_INTEGER, maxPollRecords: 2_000, stateDir: null });
  // Done when the input is committed and nothing moved for a while (internal topics drained,
  // windows closed by the idle watermark).
  let lastProcessed = -1;
  let stableSince = Date.now();
  let doneAt = process.hrtime.bigint();
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const p = runner.totals.processed;
    if (p !== lastProcessed) {
      lastProcessed = p;
      stableSince = Date.now();
      doneAt = process.hrtime.bigint();
      continue;
    }
    const g = await shared.bus.admin().describeGroup(appId).catch(() => null);
    const inputLag = g ? g.offsets.filter((o) => o.topic === TOPIC).reduce((n, o) => n + (o.lag ?? o.logEndOffset), 0) : 1;
    if (inputLag === 0 && Date.now() - stableSince > 5_000) break;
  }
  const cpu = process.cpuUsage(cpu0);
  await runner.stop();
  const wallSec = Number(doneAt - t0) / 1e9;
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const records = await readOutputs(shared.bus, out);
  const mine = q.answer(records);
  const t1 = process.hrtime.bigint();
  const duck = await q.duck(shared.duck);
  const duckSec = Number(process.hrtime.bigint() - t1) / 1e9;
  const match = sameAnswer(mine, duck);
  ctx.log(`${q.id}: ${records.length} outputs, ${Math.round(shared.events / wallSec).toLocaleString('en-US')} events/s, ${Math.round(shared.events / cpuSec).toLocaleString('en-US')} per CPU-s; DuckDB ${duckSec.toFixed(2)} s; answers ${match ? 'match' : 'DIFFER'}`);
  if (!match) {
    ctx.log(`  late records: ${runner.totals.late}, dead letters: ${runner.totals.deadLettered}`);
    const a = new Set(mine);
    const b = new Set(duck);
    ctx.log(`  only in the stream answer: ${JSON.stringify(mine.filter((x) => !b.has(x)).slice(0, 5))}; only in DuckDB's: ${JSON.stringify(duck.filter((x) => !a.has(x)).slice(0, 5))}`);
    throw new Error(`${q.id}: the stream answer differs from DuckDB's (${mine.length} vs ${duck.length} rows)`);
  }
  return {
    eventsPerSec: Math.round(shared.events / wallSec),
    eventsPerCoreSec: Math.round(shared.events / cpuSec),
    wallSec,
    cpuSec,
    outputs: records.length,
    duckdbSec: duckSec,
    duckdbEventsPerSec: Math.round(shared.events / duckSec),
    duckdbLoadSec: shared.duckLoadSec,
    answersMatch: 1,
  };
}

async function runLatency(bus: EmbeddedBus, q: QuerySpec, run: number, rate: number, seconds: number): Promise<Metrics> {
  const appId = `${q.id}-lat-r${run}`;
  const out = `${appId}-out`;
  const topic = `${TOPIC}-live-${q.id}-r${run}`;
  await bus.admin().createTopic(topic, { partitions: PARTITIONS });
  const app = q.app(appId, out);
  const liveApp = defineStreamApp({ ...app, build: (b) => app.build(new Proxy(b, { get: (t, p) => (p === 'stream' ? (_topic: string, o: object) => t.stream(topic, o) : Reflect.get(t, p)) })) });
  const runner = await runStreamApp(bus, liveApp, { processingGuarantee: 'exactly_once', commitIntervalMs: 100, idleMs: 60_000, maxFutureMs: 60_000, stateDir: null });
  await bus.admin().createTopic(out, { partitions: PARTITIONS }).catch(() => {});
  const latencies: number[] = [];
  const consumer = bus.consumer({ isolationLevel: 'read_committed', fromBeginning: true });
  consumer.assign(Array.from({ length: (await bus.admin().describeTopic(out)).partitions.length }, (_, partition) => ({ topic: out, partition, offset: 0 })));
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const recs = await consumer.poll({ timeoutMs: 50 });
      const now = Date.now();
      for (const r of recs) latencies.push(now - (r.timestamp + q.grace));
    }
  })();
  const producer = bus.producer({ lingerMs: 1 });
  const start = Date.now();
  let i = 0;
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    const recs: ProducerRecord[] = [];
    for (; i < due; i++) {
      const e = eventAt(i, Date.now());
      recs.push({ key: null, value: Buffer.from(JSON.stringify(e)), timestamp: e.dateTime, partition: i % PARTITIONS });
    }
    if (recs.length) void producer.send(topic, recs);
    await new Promise((r) => setTimeout(r, 5));
  }
  // Keep time moving past the last windows' grace so they close, then drain.
  const tail = Date.now();
  while (Date.now() - tail < WINDOW + 3 * q.grace + 1_000 && q.grace > 0) {
    const e = eventAt(i++, Date.now());
    await producer.send(topic, [{ key: null, value: Buffer.from(JSON.stringify(e)), timestamp: e.dateTime, partition: i % PARTITIONS }]);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 1_000));
  reading = false;
  await reader;
  await consumer.close();
  await producer.close();
  await runner.stop();
  return { latencyP50Ms: percentile(latencies, 50), latencyP99Ms: percentile(latencies, 99), latencySamples: latencies.length, liveRatePerSec: rate };
}

const suite: Suite = {
  title: 'Nexmark (stream processing, exactly-once) vs DuckDB in batch',
  description:
    'Nexmark events (per 50: 1 person, 3 auctions, 46 bids; 10 000 events per second of event time) in a 4-partition topic of the embedded log (fsync before acknowledging). Each query runs as a stream app with exactly-once processing (transactions every 100 ms) over the whole backlog: events/s of wall time until every output is committed, and events per CPU-second of the process (runner, log and fsyncs in one process: "per core"). Then live: events produced at a fixed rate with event time = now, p50/p99 from the moment a result is determined (input time; window end + grace for windows) to its visibility to a read_committed consumer. DuckDB (1 thread, in memory) computes the same answers from the same events; its time is the query alone (loading is reported apart), and every run checks that both answers are equal.',
  subject: 'tributary',
  columns: [
    { key: 'eventsPerSec', label: 'events/s', digits: 0 },
    { key: 'eventsPerCoreSec', label: 'events per CPU-s', digits: 0 },
    { key: 'latencyP50Ms', label: 'p50 latency ms', digits: 0 },
    { key: 'latencyP99Ms', label: 'p99 latency ms', digits: 0 },
    { key: 'duckdbEventsPerSec', label: 'DuckDB events/s (batch)', digits: 0 },
    { key: 'answersMatch', label: 'answers match', digits: 0 },
  ],
  ratios: [],
  optionsHelp: `  --events N      backlog size (default ${DEFAULT_EVENTS}; --quick 200000)\n  --queries q0,q5  a subset\n  --rate N        live events/s for latency (default 10000)\n  --live-seconds N (default 10)`,
  summary(cases) {
    const flink: Record<string, number> = { q5: 22_100, q7: 12_300, q8: 146_000 };
    const lines: string[] = [];
    for (const c of cases) {
      const q = c.workload.split(' ')[0]!;
      const per = c.medians['eventsPerCoreSec'];
      const duck = c.medians['duckdbEventsPerSec'];
      if (per !== undefined && duck !== undefined) lines.push(`${q}: ${Math.round(per).toLocaleString('en-US')} events per CPU-s = ${(per / duck).toFixed(3)}× DuckDB batch (1 thread)${flink[q] ? `, ${(per / flink[q]!).toFixed(1)}× Flink's published per-core ${flink[q]!.toLocaleString('en-US')}/s (goal ≥ 10×: ${per >= 10 * flink[q]! ? 'met' : 'not met'})` : ''}`);
    }
    return lines;
  },
  async prepare({ quick, extra, log }) {
    const events = Number(extra['events'] ?? (quick ? 200_000 : DEFAULT_EVENTS));
    const rate = Number(extra['rate'] ?? (quick ? 5_000 : 10_000));
    const liveSeconds = Number(extra['live-seconds'] ?? (quick ? 5 : 10));
    const wanted = extra['queries'] ? extra['queries'].split(',') : QUERIES.map((q) => q.id);
    for (const [k, v] of [['events', events], ['rate', rate], ['live-seconds', liveSeconds]] as const) if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} needs a positive integer`);
    const unknown = wanted.filter((w) => !QUERIES.some((q) => q.id === w));
    if (unknown.length) throw new Error(`unknown queries ${unknown.join(', ')}; known: ${QUERIES.map((q) => q.id).join(', ')}`);
    const dir = makeWorkDir('streams');
    const bus = await openEmbeddedBus({ dataDir: path.join(dir, 'data'), log: { maintenanceIntervalMs: 0 } });
    await produceBacklog(bus, events, log);
    log('loading DuckDB…');
    const duck = await loadDuck(events);
    log(`DuckDB loaded in ${duck.sec.toFixed(1)} s`);
    const shared: Shared = { dir, bus, events, duck: duck.conn, duckInstance: duck.instance, duckLoadSec: duck.sec };
    const cases = QUERIES.filter((q) => wanted.includes(q.id)).map((q) => ({
      id: q.id,
      workload: `${q.title}, ${events.toLocaleString('en-US')} events`,
      system: 'tributary',
      durability: 'exactly-once (transactions every 100 ms), fsync before ack',
      run: async (ctx: CaseContext) => {
        const t = await runThroughput(shared, q, ctx.run, ctx);
        const l = await runLatency(bus, q, ctx.run, rate, liveSeconds);
        ctx.log(`${q.id} live at ${rate}/s: p50 ${l.latencyP50Ms} ms, p99 ${l.latencyP99Ms} ms over ${l.latencySamples} outputs`);
        return { ...t, ...l };
      },
    }));
    return {
      cases,
      settings: { events, partitions: PARTITIONS, window: WINDOW, grace: GRACE, liveRatePerSec: rate, liveSeconds, commitIntervalMs: 100, cores: os.cpus().length, duckdbThreads: 1 },
      notes: [
        'Tributary: one process, embedded log (every topic fsyncs before acknowledging: inputs, outputs, repartition and changelog topics), exactly-once (read_committed consumers; each task commits outputs, changelogs and offsets in one transaction, at most one commit in flight, started every 100 ms); the backlog is produced before the app starts.',
        `Events: ${events.toLocaleString('en-US')} (the issue's 10M would take well over 25 minutes for the whole suite on this shared 2-core machine; \`--events 10000000\` runs it). Wall time runs until the last output is committed, so it includes closing the last windows when the input goes idle (idleMs 3 s, plus the window size and grace in event time).`,
        '"Events per CPU-s" divides by the CPU time of the whole process: the stream tasks, the log they read and write, its fsyncs and the transaction coordinator.',
        "DuckDB: the same events in memory, one thread; its figure is events ÷ query time (loading excluded), the batch answer every stream answer is checked against.",
        "Flink's published per-core anchors (nexmark repo): q5 22.1K, q7 12.3K, q8 146K events/s.",
      ],
      async cleanup() {
        duck.conn.closeSync();
        duck.instance.closeSync();
        await bus.close();
        removeWorkDir(dir);
      },
    };
  },
};

export default suite;
