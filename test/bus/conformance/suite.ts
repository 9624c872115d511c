/**
 * The bus conformance suite: one set of behaviours every `Bus` implementation must show.
 * `embedded.test.ts` runs it on the embedded bus, `external.test.ts` on the external bus
 * pointed at a Tributary broker over TCP.
 *
 * Factories open buses without topic auto-creation, so that unknown topics are errors. Waits
 * are bounded polls for a condition (never assertions about time).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionForKey, type Bus, type BusConsumer, type ConsumedRecord, type ConsumerOptions, type ProducerRecord } from '../../../src/bus/index.ts';

export interface BusUnderTest {
  bus: Bus;
  cleanup: () => Promise<void>;
}

export type BusFactory = () => Promise<BusUnderTest>;

/** Fast group timings for tests (the defaults are seconds). */
const GROUP: ConsumerOptions = { heartbeatIntervalMs: 100, sessionTimeoutMs: 6000, rebalanceTimeoutMs: 10_000 };

function rec(value: string, key?: string | null, extra: Partial<ProducerRecord> = {}): ProducerRecord {
  return { key: key === undefined || key === null ? null : Buffer.from(key), value: Buffer.from(value), ...extra };
}

/** Polls until `want` records arrived (or the bound passed: the caller's assertion then fails with what came). */
async function drain(c: BusConsumer, want: number, boundMs = 15_000): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  const deadline = Date.now() + boundMs;
  while (out.length < want && Date.now() < deadline) out.push(...(await c.poll({ timeoutMs: 200 })));
  return out;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, boundMs = 20_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`still waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A member's poll loop as an application writes it: poll, process, commit what was processed,
 * poll again. Collects every record it processed.
 */
function pollLoop(consumer: BusConsumer, opts: { processMs?: number } = {}) {
  const seen: ConsumedRecord[] = [];
  let stopping = false;
  let error: unknown = null;
  const done = (async () => {
    try {
      while (!stopping) {
        const records = await consumer.poll({ timeoutMs: 100 });
        if (records.length === 0) continue;
        if (opts.processMs) await sleep(Math.floor(Math.random() * opts.processMs));
        seen.push(...records);
        await consumer.commit();
      }
    } catch (err) {
      error = err;
    }
  })();
  return {
    seen,
    get error() {
      return error;
    },
    /** Stops after the current poll (and its commit). */
    async stop() {
      stopping = true;
      await done;
      if (error) throw error;
    },
  };
}

const value = (r: ConsumedRecord) => r.value?.toString() ?? null;
const tp = (r: { partition: number; offset: number }) => `${r.partition}@${r.offset}`;

export function busConformance(name: string, open: BusFactory): void {
  const withBus = async (fn: (bus: Bus) => Promise<void>) => {
    const { bus, cleanup } = await open();
    try {
      await fn(bus);
    } finally {
      await cleanup();
    }
  };

  describe(`bus conformance: ${name}`, () => {
    test('produce resolves per-record metadata; keyed records land on murmur2(key) % partitions', () =>
      withBus(async (bus) => {
        // 5 partitions, not a power of two: a hash that differs from Java's only in the sign bit
        // (`murmur2 >>> 0` instead of `murmur2 & 0x7fffffff`) agrees with it modulo 2^k, not modulo 5.
        await bus.admin().createTopic('orders', { partitions: 5 });
        const producer = bus.producer({ lingerMs: 2 });
        const keys = Array.from({ length: 300 }, (_, i) => `customer-${i % 37}`);
        const before = Date.now();
        const meta = await producer.send('orders', keys.map((k, i) => rec(String(i), k)));
        assert.equal(meta.length, keys.length);
        const perKey = new Map<string, number>();
        meta.forEach((m, i) => {
          assert.equal(m.topic, 'orders');
          assert.equal(m.partition, partitionForKey(Buffer.from(keys[i]!), 5), `record ${i} (${keys[i]}) on murmur2 % 5`);
          if (perKey.has(keys[i]!)) assert.equal(perKey.get(keys[i]!), m.partition, 'one key, one partition');
          perKey.set(keys[i]!, m.partition);
          assert.ok(m.timestamp >= before - 1000, 'timestamp is the produce time');
        });
        // Offsets are dense per partition, in send order.
        for (let p = 0; p < 5; p++) {
          const offsets = meta.filter((m) => m.partition === p).map((m) => m.offset);
          assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p} offsets`);
        }
        // The Java client's hashes (Apache Kafka's UtilsTest.testMurmur2), independent of our partitioner.
        const java: Array<[string, number]> = [['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536], ['abc', 479470107]];
        const javaMeta = await producer.send('orders', java.map(([k]) => rec(`java-${k}`, k)));
        java.forEach(([k, hash], i) => assert.equal(javaMeta[i]!.partition, (hash & 0x7fffffff) % 5, `key ${k} where Java puts it`));
        // Explicit partitions win over the key; keyless records go to a valid partition.
        const [explicit] = await producer.send('orders', [rec('x', 'customer-1', { partition: 4 })]);
        assert.equal(explicit!.partition, 4);
        const keyless = await producer.send('orders', Array.from({ length: 20 }, (_, i) => rec(`n${i}`)));
        for (const m of keyless) assert.ok(m.partition >= 0 && m.partition < 5);
        // What the metadata says is where the records are.
        const c = bus.consumer({ fromBeginning: true });
        c.assign([0, 1, 2, 3, 4].map((partition) => ({ topic: 'orders', partition })));
        const got = await drain(c, 325);
        assert.equal(got.length, 325);
        const at = new Map(got.map((r) => [tp(r), value(r)]));
        meta.forEach((m, i) => assert.equal(at.get(tp(m)), String(i)));
        assert.equal(at.get(tp(explicit!)), 'x');
        await c.close();
        await producer.close();
      }));

    test('concurrent sends keep per-partition order and offsets', () =>
      withBus(async (bus) => {
        await bus.admin().createTopic('seq', { partitions: 2 });
        const producer = bus.producer({ lingerMs: 1 });
        const sends = Array.from({ length: 20 }, (_, s) => producer.send('seq', Array.from({ length: 10 }, (_, i) => rec(`${s}-${i}`, `k${i % 2}`))));
        const metas = (await Promise.all(sends)).flat();
        for (let p = 0; p < 2; p++) {
          const offsets = metas.filter((m) => m.partition === p).map((m) => m.offset).sort((a, b) => a - b);
          assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p}: every offset once`);
        }
        await producer.flush();
        await producer.close();
        await assert.rejects(producer.send('seq', [rec('late')]), { code: 'PRODUCER_CLOSED' });
      }));

    test('headers, null keys, null values, empty buffers and timestamps round-trip', () =>
      withBus(async (bus) => {
        await bus.admin().createTopic('shapes', { partitions: 1 });
        const producer = bus.producer({ lingerMs: 0 });
        const sent: ProducerRecord[] = [
          { key: null, value: null },
          { key: Buffer.alloc(0), value: Buffer.alloc(0) },
          { key: Buffer.from([0, 255, 1]), value: Buffer.from([9, 0, 9]), timestamp: 1_700_000_000_123 },
          {
            key: Buffer.from('k'),
            value: Buffer.from('with headers'),
            headers: [
              { key: 'trace', value: Buffer.from('abc') },
              { key: 'trace', value: Buffer.from('again') },
              { key: 'empty', value: null },
              { key: 'ünïcödé', value: Buffer.alloc(0) },
            ],
          },
        ];
        const meta = await producer.send('shapes', sent);
        assert.equal(meta[2]!.timestamp, 1_700_000_000_123);
        const c = bus.consumer({ fromBeginning: true });
        c.assign([{ topic: 'shapes', partition: 0 }]);
        const got = await drain(c, 4);
        assert.equal(got.length, 4);
        assert.equal(got[0]!.key, null);
        assert.equal(got[0]!.value, null);
        assert.deepEqual(got[1]!.key, Buffer.alloc(0));
        assert.deepEqual(got[1]!.value, Buffer.alloc(0));
        assert.deepEqual(got[2]!.key, Buffer.from([0, 255, 1]));
        assert.deepEqual(got[2]!.value, Buffer.from([9, 0, 9]));
        assert.equal(got[2]!.timestamp, 1_700_000_000_123);
        assert.deepEqual(
          got[3]!.headers.map((h) => [h.key, h.value === null ? null : h.value.toString()]),
          [['trace', 'abc'], ['trace', 'again'], ['empty', null], ['ünïcödé', '']],
        );
        for (let i = 0; i < 4; i++) {
          assert.equal(got[i]!.offset, i);
          assert.equal(got[i]!.topic, 'shapes');
          assert.equal(got[i]!.partition, 0);
          assert.equal(got[i]!.timestamp, meta[i]!.timestamp);
        }
        assert.deepEqual(got[0]!.headers, []);
        await c.close();
        await producer.close();
      }));

    test('assign: from the beginning, from the end, from an offset; maxRecords; seek', () =>
      withBus(async (bus) => {
        await bus.admin().createTopic('log', { partitions: 2 });
        const producer = bus.producer({ lingerMs: 0 });
        await producer.send('log', Array.from({ length: 5 }, (_, i) => rec(`a${i}`, null, { partition: 0 })));

        const early = bus.consumer({ fromBeginning: true });
        early.assign([{ topic: 'log', partition: 0 }]);
        assert.deepEqual(early.assignment(), [{ topic: 'log', partition: 0 }]);
        const firstTwo = await early.poll({ timeoutMs: 5000, maxRecords: 2 });
        assert.deepEqual(firstTwo.map(value), ['a0', 'a1']);
        const rest = await drain(early, 3);
        assert.deepEqual(rest.map(value), ['a2', 'a3', 'a4']);

        const late = bus.consumer({ fromBeginning: false });
        late.assign([{ topic: 'log', partition: 0 }]);
        assert.deepEqual(await late.poll({ timeoutMs: 300 }), [], 'nothing before the end');
        await producer.send('log', [rec('b5', null, { partition: 0 }), rec('b6', null, { partition: 0 })]);
        const fresh = await drain(late, 2);
        assert.deepEqual(fresh.map((r) => [r.offset, value(r)]), [[5, 'b5'], [6, 'b6']]);

        const from3 = bus.consumer();
        from3.assign([{ topic: 'log', partition: 0, offset: 3 }]);
        assert.deepEqual((await drain(from3, 4)).map((r) => r.offset), [3, 4, 5, 6]);

        // seek moves the position back (or forward); the next poll reads from there.
        early.seek('log', 0, 1);
        assert.deepEqual((await drain(early, 6)).map((r) => r.offset), [1, 2, 3, 4, 5, 6]);
        early.seek('log', 0, 6);
        assert.deepEqual((await drain(early, 1)).map(value), ['b6']);
        assert.throws(() => early.seek('log', 1, 0), { code: 'NOT_SUBSCRIBED' });

        // An empty partition polls as nothing, within the timeout.
        const empty = bus.consumer({ fromBeginning: true });
        empty.assign([{ topic: 'log', partition: 1 }]);
        assert.deepEqual(await empty.poll({ timeoutMs: 200 }), []);
        for (const c of [early, late, from3, empty]) await c.close();
        await assert.rejects(early.poll({ timeoutMs: 10 }), { code: 'CONSUMER_CLOSED' });
        await producer.close();
      }));

    test('a group without commits starts at the end, or at the beginning with fromBeginning', () =>
      withBus(async (bus) => {
        await bus.admin().createTopic('start', { partitions: 2 });
        const producer = bus.producer({ lingerMs: 0 });
        await producer.send('start', Array.from({ length: 6 }, (_, i) => rec(`old${i}`, `k${i}`)));

        const latest = bus.consumer({ ...GROUP, groupId: 'latest-readers' });
        await latest.subscribe(['start']);
        assert.deepEqual(await latest.poll({ timeoutMs: 300 }), [], 'old records are not read');
        await producer.send('start', [rec('new0', 'k0'), rec('new1', 'k1')]);
        const fresh = await drain(latest, 2);
        assert.deepEqual(fresh.map(value).sort(), ['new0', 'new1']);

        const earliest = bus.consumer({ ...GROUP, groupId: 'earliest-readers', fromBeginning: true });
        await earliest.subscribe(['start']);
        const all = await drain(earliest, 8);
        assert.equal(all.length, 8);
        assert.deepEqual(all.map(value).sort(), ['new0', 'new1', 'old0', 'old1', 'old2', 'old3', 'old4', 'old5']);
        await latest.close();
        await earliest.close();
        await producer.close();
      }));

    test('commit, restart, resume from the committed offset (positions or explicit offsets)', () =>
      withBus(async (bus) => {
        await bus.admin().createTopic('jobs', { partitions: 1 });
        const producer = bus.producer({ lingerMs: 0 });
        await producer.send('jobs', Array.from({ length: 20 }, (_, i) => rec(`j${i}`)));
        const opts = { ...GROUP, groupId: 'job-runners', fromBeginning: true };

        const first = bus.consumer(opts);
        await first.subscribe(['jobs']);
        assert.deepEqual(first.assignment(), [{ topic: 'jobs', partition: 0 }]);
        const got: ConsumedRecord[] = [];
        while (got.length < 8) got.push(...(await first.poll({ timeoutMs: 1000, maxRecords: 8 - got.length })));
        assert.deepEqual(got.map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7]);
        await first.commit(); // the positions after the last poll: offset 8
        await first.close();

        const second = bus.consumer(opts);
        await second.subscribe(['jobs']);
        const resumed = await drain(second, 12);
        assert.deepEqual(resumed.map((r) => r.offset), Array.from({ length: 12 }, (_, i) => 8 + i));
        await second.commit([{ topic: 'jobs', partition: 0, offset: 15 }]);
        await second.close();

        const third = bus.consumer(opts);
        await third.subscribe(['jobs']);
        assert.deepEqual((await drain(third, 5)).map((r) => r.offset), [15, 16, 17, 18, 19]);
        await third.close();

        // A consumer without a group cannot commit.
        const loose = bus.consumer();
        loose.assign([{ topic: 'jobs', partition: 0 }]);
        await assert.rejects(loose.commit([{ topic: 'jobs', partition: 0, offset: 1 }]), { code: 'COMMIT_FAILED' });
        await assert.rejects(loose.subscribe(['jobs']), { code: 'NOT_SUBSCRIBED' });
        await loose.close();
        await producer.close();
      }));

    test('a group splits partitions between two members; when one leaves the other gets all', () =>
      withBus(async (bus) => {
        await bus.admin().createTopic('split', { partitions: 4 });
        const opts = { ...GROUP, groupId: 'splitters', fromBeginning: true };
        const a = bus.consumer({ ...opts, clientId: 'member-a' });
        await a.subscribe(['split']);
        assert.equal(a.assignment().length, 4, 'a lone member owns every partition');
        const loopA = pollLoop(a);
        const b = bus.consumer({ ...opts, clientId: 'member-b' });
        await b.subscribe(['split']);
        const loopB = pollLoop(b);
        await waitFor('both members own partitions', () => a.assignment().length > 0 && b.assignment().length > 0 && a.assignment().length + b.assignment().length === 4);
        const owned = [...a.assignment(), ...b.assignment()].map((p) => p.partition).sort();
        assert.deepEqual(owned, [0, 1, 2, 3], 'every partition has exactly one owner');

        const described = await bus.admin().describeGroup('splitters');
        await waitFor('the group is stable with two members', async () => {
          const d = await bus.admin().describeGroup('splitters');
          return d.state === 'Stable' && d.members === 2;
        });
        assert.equal(described.protocolType, 'consumer');
        const detail = (await bus.admin().describeGroup('splitters')).memberDetails;
        assert.deepEqual(detail.map((m) => m.clientId).sort(), ['member-a', 'member-b']);
        assert.deepEqual(detail.flatMap((m) => m.assignment.map((p) => p.partition)).sort(), [0, 1, 2, 3]);

        await loopA.stop();
        await a.close();
        await waitFor('the remaining member owns every partition', () => b.assignment().length === 4);
        await loopB.stop();
        await b.close();
      }));

    test('rebalancing while records flow: every record is consumed exactly once', () =>
      withBus(async (bus) => {
        await bus.admin().createTopic('flow', { partitions: 6 });
        const producer = bus.producer({ lingerMs: 1 });
        let produced = 0;
        const produceBatch = async (n: number) => {
          const batch = Array.from({ length: n }, (_, i) => rec(`r${produced + i}`, `key-${(produced + i) % 50}`));
          produced += n;
          await producer.send('flow', batch);
        };
        await produceBatch(300);
        const opts = { ...GROUP, groupId: 'flowers', fromBeginning: true };
        const members: Array<{ consumer: BusConsumer; loop: ReturnType<typeof pollLoop> }> = [];
        const join = async () => {
          const consumer = bus.consumer(opts);
          await consumer.subscribe(['flow']);
          members.push({ consumer, loop: pollLoop(consumer, { processMs: 5 }) });
        };
        const leave = async (i: number) => {
          const [m] = members.splice(i, 1);
          await m!.loop.stop();
          await m!.consumer.close();
          return m!.loop.seen;
        };
        const finished: ConsumedRecord[][] = [];
        await join();
        await produceBatch(100);
        await join();
        await produceBatch(100);
        await join();
        await produceBatch(100);
        finished.push(await leave(0));
        await produceBatch(100);
        await join();
        finished.push(await leave(1));
        await produceBatch(100);
        const count = () => finished.flat().length + members.reduce((n, m) => n + m.loop.seen.length, 0);
        await waitFor(`all ${produced} records consumed`, () => {
          for (const m of members) if (m.loop.error) throw m.loop.error;
          return count() >= produced;
        });
        while (members.length > 0) finished.push(await leave(0));
        const all = finished.flat();
        const seen = new Map<string, number>();
        for (const r of all) seen.set(tp(r), (seen.get(tp(r)) ?? 0) + 1);
        const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
        assert.deepEqual(twice, [], 'no record consumed twice');
        assert.equal(seen.size, produced, 'no record missed');
        assert.deepEqual(new Set(all.map(value)), new Set(Array.from({ length: produced }, (_, i) => `r${i}`)));
        await producer.close();
      }));

    test('a member joining while another processes a batch: the batch is committed before its partitions move', () =>
      withBus(async (bus) => {
        await bus.admin().createTopic('handover', { partitions: 4 });
        const producer = bus.producer({ lingerMs: 0 });
        await producer.send('handover', Array.from({ length: 40 }, (_, i) => rec(`h${i}`, `key-${i}`)));
        const opts = { ...GROUP, groupId: 'handlers', fromBeginning: true };
        const a = bus.consumer(opts);
        await a.subscribe(['handover']);
        const batch = await drain(a, 40);
        assert.equal(batch.length, 40, 'the lone member read everything');
        // While `a` is still processing that batch (it has not committed yet), `b` joins. The
        // group may only hand a's partitions over once `a` has finished with them: `a` commits
        // and polls again, and only then does the rebalance complete.
        const b = bus.consumer(opts);
        const joined = b.subscribe(['handover']);
        await Promise.race([joined, sleep(1000)]);
        await a.commit();
        const loopA = pollLoop(a);
        await joined;
        const loopB = pollLoop(b);
        await producer.send('handover', Array.from({ length: 40 }, (_, i) => rec(`h${40 + i}`, `key-${i}`)));
        await waitFor('the second batch is consumed', () => batch.length + loopA.seen.length + loopB.seen.length >= 80, 15_000).catch(() => {});
        await loopA.stop();
        await loopB.stop();
        const processed = new Set(batch.map(tp));
        const again = [...loopA.seen, ...loopB.seen].filter((r) => processed.has(tp(r)));
        assert.deepEqual(again.map(tp), [], 'records a had processed and committed were read again');
        const all = [...batch, ...loopA.seen, ...loopB.seen];
        assert.equal(new Set(all.map(tp)).size, all.length, 'no record consumed twice');
        assert.equal(all.length, 80);
        await a.close();
        await b.close();
        await producer.close();
      }));

    test('admin: create, list, describe, delete topics', () =>
      withBus(async (bus) => {
        const admin = bus.admin();
        const created = await admin.createTopic('inventory', { partitions: 3, retentionMs: 3_600_000, cleanupPolicy: 'compact' });
        assert.equal(created.name, 'inventory');
        assert.equal(created.internal, false);
        assert.equal(created.partitions.length, 3);
        assert.equal(created.config.partitions, 3);
        assert.equal(created.config.retentionMs, 3_600_000);
        assert.equal(created.config.cleanupPolicy, 'compact');
        for (const p of created.partitions) assert.deepEqual([p.logStartOffset, p.highWatermark, p.logEndOffset], [0, 0, 0]);

        await admin.createTopic('zeta', { partitions: 1 });
        const names = (await admin.listTopics()).map((t) => t.name);
        assert.deepEqual(names.filter((n) => !n.startsWith('__')), ['inventory', 'zeta'], 'sorted, without internal topics');
        assert.ok((await admin.listTopics()).every((t) => !t.internal));

        const producer = bus.producer({ lingerMs: 0 });
        await producer.send('inventory', Array.from({ length: 5 }, (_, i) => rec(`i${i}`, null, { partition: 1 })));
        const described = await admin.describeTopic('inventory');
        assert.deepEqual(described.partitions.map((p) => [p.partition, p.logStartOffset, p.highWatermark, p.logEndOffset]), [[0, 0, 0, 0], [1, 0, 5, 5], [2, 0, 0, 0]]);
        assert.equal(described.config.retentionMs, 3_600_000);

        await assert.rejects(admin.createTopic('inventory', { partitions: 2 }), { code: 'TOPIC_EXISTS' });
        await assert.rejects(admin.createTopic('bad name!', {}), { code: 'TOPIC_NAME_INVALID' });
        await assert.rejects(admin.createTopic('nothing', { partitions: 0 }), { code: 'TOPIC_CONFIG_INVALID' });

        await admin.deleteTopic('inventory');
        assert.deepEqual((await admin.listTopics()).map((t) => t.name).filter((n) => !n.startsWith('__')), ['zeta']);
        await assert.rejects(admin.describeTopic('inventory'), { code: 'TOPIC_UNKNOWN' });
        await assert.rejects(admin.deleteTopic('inventory'), { code: 'TOPIC_UNKNOWN' });
        // The name can be used again, for a new topic.
        const again = await admin.createTopic('inventory', { partitions: 2 });
        assert.deepEqual(again.partitions.map((p) => p.highWatermark), [0, 0]);
        await producer.close();
      }));

    test('admin: groups are listed and described with members, committed offsets and lag', () =>
      withBus(async (bus) => {
        const admin = bus.admin();
        await admin.createTopic('billing', { partitions: 2 });
        const producer = bus.producer({ lingerMs: 0 });
        await producer.send('billing', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => rec(`b${i}`, null, { partition: i % 2 })));
        const c = bus.consumer({ ...GROUP, groupId: 'accountants', clientId: 'ledger', fromBeginning: true });
        await c.subscribe(['billing']);
        assert.equal((await drain(c, 10)).length, 10);
        await c.commit();
        await producer.send('billing', [rec('late0', null, { partition: 0 }), rec('late1', null, { partition: 0 }), rec('late2', null, { partition: 0 })]);

        const d = await admin.describeGroup('accountants');
        assert.equal(d.groupId, 'accountants');
        assert.equal(d.state, 'Stable');
        assert.equal(d.protocolType, 'consumer');
        assert.ok(['range', 'roundrobin'].includes(d.protocol), `protocol ${d.protocol}`);
        assert.equal(d.members, 1);
        assert.equal(d.memberDetails[0]!.clientId, 'ledger');
        assert.deepEqual(d.memberDetails[0]!.assignment.map((p) => p.partition).sort(), [0, 1]);
        assert.deepEqual(
          d.offsets.map((o) => [o.topic, o.partition, o.committedOffset, o.logEndOffset, o.lag]),
          [['billing', 0, 5, 8, 3], ['billing', 1, 5, 5, 0]],
        );
        const listed = (await admin.listGroups()).find((g) => g.groupId === 'accountants');
        assert.deepEqual(listed && { ...listed }, { groupId: 'accountants', state: 'Stable', protocolType: 'consumer', members: 1 });

        await c.close();
        await waitFor('the group is empty', async () => (await admin.describeGroup('accountants')).state === 'Empty');
        const empty = await admin.describeGroup('accountants');
        assert.equal(empty.members, 0);
        assert.deepEqual(empty.offsets.map((o) => [o.partition, o.committedOffset, o.lag]), [[0, 5, 3], [1, 5, 0]], 'commits outlive the members');
        await assert.rejects(admin.describeGroup('nobody-here'), { code: 'GROUP_NOT_FOUND' });
        await producer.close();
      }));

    test('errors: unknown topics and partitions, duplicates, misuse', () =>
      withBus(async (bus) => {
        const producer = bus.producer({ lingerMs: 0 });
        await assert.rejects(producer.send('missing', [rec('x')]), { code: 'TOPIC_UNKNOWN' });
        await assert.rejects(bus.admin().describeTopic('missing'), { code: 'TOPIC_UNKNOWN' });
        await assert.rejects(bus.admin().deleteTopic('missing'), { code: 'TOPIC_UNKNOWN' });
        const grouped = bus.consumer({ ...GROUP, groupId: 'lost' });
        await assert.rejects(grouped.subscribe(['missing']), { code: 'TOPIC_UNKNOWN' });
        await grouped.close();
        const loose = bus.consumer();
        await assert.rejects(async () => {
          loose.assign([{ topic: 'missing', partition: 0 }]);
          await loose.poll({ timeoutMs: 100 });
        }, { code: 'TOPIC_UNKNOWN' });
        await loose.close();

        await bus.admin().createTopic('small', { partitions: 2 });
        await assert.rejects(producer.send('small', [rec('x', null, { partition: 2 })]), { code: 'PARTITION_UNKNOWN' });
        const wrong = bus.consumer();
        await assert.rejects(async () => {
          wrong.assign([{ topic: 'small', partition: 5 }]);
          await wrong.poll({ timeoutMs: 100 });
        }, { code: 'PARTITION_UNKNOWN' });
        await wrong.close();
        await assert.rejects(bus.admin().createTopic('small', { partitions: 2 }), { code: 'TOPIC_EXISTS' });
        await producer.close();
      }));
  });
}
