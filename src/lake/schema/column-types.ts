/** Column types: parsing, their DuckDB spelling, and which changes are widenings. (Pure.) */
import { LakeError } from '../errors.ts';
import { PRIMITIVE_TYPES, type ColumnType, type PrimitiveType } from '../types.ts';

const DECIMAL = /^decimal\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)$/;

export function isColumnType(value: unknown): value is ColumnType {
  if (typeof value !== 'string') return false;
  if ((PRIMITIVE_TYPES as readonly string[]).includes(value)) return true;
  const m = DECIMAL.exec(value);
  if (!m) return false;
  const p = Number(m[1]);
  const s = Number(m[2]);
  return p >= 1 && p <= 38 && s <= p;
}

/** Checks a declared type; the error names the column and lists the known types. */
export function parseColumnType(value: unknown, column: string): ColumnType {
  if (isColumnType(value)) return normalizeType(value);
  throw new LakeError(
    'LAKE_SCHEMA_INVALID',
    `column ${JSON.stringify(column)}: unknown type ${JSON.stringify(value)}; use one of ${PRIMITIVE_TYPES.join(', ')}, decimal(p,s)`,
  );
}

function normalizeType(t: ColumnType): ColumnType {
  const m = DECIMAL.exec(t);
  return m ? (`decimal(${Number(m[1])},${Number(m[2])})` as ColumnType) : t;
}

export function decimalParts(t: ColumnType): { precision: number; scale: number } | null {
  const m = DECIMAL.exec(t);
  return m ? { precision: Number(m[1]), scale: Number(m[2]) } : null;
}

const DUCK: Record<PrimitiveType, string> = {
  boolean: 'BOOLEAN',
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  binary: 'BLOB',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
  json: 'JSON',
};

/** The DuckDB type a column is read and written as. */
export function duckdbType(t: ColumnType): string {
  const d = decimalParts(t);
  if (d) return `DECIMAL(${d.precision},${d.scale})`;
  return DUCK[t as PrimitiveType];
}

/**
 * The lake type for a DuckDB type (as `DESCRIBE` prints it), or null when the lake has none.
 * Smaller integers map to int32 (readers cast them up), nested types to json.
 */
export function fromDuckdbType(duck: string): ColumnType | null {
  const t = duck.trim().toUpperCase();
  switch (t) {
    case 'BOOLEAN':
      return 'boolean';
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
      return 'int32';
    case 'BIGINT':
    case 'UINTEGER':
      return 'int64';
    case 'FLOAT':
      return 'float32';
    case 'DOUBLE':
      return 'float64';
    case 'VARCHAR':
      return 'string';
    case 'BLOB':
      return 'binary';
    case 'DATE':
      return 'date';
    case 'TIMESTAMP WITH TIME ZONE':
    case 'TIMESTAMPTZ':
    case 'TIMESTAMP':
    case 'TIMESTAMP_MS':
    case 'TIMESTAMP_S':
    case 'TIMESTAMP_NS':
      return 'timestamp';
    case 'JSON':
      return 'json';
  }
  const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (dec) return `decimal(${Number(dec[1])},${Number(dec[2])})` as ColumnType;
  if (t.endsWith('[]') || t.startsWith('STRUCT(') || t.startsWith('MAP(') || /\[\d+\]$/.test(t) || t.startsWith('UNION(')) return 'json';
  return null;
}

/**
 * Whether values of `from` can be read as `to` without loss: the type itself, int32 → int64,
 * float32 → float64, decimal(p,s) → decimal(p',s) with p' ≥ p.
 */
export function canWiden(from: ColumnType, to: ColumnType): boolean {
  if (from === to) return true;
  if (from === 'int32' && to === 'int64') return true;
  if (from === 'float32' && to === 'float64') return true;
  const a = decimalParts(from);
  const b = decimalParts(to);
  return a !== null && b !== null && a.scale === b.scale && b.precision >= a.precision;
}

/** The narrowest type holding both (for inference), or null when they do not meet. */
export function unifyTypes(a: ColumnType, b: ColumnType): ColumnType | null {
  if (canWiden(a, b)) return b;
  if (canWiden(b, a)) return a;
  // Inference only: a column seen with integers and fractions holds doubles.
  if ((a === 'int64' || a === 'int32') && (b === 'float64' || b === 'float32')) return 'float64';
  if ((b === 'int64' || b === 'int32') && (a === 'float64' || a === 'float32')) return 'float64';
  if (a === 'timestamp' && b === 'string') return 'string';
  if (a === 'string' && b === 'timestamp') return 'string';
  if (a === 'date' && (b === 'string' || b === 'timestamp')) return 'string';
  if (b === 'date' && (a === 'string' || a === 'timestamp')) return 'string';
  return null;
}
