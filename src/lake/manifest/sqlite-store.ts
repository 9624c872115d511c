/**
 * The embedded manifest: one SQLite file (better-sqlite3, WAL, `synchronous=FULL` so a returned
 * commit survives a power cut). better-sqlite3 is synchronous; one connection is shared and a
 * mutex keeps each transaction whole even though callers `await` between statements.
 */
import Database from 'better-sqlite3';
import { LakeError } from '../errors.ts';
import { Mutex, type ManifestStore, type ManifestTx, type Row } from './store.ts';

type Db = InstanceType<typeof Database>;

export class SqliteManifestStore implements ManifestStore {
  readonly dialect = 'sqlite' as const;
  readonly description: string;
  private readonly db: Db;
  private readonly mutex = new Mutex();
  private readonly statements = new Map<string, Database.Statement<unknown[]>>();
  private closed = false;

  /** `path` of the database file, or `:memory:`. */
  constructor(readonly path: string) {
    this.description = `sqlite:${path}`;
    try {
      this.db = new Database(path, { timeout: 10_000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = OFF');
    } catch (err) {
      throw new LakeError('LAKE_MANIFEST_ERROR', `cannot open the lake manifest ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private prepare(sql: string) {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private readonly tx: ManifestTx = {
    query: async <R extends Row>(sql: string, params: readonly unknown[] = []) => {
      const st = this.prepare(sql);
      return (st.reader ? st.all(...params.map(toSqlite)) : (st.run(...params.map(toSqlite)), [])) as R[];
    },
    run: async (sql: string, params: readonly unknown[] = []) => {
      const st = this.prepare(sql);
      if (st.reader) {
        st.all(...params.map(toSqlite));
        return { changes: 0 };
      }
      return { changes: st.run(...params.map(toSqlite)).changes };
    },
  };

  transaction<T>(fn: (tx: ManifestTx) => Promise<T>, opts: { write?: boolean } = {}): Promise<T> {
    return this.mutex.lock(async () => {
      if (this.closed) throw new LakeError('LAKE_CLOSED', 'the lake manifest is closed');
      this.db.exec(opts.write ? 'BEGIN IMMEDIATE' : 'BEGIN');
      try {
        const result = await fn(this.tx);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.mutex.lock(async () => {
      if (this.closed) return;
      this.closed = true;
      this.statements.clear();
      this.db.close();
    });
  }
}

function toSqlite(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === undefined) return null;
  return v;
}
