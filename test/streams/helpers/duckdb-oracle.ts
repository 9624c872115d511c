/**
 * The oracle: DuckDB computing in batch what a stream topology computes incrementally.
 * Events are loaded into an in-memory table; queries return rows as plain objects with
 * numbers (BIGINT → number). Extensions are never downloaded (autoinstall/autoload off).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export class Oracle {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
  ) {}

  static async open(): Promise<Oracle> {
    const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    const conn = await instance.connect();
    return new Oracle(instance, conn);
  }

  /** Creates `name` with the given columns and loads the rows (appender). */
  async load(name: string, columns: Record<string, 'VARCHAR' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN'>, rows: Array<Record<string, string | number | boolean | null>>): Promise<void> {
    const cols = Object.entries(columns);
    await this.conn.run(`CREATE OR REPLACE TABLE ${name} (${cols.map(([c, t]) => `"${c}" ${t}`).join(', ')})`);
    const app = await this.conn.createAppender(name);
    for (const r of rows) {
      for (const [c, t] of cols) {
        const v = r[c];
        if (v === null || v === undefined) app.appendNull();
        else if (t === 'VARCHAR') app.appendVarchar(String(v));
        else if (t === 'BIGINT') app.appendBigInt(BigInt(Math.trunc(Number(v))));
        else if (t === 'DOUBLE') app.appendDouble(Number(v));
        else app.appendBoolean(Boolean(v));
      }
      app.endRow();
    }
    app.flushSync();
    app.closeSync();
  }

  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getRowObjectsJS().map((r) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) o[k] = typeof v === 'bigint' ? Number(v) : v;
      return o as T;
    });
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** Sorts rows by their JSON text, so two result sets compare as multisets. */
export function canonical<T>(rows: T[]): string[] {
  return rows.map((r) => JSON.stringify(r, Object.keys(r as object).sort())).sort();
}
