/**
 * Finding lake tables in a query and rewriting time travel (pure).
 *
 * A lake table is written `zone.table` (`raw.orders`), optionally catalog-qualified
 * (`warehouse.raw.orders`), with quoted parts allowed. It may carry a time-travel clause in
 * DuckDB's syntax, `raw.orders AT (VERSION => 12)` or `AT (TIMESTAMP => '2024-05-01 07:00')`.
 * The gateway authorizes every reference found here, and rewrites the time-travelling ones (and,
 * for a query run `asOf`, all of them) to the same name in a catalog holding that snapshot:
 * `"_asof_12".raw.orders`. The table name stays last, so implicit aliases (`orders.id`) and
 * explicit ones keep working.
 *
 * A `zone.table` followed by `.` or `(` is not a table (a column `raw.orders.id`, a function).
 */
import { WarehouseError } from '../errors.ts';
import { applyEdits, type SourceMap } from './source-map.ts';
import { identOf, significant, tokenize, type Token } from './tokens.ts';

export type AsOfSpec = { snapshot: number } | { time: number };

export interface LakeRef {
  /** `zone.table`. */
  table: string;
  zone: string;
  name: string;
  /** Span of the reference in the SQL, time-travel clause included. */
  start: number;
  end: number;
  /** From an `AT (…)` clause. */
  asOf?: AsOfSpec;
}

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,127}$/;

/**
 * Every lake table reference in `sql`.
 * @param zones the lake's zones (`raw`, `clean`, `curated`)
 * @param catalog the warehouse's own catalog name (a three-part name through it is a lake table too)
 */
export function findLakeRefs(sql: string, zones: readonly string[], catalog?: string): LakeRef[] {
  const toks = significant(tokenize(sql));
  const refs: LakeRef[] = [];
  for (let i = 0; i + 2 < toks.length; i++) {
    const zone = identOf(toks[i]);
    if (zone === null || !zones.includes(zone) || !isDot(toks[i + 1])) continue;
    const name = identOf(toks[i + 2]);
    if (name === null || !TABLE_NAME.test(name)) continue;
    let start = toks[i]!.start;
    if (isDot(toks[i - 1])) {
      // `x.raw.orders`: a lake table only when x is our catalog.
      const cat = identOf(toks[i - 2]);
      if (catalog === undefined || cat !== catalog.toLowerCase() || isDot(toks[i - 3])) continue;
      start = toks[i - 2]!.start;
    }
    const next = toks[i + 3];
    if (isDot(next) || (next?.kind === 'punct' && next.value === '(')) continue;
    let end = toks[i + 2]!.end;
    const ref: LakeRef = { table: `${zone}.${name}`, zone, name, start, end };
    const clause = parseAtClause(sql, toks, i + 3);
    if (clause) {
      ref.asOf = clause.asOf;
      ref.end = clause.end;
      end = clause.end;
    }
    refs.push(ref);
    i += 2;
  }
  return refs;
}

function isDot(t: Token | undefined): boolean {
  return t?.kind === 'punct' && t.value === '.';
}

/** `AT ( VERSION => n )` or `AT ( TIMESTAMP => 'time' )` starting at toks[k]. */
function parseAtClause(sql: string, toks: Token[], k: number): { asOf: AsOfSpec; end: number } | null {
  const at = toks[k];
  if (at?.kind !== 'word' || at.value !== 'at') return null;
  const open = toks[k + 1];
  if (open?.kind !== 'punct' || open.value !== '(') return null;
  const key = toks[k + 2];
  if (key?.kind !== 'word' || (key.value !== 'version' && key.value !== 'timestamp')) return null;
  const where = `${sql.slice(at.start, (toks[k + 5] ?? toks[toks.length - 1]!).end)}`;
  const arrow = toks[k + 3];
  const value = toks[k + 4];
  const close = toks[k + 5];
  if (arrow?.kind !== 'op' || arrow.value !== '=>' || !value || close?.kind !== 'punct' || close.value !== ')') {
    throw new WarehouseError('WAREHOUSE_AS_OF_INVALID', `time travel: expected AT (VERSION => <snapshot id>) or AT (TIMESTAMP => '<time>'), got ${where}`, {
      position: { ...lineCol(sql, at.start), offset: at.start },
    });
  }
  if (key.value === 'version') {
    if (value.kind !== 'number' || !/^\d+$/.test(value.value)) {
      throw new WarehouseError('WAREHOUSE_AS_OF_INVALID', `time travel: VERSION takes a snapshot id (a whole number), got ${value.value}`, {
        position: { ...lineCol(sql, value.start), offset: value.start },
      });
    }
    return { asOf: { snapshot: Number(value.value) }, end: close.end };
  }
  const time = value.kind === 'string' ? parseTime(value.value) : value.kind === 'number' && /^\d+$/.test(value.value) ? Number(value.value) : NaN;
  if (!Number.isFinite(time)) {
    throw new WarehouseError('WAREHOUSE_AS_OF_INVALID', `time travel: TIMESTAMP takes an ISO-8601 time like '2024-05-01 07:00:00Z' or epoch milliseconds, got ${value.value}`, {
      position: { ...lineCol(sql, value.start), offset: value.start },
    });
  }
  return { asOf: { time }, end: close.end };
}

/** ISO-8601 (a space for `T` is fine; no zone means UTC) or epoch milliseconds. */
export function parseTime(text: string): number {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const iso = s.replace(' ', 'T');
  const hasZone = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(iso.slice(10));
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(iso) ? `${iso}T00:00:00Z` : hasZone ? iso : `${iso}Z`);
  return t;
}

function lineCol(sql: string, offset: number): { line: number; column: number } {
  const before = sql.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Name of the catalog that holds the lake as of one snapshot. */
export function asOfCatalog(snapshotId: number): string {
  return `_asof_${snapshotId}`;
}

/**
 * Rewrites references to the as-of catalogs. `resolve` turns each reference's (or the query's)
 * as-of into a snapshot id; references without one stay as they are unless `queryAsOf` is given.
 */
export function rewriteAsOf(
  sql: string,
  refs: readonly LakeRef[],
  snapshotOf: (ref: LakeRef) => number | null,
): { sql: string; map: SourceMap } {
  const edits = [];
  for (const r of refs) {
    const id = snapshotOf(r);
    if (id === null) continue;
    edits.push({ start: r.start, end: r.end, text: `${asOfCatalog(id)}.${r.zone}.${r.name}` });
  }
  const { text, map } = applyEdits(sql, edits);
  return { sql: text, map };
}
