/**
 * The two SQL databases the flow metadata lives in, behind one small interface: SQLite
 * (better-sqlite3, embedded, one process) and PostgreSQL (pg, several processes).
 *
 * Statements are written once with `$1, $2…` placeholders; the SQLite driver rewrites them to `?`
 * (reordering the parameters). better-sqlite3 is synchronous, so the SQLite driver serializes
 * transactions with an in-process lock: an `await` inside a transaction body can never let
 * another statement of this process slip into it. PostgreSQL transactions run on one pooled
 * client and are retried on serialization failures and deadlocks; a connection that cannot be
 * made (the server restarting) becomes METADATA_UNAVAILABLE, which callers treat as retriable.
 */
import { FlowError } from '../errors.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface SqlExec {
  readonly dialect: Dialect;
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface SqlDb extends SqlExec {
  /** Runs `fn` in a transaction; retried (PostgreSQL) on serialization failure or deadlock. */
  tx<T>(fn: (tx: SqlExec) => Promise<T>): Promise<T>;
  /** Runs DDL (several statements). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /** PostgreSQL: subscribe to NOTIFY on a channel (returns an unsubscribe). SQLite: no-op. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// SQLite

interface SqliteStatement {
  all(...p: unknown[]): unknown[];
  get(...p: unknown[]): unknown;
  run(...p: unknown[]): { changes: number };
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  pragma(s: string): unknown;
  close(): void;
}

function toSqlite(sql: string): { text: string; order: number[] } {
  const order: number[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    order.push(Number(n) - 1);
    return '?';
  });
  return { text, order };
}

function sqliteValue(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === undefined) return null;
  return v;
}

class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  private readonly cache = new Map<string, { stmt: SqliteStatement; order: number[] }>();
  private chain: Promise<void> = Promise.resolve();
  private inTx = false;

  constructor(private readonly db: SqliteDatabase) {}

  private stmt(sql: string, params: readonly unknown[]): [SqliteStatement, unknown[]] {
    let c = this.cache.get(sql);
    if (!c) {
      const { text, order } = toSqlite(sql);
      c = { stmt: this.db.prepare(text), order };
      this.cache.set(sql, c);
    }
    return [c.stmt, c.order.map((i) => sqliteValue(params[i]))];
  }

  private direct: SqlExec = {
    dialect: 'sqlite',
    all: async <T>(sql: string, params: readonly unknown[] = []) => {
      const [s, p] = this.stmt(sql, params);
      return s.all(...p) as T[];
    },
    get: async <T>(sql: string, params: readonly unknown[] = []) => {
      const [s, p] = this.stmt(sql, params);
      return s.get(...p) as T | undefined;
    },
    run: async (sql: string, params: readonly unknown[] = []) => {
      const [s, p] = this.stmt(sql, params);
      return s.run(...p).changes;
    },
  };

  /** Waits for any transaction of this process to end, then runs `fn` exclusively. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.chain.then(fn);
    this.chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    // Outside a transaction a single statement is atomic: run it now.
    if (!this.inTx) return this.direct.all<T>(sql, params);
    return this.exclusive(() => this.direct.all<T>(sql, params));
  }
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    if (!this.inTx) return this.direct.get<T>(sql, params);
    return this.exclusive(() => this.direct.get<T>(sql, params));
  }
  run(sql: string, params?: readonly unknown[]): Promise<number> {
    if (!this.inTx) return this.direct.run(sql, params);
    return this.exclusive(() => this.direct.run(sql, params));
  }

  tx<T>(fn: (tx: SqlExec) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.inTx = true;
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const r = await fn(this.direct);
        this.db.exec('COMMIT');
        return r;
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw err;
      } finally {
        this.inTx = false;
      }
    });
  }

  async exec(sql: string): Promise<void> {
    await this.exclusive(async () => this.db.exec(sql));
  }

  async close(): Promise<void> {
    await this.exclusive(async () => this.db.close());
  }

  async listen(): Promise<() => Promise<void>> {
    return async () => {};
  }
  async notify(): Promise<void> {}
}

/** Opens (creating) a SQLite database file in WAL mode; `:memory:` for tests. */
export async function openSqlite(file: string): Promise<SqlDb> {
  const { default: Database } = await import('better-sqlite3');
  let db: SqliteDatabase;
  try {
    db = new Database(file) as unknown as SqliteDatabase;
  } catch (err) {
    throw new FlowError('METADATA_UNAVAILABLE', `cannot open the flow metadata database ${file}: ${(err as Error).message}`, { cause: err, retriable: false });
  }
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a commit survives a process crash; a power cut may lose the newest commits but
  // never corrupts the file. Task state is re-derivable (a lost "success" reruns the task).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return new SqliteDb(db);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

interface PgClientLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  release(err?: Error | boolean): void;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
}
interface PgPoolLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
}

const RETRY_CODES = new Set(['40001', '40P01']);
const guarded = new WeakSet<object>();
const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND']);

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && CONNECTION_CODES.has(e.code)) return true;
  const m = e?.message ?? '';
  return /Connection terminated|connection.*(closed|ended)|Client has encountered a connection error|terminating connection|the database system is (starting up|shutting down)/i.test(m);
}

