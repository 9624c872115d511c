/**
 * PostgreSQL source: table copy (bulk or incremental) and change data capture.
 *
 * Modes:
 * - `bulk`: copies each table once (a consistent cursor scan); again only after the offsets are
 *   reset, or every `bulkIntervalMs` when set.
 * - `incrementing` (an always-growing id column), `timestamp` (a last-modified column) and
 *   `timestamp+incrementing` (both: `(ts, id) > (last ts, last id)`, the safe one): polls every
 *   `pollIntervalMs` for rows past the stored offset, in `batchRows` pages. Rows newer than
 *   `now() - timestampDelayMs` wait (a transaction may still commit rows with an older timestamp).
 * - `cdc`: logical replication with `pgoutput` (needs `wal_level=logical`). Snapshot then stream:
 *   the slot is created with an exported snapshot, the tables are read inside that snapshot
 *   (records with `op: "r"`), then changes stream from exactly the slot's start — nothing missed,
 *   nothing twice. Records: key = the primary key columns; value (`cdcFormat: 'envelope'`) =
 *   `{ op: c|u|d|r|t, before, after, source: { lsn, txId, schema, table, commitTime }, tsMs }`,
 *   or (`cdcFormat: 'row'`) the row itself, with a null value (tombstone) for a delete.
 *
 * CDC offsets (design note): a transaction is emitted when its Commit arrives, each record with
 * `{ lsn, tx, i }` — `lsn` the end of the last *complete* transaction, `tx` this transaction's
 * commit LSN, `i` the record's index — and the last record with `{ lsn: <its end> }`. After a
 * restart streaming resumes from `lsn`; PostgreSQL sends the interrupted transaction again and
 * its first `i + 1` changes are skipped. The slot is told (standby status) that `lsn` is flushed
 * only after those offsets are stored, so WAL is kept until then.
 */
import pg from 'pg';
import { z } from 'zod';
import { bool, num, str } from '../../../util/schema.ts';
import { ConnectError, RetriableError, errorMessage } from '../../errors.ts';
import { defineSourcePlugin, type JsonObject, type RecordSchema, type SourceRecord, type SourceTask, type SourceTaskContext } from '../../types.ts';
import { decodePgOutput, formatLsn, parseLsn, type Lsn, type Relation, type TupleValue } from './pgoutput.ts';
import { ReplicationConnection } from './replication.ts';
import { decodeText, fieldTypeOf, isConnectionError, qualified, quoteIdent } from './values.ts';

export const PG_SOURCE_FIELDS = {
  url: str('a PostgreSQL URL like postgres://user@host:5432/db'),
  mode: z.enum(['bulk', 'incrementing', 'timestamp', 'timestamp+incrementing', 'cdc']),
  /** `table` or `schema.table`; for cdc, empty = every table of the publication. */
  tables: z.array(str('a table name')).default([]),
  topicPrefix: z.string().regex(/^[a-zA-Z0-9._-]*$/, { error: 'use the characters a-z A-Z 0-9 . _ -' }).default('pg.'),
  incrementingColumn: str().optional(),
  timestampColumn: str().optional(),
  pollIntervalMs: num({ int: true, min: 10 }).default(1000),
  batchRows: num({ int: true, min: 1, max: 100_000 }).default(1000),
  timestampDelayMs: num({ int: true, min: 0 }).default(0),
  bulkIntervalMs: num({ int: true, min: 1000 }).optional(),
  slot: z.string().regex(/^[a-z0-9_]{1,63}$/, { error: 'a slot name: 1–63 of a-z 0-9 _' }).optional(),
  publication: z.string().regex(/^[a-zA-Z0-9_]{1,63}$/, { error: 'a publication name: 1–63 of a-z A-Z 0-9 _' }).optional(),
  snapshot: z.enum(['initial', 'never']).default('initial'),
  cdcFormat: z.enum(['envelope', 'row']).default('envelope'),
  /** cdc with `envelope`: also write a tombstone (null value) after each delete, for compacted topics. */
  tombstonesOnDelete: bool().default(false),
};

type PgSourceConfig = z.output<z.ZodObject<typeof PG_SOURCE_FIELDS>> & { tasksMax: number };

/** Topic of a table: `<prefix><table>` (`<prefix><schema>.<table>` outside `public`). */
export function topicFor(prefix: string, schema: string, table: string): string {
  return `${prefix}${schema === 'public' ? '' : `${schema}.`}${table}`.replace(/[^a-zA-Z0-9._-]/g, '_');
}

