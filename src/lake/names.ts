/** Names of zones, tables, columns and partition fields, and how they are checked. */
import { LakeError } from './errors.ts';
import { ZONES, type TableName, type TableRef, type Zone } from './types.ts';

/** Tables and partition fields: lower-case SQL identifiers, so paths and SQL need no quoting. */
const IDENT = /^[a-z_][a-z0-9_]{0,127}$/;

export function isZone(value: string): value is Zone {
  return (ZONES as readonly string[]).includes(value);
}

export function checkZone(zone: string): Zone {
  if (!isZone(zone)) {
    throw new LakeError('LAKE_ZONE_UNKNOWN', `unknown zone ${JSON.stringify(zone)}: use one of ${ZONES.join(', ')}`);
  }
  return zone;
}

export function checkTableName(name: string): string {
  if (!IDENT.test(name)) {
    throw new LakeError(
      'LAKE_NAME_INVALID',
      `invalid table name ${JSON.stringify(name)}: use 1–128 of a-z 0-9 _ starting with a letter or _ (e.g. "shop_orders")`,
    );
  }
  return name;
}

/**
 * `'raw.orders'` → `{ zone: 'raw', name: 'orders' }` (a `TableRef` is checked and returned as is).
 *
 * @example
 * parseTableName('curated.daily_sales'); // { zone: 'curated', name: 'daily_sales' }
 */
export function parseTableName(table: TableName): TableRef {
  if (typeof table !== 'string') return { zone: checkZone(table.zone), name: checkTableName(table.name) };
  const dot = table.indexOf('.');
  if (dot < 0) {
    throw new LakeError('LAKE_NAME_INVALID', `table ${JSON.stringify(table)} has no zone: write <zone>.<table>, e.g. raw.${table}`);
  }
  return { zone: checkZone(table.slice(0, dot)), name: checkTableName(table.slice(dot + 1)) };
}

export function formatTableName(ref: TableRef): string {
  return `${ref.zone}.${ref.name}`;
}

/** Columns may be any name a JSON field has (SQL quotes them), except empty, control characters or over 255 characters. */
export function checkColumnName(name: string, where = 'column'): string {
  // eslint-disable-next-line no-control-regex
  if (typeof name !== 'string' || name.length === 0 || name.length > 255 || /[\x00-\x1f\x7f]/.test(name)) {
    throw new LakeError('LAKE_NAME_INVALID', `invalid ${where} name ${JSON.stringify(name)}: use 1–255 printable characters`);
  }
  return name;
}

export function checkPartitionFieldName(name: string): string {
  if (!IDENT.test(name)) {
    throw new LakeError(
      'LAKE_NAME_INVALID',
      `invalid partition field name ${JSON.stringify(name)}: use 1–128 of a-z 0-9 _ starting with a letter or _ (e.g. "dt")`,
    );
  }
  return name;
}

/** Quotes an identifier for DuckDB/SQLite/PostgreSQL SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for SQL. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
