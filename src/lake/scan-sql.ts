/**
 * DuckDB SQL reading a table at one snapshot (pure): the snapshot's files, projected to the
 * table's schema then — columns a file lacks read as null, narrower types are cast up — plus
 * the virtual partition columns taken from the Hive path. This is what the warehouse puts
 * behind `zone.table`.
 */
import { quoteIdent, quoteLiteral } from './names.ts';
import { partitionColumnDuckType } from './partition.ts';
import { duckdbType } from './schema/column-types.ts';
import type { TableScan } from './types.ts';

/**
 * @example
 * const scan = await lake.scan('raw.orders');
 * await duckdb.run(`CREATE OR REPLACE VIEW raw.orders AS ${scanSql(scan)}`);
 */
export function scanSql(scan: TableScan): string {
  const { table, files } = scan;
  const columns = table.schema.columns;
  const parts = table.partitionBy;
  if (files.length === 0) {
    const cols = [
      ...columns.map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${quoteIdent(c.name)}`),
      ...parts.map((p) => `CAST(NULL AS ${partitionColumnDuckType(p, columns)}) AS ${quoteIdent(p.name)}`),
    ];
    return `SELECT ${cols.join(', ') || 'NULL AS _empty'} WHERE false`;
  }
  // A column no file of the snapshot has (added after they were written) cannot be named in
  // read_parquet's output: it reads as a typed null instead.
  const present = new Set<string>();
  for (const f of files) for (const name of Object.keys(f.stats)) present.add(name);
  const cols = [
    ...columns.map((c) =>
      present.has(c.name)
        ? `CAST(${quoteIdent(c.name)} AS ${duckdbType(c.type)}) AS ${quoteIdent(c.name)}`
        : `CAST(NULL AS ${duckdbType(c.type)}) AS ${quoteIdent(c.name)}`,
    ),
    ...parts.map((p) => quoteIdent(p.name)),
  ];
  const hive = parts.length
    ? `, hive_partitioning = true, hive_types = {${parts.map((p) => `${quoteLiteral(p.name)}: ${quoteLiteral(partitionColumnDuckType(p, columns))}`).join(', ')}}`
    : ', hive_partitioning = false';
  return `SELECT ${cols.join(', ')} FROM read_parquet([${files.map((f) => quoteLiteral(f.localPath)).join(', ')}], union_by_name = true${hive})`;
}