function defaultSlot(connector: string): string {
  return `tributary_${connector.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

/** Query results as text (decoded with the same rules as replicated values). */
const TEXT_TYPES = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

function toRetriable(err: unknown, what: string): Error {
  if (err instanceof ConnectError) return err;
  if (isConnectionError(err)) return new RetriableError(`${what}: ${errorMessage(err)}`, { code: 'DATABASE_UNAVAILABLE', cause: err });
  return new ConnectError('DATABASE_ERROR', `${what}: ${errorMessage(err)}`, { cause: err });
}

interface TableInfo {
  schema: string;
  table: string;
  sql: string;
  topic: string;
  columns: Array<{ name: string; oid: number }>;
  keys: string[];
  schemaOf: RecordSchema;
}

async function describeTable(client: pg.Client, name: string, prefix: string): Promise<TableInfo> {
  const q = qualified(name);
  const cols = await client.query<{ attname: string; atttypid: string; attnotnull: boolean }>(
    `SELECT a.attname, a.atttypid, a.attnotnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [q.schema, q.table],
  );
  if (cols.rows.length === 0) throw new ConnectError('DATABASE_ERROR', `table ${q.schema}.${q.table} does not exist (or has no columns)`);
  const keys = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
     WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    [q.sql],
  );
  const columns = cols.rows.map((r) => ({ name: r.attname, oid: Number(r.atttypid) }));
  return {
    ...q,
    topic: topicFor(prefix, q.schema, q.table),
    columns,
    keys: keys.rows.map((r) => r.attname),
    schemaOf: { type: 'struct', name: `${q.schema}.${q.table}`, fields: cols.rows.map((r) => ({ field: r.attname, type: fieldTypeOf(Number(r.atttypid)), optional: !r.attnotnull })) },
  };
}

function rowValue(t: TableInfo, row: Record<string, string | null>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.columns) out[c.name] = decodeText(c.oid, row[c.name] ?? null);
  return out;
}

function keyOf(keys: string[], row: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!row || keys.length === 0) return null;
  return Object.fromEntries(keys.map((k) => [k, row[k] ?? null]));
}

// ---- table copy -------------------------------------------------------------------------------

