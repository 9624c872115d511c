/**
 * Source offsets: per connector and source partition, the last position whose records are
 * durable in the log, kept in a compacted topic (`_connect-offsets`) with Kafka Connect's key
 * layout `["<connector>", {<source partition>}]`. Keys are canonical JSON (sorted object keys) so
 * the same partition always maps to the same record key.
 *
 * Entries whose partition has a key starting with `__` are the runtime's own bookkeeping
 * (exactly-once scan positions) and are not shown as offsets.
 */
import type { JsonObject } from '../types.ts';
import type { TopicStore } from './topic-store.ts';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as object).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function offsetKey(connector: string, partition: JsonObject): string {
  return canonicalJson([connector, partition]);
}

export function isInternalPartition(partition: JsonObject): boolean {
  return Object.keys(partition).some((k) => k.startsWith('__'));
}

/** Strips the runtime's own keys (`__seq`) from an offset. */
export function publicOffset(offset: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(offset)) if (!k.startsWith('__')) out[k] = v;
  return out;
}

export class OffsetStore {
  constructor(readonly store: TopicStore<JsonObject>) {}

  get(connector: string, partition: JsonObject): JsonObject | null {
    return this.store.get(offsetKey(connector, partition)) ?? null;
  }

  /** Every entry of a connector, bookkeeping included. */
  all(connector: string): Array<{ partition: JsonObject; offset: JsonObject }> {
    const out: Array<{ partition: JsonObject; offset: JsonObject }> = [];
    for (const [k, v] of this.store.entries()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(k);
      } catch {
        continue;
      }
      if (!Array.isArray(parsed) || parsed[0] !== connector) continue;
      out.push({ partition: parsed[1] as JsonObject, offset: v });
    }
    return out;
  }

  /** The offsets of a connector as users see them. */
  list(connector: string): Array<{ partition: JsonObject; offset: JsonObject }> {
    return this.all(connector)
      .filter((e) => !isInternalPartition(e.partition))
      .map((e) => ({ partition: e.partition, offset: publicOffset(e.offset) }));
  }

  async put(connector: string, entries: Array<{ partition: JsonObject; offset: JsonObject | null }>): Promise<void> {
    await this.store.putMany(entries.map((e) => [offsetKey(connector, e.partition), e.offset]));
  }

  async deleteAll(connector: string): Promise<void> {
    await this.put(connector, this.all(connector).map((e) => ({ partition: e.partition, offset: null })));
  }
}
