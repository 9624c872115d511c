/**
 * PostgreSQL sink: writes records into tables, exactly once.
 *
 * Design note. Each `put()` is one database transaction that writes the rows *and* the next
 * offset of every partition it covers into `offsetsTable` (connector, topic, partition,
 * next_offset). The transaction first locks those offset rows (`FOR UPDATE`) and skips records
 * below them, so a batch delivered twice — after a crash between the COMMIT and the consumer
 * commit, a rebalance, or a retry whose COMMIT did reach the database — is written once. On
 * (re)assignment `open()` tells the runtime to resume from the stored offsets. The database, not
 * the log, is the source of truth for how far the sink got.
 *
 * Rows: `pkMode: 'none'` inserts the value's fields; `record_key` takes the key's fields (or the
 * key itself as `pkFields[0]`, default `id`) as the primary key; `record_value` takes `pkFields`
 * from the value. `insertMode: 'upsert'` updates rows with the same key (needs a key). A
 * tombstone (null value) deletes the row when `deleteEnabled`. With `autoCreate` a missing table
 * is created from the record schema (the `{schema, payload}` envelope with `schemas: true`), or
 * from the values' types; `autoEvolve` adds missing columns.
 *
 * Speed: plain inserts are one `COPY … FROM STDIN` per table and batch (text format, sent by a
 * small pg submittable, no dependency); upserts one `INSERT … SELECT FROM unnest($1::t[], …)`.
 * No savepoints on this path; the batch size is the connector's `batchSize` (records per poll).
 *
 * Errors: connection loss is retried (the runtime puts the same records again). A row the
 * database rejects (bad value, constraint) aborts the fast path: the transaction is rolled back
 * and run again with savepoints that isolate the bad rows, each reported alone (dead-lettered
 * with `errors.tolerance: all`); the rest of the batch is written.
 */
import pg from 'pg';
import { z } from 'zod';
import { bool, str } from '../../../util/schema.ts';
import { ConnectError, RetriableError, errorMessage } from '../../errors.ts';
import { isPlainObject } from '../../transforms/paths.ts';
import { defineSinkPlugin, type FieldType, type RecordSchema, type SinkRecord } from '../../types.ts';
import { columnTypeOf, inferSchema, isConnectionError, isDataError, qualified, quoteIdent, toParam } from './values.ts';

export const PG_SINK_FIELDS = {
  url: str('a PostgreSQL URL like postgres://user@host:5432/db'),
  /** Target table; `${topic}` is replaced by the record's topic (dots and dashes become _). */
  table: str().default('${topic}'),
  insertMode: z.enum(['insert', 'upsert']).default('insert'),
  pkMode: z.enum(['none', 'record_key', 'record_value']).default('none'),
  pkFields: z.array(str()).default([]),
  autoCreate: bool().default(true),
  autoEvolve: bool().default(false),
  deleteEnabled: bool().default(false),
  offsetsTable: str().default('tributary_connect_offsets'),
};

type SinkConfig = z.output<z.ZodObject<typeof PG_SINK_FIELDS>> & { connectorName: string };

export function tableName(template: string, topic: string): string {
  return template.replaceAll('${topic}', topic.replace(/[.-]/g, '_'));
}

interface Row {
  record: SinkRecord;
  table: string;
  key: Record<string, unknown> | null;
  /** null = delete */
  values: Record<string, unknown> | null;
  schema: RecordSchema | undefined;
}

function parseKey(key: unknown): unknown {
  if (typeof key === 'string' && key.startsWith('{')) {
    try {
      return JSON.parse(key);
    } catch {
      return key;
    }
  }
  return key;
}