function tableCopyTask(config: PgSourceConfig, tables: string[], ctx: SourceTaskContext): SourceTask {
  let client: pg.Client | null = null;
  const infos = new Map<string, TableInfo>();
  const nextPoll = new Map<string, number>();
  let bulk: { table: string; cursor: boolean } | null = null;

  const connect = async (): Promise<pg.Client> => {
    if (client) return client;
    const c = new pg.Client({ connectionString: config.url, types: TEXT_TYPES });
    c.on('error', () => {});
    try {
      await c.connect();
    } catch (err) {
      throw toRetriable(err, `cannot connect to ${redact(config.url)}`);
    }
    client = c;
    return c;
  };
  const drop = async () => {
    const c = client;
    client = null;
    bulk = null;
    await c?.end().catch(() => {});
  };
  const info = async (c: pg.Client, name: string) => {
    let t = infos.get(name);
    if (!t) infos.set(name, (t = await describeTable(c, name, config.topicPrefix)));
    return t;
  };

  const pollIncremental = async (c: pg.Client, t: TableInfo): Promise<SourceRecord[]> => {
    const partition = { table: `${t.schema}.${t.table}` };
    const stored = ctx.offset(partition);
    const inc = config.incrementingColumn ? quoteIdent(config.incrementingColumn) : null;
    const ts = config.timestampColumn ? quoteIdent(config.timestampColumn) : null;
    const params: unknown[] = [];
    const where: string[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    let order: string;
    if (config.mode === 'incrementing') {
      if (stored?.['id'] != null) where.push(`${inc} > ${p(stored['id'])}`);
      order = `${inc}`;
    } else {
      if (config.mode === 'timestamp') {
        if (stored?.['ts'] != null) where.push(`${ts} > ${p(stored['ts'])}`);
        order = `${ts}`;
      } else {
        if (stored?.['ts'] != null) {
          const a = p(stored['ts']);
          where.push(`(${ts} > ${a} OR (${ts} = ${a} AND ${inc} > ${p(stored['id'])}))`);
        }
        order = `${ts}, ${inc}`;
      }
      where.push(`${ts} < now() - ${p(`${config.timestampDelayMs} milliseconds`)}::interval`);
    }
    const sql = `SELECT * FROM ${t.sql}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${config.batchRows}`;
    let rows = (await c.query<Record<string, string | null>>(sql, params)).rows;
    if (config.mode === 'timestamp' && rows.length === config.batchRows) {
      // Rows sharing the last timestamp may continue past the page: finish them next time.
      const last = rows.at(-1)![config.timestampColumn!];
      const cut = rows.filter((r) => r[config.timestampColumn!] !== last);
      if (cut.length > 0) rows = cut;
      else rows = (await c.query<Record<string, string | null>>(`SELECT * FROM ${t.sql} WHERE ${ts} = $1`, [last])).rows;
    }
    return rows.map((row) => {
      const value = rowValue(t, row);
      const offset: JsonObject = {};
      if (config.timestampColumn) offset['ts'] = row[config.timestampColumn] ?? null;
      if (config.incrementingColumn) offset['id'] = row[config.incrementingColumn] ?? null;
      return { topic: t.topic, key: keyOf(t.keys, value), value, valueSchema: t.schemaOf, sourcePartition: partition, sourceOffset: offset };
    });
  };

  const pollBulk = async (c: pg.Client, t: TableInfo): Promise<SourceRecord[] | null> => {
    const partition = { table: `${t.schema}.${t.table}` };
    const stored = ctx.offset(partition);
    if (!bulk || bulk.table !== t.sql) {
      const done = stored?.['completedAt'];
      if (typeof done === 'number' && (config.bulkIntervalMs === undefined || Date.now() - done < config.bulkIntervalMs)) return null;
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await c.query(`DECLARE tributary_bulk NO SCROLL CURSOR FOR SELECT * FROM ${t.sql}`);
      bulk = { table: t.sql, cursor: true };
    }
    const rows = (await c.query<Record<string, string | null>>(`FETCH ${config.batchRows} FROM tributary_bulk`)).rows;
    const finished = rows.length < config.batchRows;
    if (finished) {
      await c.query('COMMIT');
      bulk = null;
    }
    const out: SourceRecord[] = rows.map((row) => {
      const value = rowValue(t, row);
      return { topic: t.topic, key: keyOf(t.keys, value), value, valueSchema: t.schemaOf };
    });
    if (finished) out.push({ value: null, offsetOnly: true, sourcePartition: partition, sourceOffset: { completedAt: Date.now() } });
    return out;
  };

  return {
    async poll(signal) {
      const c = await connect();
      try {
        for (const name of tables) {
          if (signal.aborted) return [];
          if ((nextPoll.get(name) ?? 0) > Date.now() && !(bulk && bulk.table === qualified(name).sql)) continue;
          const t = await info(c, name);
          const out = config.mode === 'bulk' ? await pollBulk(c, t) : await pollIncremental(c, t);
          if (out === null || out.length === 0) {
            nextPoll.set(name, Date.now() + config.pollIntervalMs);
            continue;
          }
          if (config.mode !== 'bulk' && out.length < config.batchRows) nextPoll.set(name, Date.now() + config.pollIntervalMs);
          return out;
        }
      } catch (err) {
        await drop();
        throw toRetriable(err, 'reading the table');
      }
      const soonest = Math.min(...tables.map((n) => nextPoll.get(n) ?? 0));
      await ctx.sleep(Math.max(10, Math.min(500, soonest - Date.now())), signal);
      return [];
    },
    async stop() {
      await drop();
    },
  };
}

// ---- change data capture ------------------------------------------------------------------------

interface Change {
  op: 'c' | 'u' | 'd' | 't';
  relation: Relation;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

function tupleObject(rel: Relation, tuple: TupleValue[] | null): Record<string, unknown> | null {
  if (!tuple) return null;
  const out: Record<string, unknown> = {};
  rel.columns.forEach((c, i) => {
    const v = tuple[i];
    if (v !== null && typeof v === 'object') return; // unchanged TOAST: not sent, leave it out
    out[c.name] = decodeText(c.typeOid, v ?? null);
  });
  return out;
}

function relationSchema(rel: Relation): RecordSchema {
  return { type: 'struct', name: `${rel.schema}.${rel.table}`, fields: rel.columns.map((c) => ({ field: c.name, type: fieldTypeOf(c.typeOid), optional: true })) };
}

function cdcTask(config: PgSourceConfig, ctx: SourceTaskContext): SourceTask {
  const slot = config.slot ?? defaultSlot(ctx.connector);
  const publication = config.publication ?? slot;
  const partition = { slot };
  let db: pg.Client | null = null;
  let repl: ReplicationConnection | null = null;
  let streamError: Error | null = null;
  let wake: (() => void) | null = null;
  const ready: SourceRecord[][] = []; // complete transactions, in order
  const relations = new Map<number, Relation>();
  let tx: { xid: number; commitTime: number; changes: Change[] } | null = null;
  let committedLsn: Lsn = 0n; // end of the last complete transaction we emitted
  let confirmed: Lsn = 0n;
  let skip: { tx: string; upTo: number } | null = null;
  let snapshot: { tables: TableInfo[]; index: number; startLsn: string; open: boolean } | null = null;
  let streaming = false;

  const connectDb = async (): Promise<pg.Client> => {
    if (db) return db;
    const c = new pg.Client({ connectionString: config.url, types: TEXT_TYPES });
    c.on('error', () => {});
    await c.connect();
    db = c;
    return c;
  };

  const closeAll = async () => {
    streaming = false;
    snapshot = null;
    tx = null;
    ready.length = 0;
    const r = repl;
    repl = null;
    await r?.close();
    const d = db;
    db = null;
    await d?.end().catch(() => {});
  };

  const emitTransaction = (commitLsn: Lsn, endLsn: Lsn, commitTime: number, xid: number, changes: Change[]) => {
    const txId = formatLsn(commitLsn);
    const records: SourceRecord[] = [];
    changes.forEach((ch, i) => {
      if (skip && skip.tx === txId && i <= skip.upTo) return;
      const rel = ch.relation;
      const keys = rel.columns.filter((c) => c.isKey).map((c) => c.name);
      const key = keyOf(keys, ch.after ?? ch.before);
      const topic = topicFor(config.topicPrefix, rel.schema, rel.table);
      const offset: JsonObject = { lsn: formatLsn(committedLsn), tx: txId, i };
      if (config.cdcFormat === 'row') {
        if (ch.op === 't') return;
        records.push({
          topic,
          key,
          value: ch.op === 'd' ? null : ch.after,
          ...(ch.op === 'd' ? {} : { valueSchema: relationSchema(rel) }),
          timestamp: commitTime,
          sourcePartition: partition,
          sourceOffset: offset,
        });
        return;
      }
      records.push({
        topic,
        key,
        value: { op: ch.op, before: ch.before, after: ch.after, source: { lsn: txId, txId: xid, schema: rel.schema, table: rel.table, commitTime: new Date(commitTime).toISOString() }, tsMs: commitTime },
        timestamp: commitTime,
        sourcePartition: partition,
        sourceOffset: offset,
      });
      if (ch.op === 'd' && config.tombstonesOnDelete) records.push({ topic, key, value: null, timestamp: commitTime, sourcePartition: partition, sourceOffset: offset });
    });
    // The transaction is complete once this offset is stored: resume after it.
    records.push({ value: null, offsetOnly: true, sourcePartition: partition, sourceOffset: { lsn: formatLsn(endLsn) } });
    if (skip && skip.tx === txId) skip = null;
    committedLsn = endLsn;
    ready.push(records);
  };

  const onMessage = (data: Buffer) => {
    const m = decodePgOutput(data);
    switch (m.tag) {
      case 'relation':
        relations.set(m.relation.relationId, m.relation);
        return;
      case 'begin':
        tx = { xid: m.xid, commitTime: m.commitTime, changes: [] };
        return;
      case 'commit': {
        const t = tx;
        tx = null;
        if (t && m.endLsn > committedLsn) emitTransaction(m.commitLsn, m.endLsn, m.commitTime, t.xid, t.changes);
        wake?.();
        return;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        const rel = relations.get(m.relationId);
        if (!rel || !tx) throw new Error(`change for unknown relation ${m.relationId}`);
        if (m.tag === 'insert') tx.changes.push({ op: 'c', relation: rel, before: null, after: tupleObject(rel, m.newTuple) });
        else if (m.tag === 'update') tx.changes.push({ op: 'u', relation: rel, before: tupleObject(rel, m.oldTuple ?? m.keyTuple), after: tupleObject(rel, m.newTuple) });
        else tx.changes.push({ op: 'd', relation: rel, before: tupleObject(rel, m.oldTuple ?? m.keyTuple), after: null });
        return;
      }
      case 'truncate':
        for (const id of m.relationIds) {
          const rel = relations.get(id);
          if (rel && tx) tx.changes.push({ op: 't', relation: rel, before: null, after: null });
        }
        return;
      default:
        return;
    }
  };

  const startStream = async (from: Lsn) => {
    repl ??= await ReplicationConnection.connect(config.url);
    committedLsn = from;
    confirmed = from;
    streamError = null;
    repl.start(slot, publication, from, {
      frame: (f) => {
        try {
          if (f.type === 'keepalive') {
            if (f.replyRequested) repl?.sendStatus(confirmed);
            return;
          }
          onMessage(f.data);
        } catch (err) {
          streamError = err as Error;
          wake?.();
        }
      },
      error: (err) => {
        streamError = err;
        wake?.();
      },
      end: () => {
        streamError ??= new Error('replication stream ended');
        wake?.();
      },
    });
    streaming = true;
  };

  const setup = async () => {
    const c = await connectDb();
    const wal = (await c.query<{ wal_level: string }>('SHOW wal_level')).rows[0]!.wal_level;
    if (wal !== 'logical') {
      throw new ConnectError('DATABASE_ERROR', `PostgreSQL has wal_level=${wal}; change data capture needs wal_level=logical (set it in postgresql.conf or with -c wal_level=logical, then restart PostgreSQL)`);
    }
    const pub = await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
    if (pub.rowCount === 0) {
      const list = config.tables.length ? `FOR TABLE ${config.tables.map((t) => qualified(t).sql).join(', ')}` : 'FOR ALL TABLES';
      await c.query(`CREATE PUBLICATION ${quoteIdent(publication)} ${list}`);
      ctx.logger.info({ publication }, 'created publication');
    }
    const slotRow = await c.query<{ confirmed_flush_lsn: string | null }>('SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    const stored = ctx.offset(partition);
    const snapshotDone = stored?.['lsn'] !== undefined && stored['snapshot'] !== 'running';
    if (slotRow.rowCount && snapshotDone) {
      skip = stored!['tx'] !== undefined ? { tx: String(stored!['tx']), upTo: Number(stored!['i']) } : null;
      await startStream(parseLsn(String(stored!['lsn'])));
      return;
    }
    if (slotRow.rowCount) {
      // A slot without a finished snapshot (stopped mid-snapshot, or offsets reset): start over.
      await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
    repl = await ReplicationConnection.connect(config.url);
    const created = await repl.createSlot(slot);
    ctx.logger.info({ slot, lsn: created.consistentPoint }, 'created replication slot');
    if (config.snapshot === 'never') {
      ready.push([{ value: null, offsetOnly: true, sourcePartition: partition, sourceOffset: { lsn: created.consistentPoint } }]);
      await startStream(parseLsn(created.consistentPoint));
      return;
    }
    const names = config.tables.length
      ? config.tables
      : (await c.query<{ schemaname: string; tablename: string }>('SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2', [publication])).rows.map((r) => `${r.schemaname}.${r.tablename}`);
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await c.query(`SET TRANSACTION SNAPSHOT '${created.snapshotName.replace(/'/g, "''")}'`);
    const tables: TableInfo[] = [];
    for (const n of names) tables.push(await describeTable(c, n, config.topicPrefix));
    snapshot = { tables, index: 0, startLsn: created.consistentPoint, open: false };
  };

  const pollSnapshot = async (): Promise<SourceRecord[]> => {
    const s = snapshot!;
    const c = db!;
    const t = s.tables[s.index];
    if (!t) {
      await c.query('COMMIT');
      snapshot = null;
      await startStream(parseLsn(s.startLsn));
      return [{ value: null, offsetOnly: true, sourcePartition: partition, sourceOffset: { lsn: s.startLsn } }];
    }
    if (!s.open) {
      await c.query(`DECLARE tributary_snapshot NO SCROLL CURSOR FOR SELECT * FROM ${t.sql}`);
      s.open = true;
    }
    const rows = (await c.query<Record<string, string | null>>(`FETCH ${config.batchRows} FROM tributary_snapshot`)).rows;
    if (rows.length < config.batchRows) {
      await c.query('CLOSE tributary_snapshot');
      s.open = false;
      s.index++;
    }
    const offset = { snapshot: 'running', lsn: s.startLsn };
    return rows.map((row) => {
      const after = rowValue(t, row);
      const key = keyOf(t.keys, after);
      if (config.cdcFormat === 'row') return { topic: t.topic, key, value: after, valueSchema: t.schemaOf, sourcePartition: partition, sourceOffset: offset };
      return {
        topic: t.topic,
        key,
        value: { op: 'r', before: null, after, source: { lsn: s.startLsn, txId: null, schema: t.schema, table: t.table, snapshot: true }, tsMs: Date.now() },
        sourcePartition: partition,
        sourceOffset: offset,
      };
    });
  };

  let started = false;
  return {
    async poll(signal) {
      try {
        if (streamError) {
          const e = streamError;
          await closeAll();
          started = false;
          throw e;
        }
        if (!started) {
          await setup();
          started = true;
        }
        if (snapshot) return await pollSnapshot();
        if (ready.length === 0 && streaming) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(done, 500);
            function done() {
              clearTimeout(t);
              signal.removeEventListener('abort', done);
              resolve();
            }
            wake = done;
            signal.addEventListener('abort', done, { once: true });
          });
          wake = null;
        }
        const out: SourceRecord[] = [];
        while (ready.length && out.length < 5000) out.push(...ready.shift()!);
        return out;
      } catch (err) {
        if (err instanceof ConnectError) throw err;
        await closeAll();
        started = false;
        throw new RetriableError(`change data capture: ${errorMessage(err)}`, { code: 'DATABASE_UNAVAILABLE', cause: err });
      }
    },
    async commit() {
      // Offsets up to here are stored: the slot may release the WAL before the last complete transaction.
      const stored = ctx.offset(partition);
      if (!stored?.['lsn'] || stored['snapshot'] === 'running' || !repl || !streaming) return;
      const lsn = parseLsn(String(stored['lsn']));
      if (lsn > confirmed) {
        confirmed = lsn;
        repl.sendStatus(lsn);
      }
    },
    async stop() {
      await closeAll();
    },
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

export const postgresSourcePlugin = defineSourcePlugin({
  name: 'postgres-source',
  description: 'PostgreSQL tables into topics: bulk or incremental (timestamp + id) copy, or change data capture (logical replication, pgoutput)',
  fields: PG_SOURCE_FIELDS,
  validate(config) {
    const problems = [];
    if ((config.mode === 'incrementing' || config.mode === 'timestamp+incrementing') && !config.incrementingColumn) {
      problems.push({ path: 'incrementingColumn', message: `mode "${config.mode}" needs incrementingColumn (a column that only grows, like a serial id)` });
    }
    if ((config.mode === 'timestamp' || config.mode === 'timestamp+incrementing') && !config.timestampColumn) {
      problems.push({ path: 'timestampColumn', message: `mode "${config.mode}" needs timestampColumn (a last-modified timestamp)` });
    }
    if (config.mode !== 'cdc' && config.tables.length === 0) problems.push({ path: 'tables', message: 'list the tables to copy' });
    if (config.mode === 'cdc' && config.tasksMax > 1) problems.push({ path: 'tasksMax', message: 'change data capture reads one replication slot: use tasksMax 1' });
    try {
      const u = new URL(config.url);
      if (!/^postgres(ql)?:$/.test(u.protocol)) problems.push({ path: 'url', message: `expected a postgres:// URL, got ${u.protocol}//…` });
    } catch {
      problems.push({ path: 'url', message: 'expected a URL like postgres://user@host:5432/db' });
    }
    return problems;
  },
  taskConfigs(config, maxTasks) {
    if (config.mode === 'cdc') return [{}];
    const n = Math.max(1, Math.min(maxTasks, config.tables.length));
    return Array.from({ length: n }, (_, i) => ({ tables: config.tables.filter((_t: string, j: number) => j % n === i) }));
  },
  createTask(config, task, ctx) {
    const c = config as unknown as PgSourceConfig;
    if (c.mode === 'cdc') return cdcTask(c, ctx);
    return tableCopyTask(c, (task['tables'] as string[] | undefined) ?? c.tables, ctx);
  },
  async resetOffsets(config, { connector, logger }) {
    if (config.mode !== 'cdc') return;
    const slot = (config.slot as string | undefined) ?? defaultSlot(connector);
    const c = new pg.Client({ connectionString: config.url });
    await c.connect();
    try {
      await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]);
      logger.info({ slot }, 'dropped replication slot (offsets reset)');
    } finally {
      await c.end();
    }
  },
});