function wrapPg(err: unknown, url: string): unknown {
  if (isConnectionError(err)) {
    return new FlowError('METADATA_UNAVAILABLE', `PostgreSQL at ${redact(url)} is unavailable (${(err as Error).message}); retrying`, { cause: err });
  }
  return err;
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

class PgDb implements SqlDb {
  readonly dialect = 'postgres' as const;
  private listener: PgClientLike | null = null;
  private readonly handlers = new Map<string, Set<(p: string) => void>>();

  constructor(
    private readonly pool: PgPoolLike,
    private readonly url: string,
  ) {}

  private exec1(q: { query: PgPoolLike['query'] }): SqlExec {
    const url = this.url;
    return {
      dialect: 'postgres',
      async all<T>(sql: string, params: readonly unknown[] = []) {
        try {
          return (await q.query(sql, params as unknown[])).rows as T[];
        } catch (err) {
          throw wrapPg(err, url);
        }
      },
      async get<T>(sql: string, params: readonly unknown[] = []) {
        try {
          return (await q.query(sql, params as unknown[])).rows[0] as T | undefined;
        } catch (err) {
          throw wrapPg(err, url);
        }
      },
      async run(sql: string, params: readonly unknown[] = []) {
        try {
          return (await q.query(sql, params as unknown[])).rowCount ?? 0;
        } catch (err) {
          throw wrapPg(err, url);
        }
      },
    };
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.exec1(this.pool).all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return this.exec1(this.pool).get<T>(sql, params);
  }
  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.exec1(this.pool).run(sql, params);
  }

  async tx<T>(fn: (tx: SqlExec) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: PgClientLike;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw wrapPg(err, this.url);
      }
      // A checked-out client whose server goes away emits 'error' between queries; unhandled
      // it would crash the process. The failing query reports it instead.
      if (!guarded.has(client)) {
        guarded.add(client);
        client.on('error', () => {});
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const r = await fn(this.exec1(client));
        await client.query('COMMIT');
        return r;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        const code = (err as { code?: string; cause?: { code?: string } }).code;
        const causeCode = (err as { cause?: { code?: string } }).cause?.code;
        if ((RETRY_CODES.has(code ?? '') || RETRY_CODES.has(causeCode ?? '')) && attempt < 8) continue;
        if (isConnectionError(err)) broken = true;
        throw wrapPg(err, this.url);
      } finally {
        client.release(broken);
      }
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pool.query(sql);
    } catch (err) {
      throw wrapPg(err, this.url);
    }
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.ensureListener();
      await this.listener?.query(`LISTEN ${channel}`);
    }
    set.add(onNotify);
    return async () => {
      set!.delete(onNotify);
    };
  }

  private async ensureListener(): Promise<void> {
    if (this.listener) return;
    const client = await this.pool.connect();
    guarded.add(client);
    this.listener = client;
    client.on('notification', (msg: unknown) => {
      const m = msg as { channel: string; payload?: string };
      for (const h of this.handlers.get(m.channel) ?? []) h(m.payload ?? '');
    });
    client.on('error', () => {
      // The server went away: drop this client; the next listen() (or the retry below) reconnects.
      if (this.listener === client) this.listener = null;
      try {
        client.release(true);
      } catch {
        // already released
      }
      setTimeout(() => void this.relisten(), 500).unref();
    });
  }

  private async relisten(): Promise<void> {
    if (this.listener || this.closed) return;
    try {
      await this.ensureListener();
      const client = this.listener as PgClientLike | null;
      for (const ch of this.handlers.keys()) await client?.query(`LISTEN ${ch}`);
    } catch {
      this.listener = null;
      if (!this.closed) setTimeout(() => void this.relisten(), 1000).unref();
    }
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.run('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  private closed = false;
  async close(): Promise<void> {
    this.closed = true;
    if (this.listener) {
      try {
        this.listener.release(true);
      } catch {
        // ignore
      }
      this.listener = null;
    }
    await this.pool.end();
  }
}

/** Connects to PostgreSQL (a pool of `max` connections). BIGINT and COUNT come back as numbers. */
export async function openPostgres(url: string, opts: { max?: number } = {}): Promise<SqlDb> {
  const pg = (await import('pg')).default;
  const types = {
    getTypeParser(oid: number, format?: string) {
      // int8 (20) and numeric (1700) as JS numbers: ids, counts and epoch ms fit in 2^53.
      if (oid === 20 || oid === 1700) return (v: string) => Number(v);
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 8, types, connectionTimeoutMillis: 10_000 }) as unknown as PgPoolLike;
  // An idle client whose server went away emits 'error' on the pool: without a listener that
  // would crash the process; the next query reconnects.
  pool.on('error', () => {});
  const db = new PgDb(pool, url);
  try {
    await db.get('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new FlowError('METADATA_UNAVAILABLE', `cannot connect to PostgreSQL at ${redact(url)}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}
