/**
 * DuckDB values → JSON-ready JavaScript values (one converter for every result the gateway
 * hands out as JSON, JSON lines, CSV or a table).
 *
 * Integers are numbers when exact (BIGINT/HUGEINT beyond 2^53 stay strings), decimals are
 * numbers when the double prints back the same digits (else the exact string), JSON columns
 * are parsed, times use DuckDB's text (`2024-05-01 07:00:00+00`), nested values recurse.
 */
import { DuckDBTypeId, JsonDuckDBValueConverter, type DuckDBDataChunk, type DuckDBType, type DuckDBValue, type DuckDBValueConverter, type Json } from '@duckdb/node-api';

function exactNumber(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  if (/^-?\d+$/.test(text)) return Number.isSafeInteger(n) ? n : text;
  const trimmed = text.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  return String(n) === trimmed ? n : text;
}

export const jsonValue: DuckDBValueConverter<Json> = (value: DuckDBValue, type: DuckDBType, self: DuckDBValueConverter<Json>): Json | null => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return exactNumber(String(value));
    case DuckDBTypeId.DECIMAL:
      return exactNumber(String(value));
    case DuckDBTypeId.VARCHAR:
      if (type.alias === 'JSON' && typeof value === 'string') {
        try {
          return JSON.parse(value) as Json;
        } catch {
          return value;
        }
      }
      return value as string;
    default:
      return JsonDuckDBValueConverter(value, type, self);
  }
};

/**
 * A chunk's rows as arrays of JSON-ready values. The result's column types are used, not the
 * chunk vectors' own: those lose type aliases (a JSON column's vector is plain VARCHAR).
 */
export function convertChunk(chunk: DuckDBDataChunk, types: readonly DuckDBType[]): Json[][] {
  const n = chunk.rowCount;
  const rows: Json[][] = new Array(n);
  for (let r = 0; r < n; r++) rows[r] = new Array(types.length);
  for (let c = 0; c < types.length; c++) {
    const vector = chunk.getColumnVector(c);
    const type = types[c]!;
    for (let r = 0; r < n; r++) rows[r]![c] = jsonValue(vector.getItem(r), type, jsonValue) as Json;
  }
  return rows;
}

/** A CSV field (RFC 4180): null is empty, objects are JSON text, quoted when needed. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(',') + '\n';
}
