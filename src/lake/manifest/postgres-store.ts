/**
 * The scale-out manifest: PostgreSQL via `pg`. The manifest's tables live in their own schema
 * (default `tributary_lake`), set as the search path of every pooled connection. Write
 * transactions take a transaction-scoped advisory lock keyed by that schema, so commits from
 * several processes are serialized exactly like SQLite's `BEGIN IMMEDIATE`; reads use
 * REPEATABLE READ, a consistent snapshot of the manifest.
 */
import pg from 'pg';
import { LakeError } from '../errors.ts';
import type { ManifestStore, ManifestTx, Row } from './store.ts';

const INT8 = 20;
const NUMERIC = 1700;

export interface PostgresManifestOptions {
  /** `postgres://user@host:port/db`. */
  url: string;
  /** Schema holding the manifest tables (default `tributary_lake`). */
  schema?: string;
  /** Pool size (default 4). */
  maxConnections?: number;
}

export class PostgresManifestStore implements ManifestStore {
  readonly dialect = 'postgres' as const;
  readonly description: string;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(opts: PostgresManifestOptions) {
    this.schema = opts.schema ?? 'tributary_lake';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.schema)) {
      throw new LakeError('LAKE_CONFIG_INVALID', `manifest schema ${JSON.stringify(this.schema)}: use a-z 0-9 _ (at most 63)`);
    }
    let safeUrl = opts.url;
    try {
      const u = new URL(opts.url);
      u.password = '';
      safeUrl = u.toString();
    } catch {
      throw new LakeError('LAKE_CONFIG_INVALID', `manifest.postgres: expected a URL like postgres://user@host:5432/db`);
    }
    this.description = `${safeUrl}#${this.schema}`;
    const parse = (v: string) => {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : v;
    };
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.maxConnections ?? 4,
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === INT8 || oid === NUMERIC ? parse : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  /** Creates the schema if needed (the manifest creates its tables inside it). */
  async init(): Promise<void> {
    const client = await this.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    } catch (err) {
      // Two processes creating the schema at once: the loser sees a unique violation.
      if ((err as { code?: string }).code !== '23505') throw this.wrap(err);
    } finally {
      client.release();
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    if (this.closed) throw new LakeError('LAKE_CLOSED', 'the lake manifest is closed');
    try {
      const client = await this.pool.connect();
      return client;
    } catch (err) {
      throw new LakeError('LAKE_MANIFEST_ERROR', `cannot reach the lake manifest at ${this.description}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private wrap(err: unknown): unknown {
    if (err instanceof LakeError) return err;
    const code = (err as { code?: string }).code;
    // Connection-level failures are worth a retry; SQL errors are bugs or conflicts reported as they are.
    if (code === undefined || code.startsWith('08') || code === '57P01') {
      return new LakeError('LAKE_MANIFEST_ERROR', `lake manifest at ${this.description}: ${(err as Error).message}`, { cause: err });
    }
    return err;
  }

  async transaction<T>(fn: (tx: ManifestTx) => Promise<T>, opts: { write?: boolean } = {}): Promise<T> {
    const client = await this.connect();
    const tx: ManifestTx = {
      query: async <R extends Row>(sql: string, params: readonly unknown[] = []) => (await client.query(toPg(sql), params as unknown[])).rows as R[],
      run: async (sql: string, params: readonly unknown[] = []) => ({ changes: (await client.query(toPg(sql), params as unknown[])).rowCount ?? 0 }),
    };
    let broken = false;
    try {
      await client.query(`SET search_path TO ${this.schema}`);
      if (opts.write) {
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tributary-lake:${this.schema}`]);
      } else {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      }
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw this.wrap(err);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** `?` placeholders → `$1, $2, …` (the manifest's SQL has no `?` inside string literals). */
function toPg(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}
