/**
 * The lake inside DuckDB: a view `zone.table` per lake table over the files of its current
 * snapshot (`scanSql`), and catalogs `_asof_<snapshot>` holding tables as of older snapshots.
 *
 * Design note. Every catalog change runs through one mutex (DuckDB refuses two transactions
 * replacing the same entry at once). Refreshes of one table coalesce: a refresh asked for while
 * one is queued joins it, and the queued one reads the lake when it starts, so it sees every
 * commit made before the request. Views the lake owns carry the comment `tributary:lake`;
 * the ones models own carry `tributary:model` and are never dropped by a lake refresh. An as-of
 * view never changes (a snapshot is immutable), so it is created once; the least recently used
 * as-of catalogs are detached beyond `MAX_AS_OF`.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { LakeError, parseTableName, quoteIdent, quoteLiteral, scanSql, ZONES, type Lake } from '../../lake/index.ts';
import { asOfCatalog } from '../sql/lake-refs.ts';
import { Mutex } from './mutex.ts';

export const LAKE_VIEW_COMMENT = 'tributary:lake';
export const MODEL_VIEW_COMMENT = 'tributary:model';
const MAX_AS_OF = 16;

export class LakeViews {
  private readonly mutex = new Mutex();
  private admin: DuckDBConnection | null = null;
  private readonly pending = new Map<string, Promise<void>>();
  /** Per table, its latest refresh (queued or running) until it settles: queries naming the table wait for it. */
  private readonly latest = new Map<string, Promise<void>>();
  private readonly asOf = new Map<number, { tables: Set<string>; lastUsed: number }>();
  private inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly lake: Lake,
    private readonly logger: Logger | undefined,
  ) {}

  private async conn(): Promise<DuckDBConnection> {
    return (this.admin ??= await this.instance.connect());
  }

  /**
   * Bumped when catalog DDL is asked for and again when it ends: a statement prepared at one
   * generation is bound to the views of that moment (DuckDB does not rebind a prepared
   * statement when a view it reads is replaced), so the gateway's statement cache checks it.
   */
  generation = 0;

  /** Runs catalog DDL under the mutex (model views use it too). */
  ddl<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    this.generation++;
    const p = this.mutex.run(async () => fn(await this.conn()));
    this.inFlight.add(p);
    p.finally(() => {
      this.generation++;
      this.inFlight.delete(p);
    }).catch(() => {});
    return p;
  }

  /** Creates the zone schemas and a view for every lake table; drops lake views of tables that are gone. */
  async init(): Promise<void> {
    await this.ddl(async (c) => {
      for (const z of ZONES) await c.run(`CREATE SCHEMA IF NOT EXISTS ${z}`);
    });
    await this.refreshAll();
  }

  async refreshAll(): Promise<void> {
    const tables = new Set((await this.lake.tables()).map((t) => t.fullName));
    for (const t of tables) await this.refresh(t);
    await this.ddl(async (c) => {
      const rows = (
        await c.runAndReadAll(
          `SELECT schema_name AS s, view_name AS v FROM duckdb_views() WHERE database_name = current_database() AND comment = '${LAKE_VIEW_COMMENT}' AND schema_name IN (${ZONES.map((z) => `'${z}'`).join(', ')})`,
        )
      ).getRowObjectsJson() as Array<{ s: string; v: string }>;
      for (const r of rows) if (!tables.has(`${r.s}.${r.v}`)) await c.run(`DROP VIEW IF EXISTS ${quoteIdent(r.s)}.${quoteIdent(r.v)}`);
    });
  }

  /** Points `zone.table` at the table's current snapshot (or drops its view when the table is gone). */
  refresh(table: string): Promise<void> {
    const queued = this.pending.get(table);
    if (queued) return queued;
    const p = this.ddl(async (c) => {
      this.pending.delete(table);
      const ref = parseTableName(table);
      const name = `${quoteIdent(ref.zone)}.${quoteIdent(ref.name)}`;
      let sql: string;
      try {
        sql = scanSql(await this.lake.scan(table));
      } catch (err) {
        if (err instanceof LakeError && err.code === 'LAKE_TABLE_UNKNOWN') {
          if ((await this.commentOf(c, ref.zone, ref.name)) === LAKE_VIEW_COMMENT) await c.run(`DROP VIEW IF EXISTS ${name}`);
          return;
        }
        throw err;
      }
      await c.run('BEGIN');
      try {
        await c.run(`CREATE OR REPLACE VIEW ${name} AS ${sql}`);
        await c.run(`COMMENT ON VIEW ${name} IS ${quoteLiteral(LAKE_VIEW_COMMENT)}`);
        await c.run('COMMIT');
      } catch (err) {
        await c.run('ROLLBACK').catch(() => {});
        throw err;
      }
      this.logger?.debug({ table }, 'warehouse: view refreshed');
    });
    this.pending.set(table, p);
    p.catch(() => this.pending.delete(table));
    this.latest.set(table, p);
    const settled = () => {
      if (this.latest.get(table) === p) this.latest.delete(table);
    };
    p.then(settled, settled);
    return p;
  }

  /**
   * Read-your-writes: a promise settling once the views of these tables reflect every lake
   * commit announced so far, or null when none is being refreshed (the common case: no await).
   * A failed refresh is not the query's failure (it was logged); the query reads the old view.
   */
  fresh(tables: Iterable<string>): Promise<void> | null {
    if (this.latest.size === 0) return null;
    let waits: Array<Promise<void>> | null = null;
    for (const t of tables) {
      const p = this.latest.get(t);
      if (p) (waits ??= []).push(p);
    }
    return waits ? Promise.allSettled(waits).then(() => undefined) : null;
  }

  async commentOf(c: DuckDBConnection, schema: string, view: string): Promise<string | null> {
    const rows = (
      await c.runAndReadAll(
        `SELECT comment FROM duckdb_views() WHERE database_name = current_database() AND schema_name = ${quoteLiteral(schema)} AND view_name = ${quoteLiteral(view)}`,
      )
    ).getRowObjectsJson();
    return rows.length ? ((rows[0]!['comment'] as string | null) ?? '') : null;
  }

  /** Makes `_asof_<snapshot>.zone.table` exist. Throws LAKE_TABLE_UNKNOWN when the table did not exist then. */
  ensureAsOf(snapshot: number, table: string): Promise<void> {
    const known = this.asOf.get(snapshot);
    if (known?.tables.has(table)) {
      known.lastUsed = Date.now();
      return Promise.resolve();
    }
    return this.ddl(async (c) => {
      const cat = asOfCatalog(snapshot);
      let entry = this.asOf.get(snapshot);
      if (!entry) {
        await this.evict(c);
        await c.run(`ATTACH IF NOT EXISTS ':memory:' AS ${cat}`);
        for (const z of ZONES) await c.run(`CREATE SCHEMA IF NOT EXISTS ${cat}.${z}`);
        entry = { tables: new Set(), lastUsed: Date.now() };
        this.asOf.set(snapshot, entry);
      }
      entry.lastUsed = Date.now();
      if (entry.tables.has(table)) return;
      const ref = parseTableName(table);
      const scan = await this.lake.scan(table, { asOf: { snapshot } });
      await c.run(`CREATE OR REPLACE VIEW ${cat}.${quoteIdent(ref.zone)}.${quoteIdent(ref.name)} AS ${scanSql(scan)}`);
      entry.tables.add(table);
    });
  }

  private async evict(c: DuckDBConnection): Promise<void> {
    // A query still reading a detached catalog keeps its bound plan; new ones re-create it.
    while (this.asOf.size >= MAX_AS_OF) {
      const [oldest] = [...this.asOf.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
      if (!oldest) return;
      this.asOf.delete(oldest[0]);
      await c.run(`DETACH DATABASE IF EXISTS ${asOfCatalog(oldest[0])}`);
    }
  }

  /** Waits for queued catalog changes. */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    this.admin?.closeSync();
    this.admin = null;
  }
}
