/**
 * PostgreSQL values and types (pure): text values (as both logical replication and our table
 * queries deliver them) to JSON values by type OID, type OIDs to schema field types, and schema
 * field types to column types for tables the sink creates. Identifiers are always quoted.
 *
 * Text → JSON: integers up to 2^53 are numbers (bigger int8 stay strings), numeric stays a string
 * (no precision lost), booleans, json/jsonb parsed, timestamptz → ISO-8601 UTC, timestamp/date/time
 * as ISO-like text, bytea → base64, anything else (arrays, enums, ranges) as its text.
 */
import type { FieldType, RecordSchema } from '../../types.ts';

export const OID = {
  bool: 16,
  bytea: 17,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

const ARRAY_OIDS = new Set([1000, 1001, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1115, 1182, 1185, 1231, 2951, 3807, 199]);

export function fieldTypeOf(oid: number): FieldType {
  switch (oid) {
    case OID.bool:
      return 'boolean';
    case OID.int2:
      return 'int16';
    case OID.int4:
    case OID.oid:
      return 'int32';
    case OID.int8:
      return 'int64';
    case OID.float4:
      return 'float32';
    case OID.float8:
      return 'float64';
    case OID.numeric:
      return 'decimal';
    case OID.bytea:
      return 'bytes';
    case OID.timestamp:
    case OID.timestamptz:
      return 'timestamp';
    case OID.date:
      return 'date';
    case OID.time:
      return 'time';
    case OID.json:
    case OID.jsonb:
      return 'json';
    case OID.uuid:
      return 'uuid';
    default:
      return ARRAY_OIDS.has(oid) ? 'array' : 'string';
  }
}

export function decodeText(oid: number, text: string | null): unknown {
  if (text === null) return null;
  switch (oid) {
    case OID.bool:
      return text === 't' || text === 'true';
    case OID.int2:
    case OID.int4:
    case OID.oid:
      return Number(text);
    case OID.int8: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case OID.float4:
    case OID.float8: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case OID.json:
    case OID.jsonb:
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    case OID.timestamptz: {
      // "2024-05-01 10:00:00.123+02" → ISO UTC
      const iso = text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
      const t = Date.parse(iso);
      return Number.isNaN(t) ? text : new Date(t).toISOString();
    }
    case OID.timestamp:
      return text.replace(' ', 'T');
    case OID.bytea:
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex').toString('base64') : text;
    default:
      return text;
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` or `table` → quoted, qualified name. */
export function qualified(name: string): { schema: string; table: string; sql: string } {
  const dot = name.indexOf('.');
  const schema = dot >= 0 ? name.slice(0, dot) : 'public';
  const table = dot >= 0 ? name.slice(dot + 1) : name;
  return { schema, table, sql: `${quoteIdent(schema)}.${quoteIdent(table)}` };
}

const COLUMN_TYPES: Record<FieldType, string> = {
  int16: 'smallint',
  int32: 'integer',
  int64: 'bigint',
  float32: 'real',
  float64: 'double precision',
  decimal: 'numeric',
  boolean: 'boolean',
  string: 'text',
  bytes: 'bytea',
  timestamp: 'timestamptz',
  date: 'date',
  time: 'time',
  json: 'jsonb',
  array: 'jsonb',
  uuid: 'uuid',
};

export function columnTypeOf(t: FieldType): string {
  return COLUMN_TYPES[t] ?? 'text';
}

/** A schema for rows that came without one: a field's type is what every row agrees on. */
export function inferSchema(rows: Array<Record<string, unknown>>): RecordSchema {
  const types = new Map<string, FieldType | null>();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      let t: FieldType | null;
      if (v === null || v === undefined) t = null;
      else if (typeof v === 'number') t = Number.isInteger(v) ? 'int64' : 'float64';
      else if (typeof v === 'boolean') t = 'boolean';
      else if (typeof v === 'string') t = 'string';
      else if (Buffer.isBuffer(v)) t = 'bytes';
      else t = 'json';
      const prev = types.get(k);
      if (prev === undefined || prev === null) types.set(k, t);
      else if (t !== null && prev !== t) types.set(k, prev === 'int64' && t === 'float64' ? 'float64' : prev === 'float64' && t === 'int64' ? 'float64' : 'json');
    }
  }
  return { type: 'struct', fields: [...types].map(([field, t]) => ({ field, type: t ?? 'string', optional: true })) };
}

/** A JS value as a query parameter for a column of this type. */
export function toParam(v: unknown, type: FieldType | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (type === 'timestamp' && typeof v === 'number') return new Date(v);
  if (type === 'bytes' && typeof v === 'string') return Buffer.from(v, 'base64');
  if (typeof v === 'object') return JSON.stringify(v);
  if ((type === 'json' || type === 'array') && typeof v !== 'object') return JSON.stringify(v);
  return v;
}

/** SQLSTATE classes that mean "this data is wrong" (not "the database is unavailable"). */
export function isDataError(code: string | undefined): boolean {
  if (!code) return false;
  return code.startsWith('22') || code.startsWith('23') || code === '42703' || code === '42804';
}

/** SQLSTATEs and socket errors after which retrying can succeed. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  if (!code) return /Connection terminated|ECONNREFUSED|ECONNRESET|connection/i.test(String((err as Error)?.message ?? ''));
  return code.startsWith('08') || code.startsWith('57P') || code === '53300' || code === '40001' || code === '40P01' || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code);
}
