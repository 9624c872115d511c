/**
 * The SQL gateway: the one way into the warehouse's DuckDB. The CLI (`tributary sql`), HTTP
 * (`POST /api/sql`), model builds and flow tasks all run their SQL here, so authorization,
 * audit, time travel and (later) governance rewrites happen in one place.
 *
 * Design note.
 * - One DuckDB instance owns the database file (or lives in memory). Extensions are never
 *   installed or auto-loaded; external file access is off except for the lake's folder (views
 *   read its Parquet files, models write staging files there) — `read_csv('/etc/passwd')` fails.
 * - Lake tables appear as views `zone.table` over the files of their current snapshot
 *   (`LakeViews`), refreshed after every lake commit. Time travel (`raw.orders AT (VERSION =>
 *   12)`, `AT (TIMESTAMP => '…')`, or a whole query `asOf`) is rewritten to the same names in a
 *   catalog attached per snapshot (`_asof_12.raw.orders`), whose views never change.
 * - Each query runs alone on its connection (`interrupt()` cancels exactly that query) and
 *   streams: chunks are fetched as the consumer pulls, so a large result never sits in memory
 *   whole. User queries (read-only, one statement: they cannot leave temp objects or settings
 *   behind) reuse idle connections from a small pool, and their SQL is parsed once (prepared
 *   directly); trusted SQL gets a fresh connection, so its temp objects die with it.
 * - Each pooled connection keeps its recent prepared statements by SQL text: a repeated query
 *   skips parsing and binding (for a lake view: reading every file's schema). DuckDB does not
 *   rebind a prepared statement when a view it reads is replaced, so an entry is used only while
 *   the catalog generation it was prepared at holds (`LakeViews.generation`, bumped around every
 *   view refresh, as-of catalog change and model DDL) and no trusted SQL or session (which may
 *   change the catalog) is running or has run since.
 * - Read-your-writes: a query naming a lake table whose view is being refreshed after a commit
 *   waits for that refresh, so a query after `lake.append()` resolves sees the new rows.
 * - Queries from users (CLI, HTTP) are one read-only statement (SELECT, EXPLAIN, DESCRIBE, …);
 *   trusted callers (models) may run anything.
 * - Every DuckDB error is mapped to a WarehouseError whose message points at the position in
 *   the SQL the caller wrote (through the rewrite's source map).
 *
 * States of a query: parsing → authorized → running (in `running()`, cancellable) → done |
 * failed | cancelled; its connection is closed in every end state.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBDataChunk, type DuckDBPreparedStatement, type DuckDBResult, type DuckDBType, type Json } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { ANONYMOUS, Governance, type Principal } from '../../govern/index.ts';
import { LakeError, ZONES, type AsOf, type Lake } from '../../lake/index.ts';
import { WarehouseError, type WarehouseErrorCode } from '../errors.ts';
import { findLakeRefs, rewriteAsOf, type AsOfSpec, type LakeRef } from '../sql/lake-refs.ts';
import { locateError, positionAt } from '../sql/positions.ts';
import type { SourceMap } from '../sql/source-map.ts';
import { LakeViews } from './lake-views.ts';
import { convertChunk, jsonValue } from './values.ts';

export interface GatewayOptions {
  lake: Lake;
  governance?: Governance;
  /** DuckDB database file (default: in memory). One process owns it. */
  database?: string;
  /** DuckDB worker threads (default: DuckDB's, the core count). */
  threads?: number;
  /** e.g. `4GB` (default: DuckDB's, 80 % of RAM). */
  memoryLimit?: string;
  logger?: Logger;
}

export interface QueryOptions {
  /** Who asks (default User:ANONYMOUS). Every lake table the SQL names is authorized for them. */
  principal?: Principal;
  /** Read every lake table as of this snapshot id or time. */
  asOf?: AsOf;
  /** Aborting cancels the query. */
  signal?: AbortSignal;
  /** Trusted callers (models, tasks) may run any statement, several at once. */
  trusted?: boolean;
  /** The audit's `via` (default `sql`). */
  via?: string;
  /** Extra audit fields (a task's DAG, task and run ids). */
  auditDetail?: Record<string, string | number>;
  /** For error positions: the text the user wrote and the map from `sql` back to it (models: the template), and its file. */
  origin?: { text: string; map: SourceMap | null; file?: string };
  /** Run on this session's connection (its temp tables), not a fresh one. */
  session?: GatewaySession;
  /** The query's id (default: a fresh UUID), so a client can cancel it before it returns. */
  id?: string;
}

