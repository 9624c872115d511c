/**
 * The sink's fast path: decides from a record's raw bytes, without JSON.parse, that it certainly
 * fits the table schema, and reads its event time. It validates the whole value as strict JSON
 * (RFC 8259 grammar: strings with valid escapes and no raw control characters, numbers, literals,
 * nesting) and checks each top-level field against its column the way `compileRowChecker` does.
 *
 * It only ever answers "fits" (with the event time) or "not sure" (`MISS`): anything unusual — an
 * unknown or escaped key, a duplicate key, a value whose type needs a closer look (a decimal or
 * date column, an integer of more than 15 digits, an exponent, a number as event time, a missing
 * NOT NULL field), deep nesting — goes to the full path (JSON.parse + the row checker), which
 * gives the verdict and the reason. So every record the fast path accepts is one the full path
 * would accept with the same event time; the tests check this on generated and mutated records.
 *
 * Why: JSON.parse builds an object per record only to look at its top-level fields, and it was
 * most of the sink's CPU time; a byte scan over a Buffer allocates nothing per record. Field
 * names are matched against the key order of the previous record (event streams repeat it), so
 * a key costs one short byte comparison.
 */
import type { Column } from '../types.ts';
import { parseIsoTimestamp } from './json-rows.ts';

/** "Not sure": let the full path decide. */
export const MISS = -1;
/** Accepted, and the table has no event-time field (the caller uses the record timestamp). */
export const NO_EVENT_TIME = -2;

const enum Code {
  Any, // json: any value
  Str, // string, binary
  I64,
  I32,
  Float,
  Bool,
  Ts,
  Slow, // date, decimal: the full path decides
}

function codeOf(type: string): Code {
  switch (type) {
    case 'json':
      return Code.Any;
    case 'string':
    case 'binary':
      return Code.Str;
    case 'int64':
      return Code.I64;
    case 'int32':
      return Code.I32;
    case 'float32':
    case 'float64':
      return Code.Float;
    case 'boolean':
      return Code.Bool;
    case 'timestamp':
      return Code.Ts;
    default:
      return Code.Slow;
  }
}

const MAX_DEPTH = 64;

// Side results of the scanners (module-level scratch: no allocation per value).
let strEscaped = false;
let strAscii = true;
let numIntDigits = 0;
let numFrac = false;
let numExp = false;
let sawBreak = false;

function skipWs(b: Buffer, i: number, n: number): number {
  while (i < n) {
    const c = b[i]!;
    if (c === 32 || c === 9) i++;
    else if (c === 10 || c === 13) {
      sawBreak = true;
      i++;
    } else break;
  }
  return i;
}

function hex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** `i` at the opening quote; returns the index after the closing quote, or -1. */
function scanString(b: Buffer, i: number, n: number): number {
  strEscaped = false;
  strAscii = true;
  i++;
  while (i < n) {
    const c = b[i]!;
    if (c === 34) return i + 1;
    if (c === 92) {
      strEscaped = true;
      const e = b[i + 1];
      if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) i += 2;
      else if (e === 117) {
        if (i + 5 >= n || !hex(b[i + 2]!) || !hex(b[i + 3]!) || !hex(b[i + 4]!) || !hex(b[i + 5]!)) return -1;
        i += 6;
      } else return -1;
    } else if (c < 32) return -1;
    else {
      if (c >= 128) strAscii = false;
      i++;
    }
  }
  return -1;
}

/** `i` at the first character of a number; returns the index after it, or -1. */
function scanNumber(b: Buffer, i: number, n: number): number {
  numFrac = false;
  numExp = false;
  if (b[i] === 45) i++; // '-'
  const start = i;
  if (b[i] === 48) i++;
  else if (b[i]! >= 49 && b[i]! <= 57) while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
  else return -1;
  numIntDigits = i - start;
  if (b[i] === 46) {
    numFrac = true;
    i++;
    const f = i;
    while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === f) return -1;
  }
  if (b[i] === 101 || b[i] === 69) {
    numExp = true;
    i++;
    if (b[i] === 43 || b[i] === 45) i++;
    const e = i;
    while (i < n && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === e) return -1;
  }
  return i;
}

