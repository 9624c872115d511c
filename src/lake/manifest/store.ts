/**
 * The manifest store: one small async SQL interface with two adapters (SQLite embedded,
 * PostgreSQL scale-out). Everything the manifest does is written once, in `manifest.ts`, as
 * portable SQL over this interface: `?` placeholders, BIGINT/TEXT/INTEGER columns, `RETURNING`,
 * `ON CONFLICT`. Numbers come back as JS numbers (the PostgreSQL adapter parses int8).
 *
 * Write transactions are serialized across every process sharing the manifest (SQLite:
 * `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock), so a commit can read the
 * current snapshot, check its preconditions and add the next snapshot without races. Reads run
 * in a consistent snapshot of the database (SQLite WAL read transaction; PostgreSQL REPEATABLE READ).
 */

export type Row = Record<string, unknown>;

export interface ManifestTx {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
}

export interface ManifestStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where it lives, for messages (`sqlite:/path/manifest.sqlite`, `postgres://host/db#schema`). */
  readonly description: string;
  transaction<T>(fn: (tx: ManifestTx) => Promise<T>, opts?: { write?: boolean }): Promise<T>;
  close(): Promise<void>;
}

/** A FIFO async lock: one holder at a time. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
