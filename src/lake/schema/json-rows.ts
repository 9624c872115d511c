/**
 * JSON rows against a table schema (pure): inferring columns from parsed records, and checking
 * that a record fits, with a reason naming the field when it does not.
 *
 * The checks accept exactly what DuckDB's `read_json` turns into the column type without
 * guessing: integers for int32/int64 (in range), any number for floats and decimals,
 * `YYYY-MM-DD` for dates, ISO-8601 date-times (optionally with `Z` or an offset; none means UTC)
 * for timestamps, and any JSON value for json columns.
 */
import type { Column, ColumnSpec, ColumnType } from '../types.ts';
import { decimalParts, unifyTypes } from './column-types.ts';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
}

export function isIsoDate(s: string): boolean {
  const m = DATE.exec(s);
  return m !== null && validDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

export function isIsoTimestamp(s: string): boolean {
  const m = TIMESTAMP.exec(s);
  if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  return Number(m[4]) < 24 && Number(m[5]) < 60 && (m[6] === undefined || Number(m[6]) < 60);
}

/** Milliseconds since the epoch of an ISO timestamp (no zone = UTC), or NaN. */
export function parseIsoTimestamp(s: string): number {
  // The sink checks a timestamp column and then reads the same string as the event time.
  if (s === lastParsed) return lastParsedMs;
  const fast = parseUtcFast(s);
  const ms = fast !== undefined ? fast : parseIsoSlow(s);
  lastParsed = s;
  lastParsedMs = ms;
  return ms;
}
let lastParsed = '';
let lastParsedMs = NaN;

function parseIsoSlow(s: string): number {
  if (!isIsoTimestamp(s)) return NaN;
  let t = s.replace(' ', 'T');
  if (!/(Z|[+-]\d{2}(:?\d{2})?)$/.test(t.slice(16))) t += 'Z';
  else t = t.replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/([+-]\d{2})$/, '$1:00');
  return Date.parse(t);
}

const hourStarts = new Map<string, number>();
let lastHour = '';
let lastHourStart = NaN;