export interface ColumnInfo {
  name: string;
  /** DuckDB's type, e.g. `BIGINT`, `TIMESTAMP WITH TIME ZONE`, `DECIMAL(18,3)`. */
  type: string;
}

export interface RunningQuery {
  id: string;
  sql: string;
  principal: string;
  startedAt: number;
  rows: number;
}

/** A connection kept across several statements (temp tables), for trusted callers. */
export interface GatewaySession {
  readonly connection: DuckDBConnection;
  close(): void;
}

/**
 * A running query's result: its columns, then its rows as they are fetched. Read it to the end
 * or `close()` it; `cancel()` interrupts DuckDB.
 */
export class QueryCursor {
  private done = false;
  rows = 0;
  /** The converter to JSON-ready values (see values.ts). */
  readonly converter = jsonValue;

  constructor(
    readonly id: string,
    readonly columns: ColumnInfo[],
    /** DuckDB's types of the columns (Arrow encoding). */
    readonly types: DuckDBType[],
    private readonly result: DuckDBResult,
    private readonly onFetchError: (err: unknown) => WarehouseError,
    private readonly release: () => void,
    readonly cancel: () => void,
  ) {}

  /** Raw DuckDB chunks (for Arrow); each non-empty. */
  async *chunks(): AsyncGenerator<DuckDBDataChunk> {
    try {
      while (!this.done) {
        let chunk: DuckDBDataChunk | null;
        try {
          chunk = await this.result.fetchChunk();
        } catch (err) {
          throw this.onFetchError(err);
        }
        if (!chunk || chunk.rowCount === 0) break;
        this.rows += chunk.rowCount;
        yield chunk;
      }
    } finally {
      this.close();
    }
  }

  /** Batches of rows, each row an array of JSON-ready values in column order. */
  async *batches(): AsyncGenerator<Json[][]> {
    for await (const chunk of this.chunks()) yield convertChunk(chunk, this.types);
  }

  /** Everything, as objects (small results). */
  async all(): Promise<Array<Record<string, Json>>> {
    const out: Array<Record<string, Json>> = [];
    const names = this.columns.map((c) => c.name);
    for await (const batch of this.batches()) {
      for (const row of batch) {
        const o: Record<string, Json> = {};
        for (let i = 0; i < names.length; i++) o[names[i]!] = row[i]!;
        out.push(o);
      }
    }
    return out;
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.release();
  }
}

const READ_ONLY = new Set<number>([StatementType.SELECT, StatementType.EXPLAIN]);
/** Idle connections kept for user queries (a new DuckDB connection costs milliseconds). */
const MAX_IDLE_CONNECTIONS = 8;
/** Prepared statements kept per pooled connection (least recently used dropped). */
const MAX_CACHED_STATEMENTS = 32;

/** A pooled connection and its prepared statements by SQL text. */
interface PooledConnection {
  connection: DuckDBConnection;
  statements: Map<string, { prepared: DuckDBPreparedStatement; generation: number }>;
}

function closePooled(p: PooledConnection): void {
  for (const s of p.statements.values()) s.prepared.destroySync();
  p.statements.clear();
  p.connection.closeSync();
}

export class SqlGateway {
  readonly views: LakeViews;
  /** The DuckDB catalog name of the database (the file's stem, or `memory`). */
  readonly catalog: string;
  private readonly active = new Map<string, { query: RunningQuery; connection: DuckDBConnection; cancelled: boolean; repeat?: NodeJS.Timeout }>();
  private closed = false;
  /** Idle connections for user queries (see MAX_IDLE_CONNECTIONS). */
  private readonly idleConnections: PooledConnection[] = [];
  /** Trusted queries and sessions running now, and a counter bumped when one starts or ends (see the design note). */
  private trustedRunning = 0;
  private trustedGeneration = 0;
  private unsubscribe: () => void = () => {};

  private constructor(
    readonly instance: DuckDBInstance,
    readonly lake: Lake,
    readonly governance: Governance,
    catalog: string,
    logger: Logger | undefined,
  ) {
    this.catalog = catalog;
    this.views = new LakeViews(instance, lake, logger);
  }

