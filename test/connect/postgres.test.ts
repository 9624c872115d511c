/** PostgreSQL source (bulk, incremental, CDC) and sink against a real PostgreSQL (test/helpers/postgres.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readDeadLetterHeaders } from '../../src/connect/runtime/dead-letter.ts';
import { freshDatabase, withClient } from '../helpers/postgres.ts';
import { harness, readTopic, topicCount, values, waitFor } from './helpers.ts';

describe('PostgreSQL source', () => {
  it('bulk copies a table once, keyed by its primary key', async () => {
    const db = await freshDatabase('bulk');
    const h = await harness();
    try {
      await withClient(db.url, async (c) => {
        await c.query('CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), tags jsonb, added timestamptz)');
        await c.query(`INSERT INTO items SELECT g, 'item ' || g, g * 1.5, '{"g": true}', '2024-01-01T00:00:00Z' FROM generate_series(1, 250) g`);
      });
      await h.runtime.create('items', { connector: 'postgres-source', url: db.url, mode: 'bulk', tables: ['items'], batchRows: 100 });
      await waitFor('250 rows', async () => (await topicCount(h.bus, 'pg.items')) === 250);
      const recs = await readTopic(h.bus, 'pg.items');
      const first = recs.map((r) => JSON.parse(r.value!.toString())).find((v) => v.id === 1);
      assert.deepEqual(first, { id: 1, name: 'item 1', price: '1.50', tags: { g: true }, added: '2024-01-01T00:00:00.000Z' });
      assert.deepEqual(JSON.parse(recs.find((r) => JSON.parse(r.value!.toString()).id === 7)!.key!.toString()), { id: 7 });
      await waitFor('completed offset', async () => (await h.runtime.getOffsets('items')).offsets.length === 1);
      await h.runtime.restart('items');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await topicCount(h.bus, 'pg.items'), 250, 'a finished bulk copy is not repeated');
    } finally {
      await h.close();
      await db.drop();
    }
  });

  it('incremental copy by timestamp + id picks up every new and changed row once', async () => {
    const db = await freshDatabase('inc');
    const h = await harness();
    try {
      await withClient(db.url, async (c) => {
        await c.query('CREATE TABLE orders (id serial PRIMARY KEY, total int, updated_at timestamptz NOT NULL)');
        await c.query(`INSERT INTO orders (total, updated_at) SELECT g, '2024-01-01T00:00:00Z'::timestamptz + (g / 3) * interval '1 second' FROM generate_series(1, 30) g`);
      });
      await h.runtime.create('orders', {
        connector: 'postgres-source', url: db.url, mode: 'timestamp+incrementing', tables: ['public.orders'],
        timestampColumn: 'updated_at', incrementingColumn: 'id', batchRows: 7, pollIntervalMs: 50,
      });
      await waitFor('30 rows', async () => (await topicCount(h.bus, 'pg.orders')) === 30);
      await withClient(db.url, async (c) => {
        await c.query(`INSERT INTO orders (total, updated_at) VALUES (100, '2024-01-01T00:00:10Z'), (101, '2024-01-01T00:00:10Z')`);
        await c.query(`UPDATE orders SET total = 999, updated_at = '2024-01-02T00:00:00Z' WHERE id = 5`);
      });
      await waitFor('33 rows', async () => (await topicCount(h.bus, 'pg.orders')) === 33);
      const vals = values(await readTopic(h.bus, 'pg.orders')) as Array<{ id: number; total: number }>;
      assert.deepEqual(vals.slice(0, 30).map((v) => v.id), Array.from({ length: 30 }, (_, i) => i + 1));
      assert.deepEqual(vals.slice(30).map((v) => [v.id, v.total]), [[31, 100], [32, 101], [5, 999]]);
    } finally {
      await h.close();
      await db.drop();
    }
  });

  it('change data capture: snapshot, then inserts, updates and deletes in commit order; resumes without repeats', async () => {
    const db = await freshDatabase('cdc');
    const h = await harness();
    try {
      await withClient(db.url, async (c) => {
        await c.query('CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance bigint)');
        await c.query('ALTER TABLE accounts REPLICA IDENTITY FULL');
        await c.query(`INSERT INTO accounts VALUES (1, 'ann', 10), (2, 'bo', 20)`);
      });
      await h.runtime.create('cdc', { connector: 'postgres-source', url: db.url, mode: 'cdc', tables: ['accounts'], batchRows: 1 });
      await waitFor('snapshot', async () => (await topicCount(h.bus, 'pg.accounts')) === 2);
      await withClient(db.url, async (c) => {
        await c.query(`INSERT INTO accounts VALUES (3, 'cy', 30)`);
        await c.query('BEGIN');
        await c.query(`UPDATE accounts SET balance = balance - 5 WHERE id = 1`);
        await c.query(`UPDATE accounts SET balance = balance + 5 WHERE id = 2`);
        await c.query('COMMIT');
        await c.query(`DELETE FROM accounts WHERE id = 3`);
      });
      await waitFor('all changes', async () => (await topicCount(h.bus, 'pg.accounts')) === 6);
      const vals = values(await readTopic(h.bus, 'pg.accounts')) as Array<{ op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; source: { table: string; lsn: string } }>;
      assert.deepEqual(vals.map((v) => v.op), ['r', 'r', 'c', 'u', 'u', 'd']);
      assert.deepEqual(vals[2]!.after, { id: 3, owner: 'cy', balance: 30 });
      assert.deepEqual([vals[3]!.before, vals[3]!.after], [{ id: 1, owner: 'ann', balance: 10 }, { id: 1, owner: 'ann', balance: 5 }]);
      assert.equal(vals[3]!.source.lsn, vals[4]!.source.lsn, 'one transaction');
      assert.deepEqual([vals[5]!.before, vals[5]!.after], [{ id: 3, owner: 'cy', balance: 30 }, null]);
      assert.equal(vals[5]!.source.table, 'accounts');

      // Restart: streaming resumes after what was stored, nothing is sent twice.
      await waitFor('offset stored', async () => !('snapshot' in ((await h.runtime.getOffsets('cdc')).offsets[0]?.offset ?? { snapshot: 1 })));
      await h.runtime.restart('cdc');
      await withClient(db.url, (c) => c.query(`INSERT INTO accounts VALUES (4, 'di', 40)`));
      await waitFor('after restart', async () => (await topicCount(h.bus, 'pg.accounts')) >= 7);
      await new Promise((r) => setTimeout(r, 300));
      const again = values(await readTopic(h.bus, 'pg.accounts')) as Array<{ op: string; after: { id: number } | null }>;
      assert.equal(again.length, 7);
      assert.deepEqual([again[6]!.op, again[6]!.after!.id], ['c', 4]);
      const slot = await withClient(db.url, (c) => c.query(`SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'tributary_cdc'`));
      assert.equal(slot.rowCount, 1, 'the slot exists and the server knows how far we got');
    } finally {
      await h.close();
      await db.drop();
    }
  });

  it('says clearly when PostgreSQL is not set up for CDC, and retries while the database is down', async () => {
    const h = await harness();
    try {
      await h.runtime.create('down', { connector: 'postgres-source', url: 'postgres://postgres@127.0.0.1:1/none', mode: 'bulk', tables: ['t'], errors: { retryMaxDelayMs: 50 } });
      const st = await waitFor('retrying', () => h.runtime.status('down').tasks[0]?.trace);
      assert.match(st, /retrying: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/none/);
      assert.equal(h.runtime.status('down').tasks[0]!.state, 'RUNNING');
    } finally {
      await h.close();
    }
  });
});

describe('PostgreSQL sink', () => {
  it('upserts by key into a table it creates from the record schema; deletes on tombstones; dead-letters rows the database rejects', async () => {
    const db = await freshDatabase('sink');
    const h = await harness();
    try {
      await h.bus.admin().createTopic('people', { partitions: 2 });
      const schema = { type: 'struct', fields: [{ field: 'id', type: 'int32', optional: false }, { field: 'name', type: 'string' }, { field: 'age', type: 'int32' }, { field: 'born', type: 'timestamp' }] };
      const rec = (id: number, value: unknown) => ({ key: Buffer.from(JSON.stringify({ id })), value: value === null ? null : Buffer.from(JSON.stringify({ schema, payload: value })) });
      const p = h.bus.producer();
      await p.send('people', [
        rec(1, { id: 1, name: 'ann', age: 30, born: 0 }),
        rec(2, { id: 2, name: 'bo', age: 40, born: 1000 }),
        rec(1, { id: 1, name: 'ann', age: 31, born: 0 }),
        rec(3, { id: 3, name: 'cy', age: 'old', born: 0 }),
        rec(2, null),
        rec(4, { id: 4, name: 'di', age: 50, born: 0 }),
        // In one batch, in record order: written, deleted, written again.
        rec(5, { id: 5, name: 'ed', age: 1, born: 0 }),
        rec(5, null),
        rec(5, { id: 5, name: 'ed', age: 2, born: 0 }),
      ]);
      await h.runtime.create('to-pg', {
        connector: 'postgres-sink', url: db.url, topics: ['people'], table: 'people', insertMode: 'upsert', pkMode: 'record_key',
        deleteEnabled: true, keyConverter: 'json', schemas: true, errors: { tolerance: 'all', deadLetterTopic: 'people.dlq' },
      });
      await waitFor('dead letter', async () => (await topicCount(h.bus, 'people.dlq')) === 1, 5000).catch((e) => { console.log(JSON.stringify(h.runtime.status('to-pg'))); throw e; });
      const rows = await waitFor('rows', async () => {
        const r = await withClient(db.url, (c) => c.query('SELECT id, name, age, born FROM people ORDER BY id').catch(() => null));
        return r && r.rowCount === 3 ? r.rows : null;
      });
      assert.deepEqual(rows.map((r) => [r.id, r.name, r.age]), [[1, 'ann', 31], [4, 'di', 50], [5, 'ed', 2]]);
      assert.equal((rows[0].born as Date).getTime(), 0);
      const cols = await withClient(db.url, (c) => c.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'people' ORDER BY ordinal_position`));
      assert.deepEqual(cols.rows.map((r) => [r.column_name, r.data_type]), [['id', 'integer'], ['name', 'text'], ['age', 'integer'], ['born', 'timestamp with time zone']]);
      const [d] = await readTopic(h.bus, 'people.dlq');
      const hd = readDeadLetterHeaders(d!.headers);
      assert.equal(hd['stage'], 'SINK');
      assert.match(hd['exception.message']!, /invalid input syntax for type integer: "old"/);
      const offs = await waitFor('stored offsets', async () => {
        const o = (await h.runtime.getOffsets('to-pg')).offsets;
        return o.reduce((n, x) => n + Number(x.offset['offset']), 0) === 9 ? o : null;
      });
      assert.ok(offs.every((o) => o.partition['topic'] === 'people'));
      const dbOffsets = await withClient(db.url, (c) => c.query(`SELECT sum(next_offset)::int AS n FROM tributary_connect_offsets WHERE connector = 'to-pg'`));
      assert.equal(dbOffsets.rows[0].n, 9, 'the offsets live in the database, next to the rows');
      await p.close();
    } finally {
      await h.close();
      await db.drop();
    }
  });

  it('plain inserts go in one COPY per batch: a bad row in the middle is dead-lettered, the rest land once, escapes survive, offsets exact', async () => {
    const db = await freshDatabase('sinkcopy');
    const h = await harness();
    try {
      await withClient(db.url, (c) => c.query('CREATE TABLE batch (n bigint, s text)'));
      await h.bus.admin().createTopic('batch', { partitions: 1 });
      const odd = 'tab\there\nnew line \\ back "quote" \\N';
      const p = h.bus.producer();
      await p.send('batch', Array.from({ length: 1000 }, (_, i) => ({ value: Buffer.from(JSON.stringify({ n: i === 500 ? 'not a number' : i, s: i === 7 ? odd : `row ${i}` })) })));
      await h.runtime.create('copy', { connector: 'postgres-sink', url: db.url, topics: ['batch'], table: 'batch', batchSize: 2000, errors: { tolerance: 'all', deadLetterTopic: 'batch.dlq' } });
      await waitFor('dead letter', async () => (await topicCount(h.bus, 'batch.dlq')) === 1, 30_000);
      const r = await waitFor('999 rows', async () => {
        const q = await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n, count(DISTINCT n)::int AS d, sum(n)::bigint AS total FROM batch'));
        return q.rows[0].n >= 999 ? q.rows[0] : null;
      }, 30_000);
      assert.deepEqual(r, { n: 999, d: 999, total: String((999 * 1000) / 2 - 500) });
      const s7 = await withClient(db.url, (c) => c.query('SELECT s FROM batch WHERE n = 7'));
      assert.equal(s7.rows[0].s, odd);
      const [d] = await readTopic(h.bus, 'batch.dlq');
      assert.equal(JSON.parse(d!.value!.toString()).n, 'not a number');
      const dbOffsets = await withClient(db.url, (c) => c.query(`SELECT next_offset::int AS n FROM tributary_connect_offsets WHERE connector = 'copy'`));
      assert.deepEqual(dbOffsets.rows, [{ n: 1000 }]);
      await p.close();
    } finally {
      await h.close();
      await db.drop();
    }
  });

  it('resumes from the offsets in the database, not the group, so a redelivery is not written twice; survives a dropped connection', async () => {
    const db = await freshDatabase('sinkeos');
    const h = await harness();
    try {
      await h.bus.admin().createTopic('ev', { partitions: 1 });
      const p = h.bus.producer();
      await p.send('ev', Array.from({ length: 50 }, (_, i) => ({ value: Buffer.from(JSON.stringify({ i })) })));
      const config = { connector: 'postgres-sink', url: db.url, topics: ['ev'], table: 'ev' };
      await h.runtime.create('eos', config);
      await waitFor('50 rows', async () => (await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n FROM ev').catch(() => null)))?.rows[0].n === 50);
      // Rewind the group as if its commits had been lost: the database's offsets win.
      await h.runtime.stopConnector('eos');
      const consumer = h.bus.consumer({ groupId: 'connect-eos' });
      await consumer.commit([{ topic: 'ev', partition: 0, offset: 0 }]);
      await consumer.close();
      await p.send('ev', Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(JSON.stringify({ i: 50 + i })) })));
      await h.runtime.resume('eos');
      await waitFor('60 rows', async () => (await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n FROM ev')))!.rows[0].n >= 60);
      // The database drops the sink's connection: it reconnects and goes on.
      await withClient(db.url, (c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()'));
      await p.send('ev', Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(JSON.stringify({ i: 60 + i })) })));
      await waitFor('70 rows', async () => (await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n FROM ev')))!.rows[0].n >= 70);
      await new Promise((r) => setTimeout(r, 300));
      const r = await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n, count(DISTINCT i)::int AS d FROM ev'));
      assert.deepEqual(r.rows[0], { n: 70, d: 70 });
      assert.equal(h.runtime.status('eos').tasks[0]!.state, 'RUNNING');
      await p.close();
    } finally {
      await h.close();
      await db.drop();
    }
  });
});