function literal(b: Buffer, i: number, n: number, word: string): number {
  if (i + word.length > n) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/** Any JSON value at `i` (after whitespace); returns the index after it, or -1. */
function skipValue(b: Buffer, i: number, n: number, depth: number): number {
  const c = b[i];
  if (c === 34) return scanString(b, i, n);
  if (c === 123 || c === 91) {
    if (depth >= MAX_DEPTH) return -1;
    const close = c === 123 ? 125 : 93;
    i = skipWs(b, i + 1, n);
    if (b[i] === close) return i + 1;
    for (;;) {
      if (c === 123) {
        if (b[i] !== 34) return -1;
        i = scanString(b, i, n);
        if (i < 0) return -1;
        i = skipWs(b, i, n);
        if (b[i] !== 58) return -1;
        i = skipWs(b, i + 1, n);
      }
      i = skipValue(b, i, n, depth + 1);
      if (i < 0) return -1;
      i = skipWs(b, i, n);
      if (b[i] === 44) i = skipWs(b, i + 1, n);
      else if (b[i] === close) return i + 1;
      else return -1;
    }
  }
  if (c === 45 || (c !== undefined && c >= 48 && c <= 57)) return scanNumber(b, i, n);
  if (c === 116) return literal(b, i, n, 'true');
  if (c === 102) return literal(b, i, n, 'false');
  if (c === 110) return literal(b, i, n, 'null');
  return -1;
}

export class FastRowScanner {
  private readonly names: string[];
  private readonly codes: Code[];
  private readonly nullable: boolean[];
  private readonly index = new Map<string, number>();
  private readonly required: number[];
  private readonly eventCol: number;
  private readonly eventField: string | null;
  /** Key bytes and column index of the previous accepted record's fields, in order. */
  private shapeKeys: Buffer[] = [];
  private shapeCols: number[] = [];
  private readonly seen: Int32Array;
  private stamp = 0;
  private keyStarts: number[] = [];
  private keyEnds: number[] = [];
  private keyCols: number[] = [];
  /** Whether the last accepted record had a line break (whitespace) in it. */
  breaks = false;

  /**
   * `columns`: the columns the record's own fields are checked against (without the sink's
   * metadata columns: a record with such a field is never accepted here). `eventField`: the
   * field holding the event time, or null when the record timestamp is used.
   */
  constructor(columns: readonly Column[], eventField: string | null) {
    this.names = columns.map((c) => c.name);
    this.codes = columns.map((c) => codeOf(c.type));
    this.nullable = columns.map((c) => c.nullable);
    columns.forEach((c, i) => this.index.set(c.name, i));
    this.required = columns.flatMap((c, i) => (c.nullable ? [] : [i]));
    this.eventField = eventField;
    this.eventCol = eventField === null ? -1 : (this.index.get(eventField) ?? -1);
    this.seen = new Int32Array(columns.length);
  }

  /**
   * The event time in epoch ms (or `NO_EVENT_TIME`) when the record certainly fits, else `MISS`.
   */
  check(b: Buffer): number {
    const n = b.length;
    sawBreak = false;
    let i = skipWs(b, 0, n);
    if (b[i] !== 123) return MISS;
    const stamp = ++this.stamp === 0x7fffffff ? this.resetStamps() : this.stamp;
    let time = this.eventField === null ? NO_EVENT_TIME : MISS;
    let k = 0;
    let shapeOk = true;
    let mismatchAt = -1;
    i = skipWs(b, i + 1, n);
    if (b[i] === 125) i++;
    else
      for (;;) {
        // The key: a plain string (no escapes), matched against the previous record's order.
        if (b[i] !== 34) return MISS;
        const ks = i + 1;
        const ke = scanString(b, i, n) - 1;
        if (ke < 0 || strEscaped) return MISS;
        let col = -1;
        if (shapeOk && k < this.shapeKeys.length && sameBytes(b, ks, ke, this.shapeKeys[k]!)) col = this.shapeCols[k]!;
        else {
          if (shapeOk) mismatchAt = k;
          shapeOk = false;
          const found = this.index.get(b.toString('utf8', ks, ke));
          if (found === undefined) return MISS; // a field not in the schema: evolution or refusal
          col = found;
        }
        if (this.seen[col] === stamp) return MISS; // a duplicate key
        this.seen[col] = stamp;
        if (!shapeOk) {
          this.keyStarts[k] = ks;
          this.keyEnds[k] = ke;
          this.keyCols[k] = col;
        }
        k++;
        i = skipWs(b, ke + 1, n);
        if (b[i] !== 58) return MISS;
        i = skipWs(b, i + 1, n);
        const c = b[i];
        const vs = i;
        const code = this.codes[col]!;
        if (c === 110) {
          // null
          i = literal(b, i, n, 'null');
          if (i < 0 || !this.nullable[col]) return MISS;
        } else if (c === 34) {
          i = scanString(b, i, n);
          if (i < 0) return MISS;
          if (col === this.eventCol || code === Code.Ts) {
            if (strEscaped || !strAscii) return MISS;
            let ms = this.utcMs(b, vs + 1, i - 1);
            if (ms === undefined) ms = parseIsoTimestamp(b.toString('latin1', vs + 1, i - 1));
            if (Number.isNaN(ms) || ms === MISS || ms === NO_EVENT_TIME) return MISS; // (those two instants take the full path)
            if (col === this.eventCol) time = ms;
          } else if (code !== Code.Str && code !== Code.Any) return MISS;
        } else if (c === 45 || (c !== undefined && c >= 48 && c <= 57)) {
          i = scanNumber(b, i, n);
          if (i < 0 || col === this.eventCol) return MISS;
          if (code === Code.I64) {
            if (numFrac || numExp || numIntDigits > 15) return MISS;
          } else if (code === Code.I32) {
            if (numFrac || numExp || numIntDigits > 9) return MISS;
          } else if (code === Code.Float) {
            if (numExp || numIntDigits > 300) return MISS;
          } else if (code !== Code.Any) return MISS;
        } else if (c === 116 || c === 102) {
          i = literal(b, i, n, c === 116 ? 'true' : 'false');
          if (i < 0 || col === this.eventCol || (code !== Code.Bool && code !== Code.Any)) return MISS;
        } else if (c === 123 || c === 91) {
          if (code !== Code.Any || col === this.eventCol) return MISS;
          i = skipValue(b, i, n, 1);
          if (i < 0) return MISS;
        } else return MISS;
        i = skipWs(b, i, n);
        if (b[i] === 44) i = skipWs(b, i + 1, n);
        else if (b[i] === 125) {
          i++;
          break;
        } else return MISS;
      }
    if (skipWs(b, i, n) !== n) return MISS;
    for (const r of this.required) if (this.seen[r] !== stamp) return MISS;
    if (!shapeOk) this.remember(b, k, mismatchAt);
    else if (k !== this.shapeKeys.length) this.remember(b, k, k);
    this.breaks = sawBreak;
    return time;
  }

  private hourBytes = Buffer.alloc(13);
  private hourMs = NaN;

  /**
   * `YYYY-MM-DDTHH:MM:SS[.f…]Z` read straight from the bytes when its first 13 bytes (up to the
   * hour) equal the previous one's: events mostly share their hour. `undefined` otherwise (the
   * string parser decides and this hour is remembered).
   */
  private utcMs(b: Buffer, s: number, e: number): number | undefined {
    const n = e - s;
    if (n < 20 || n > 30 || b[e - 1] !== 90 || b[s + 10] !== 84 || b[s + 13] !== 58 || b[s + 16] !== 58) return undefined;
    const h = this.hourBytes;
    for (let j = 0; j < 13; j++) {
      if (b[s + j] !== h[j]) {
        const hour = parseIsoTimestamp(`${b.toString('latin1', s, s + 13)}:00:00Z`);
        if (Number.isNaN(hour)) return undefined;
        b.copy(h, 0, s, s + 13);
        this.hourMs = hour;
        break;
      }
    }
    const m1 = b[s + 14]! - 48;
    const m2 = b[s + 15]! - 48;
    const s1 = b[s + 17]! - 48;
    const s2 = b[s + 18]! - 48;
    if (m1 < 0 || m1 > 5 || m2 < 0 || m2 > 9 || s1 < 0 || s1 > 5 || s2 < 0 || s2 > 9) return undefined;
    let ms = 0;
    if (n > 20) {
      if (b[s + 19] !== 46 || n - 21 > 9 || n === 21) return undefined; // '.', 1 to 9 digits
      let scale = 100;
      for (let j = s + 20; j < e - 1; j++) {
        const d = b[j]! - 48;
        if (d < 0 || d > 9) return undefined;
        ms += d * scale;
        scale /= 10;
      }
    }
    return this.hourMs + (m1 * 10 + m2) * 60_000 + (s1 * 10 + s2) * 1000 + Math.floor(ms);
  }

  /** The record's keys become the shape: the first `from` equal the old shape's, the rest were recorded. */
  private remember(b: Buffer, count: number, from: number): void {
    const keys = this.shapeKeys.slice(0, Math.min(from, count));
    const cols = this.shapeCols.slice(0, keys.length);
    for (let j = keys.length; j < count; j++) {
      keys.push(Buffer.from(b.subarray(this.keyStarts[j]!, this.keyEnds[j]!)));
      cols.push(this.keyCols[j]!);
    }
    this.shapeKeys = keys;
    this.shapeCols = cols;
  }

  private resetStamps(): number {
    this.seen.fill(0);
    this.stamp = 1;
    return 1;
  }

  /** Column names, in the order the scanner was built with (tests). */
  get columns(): readonly string[] {
    return this.names;
  }
}

function sameBytes(b: Buffer, s: number, e: number, key: Buffer): boolean {
  const len = e - s;
  if (len !== key.length) return false;
  for (let j = 0; j < len; j++) if (b[s + j] !== key[j]) return false;
  return true;
}