  /**
   * Opens the gateway's DuckDB and creates the lake's views.
   *
   * @example
   * ```ts
   * const gateway = await SqlGateway.open({ lake, database: './.tributary/warehouse/warehouse.duckdb' });
   * const rows = await gateway.all('SELECT count(*) AS n FROM raw.orders');
   * ```
   */
  static async open(opts: GatewayOptions): Promise<SqlGateway> {
    const database = opts.database ?? ':memory:';
    if (database !== ':memory:') mkdirSync(path.dirname(database), { recursive: true });
    const config: Record<string, string> = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };
    if (opts.threads !== undefined) config['threads'] = String(opts.threads);
    if (opts.memoryLimit !== undefined) config['memory_limit'] = opts.memoryLimit;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(database, config);
    } catch (err) {
      throw new WarehouseError('WAREHOUSE_UNAVAILABLE', `cannot open the warehouse database ${database}: ${(err as Error).message} (one process owns it: is another tributary running on this data directory?)`, { cause: err });
    }
    const c = await instance.connect();
    let catalog: string;
    try {
      // Instance-wide settings. Lake files never change once written, so their footers can be cached.
      const dirs = [opts.lake.root, ...(database !== ':memory:' ? [path.dirname(database)] : [])];
      await c.run(`SET allowed_directories = [${dirs.map((d) => `'${d.replace(/'/g, "''")}/'`).join(', ')}]`);
      await c.run(`SET enable_external_access = false`);
      await c.run(`SET parquet_metadata_cache = true`);
      await c.run(`SET TimeZone = 'UTC'`);
      catalog = String((await c.runAndReadAll('SELECT current_database() AS d')).getRowObjectsJson()[0]!['d']);
    } finally {
      c.closeSync();
    }
    const gw = new SqlGateway(instance, opts.lake, opts.governance ?? new Governance(), catalog, opts.logger);
    await gw.views.init();
    gw.unsubscribe = opts.lake.onCommit(({ table }) => {
      gw.views.refresh(table).catch((err) => opts.logger?.warn({ err, table }, 'warehouse: refreshing the view of a lake table failed'));
    });
    return gw;
  }

  /** Queries running now. */
  running(): RunningQuery[] {
    return [...this.active.values()].map((a) => ({ ...a.query }));
  }

  /** Interrupts a running query; false when no such query runs. */
  cancel(id: string): boolean {
    const a = this.active.get(id);
    if (!a) return false;
    a.cancelled = true;
    a.connection.interrupt();
    // DuckDB clears a connection's interrupt flag when a statement starts, so an interrupt that
    // lands between statements (extract, prepare, execute) is lost: repeat it until the query ends.
    a.repeat ??= setInterval(() => a.connection.interrupt(), 25);
    a.repeat.unref();
    return true;
  }

  /** A connection for several statements (temp tables) — trusted callers only. */
  async session(): Promise<GatewaySession> {
    this.check();
    const connection = await this.instance.connect();
    this.trustedStarted();
    let open = true;
    return {
      connection,
      close: () => {
        if (open) {
          connection.closeSync();
          this.trustedEnded();
        }
        open = false;
      },
    };
  }

  /** Runs a query and returns all rows as objects (small results). */
  async all(sql: string, opts: QueryOptions = {}): Promise<Array<Record<string, Json>>> {
    return (await this.query(sql, opts)).all();
  }

  /** Runs trusted SQL (any statements) to completion; returns the rows of the last one. */
  async exec(sql: string, opts: Omit<QueryOptions, 'trusted'> = {}): Promise<Array<Record<string, Json>>> {
    return this.all(sql, { ...opts, trusted: true });
  }

  /**
   * Starts a query: authorizes every lake table it names, resolves time travel, and returns a
   * cursor once DuckDB has bound it (so a bad query fails here, with its position).
   */
  async query(sql: string, opts: QueryOptions = {}): Promise<QueryCursor> {
    this.check();
    if (typeof sql !== 'string' || sql.trim() === '') throw new WarehouseError('WAREHOUSE_SQL_SYNTAX', 'the query is empty: send a SQL statement, e.g. SELECT * FROM raw.orders LIMIT 10');
    const principal = opts.principal ?? ANONYMOUS;
    const origin = opts.origin ?? { text: sql, map: null };
    const refs = findLakeRefs(sql, ZONES, this.catalog);
    for (const table of new Set(refs.map((r) => r.table))) this.governance.authorize(principal, 'read', { type: 'table', name: table }, opts.via ?? 'sql', opts.auditDetail);
    const refreshing = this.views.fresh(refs.map((r) => r.table));
    if (refreshing) await refreshing;

    let executed = sql;
    let map = origin.map;
    if (opts.asOf || refs.some((r) => r.asOf)) {
      const queryAsOf = opts.asOf ? await this.resolveSnapshot(opts.asOf, null, origin) : null;
      const ids = new Map<LakeRef, number>();
      for (const r of refs) {
        const id = r.asOf ? await this.resolveSnapshot(r.asOf, r, origin) : queryAsOf;
        if (id !== null) ids.set(r, id);
      }
      for (const [r, id] of ids) {
        try {
          await this.views.ensureAsOf(id, r.table);
        } catch (err) {
          if (err instanceof LakeError && err.code === 'LAKE_TABLE_UNKNOWN') {
            throw this.positioned('WAREHOUSE_SQL_INVALID', `table ${r.table} does not exist at snapshot ${id}`, r.start, origin);
          }
          throw err;
        }
      }
      const rewritten = rewriteAsOf(sql, refs, (r) => ids.get(r) ?? null);
      executed = rewritten.sql;
      map = origin.map ? origin.map.then(rewritten.map) : rewritten.map;
    }

    const id = opts.id ?? randomUUID();
    if (this.active.has(id)) throw new WarehouseError('WAREHOUSE_STATEMENT_NOT_ALLOWED', `a query with id ${id} is already running: use another id`);
    const own = !opts.session;
    const pooled = own && !opts.trusted ? (this.idleConnections.pop() ?? { connection: await this.instance.connect(), statements: new Map() }) : null;
    const connection = opts.session?.connection ?? pooled?.connection ?? (await this.instance.connect());
    const trusted = !pooled;
    if (trusted) this.trustedStarted();
    const entry: { query: RunningQuery; connection: DuckDBConnection; cancelled: boolean; repeat?: NodeJS.Timeout } = { query: { id, sql, principal: principal.name, startedAt: Date.now(), rows: 0 }, connection, cancelled: false };
    this.active.set(id, entry);
    const onAbort = () => this.cancel(id);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (entry.repeat) clearInterval(entry.repeat);
      this.active.delete(id);
      if (trusted) this.trustedEnded();
      if (!own) return;
      // A cancelled query's connection may still get an interrupt: it is not reused.
      if (!pooled) connection.closeSync();
      else if (!entry.cancelled && !this.closed && this.idleConnections.length < MAX_IDLE_CONNECTIONS) this.idleConnections.push(pooled);
      else closePooled(pooled);
    };
    const fail = (err: unknown) => this.mapError(err, executed, origin, map, entry.cancelled);
    try {
      if (opts.signal?.aborted) {
        entry.cancelled = true;
        throw new Error('INTERRUPT Error: Interrupted!');
      }
      let result: DuckDBResult;
      if (opts.trusted) {
        result = await connection.stream(executed);
      } else {
        const generation = this.views.generation + this.trustedGeneration;
        // A session's own connection (temp objects) counts as trusted work running: no cache.
        const cacheable = pooled !== null && this.trustedRunning === 0;
        const cached = pooled?.statements.get(executed);
        if (pooled && cached) {
          pooled.statements.delete(executed);
          if (cached.generation === generation && cacheable) {
            pooled.statements.set(executed, cached); // most recently used last
            try {
              result = await cached.prepared.stream();
            } catch (err) {
              pooled.statements.delete(executed);
              cached.prepared.destroySync();
              throw err;
            }
            return this.cursor(id, result, fail, release);
          }
          cached.prepared.destroySync();
        }
        // One parse: prepare the text directly; only when DuckDB refuses it for its statement count, count them for the message.
        let prepared: DuckDBPreparedStatement;
        try {
          prepared = await connection.prepare(executed);
        } catch (err) {
          const message = err instanceof Error ? err.message : '';
          // (DuckDB's extractStatements fails without a message on a text of only comments.)
          if (/^Invalid Input Error: No statement to prepare/.test(message)) throw new WarehouseError('WAREHOUSE_SQL_SYNTAX', 'the query has no statement (only comments?)');
          if (!/^Invalid Input Error: Cannot prepare multiple statements at once/.test(message)) throw err;
          const statements = await connection.extractStatements(executed);
          throw new WarehouseError('WAREHOUSE_STATEMENT_NOT_ALLOWED', `the query has ${statements.count} statements: send one at a time`);
        }
        let keep = false;
        try {
          if (!READ_ONLY.has(prepared.statementType)) {
            throw new WarehouseError(
              'WAREHOUSE_STATEMENT_NOT_ALLOWED',
              'only queries (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE) run here; tables are written through the lake (sinks) and models (`tributary models build`)',
            );
          }
          result = await prepared.stream();
          // Kept only when nothing changed the catalog while it was prepared.
          keep = cacheable && this.trustedRunning === 0 && this.views.generation + this.trustedGeneration === generation;
        } finally {
          if (!keep) prepared.destroySync();
        }
        if (keep && pooled) {
          pooled.statements.set(executed, { prepared, generation });
          if (pooled.statements.size > MAX_CACHED_STATEMENTS) {
            const [oldest, s] = pooled.statements.entries().next().value!;
            pooled.statements.delete(oldest);
            s.prepared.destroySync();
          }
        }
      }
      return this.cursor(id, result, fail, release);
    } catch (err) {
      release();
      throw err instanceof WarehouseError ? err : fail(err);
    }
  }

  private cursor(id: string, result: DuckDBResult, fail: (err: unknown) => WarehouseError, release: () => void): QueryCursor {
    const names = result.deduplicatedColumnNames();
    const types = result.columnTypes();
    // A type alias (JSON) names the column's type, as DuckDB's DESCRIBE does.
    const columns = names.map((name, i) => ({ name, type: types[i]!.alias ?? types[i]!.toString() }));
    return new QueryCursor(id, columns, types, result, fail, release, () => this.cancel(id));
  }

  private trustedStarted(): void {
    this.trustedRunning++;
    this.trustedGeneration++;
  }

  private trustedEnded(): void {
    this.trustedRunning--;
    this.trustedGeneration++;
  }

  private async resolveSnapshot(asOf: AsOf | AsOfSpec, ref: LakeRef | null, origin: { text: string; map: SourceMap | null; file?: string }): Promise<number> {
    try {
      return (await this.lake.snapshot(asOf)).id;
    } catch (err) {
      if (err instanceof LakeError && (err.code === 'LAKE_SNAPSHOT_UNKNOWN' || err.code === 'LAKE_SNAPSHOT_EXPIRED')) {
        const what = 'snapshot' in asOf ? `snapshot ${asOf.snapshot}` : `time ${new Date(asOf.time).toISOString()}`;
        const msg = `cannot read the lake as of ${what}: ${err.message}`;
        if (ref) throw this.positioned('WAREHOUSE_AS_OF_INVALID', msg, ref.start, origin);
        throw new WarehouseError('WAREHOUSE_AS_OF_INVALID', msg, { cause: err });
      }
      throw err;
    }
  }

  private positioned(code: WarehouseErrorCode, message: string, offset: number, origin: { text: string; map: SourceMap | null; file?: string }): WarehouseError {
    const inOriginal = origin.map ? origin.map.toInput(offset) : offset;
    const position = positionAt(origin.text, inOriginal, origin.file);
    return new WarehouseError(code, `${message} (${origin.file ? `${origin.file}:` : ''}line ${position.line}, column ${position.column})`, { position });
  }

  private mapError(err: unknown, executed: string, origin: { text: string; map: SourceMap | null; file?: string }, map: SourceMap | null, cancelled: boolean): WarehouseError {
    if (err instanceof WarehouseError) return err;
    const raw = err instanceof Error ? err.message : String(err);
    if (cancelled || /^INTERRUPT Error/.test(raw)) return new WarehouseError('WAREHOUSE_QUERY_CANCELLED', 'the query was cancelled', { cause: err });
    // DuckDB suggests its own catalogs for an unknown table (`Did you mean "information_schema.…"`): point at the lake instead.
    const hinted = raw.replace(
      /(Table with name \S+ does not exist!)\s*\nDid you mean "(?:information_schema|pg_catalog|system|temp)\.[^"]*"\?/,
      '$1\nLake tables are zone.table (raw.…, clean.…, curated.…); `tributary lake tables` lists them.',
    );
    const located = locateError(hinted, executed, origin.text, map, origin.file);
    const type = located.type ?? '';
    const code: WarehouseErrorCode =
      type === 'Parser Error'
        ? 'WAREHOUSE_SQL_SYNTAX'
        : ['Binder Error', 'Catalog Error', 'Conversion Error', 'Invalid Input Error', 'Out of Range Error', 'Constraint Error', 'Not implemented Error', 'Dependency Error'].includes(type)
          ? 'WAREHOUSE_SQL_INVALID'
          : type === 'Permission Error'
            ? 'WAREHOUSE_STATEMENT_NOT_ALLOWED'
            : 'WAREHOUSE_QUERY_FAILED';
    return new WarehouseError(code, located.message, { cause: err, ...(located.position ? { position: located.position } : {}) });
  }

  private check(): void {
    if (this.closed) throw new WarehouseError('WAREHOUSE_UNAVAILABLE', 'the warehouse is closed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const id of this.active.keys()) this.cancel(id);
    await this.views.idle();
    for (const c of this.idleConnections.splice(0)) closePooled(c);
    this.views.close();
    this.instance.closeSync();
  }
}
