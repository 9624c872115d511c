/**
 * Serdes: how keys and values become bytes on topics and in state-store changelogs.
 *
 * Sources default to a string key and a JSON value; sinks and internal topics default to
 * `auto` (strings as UTF-8, Buffers as they are, null as null, anything else as JSON), so a key
 * chosen with `selectKey((k, v) => v.userId)` is written as the same bytes a producer keying by
 * user id writes — and therefore lands in the same partition (co-partitioning needs one hash
 * over the same bytes). On internal topics the JSON case is marked by a header, so `auto`
 * reads back exactly what it wrote.
 */
import type { RecordHeader } from '../log/types.ts';
import { StreamsError, errorMessage } from './errors.ts';

export interface Serde<T> {
  readonly name: string;
  serialize(value: T): Buffer | null;
  deserialize(bytes: Buffer | null): T;
}

function reviver(_key: string, v: unknown): unknown {
  if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return Buffer.from((v as { data: number[] }).data);
  }
  return v;
}

const json: Serde<unknown> = {
  name: 'json',
  serialize: (v) => (v === null || v === undefined ? null : Buffer.from(JSON.stringify(v))),
  deserialize: (b) => {
    if (b === null) return null;
    const text = b.toString('utf8');
    // The reviver (Buffers inside values) makes JSON.parse several times slower: only text that
    // can hold a serialized Buffer needs it.
    return text.includes('"Buffer"') ? JSON.parse(text, reviver) : JSON.parse(text);
  },
};

const string: Serde<string | null> = {
  name: 'string',
  serialize: (v) => (v === null || v === undefined ? null : Buffer.from(String(v), 'utf8')),
  deserialize: (b) => (b === null ? null : b.toString('utf8')),
};

const bytes: Serde<Buffer | null> = {
  name: 'bytes',
  serialize: (v) => v ?? null,
  deserialize: (b) => b,
};

/** Numbers as decimal text (what `kcat -P` or a shell writes). */
const number: Serde<number | null> = {
  name: 'number',
  serialize: (v) => (v === null || v === undefined ? null : Buffer.from(String(v))),
  deserialize: (b) => {
    if (b === null) return null;
    const n = Number(b.toString('utf8'));
    if (!Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(b.toString('utf8').slice(0, 40))}`);
    return n;
  },
};

const auto: Serde<unknown> = {
  name: 'auto',
  serialize: (v) => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return Buffer.from(v, 'utf8');
    if (Buffer.isBuffer(v)) return v;
    return Buffer.from(JSON.stringify(v));
  },
  deserialize: (b) => (b === null ? null : b.toString('utf8')),
};

/** The built-in serdes. */
export const Serdes = {
  /** JSON text; Buffers inside values survive a round trip. */
  json: <T = unknown>(): Serde<T> => json as Serde<T>,
  string: (): Serde<string> => string as Serde<string>,
  bytes: (): Serde<Buffer> => bytes as Serde<Buffer>,
  number: (): Serde<number> => number as Serde<number>,
  /** Strings as UTF-8, Buffers raw, others JSON; reads back strings. */
  auto: <T = unknown>(): Serde<T> => auto as Serde<T>,
};

export const AUTO_TYPE_HEADER = 'tributary.serde';

/**
 * Encoding on internal topics (repartition, foreign-key subscription/response): `auto` bytes
 * plus a header saying which of key/value were JSON, so they decode to the same values.
 */
export function encodeInternal(key: unknown, value: unknown): { key: Buffer | null; value: Buffer | null; headers: RecordHeader[] } {
  const kj = key !== null && key !== undefined && typeof key !== 'string' && !Buffer.isBuffer(key);
  const vj = value !== null && value !== undefined && typeof value !== 'string' && !Buffer.isBuffer(value);
  const kb = Buffer.isBuffer(key);
  const vb = Buffer.isBuffer(value);
  const tag = `${kj ? 'j' : kb ? 'b' : 's'}${vj ? 'j' : vb ? 'b' : 's'}`;
  return {
    key: auto.serialize(key),
    value: auto.serialize(value),
    headers: tag === 'ss' ? [] : [{ key: AUTO_TYPE_HEADER, value: Buffer.from(tag) }],
  };
}

function decodeAs(b: Buffer | null, t: number): unknown {
  return b === null ? null : t === 0x6a /* j */ ? json.deserialize(b) : t === 0x62 /* b */ ? b : b.toString('utf8');
}

export function decodeInternal(key: Buffer | null, value: Buffer | null, headers: RecordHeader[]): { key: unknown; value: unknown } {
  // (A plain loop: this runs for every record of every internal topic.)
  let tag: Buffer | null = null;
  for (let i = 0; i < headers.length; i++) if (headers[i]!.key === AUTO_TYPE_HEADER) tag = headers[i]!.value;
  const kt = tag && tag.length >= 2 ? tag[0]! : 0x73;
  const vt = tag && tag.length >= 2 ? tag[1]! : 0x73;
  return { key: decodeAs(key, kt), value: decodeAs(value, vt) };
}

/** Serializes with a serde, turning failures into a SERIALIZATION_FAILED error naming where. */
export function serializeWith<T>(serde: Serde<T>, value: T, where: string): Buffer | null {
  try {
    return serde.serialize(value);
  } catch (err) {
    throw new StreamsError('SERIALIZATION_FAILED', `${where}: serde ${serde.name} cannot serialize the value: ${errorMessage(err)}`, { cause: err });
  }
}
