/**
 * Local snapshots of state stores (SQLite via better-sqlite3, one database per app).
 *
 * A snapshot holds, per (store, partition), the changelog records that make up the store at a
 * changelog offset: the rows in `entries` and the offset in `positions`. Snapshots are only
 * written right after a commit, from changes that commit made durable, so a snapshot never holds
 * state the changelog does not: restoring = load the snapshot, then read the changelog from its
 * offset to the end. Writes are incremental (the keys changed since the last snapshot) and
 * atomic (one SQLite transaction per snapshot); a crash mid-write keeps the previous one.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export interface SnapshotRow {
  key: Buffer;
  value: Buffer;
}

export class SnapshotStore {
  private readonly db: Database.Database;
  private readonly stmts: {
    load: Database.Statement;
    position: Database.Statement;
    upsert: Database.Statement;
    remove: Database.Statement;
    setPosition: Database.Statement;
    clear: Database.Statement;
    clearPosition: Database.Statement;
  };

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(path.join(dir, 'snapshots.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS entries (store TEXT NOT NULL, partition INTEGER NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (store, partition, k)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS positions (store TEXT NOT NULL, partition INTEGER NOT NULL, changelog_offset INTEGER NOT NULL, PRIMARY KEY (store, partition));
    `);
    this.stmts = {
      load: this.db.prepare('SELECT k, v FROM entries WHERE store = ? AND partition = ?'),
      position: this.db.prepare('SELECT changelog_offset AS o FROM positions WHERE store = ? AND partition = ?'),
      upsert: this.db.prepare('INSERT INTO entries (store, partition, k, v) VALUES (?, ?, ?, ?) ON CONFLICT (store, partition, k) DO UPDATE SET v = excluded.v'),
      remove: this.db.prepare('DELETE FROM entries WHERE store = ? AND partition = ? AND k = ?'),
      setPosition: this.db.prepare('INSERT INTO positions (store, partition, changelog_offset) VALUES (?, ?, ?) ON CONFLICT (store, partition) DO UPDATE SET changelog_offset = excluded.changelog_offset'),
      clear: this.db.prepare('DELETE FROM entries WHERE store = ? AND partition = ?'),
      clearPosition: this.db.prepare('DELETE FROM positions WHERE store = ? AND partition = ?'),
    };
  }

  /** The snapshot of a store partition: its rows and the changelog offset to continue from (null: none). */
  load(store: string, partition: number): { offset: number | null; rows: SnapshotRow[] } {
    const pos = this.stmts.position.get(store, partition) as { o: number } | undefined;
    if (!pos) return { offset: null, rows: [] };
    const rows = (this.stmts.load.all(store, partition) as Array<{ k: Buffer; v: Buffer }>).map((r) => ({ key: r.k, value: r.v }));
    return { offset: pos.o, rows };
  }

  /** Applies the changes since the last snapshot (null value = delete) and records the offset, atomically. */
  write(changes: Array<{ store: string; partition: number; offset: number; entries: Map<string, Buffer | null> }>): void {
    const tx = this.db.transaction(() => {
      for (const c of changes) {
        for (const [k, v] of c.entries) {
          const kb = Buffer.from(k, 'latin1');
          if (v === null) this.stmts.remove.run(c.store, c.partition, kb);
          else this.stmts.upsert.run(c.store, c.partition, kb, v);
        }
        this.stmts.setPosition.run(c.store, c.partition, c.offset);
      }
    });
    tx();
  }

  /** Forgets a store partition's snapshot (it no longer matches its changelog). */
  discard(store: string, partition: number): void {
    this.db.transaction(() => {
      this.stmts.clear.run(store, partition);
      this.stmts.clearPosition.run(store, partition);
    })();
  }

  close(): void {
    this.db.close();
  }
}