function digits2(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The common event-time spelling `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, validated and converted without
 * regular expressions: the hour prefix is checked once and cached (event streams stay within a
 * few hours). `undefined` when `s` has another shape (the full parser decides).
 */
function parseUtcFast(s: string): number | undefined {
  const n = s.length;
  if (n < 20 || n > 30 || s.charCodeAt(n - 1) !== 90 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  let base: number | undefined;
  // Consecutive events mostly share their hour: compare with the last one before slicing.
  if (lastHour !== '' && s.startsWith(lastHour)) base = lastHourStart;
  else {
    const prefix = s.slice(0, 13);
    base = hourStarts.get(prefix);
    if (base === undefined) {
      base = parseIsoSlow(`${prefix}:00:00Z`);
      if (hourStarts.size > 4096) hourStarts.clear();
      hourStarts.set(prefix, base);
    }
    lastHour = prefix;
    lastHourStart = base;
  }
  if (Number.isNaN(base)) return NaN;
  const mm = digits2(s, 14);
  const ss = digits2(s, 17);
  if (mm < 0 || mm > 59 || ss < 0 || ss > 59) return NaN;
  let ms = 0;
  if (n > 20) {
    if (s.charCodeAt(19) !== 46 || n - 21 > 9) return NaN; // '.', at most nanoseconds
    let scale = 100;
    for (let i = 20; i < n - 1; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return NaN;
      ms += d * scale;
      scale /= 10;
    }
  }
  return base + mm * 60_000 + ss * 1000 + Math.floor(ms);
}

/** The lake type of one JSON value, or null for null. */
export function typeOfJsonValue(v: unknown): ColumnType | null {
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'int64' : 'float64';
    case 'string':
      if (v.length >= 16 && v.length <= 40 && isIsoTimestamp(v)) return 'timestamp';
      if (v.length === 10 && isIsoDate(v)) return 'date';
      return 'string';
    case 'object':
      return v === null ? null : 'json';
    default:
      return 'json';
  }
}

/**
 * Columns for a set of parsed records: every field seen, in first-seen order, all nullable.
 * A field seen with types that do not meet (a number and a string) becomes `json`; a field only
 * ever null becomes `string`.
 */
export function inferColumns(rows: Iterable<unknown>, start: readonly ColumnSpec[] = []): ColumnSpec[] {
  const types = new Map<string, ColumnType | null>();
  for (const c of start) types.set(c.name, c.type);
  for (const row of rows) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) continue;
    for (const [k, v] of Object.entries(row)) {
      const t = typeOfJsonValue(v);
      if (!types.has(k)) {
        types.set(k, t);
        continue;
      }
      const prev = types.get(k)!;
      if (t === null || prev === t) continue;
      types.set(k, prev === null ? t : (unifyTypes(prev, t) ?? 'json'));
    }
  }
  return [...types].map(([name, type]) => ({ name, type: type ?? 'string', nullable: true }));
}

type Check = (v: unknown) => string | null;

function checkFor(type: ColumnType): Check {
  const expect = (what: string) => (v: unknown) => `expected ${what}, got ${describe(v)}`;
  switch (type) {
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? null : expect('true or false')(v));
    case 'int32':
      return (v) => (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? null : expect('a whole number in int32 range')(v));
    case 'int64':
      return (v) => (typeof v === 'number' && Number.isInteger(v) ? null : expect('a whole number')(v));
    case 'float32':
    case 'float64':
      return (v) => (typeof v === 'number' && Number.isFinite(v) ? null : expect('a number')(v));
    case 'string':
    case 'binary':
      return (v) => (typeof v === 'string' ? null : expect('a string')(v));
    case 'date':
      return (v) => (typeof v === 'string' && isIsoDate(v) ? null : expect('a date "YYYY-MM-DD"')(v));
    case 'timestamp':
      return (v) => (typeof v === 'string' && !Number.isNaN(parseIsoTimestamp(v)) ? null : expect('an ISO-8601 timestamp string')(v));
    case 'json':
      return () => null;
    default: {
      const d = decimalParts(type);
      if (!d) return expect(type);
      const limit = 10 ** (d.precision - d.scale);
      return (v) => (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < limit ? null : expect(`a number below ${limit} in magnitude`)(v));
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

export interface RowCheckResult {
  /** Why the row does not fit, or null. */
  problem: string | null;
  /** Fields not in the schema (only collected when `collectExtra` is on). */
  extra: string[] | null;
}

/**
 * A checker for parsed JSON rows: returns null when the row fits, else a reason naming the field
 * (`field "amount": expected a number, got "12a"`). Unknown fields are reported through
 * `onExtra` (inference evolves the schema) or, when `rejectExtra`, make the row not fit.
 */
export function compileRowChecker(columns: readonly Column[], opts: { rejectExtra: boolean }): (row: unknown) => RowCheckResult {
  const checks = columns.map((c) => ({ name: c.name, nullable: c.nullable, check: checkFor(c.type) }));
  const known = new Set(columns.map((c) => c.name));
  const n = checks.length;
  return (row) => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      return { problem: `expected a JSON object, got ${describe(row)}`, extra: null };
    }
    const r = row as Record<string, unknown>;
    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      const v = r[c.name];
      if (v === undefined || v === null) {
        if (!c.nullable) return { problem: `field ${JSON.stringify(c.name)}: required (NOT NULL), got ${v === null ? 'null' : 'nothing'}`, extra: null };
        continue;
      }
      const p = c.check(v);
      if (p !== null) return { problem: `field ${JSON.stringify(c.name)}: ${p}`, extra: null };
    }
    let extra: string[] | null = null;
    for (const k in r) {
      if (!known.has(k)) (extra ??= []).push(k);
    }
    if (extra && opts.rejectExtra) {
      return { problem: `field ${JSON.stringify(extra[0])} is not in the table schema${extra.length > 1 ? ` (nor ${extra.slice(1).map((e) => JSON.stringify(e)).join(', ')})` : ''}`, extra: null };
    }
    return extra === null ? FITS : { problem: null, extra };
  };
}

const FITS: RowCheckResult = Object.freeze({ problem: null, extra: null });
