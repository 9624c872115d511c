/**
 * In-memory state stores (pure: no I/O). Every change is remembered as dirty until the task
 * drains it into changelog records at commit; the same (key bytes, value bytes) pairs are what
 * snapshots hold and what restoration applies, so one encoding serves all three.
 *
 * - `KeyValueStore`: key → value (aggregates, tables, foreign-key subscriptions).
 * - `WindowedStore`: (key, start, end) → value (time windows, sessions, join buffers where
 *   start = record time and end = a sequence number); per-key access in start order.
 *
 * Keys are encoded with a one-byte type tag ('s' UTF-8 string, 'b' raw bytes, 'j' JSON) so a
 * changelog or snapshot decodes back to the same key; values use the store's serde (JSON by
 * default). Changelog keys of windowed stores are `start (8 B) · end (8 B) · encoded key`.
 */
import { StreamsError, errorMessage } from '../errors.ts';
import { Serdes, type Serde } from '../serdes.ts';

export type StoreKind = 'kv' | 'windowed';

export function encodeKey(k: unknown): Buffer {
  if (typeof k === 'string') {
    const b = Buffer.allocUnsafe(1 + Buffer.byteLength(k));
    b[0] = 0x73;
    b.write(k, 1, 'utf8');
    return b;
  }
  if (Buffer.isBuffer(k)) return Buffer.concat([Buffer.from('b'), k]);
  return Buffer.from('j' + JSON.stringify(k ?? null));
}

export function decodeKey(b: Buffer): unknown {
  const tag = b[0];
  if (tag === 0x73) return b.toString('utf8', 1);
  if (tag === 0x62) return Buffer.from(b.subarray(1));
  if (tag === 0x6a) return Serdes.json().deserialize(b.subarray(1));
  throw new Error(`unknown store key tag ${tag}`);
}

/** A string form of the encoded key, usable as a Map key and ordered like the bytes. */
export function keyId(k: unknown): string {
  if (typeof k === 'string') return 's' + k;
  return encodeKey(k).toString('latin1');
}

/** The encoded key bytes of a `keyId`. */
export function idToKeyBytes(id: string): Buffer {
  return id.charCodeAt(0) === 0x73 ? encodeKey(id.slice(1)) : Buffer.from(id, 'latin1');
}

export interface ChangelogEntry {
  key: Buffer;
  value: Buffer | null;
}

export interface StateStore {
  readonly name: string;
  readonly kind: StoreKind;
  readonly partition: number;
  /** Changes since the last drain, as changelog records (latest value per key). */
  drainDirty(): ChangelogEntry[];
  /** Applies a changelog or snapshot record. */
  apply(key: Buffer, value: Buffer | null): void;
  readonly size: number;
  /** Rough bytes held (for `streams describe`). */
  approximateBytes(): number;
}

function decodeValue(serde: Serde<unknown>, b: Buffer | null, store: string): unknown {
  try {
    return serde.deserialize(b);
  } catch (err) {
    throw new StreamsError('DESERIALIZATION_FAILED', `store ${store}: a changelog value does not deserialize with serde ${serde.name}: ${errorMessage(err)}`, { cause: err });
  }
}

export interface KvEntry<K = unknown, V = unknown> {
  key: K;
  value: V;
}

export class KeyValueStore<K = unknown, V = unknown> implements StateStore {
  readonly kind = 'kv' as const;
  private readonly map = new Map<string, KvEntry<K, V>>();
  private readonly dirty = new Set<string>();
  private sorted: string[] | null = null;

  constructor(
    readonly name: string,
    readonly partition: number,
    private readonly serde: Serde<unknown> = Serdes.json(),
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(keyId(key))?.value;
  }

  getById(id: string): KvEntry<K, V> | undefined {
    return this.map.get(id);
  }

  put(key: K, value: V): void {
    const id = keyId(key);
    const had = this.map.get(id);
    if (had) had.value = value;
    else {
      this.map.set(id, { key, value });
      this.sorted = null;
    }
    this.dirty.add(id);
  }

  delete(key: K): V | undefined {
    const id = keyId(key);
    const had = this.map.get(id);
    if (!had) return undefined;
    this.map.delete(id);
    this.sorted = null;
    this.dirty.add(id);
    return had.value;
  }

  entries(): IterableIterator<KvEntry<K, V>> {
    return this.map.values();
  }

