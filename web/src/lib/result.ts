/** Query results as the SQL console holds them (rows as arrays in column order). */

export interface ResultColumn {
  name: string;
  type: string;
}

export interface QueryResult {
  columns: ResultColumn[];
  rows: unknown[][];
  /** More rows exist than were returned (the server's row limit). */
  truncated: boolean;
  elapsedMs: number | null;
  /** Rows are still arriving (a partial result shown while the query streams). */
  streaming?: boolean;
}

/** Columns whose values are all numbers (or null): candidates for a chart's y axis. */
export function numericColumns(r: QueryResult): number[] {
  const out: number[] = [];
  r.columns.forEach((_, i) => {
    let seen = false;
    for (const row of r.rows) {
      const v = row[i];
      if (v === null || v === undefined) continue;
      if (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) && /^-?[\d.]+(e[+-]?\d+)?$/i.test(v))) seen = true;
      else return;
    }
    if (seen) out.push(i);
  });
  return out;
}