function toRow(config: SinkConfig, r: SinkRecord): Row {
  const table = tableName(config.table, r.topic);
  let key: Record<string, unknown> | null = null;
  if (config.pkMode === 'record_key') {
    const k = parseKey(r.key);
    if (k === null || k === undefined) throw new ConnectError('RECORD_INVALID', 'pkMode record_key: the record has no key');
    key = isPlainObject(k) ? k : { [config.pkFields[0] ?? 'id']: k };
  }
  if (r.value === null || r.value === undefined) {
    if (!config.deleteEnabled) throw new ConnectError('RECORD_INVALID', 'a tombstone (null value) and deleteEnabled is false');
    if (!key) throw new ConnectError('RECORD_INVALID', 'deleting needs pkMode record_key');
    return { record: r, table, key, values: null, schema: r.valueSchema };
  }
  if (!isPlainObject(r.value)) throw new ConnectError('RECORD_INVALID', `the value is not an object (got ${typeof r.value}): rows need named fields (use a transform to shape it)`);
  const values = { ...(key ?? {}), ...r.value };
  if (config.pkMode === 'record_value') {
    key = {};
    for (const f of config.pkFields) {
      if (!(f in r.value)) throw new ConnectError('RECORD_INVALID', `pkMode record_value: the value has no field "${f}"`);
      key[f] = r.value[f];
    }
  }
  let schema = r.valueSchema;
  if (schema && key && r.keySchema) schema = { ...schema, fields: [...r.keySchema.fields.filter((f) => !schema!.fields.some((g) => g.field === f.field)), ...schema.fields] };
  return { record: r, table, key, values, schema };
}