  /** Entries with `from <= keyId < to` in key order (ids as from `keyId`). */
  range(fromId: string | null, toId: string | null, limit = Infinity): Array<KvEntry<K, V>> {
    this.sorted ??= [...this.map.keys()].sort();
    const ids = this.sorted;
    let lo = 0;
    if (fromId !== null) {
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ids[mid]! < fromId) lo = mid + 1;
        else hi = mid;
      }
    }
    const out: Array<KvEntry<K, V>> = [];
    for (let i = lo; i < ids.length && out.length < limit; i++) {
      if (toId !== null && ids[i]! >= toId) break;
      out.push(this.map.get(ids[i]!)!);
    }
    return out;
  }

  drainDirty(): ChangelogEntry[] {
    const out: ChangelogEntry[] = [];
    for (const id of this.dirty) {
      const e = this.map.get(id);
      out.push({ key: idToKeyBytes(id), value: e ? this.serde.serialize(e.value) : null });
    }
    this.dirty.clear();
    return out;
  }

  apply(key: Buffer, value: Buffer | null): void {
    const k = decodeKey(key) as K;
    const id = keyId(k);
    if (value === null) {
      if (this.map.delete(id)) this.sorted = null;
      return;
    }
    const v = decodeValue(this.serde, value, this.name) as V;
    if (!this.map.has(id)) this.sorted = null;
    this.map.set(id, { key: k, value: v });
  }

  approximateBytes(): number {
    return this.map.size * 128;
  }
}

export interface WindowedEntry<K = unknown, V = unknown> {
  key: K;
  start: number;
  end: number;
  value: V;
}

function slot(start: number, end: number): string {
  return `${start}:${end}`;
}

export class WindowedStore<K = unknown, V = unknown> implements StateStore {
  readonly kind = 'windowed' as const;
  /** keyId → (slot → entry), each inner map in insertion order; `byKey` sorts on demand. */
  private readonly map = new Map<string, Map<string, WindowedEntry<K, V>>>();
  private readonly dirty = new Map<string, { id: string; key: K; start: number; end: number }>();
  private count = 0;

  constructor(
    readonly name: string,
    readonly partition: number,
    private readonly serde: Serde<unknown> = Serdes.json(),
  ) {}

  get size(): number {
    return this.count;
  }

  get(key: K, start: number, end: number): V | undefined {
    return this.map.get(keyId(key))?.get(slot(start, end))?.value;
  }

  getByKeyId(id: string, start: number, end: number): WindowedEntry<K, V> | undefined {
    return this.map.get(id)?.get(slot(start, end));
  }

  put(key: K, start: number, end: number, value: V): void {
    const id = keyId(key);
    let inner = this.map.get(id);
    if (!inner) {
      inner = new Map();
      this.map.set(id, inner);
    }
    const s = slot(start, end);
    const had = inner.get(s);
    if (had) had.value = value;
    else {
      inner.set(s, { key, start, end, value });
      this.count++;
    }
    this.dirty.set(`${id}\u0000${s}`, { id, key, start, end });
  }

  delete(key: K, start: number, end: number): void {
    const id = keyId(key);
    const inner = this.map.get(id);
    const s = slot(start, end);
    if (!inner?.delete(s)) return;
    this.count--;
    if (inner.size === 0) this.map.delete(id);
    this.dirty.set(`${id}\u0000${s}`, { id, key, start, end });
  }

  /** Every entry of a key, by start then end. */
  byKey(key: K): Array<WindowedEntry<K, V>> {
    return this.byKeyId(keyId(key));
  }

  byKeyId(id: string): Array<WindowedEntry<K, V>> {
    const inner = this.map.get(id);
    if (!inner) return [];
    const list = [...inner.values()];
    list.sort((a, b) => a.start - b.start || a.end - b.end);
    return list;
  }

  *entries(): IterableIterator<WindowedEntry<K, V>> {
    for (const inner of this.map.values()) yield* inner.values();
  }

  keyIds(): IterableIterator<string> {
    return this.map.keys();
  }

  drainDirty(): ChangelogEntry[] {
    const out: ChangelogEntry[] = [];
    for (const d of this.dirty.values()) {
      const e = this.map.get(d.id)?.get(slot(d.start, d.end));
      out.push({ key: windowedChangelogKey(d.key, d.start, d.end), value: e ? this.serde.serialize(e.value) : null });
    }
    this.dirty.clear();
    return out;
  }

  apply(key: Buffer, value: Buffer | null): void {
    const start = Number(key.readBigInt64BE(0));
    const end = Number(key.readBigInt64BE(8));
    const k = decodeKey(key.subarray(16)) as K;
    const id = keyId(k);
    const s = slot(start, end);
    let inner = this.map.get(id);
    if (value === null) {
      if (inner?.delete(s)) {
        this.count--;
        if (inner.size === 0) this.map.delete(id);
      }
      return;
    }
    const v = decodeValue(this.serde, value, this.name) as V;
    if (!inner) {
      inner = new Map();
      this.map.set(id, inner);
    }
    if (!inner.has(s)) this.count++;
    inner.set(s, { key: k, start, end, value: v });
  }

  approximateBytes(): number {
    return this.count * 96;
  }
}

export function windowedChangelogKey(key: unknown, start: number, end: number): Buffer {
  const kb = encodeKey(key);
  const b = Buffer.allocUnsafe(16 + kb.length);
  b.writeBigInt64BE(BigInt(start), 0);
  b.writeBigInt64BE(BigInt(end), 8);
  kb.copy(b, 16);
  return b;
}
