/**
 * How a model's result becomes lake data (pure): which columns the files hold and how each is
 * cast to a type the lake stores, and the partition columns that become folders.
 *
 * DuckDB types without a lake counterpart are cast where it loses nothing that matters for a
 * mart: HUGEINT/UBIGINT (what `sum(bigint)` returns) → BIGINT (an overflow fails the build
 * rather than rounding), TIMESTAMP → TIMESTAMPTZ (UTC), TIME/INTERVAL/UUID/ENUM/BIT → text.
 * Partition columns are virtual in the lake (taken from the folder names), so they leave the
 * files and read back as text.
 */
import { fromDuckdbType, quoteIdent, type ColumnSpec } from '../../lake/index.ts';
import { WarehouseError } from '../errors.ts';

export interface OutputPlan {
  /** SELECT list over the model's result, without the partition columns. */
  select: string;
  columns: ColumnSpec[];
  partitionBy: string[];
}

const TO_BIGINT = new Set(['HUGEINT', 'UHUGEINT', 'UBIGINT']);
const TO_TEXT = /^(TIME|TIME WITH TIME ZONE|TIME_NS|INTERVAL|UUID|BIT|ENUM\(.*\)|VARINT|BIGNUM)$/;

export function planOutput(where: string, described: ReadonlyArray<{ name: string; type: string }>, partitionBy: readonly string[]): OutputPlan {
  const names = described.map((c) => c.name);
  for (const p of partitionBy) {
    if (!names.includes(p)) throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: partition_by column ${JSON.stringify(p)} is not in the result (columns: ${names.join(', ')})`);
  }
  const seen = new Set<string>();
  const select: string[] = [];
  const columns: ColumnSpec[] = [];
  for (const c of described) {
    const lower = c.name.toLowerCase();
    if (seen.has(lower)) throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: two result columns are named ${JSON.stringify(c.name)}: give them distinct aliases`);
    seen.add(lower);
    if (partitionBy.includes(c.name)) continue;
    const t = c.type.toUpperCase();
    const q = quoteIdent(c.name);
    if (TO_BIGINT.has(t)) {
      select.push(`CAST(${q} AS BIGINT) AS ${q}`);
      columns.push({ name: c.name, type: 'int64' });
    } else if (t === 'TIMESTAMP' || t === 'TIMESTAMP_S' || t === 'TIMESTAMP_MS' || t === 'TIMESTAMP_NS') {
      select.push(`CAST(${q} AS TIMESTAMPTZ) AS ${q}`);
      columns.push({ name: c.name, type: 'timestamp' });
    } else if (TO_TEXT.test(t)) {
      select.push(`CAST(${q} AS VARCHAR) AS ${q}`);
      columns.push({ name: c.name, type: 'string' });
    } else if (t === '"NULL"' || t === 'NULL') {
      select.push(`CAST(${q} AS VARCHAR) AS ${q}`);
      columns.push({ name: c.name, type: 'string' });
    } else {
      const lt = fromDuckdbType(c.type);
      if (lt === null) {
        throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: column ${JSON.stringify(c.name)} has type ${c.type}, which the lake cannot store: cast it (e.g. CAST(${c.name} AS VARCHAR))`);
      }
      select.push(q);
      columns.push({ name: c.name, type: lt });
    }
  }
  if (select.length === 0) throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: the result has no columns besides the partition columns`);
  return { select: select.join(', '), columns, partitionBy: [...partitionBy] };
}

/** A WHERE condition picking one partition (values as text; the Hive null folder matches NULL). */
export function partitionFilter(values: Record<string, string>, hiveNull: string): string {
  return Object.entries(values)
    .map(([k, v]) => (v === hiveNull ? `${quoteIdent(k)} IS NULL` : `CAST(${quoteIdent(k)} AS VARCHAR) = '${v.replace(/'/g, "''")}'`))
    .join(' AND ');
}