export const postgresSinkPlugin = defineSinkPlugin({
  name: 'postgres-sink',
  description: 'records into PostgreSQL tables (insert or upsert by key), exactly once: offsets in the same transaction; tables created from the record schema',
  fields: PG_SINK_FIELDS,
  validate(config) {
    const problems = [];
    if (config.insertMode === 'upsert' && config.pkMode === 'none') problems.push({ path: 'pkMode', message: 'upsert needs a key: set pkMode to "record_key" or "record_value"' });
    if (config.pkMode === 'record_value' && config.pkFields.length === 0) problems.push({ path: 'pkFields', message: 'pkMode record_value needs pkFields (the value fields that form the key)' });
    if (config.deleteEnabled && config.pkMode !== 'record_key') problems.push({ path: 'deleteEnabled', message: 'deleting by tombstone needs pkMode "record_key"' });
    return problems;
  },
  async listOffsets(config, { connector }) {
    const c = new pg.Client({ connectionString: config.url });
    await c.connect();
    try {
      const t = qualified(config.offsetsTable).sql;
      const exists = await c.query('SELECT to_regclass($1) AS t', [t]);
      if (!exists.rows[0].t) return [];
      const rows = await c.query<{ topic: string; partition: number; next_offset: string }>(`SELECT topic, partition, next_offset FROM ${t} WHERE connector = $1 ORDER BY 1, 2`, [connector]);
      return rows.rows.map((r) => ({ partition: { topic: r.topic, partition: r.partition }, offset: { offset: Number(r.next_offset) } }));
    } finally {
      await c.end();
    }
  },
  async resetOffsets(config, { connector, logger }) {
    const c = new pg.Client({ connectionString: config.url });
    await c.connect();
    try {
      const t = qualified(config.offsetsTable).sql;
      const exists = await c.query('SELECT to_regclass($1) AS t', [t]);
      if (exists.rows[0].t) await c.query(`DELETE FROM ${t} WHERE connector = $1`, [connector]);
      logger.info({ connector }, 'deleted the sink offsets kept in the database');
    } finally {
      await c.end();
    }
  },
  createTask(config, _task, ctx) {
    const cfg = { ...(config as unknown as SinkConfig), connectorName: ctx.connector };
    const offsetsTable = qualified(cfg.offsetsTable).sql;
    let client: pg.Client | null = null;
    const known = new Map<string, Map<string, FieldType | undefined>>(); // table → column → type

    const connect = async (): Promise<pg.Client> => {
      if (client) return client;
      const c = new pg.Client({ connectionString: cfg.url });
      c.on('error', () => {});
      try {
        await c.connect();
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${offsetsTable} (connector text NOT NULL, topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL, PRIMARY KEY (connector, topic, partition))`,
        ).catch((err: { code?: string }) => {
          if (!isCreateRace(err.code)) throw err; // another task created it at the same moment
        });
      } catch (err) {
        await c.end().catch(() => {});
        throw wrap(err, 'connecting');
      }
      client = c;
      return c;
    };

    const wrap = (err: unknown, what: string): Error => {
      if (err instanceof ConnectError) return err;
      if (isConnectionError(err)) {
        const c = client;
        client = null;
        void c?.end().catch(() => {});
        return new RetriableError(`PostgreSQL ${what}: ${errorMessage(err)}`, { code: 'DATABASE_UNAVAILABLE', cause: err });
      }
      return new ConnectError('DATABASE_ERROR', `PostgreSQL ${what}: ${errorMessage(err)}`, { cause: err });
    };

    /** Column SQL types per table, for casting array parameters (`$1::bigint[]`). */
    const sqlTypes = new Map<string, Map<string, { type: string; array: boolean }>>();

    const columnsOf = async (c: pg.Client, table: string): Promise<Map<string, FieldType | undefined> | null> => {
      const cached = known.get(table);
      if (cached) return cached;
      const q = qualified(table);
      const res = await c.query<{ attname: string; type: string; typcategory: string }>(
        `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
        [q.sql],
      );
      if (res.rowCount === 0) return null;
      const m = new Map<string, FieldType | undefined>(res.rows.map((r) => [r.attname, undefined]));
      sqlTypes.set(table, new Map(res.rows.map((r) => [r.attname, { type: r.type, array: r.typcategory === 'A' }])));
      known.set(table, m);
      return m;
    };

    const ensureTable = async (c: pg.Client, table: string, rows: Row[]): Promise<Map<string, FieldType | undefined>> => {
      const cached = known.get(table);
      if (cached && everyFieldTyped(rows, cached)) return cached; // nothing to create, add or infer
      const withValues = rows.filter((r) => r.values);
      const schema = withValues.find((r) => r.schema)?.schema ?? inferSchema(withValues.map((r) => r.values!));
      const types = new Map(schema.fields.map((f) => [f.field, f.type]));
      let cols = await columnsOf(c, table);
      const q = qualified(table);
      if (!cols) {
        if (!cfg.autoCreate) throw new ConnectError('DATABASE_ERROR', `table ${table} does not exist and autoCreate is false: create it, or set autoCreate: true`);
        const keyFields = rows.find((r) => r.key)?.key ? Object.keys(rows.find((r) => r.key)!.key!) : [];
        const defs = schema.fields.map((f) => `${quoteIdent(f.field)} ${columnTypeOf(f.type)}${keyFields.includes(f.field) || f.optional === false ? ' NOT NULL' : ''}`);
        for (const k of keyFields) if (!types.has(k)) defs.unshift(`${quoteIdent(k)} text NOT NULL`);
        if (keyFields.length) defs.push(`PRIMARY KEY (${keyFields.map(quoteIdent).join(', ')})`);
        // Inside the batch's transaction: a savepoint, so losing a creation race to another task
        // (PostgreSQL reports a unique violation on its catalog) leaves the transaction usable.
        await c.query('SAVEPOINT create_table');
        try {
          await c.query(`CREATE TABLE IF NOT EXISTS ${q.sql} (${defs.join(', ')})`);
          await c.query('RELEASE SAVEPOINT create_table');
        } catch (err) {
          if (!isCreateRace((err as { code?: string }).code)) throw err;
          await c.query('ROLLBACK TO SAVEPOINT create_table');
        }
        ctx.logger.info({ table }, 'created table from the record schema');
        known.delete(table);
        cols = (await columnsOf(c, table))!;
      }
      for (const [k, t] of types) if (cols.has(k) && cols.get(k) === undefined) cols.set(k, t);
      if (cfg.autoEvolve) {
        const missing = [...types.keys()].filter((k) => !cols!.has(k));
        for (const m of missing) {
          await c.query(`ALTER TABLE ${q.sql} ADD COLUMN IF NOT EXISTS ${quoteIdent(m)} ${columnTypeOf(types.get(m)!)}`);
          cols.set(m, types.get(m));
        }
      }
      return cols;
    };

    /** Writes rows in record order: runs of inserts/upserts as one statement each, deletes between them. */
    const writeRows = async (c: pg.Client, table: string, rows: Row[], cols: Map<string, FieldType | undefined>) => {
      let run: Row[] = [];
      for (const r of rows) {
        if (r.values) {
          run.push(r);
          continue;
        }
        if (run.length) await writeUpserts(c, table, run, cols);
        run = [];
        const ks = Object.keys(r.key!);
        await c.query(`DELETE FROM ${qualified(table).sql} WHERE ${ks.map((k, i) => `${quoteIdent(k)} = $${i + 1}`).join(' AND ')}`, ks.map((k) => toParam(r.key![k], cols.get(k))));
      }
      if (run.length) await writeUpserts(c, table, run, cols);
    };

    const writeUpserts = async (c: pg.Client, table: string, upserts: Row[], cols: Map<string, FieldType | undefined>) => {
      const q = qualified(table).sql;
      const names = fieldNames(upserts);
      const unknown = names.filter((n) => !cols.has(n));
      if (unknown.length) throw Object.assign(new Error(`column ${unknown.map((u) => `"${u}"`).join(', ')} of table ${table} does not exist (set autoEvolve: true to add it)`), { code: '42703' });
      const keyCols = upserts[0]!.key ? Object.keys(upserts[0]!.key!) : [];
      let conflict = '';
      let rowsToWrite = upserts;
      if (cfg.insertMode === 'upsert' && keyCols.length) {
        const rest = names.filter((n) => !keyCols.includes(n));
        conflict = ` ON CONFLICT (${keyCols.map(quoteIdent).join(', ')}) DO ${rest.length ? `UPDATE SET ${rest.map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`).join(', ')}` : 'NOTHING'}`;
        // One statement may not touch a row twice: the last record of a key wins, as it would one by one.
        const last = new Map<string, Row>();
        for (const r of upserts) {
          const k = JSON.stringify(keyCols.map((x) => r.key![x]));
          last.delete(k);
          last.set(k, r);
        }
        rowsToWrite = [...last.values()];
      }
      if (!conflict) {
        // Plain inserts: COPY … FROM STDIN in the transaction, PostgreSQL's fastest way in.
        const data = copyText(rowsToWrite, names, cols);
        if (data) {
          const copy = new CopyIn(`COPY ${q} (${names.map(quoteIdent).join(', ')}) FROM STDIN`, data);
          void c.query(copy as never);
          await copy.done;
          return;
        }
      }
      const types = sqlTypes.get(table);
      if (types && names.every((n) => types.has(n) && !types.get(n)!.array)) {
        // One statement, one array parameter per column: far less parsing than VALUES (…), (…).
        const params = names.map((n) => arrayParam(rowsToWrite, n, cols.get(n)));
        await c.query(`INSERT INTO ${q} (${names.map(quoteIdent).join(', ')}) SELECT * FROM unnest(${names.map((n, i) => `$${i + 1}::${types.get(n)!.type}[]`).join(', ')})${conflict}`, params);
        return;
      }
      const per = Math.max(1, Math.floor(30_000 / names.length));
      for (let i = 0; i < rowsToWrite.length; i += per) {
        const chunk = rowsToWrite.slice(i, i + per);
        const params: unknown[] = [];
        const tuples = chunk.map((r) => `(${names.map((n) => { params.push(toParam(r.values![n], cols.get(n))); return `$${params.length}`; }).join(', ')})`);
        await c.query(`INSERT INTO ${q} (${names.map(quoteIdent).join(', ')}) VALUES ${tuples.join(', ')}${conflict}`, params);
      }
    };

    /**
     * Writes a table's rows. First try (`isolate` false): the rows as one statement without
     * savepoints; a rejection aborts the transaction and `put()` runs it again isolating. Then
     * a rejected batch is retried row by row, each under a savepoint, to find the bad ones.
     */
    const writeIsolating = async (c: pg.Client, table: string, rows: Row[], bad: Array<{ row: Row; error: Error }>, isolate: boolean) => {
      // The table is created outside the savepoints: rolling one back must not undo it.
      const cols = await ensureTable(c, table, rows);
      if (!isolate) {
        try {
          await writeRows(c, table, rows, cols);
          return;
        } catch (err) {
          if (isDataError((err as { code?: string }).code)) throw new RowRejected(err);
          throw err;
        }
      }
      await c.query('SAVEPOINT batch');
      try {
        await writeRows(c, table, rows, cols);
        await c.query('RELEASE SAVEPOINT batch');
        return;
      } catch (err) {
        if (!isDataError((err as { code?: string }).code) || rows.length === 0) throw err;
        await c.query('ROLLBACK TO SAVEPOINT batch');
      }
      for (const row of rows) {
        await c.query('SAVEPOINT one');
        try {
          await writeRows(c, table, [row], cols);
          await c.query('RELEASE SAVEPOINT one');
        } catch (err) {
          if (!isDataError((err as { code?: string }).code)) throw err;
          await c.query('ROLLBACK TO SAVEPOINT one');
          bad.push({ row, error: new ConnectError('DATABASE_ERROR', `table ${table}: ${errorMessage(err)}`) });
        }
      }
    };

    return {
      async open(partitions) {
        if (partitions.length === 0) return [];
        let c: pg.Client;
        try {
          c = await connect();
          const res = await c.query<{ topic: string; partition: number; next_offset: string }>(
            `SELECT topic, partition, next_offset FROM ${offsetsTable} WHERE connector = $1 AND topic = ANY($2::text[])`,
            [cfg.connectorName, [...new Set(partitions.map((p) => p.topic))]],
          );
          const want = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
          return res.rows.filter((r) => want.has(`${r.topic}\u0000${r.partition}`)).map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.next_offset) }));
        } catch (err) {
          throw wrap(err, 'reading stored offsets');
        }
      },
      async put(records) {
        if (records.length === 0) return;
        try {
          await transaction(records, false);
        } catch (err) {
          if (!(err instanceof RowRejected)) throw err;
          // A row was rejected on the fast path: the whole transaction rolled back; again, row errors isolated.
          await transaction(records, true);
        }
      },
      async stop() {
        const c = client;
        client = null;
        await c?.end().catch(() => {});
      },
    };

    /** One put() as one transaction: lock the partitions' offset rows, write the fresh rows, move the offsets, commit. */
    async function transaction(records: SinkRecord[], isolate: boolean): Promise<void> {
      const c = await connect();
      const parts = new Map<string, { topic: string; partition: number; next: number }>();
      for (const r of records) {
        const k = `${r.topic}\u0000${r.partition}`;
        const p = parts.get(k);
        if (!p || r.offset + 1 > p.next) parts.set(k, { topic: r.topic, partition: r.partition, next: r.offset + 1 });
      }
      const bad: Array<{ row: Row; error: Error }> = [];
      try {
        await c.query('BEGIN');
        const list = [...parts.values()];
        await c.query(
          `INSERT INTO ${offsetsTable} (connector, topic, partition, next_offset) SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) AS x(t, p) ON CONFLICT DO NOTHING`,
          [cfg.connectorName, list.map((p) => p.topic), list.map((p) => p.partition)],
        );
        const locked = await c.query<{ topic: string; partition: number; next_offset: string }>(
          `SELECT topic, partition, next_offset FROM ${offsetsTable} WHERE connector = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[])) FOR UPDATE`,
          [cfg.connectorName, list.map((p) => p.topic), list.map((p) => p.partition)],
        );
        const stored = new Map(locked.rows.map((r) => [`${r.topic}\u0000${r.partition}`, Number(r.next_offset)]));
        // Already written (a redelivery): skip.
        const fresh = records.filter((r) => r.offset >= (stored.get(`${r.topic}\u0000${r.partition}`) ?? 0));
        const byTable = new Map<string, Row[]>();
        for (const r of fresh) {
          let row: Row;
          try {
            row = toRow(cfg, r);
          } catch (err) {
            bad.push({ row: { record: r, table: '', key: null, values: null, schema: undefined }, error: err as Error });
            continue;
          }
          let l = byTable.get(row.table);
          if (!l) byTable.set(row.table, (l = []));
          l.push(row);
        }
        for (const [table, rows] of byTable) await writeIsolating(c, table, rows, bad, isolate);
        const moved = list.filter((p) => p.next > (stored.get(`${p.topic}\u0000${p.partition}`) ?? 0));
        if (moved.length) {
          await c.query(
            `UPDATE ${offsetsTable} o SET next_offset = x.n FROM unnest($2::text[], $3::int[], $4::bigint[]) AS x(t, p, n) WHERE o.connector = $1 AND o.topic = x.t AND o.partition = x.p`,
            [cfg.connectorName, moved.map((p) => p.topic), moved.map((p) => p.partition), moved.map((p) => p.next)],
          );
        }
        // Rejected rows are reported before the commit: if reporting fails (tolerance none), nothing is committed.
        for (const b of bad) await ctx.report(b.row.record, b.error);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        known.clear();
        if (err instanceof RowRejected) throw err;
        throw wrap(err, 'writing rows');
      }
    }
  },
});

/**
 * The rows in COPY's text format (tab-separated, `\N` for NULL), or null when a value is not a
 * number, boolean or string after conversion (dates, buffers: those go by INSERT parameters).
 */
function copyText(rows: Row[], names: string[], cols: Map<string, FieldType | undefined>): Buffer | null {
  const lines = new Array<string>(rows.length);
  const types = names.map((n) => cols.get(n));
  const cells = new Array<string>(names.length);
  for (let i = 0; i < rows.length; i++) {
    const values = rows[i]!.values!;
    for (let j = 0; j < names.length; j++) {
      const v = toParam(values[names[j]!], types[j]);
      if (v === null) cells[j] = '\\N';
      else if (typeof v === 'string') cells[j] = /[\\\n\r\t]/.test(v) ? v.replace(/[\\\n\r\t]/g, copyEscape) : v;
      else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') cells[j] = String(v);
      else return null;
    }
    lines[i] = cells.join('\t');
  }
  return Buffer.from(lines.join('\n') + '\n');
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const copyEscape = (ch: string) => COPY_ESCAPES[ch]!;

/**
 * `COPY … FROM STDIN` on a pg client without a dependency: a submittable that sends the data
 * when PostgreSQL asks for it. `done` settles at the first error or when the server is ready again.
 */
class CopyIn {
  readonly done: Promise<void>;
  private settle!: (err?: Error) => void;
  constructor(
    private readonly text: string,
    private readonly data: Buffer,
  ) {
    this.done = new Promise((resolve, reject) => {
      let settled = false;
      this.settle = (err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
    });
  }
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleCopyInResponse(connection: { sendCopyFromChunk(b: Buffer): void; endCopyFrom(): void }): void {
    connection.sendCopyFromChunk(this.data);
    connection.endCopyFrom();
  }
  handleError(err: Error): void {
    this.settle(err);
  }
  handleReadyForQuery(): void {
    this.settle();
  }
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** The fast path's single statement was rejected for its data: `put()` runs the batch again row by row. */
class RowRejected extends Error {
  constructor(cause: unknown) {
    super(`a row was rejected: ${errorMessage(cause)}`, { cause });
  }
}

/** The value fields of the rows, in first-seen order. */
function fieldNames(rows: Row[]): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const k in r.values!) names.add(k);
  return [...names];
}

/** True when every field of the rows is a column whose type is already known (no inference, no new column). */
function everyFieldTyped(rows: Row[], cols: Map<string, FieldType | undefined>): boolean {
  for (const r of rows) {
    if (!r.values) continue;
    for (const k in r.values) if (cols.get(k) === undefined) return false;
  }
  return true;
}

/**
 * One column of the rows as a PostgreSQL array literal (`{1,"a b",NULL}`), built here rather than
 * by pg's generic array serializer: most values are numbers or plain strings. Columns holding
 * other values (dates, buffers) go to pg as a JS array.
 */
function arrayParam(rows: Row[], name: string, type: FieldType | undefined): unknown {
  const out = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = toParam(rows[i]!.values![name], type);
    if (v === null) out[i] = 'NULL';
    else if (typeof v === 'string') out[i] = `"${v.includes('"') || v.includes('\\') ? v.replace(/[\\"]/g, '\\$&') : v}"`;
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out[i] = String(v);
    else return rows.map((r) => toParam(r.values![name], type));
  }
  return `{${out.join(',')}}`;
}

/** Concurrent `CREATE TABLE IF NOT EXISTS` in two sessions: one may fail with 23505 (pg_type) or 42P07; the table exists either way. */
function isCreateRace(code: string | undefined): boolean {
  return code === '23505' || code === '42P07';
}
