/**
 * Exactly-once for sources with replayable positions (files), without log transactions.
 *
 * The gap at-least-once leaves: a record is durable in the log, then the process dies before
 * its source offset is stored, so after a restart the source reads it again. We close it with the
 * log itself as the write-ahead record:
 *
 * 1. Every record carries a header `__connect.source` = `{ c: connector, p: source partition,
 *    o: source offset, s: seq }`, where `seq` counts the records of that source partition.
 *    Offsets are stored with their `__seq`.
 * 2. Each task stores, next to its offsets, the *scan positions* (`{"__eos.task": id}` entries):
 *    per topic partition it writes to, an offset below which every one of its records is already
 *    covered by stored offsets. A task refreshes them only after draining its in-flight sends and
 *    storing their offsets, and adds a topic (at its current end) before its first write there.
 * 3. When the connector starts, before any task runs, `recoverOffsets` reads every topic partition
 *    from the lowest scan position to its end, and for each source partition whose newest record
 *    there has a higher `seq` than the stored offset, stores that record's offset. Tasks then
 *    resume after the last record that reached the log — never before it, never after it.
 *
 * Costs: one small header per record, one scan of what was written since the last offset flush
 * (about a second of data) at start. A record dropped by a filter is simply re-read and dropped
 * again.
 */
import type { Logger } from 'pino';
import type { Bus } from '../../bus/types.ts';
import type { JsonObject } from '../types.ts';
import { canonicalJson, type OffsetStore } from './offsets.ts';

export const EOS_HEADER = '__connect.source';
const POSITIONS_KEY = '__eos.task';

export type ScanPositions = Record<string, Record<string, number>>;

export function positionsPartition(taskId: number): JsonObject {
  return { [POSITIONS_KEY]: taskId };
}

export function eosHeaderValue(connector: string, partition: JsonObject, offset: JsonObject, seq: number): Buffer {
  return Buffer.from(JSON.stringify({ c: connector, p: partition, o: offset, s: seq }));
}

/** The current end (high watermark) of every partition of the given topics that exist. */
export async function topicEnds(bus: Bus, topics: Iterable<string>): Promise<ScanPositions> {
  const out: ScanPositions = {};
  const admin = bus.admin();
  const existing = new Set((await admin.listTopics({ includeInternal: true })).map((t) => t.name));
  for (const t of topics) {
    if (!existing.has(t)) {
      out[t] = {};
      continue;
    }
    const d = await admin.describeTopic(t);
    out[t] = Object.fromEntries(d.partitions.map((p) => [String(p.partition), p.highWatermark]));
  }
  return out;
}

/**
 * Stores the offsets of records that reached the log after the last stored offsets (see the
 * note above). Returns how many source partitions moved forward.
 */
export async function recoverOffsets(opts: { bus: Bus; offsets: OffsetStore; connector: string; logger?: Logger }): Promise<number> {
  const { bus, offsets, connector } = opts;
  const entries = offsets.all(connector);
  const starts = new Map<string, Map<number, number>>(); // topic → partition → lowest scan start
  let anyPositions = false;
  for (const e of entries) {
    if (!(POSITIONS_KEY in e.partition)) continue;
    anyPositions = true;
    const positions = (e.offset['positions'] ?? {}) as ScanPositions;
    for (const [topic, parts] of Object.entries(positions)) {
      let m = starts.get(topic);
      if (!m) starts.set(topic, (m = new Map()));
      for (const [p, off] of Object.entries(parts)) m.set(Number(p), Math.min(m.get(Number(p)) ?? Infinity, off));
    }
  }
  if (!anyPositions) return 0;

  const best = new Map<string, { partition: JsonObject; offset: JsonObject; seq: number }>();
  const admin = bus.admin();
  const existing = new Set((await admin.listTopics({ includeInternal: true })).map((t) => t.name));
  for (const [topic, parts] of starts) {
    if (!existing.has(topic)) continue;
    const d = await admin.describeTopic(topic);
    const consumer = bus.consumer({ fromBeginning: true, maxPollRecords: 5000 });
    try {
      for (const p of d.partitions) {
        // A partition no task listed (the topic was new or grew) is scanned from its start.
        const start = Math.max(p.logStartOffset, parts.get(p.partition) ?? 0);
        if (start >= p.highWatermark) continue;
        consumer.assign([{ topic, partition: p.partition, offset: start }]);
        let last = start - 1;
        let idle = 0;
        // An empty poll below the end is unexpected; allow several (a loaded machine) before giving up.
        while (last < p.highWatermark - 1 && idle < 25) {
          const records = await consumer.poll({ timeoutMs: 200 });
          if (records.length === 0) idle++;
          else idle = 0;
          for (const r of records) {
            last = r.offset;
            const h = r.headers.find((x) => x.key === EOS_HEADER);
            if (!h?.value) continue;
            let meta: { c?: string; p?: JsonObject; o?: JsonObject; s?: number };
            try {
              meta = JSON.parse(h.value.toString('utf8'));
            } catch {
              continue;
            }
            if (meta.c !== connector || !meta.p || !meta.o || typeof meta.s !== 'number') continue;
            const key = canonicalJson(meta.p);
            const cur = best.get(key);
            if (!cur || meta.s > cur.seq) best.set(key, { partition: meta.p, offset: meta.o, seq: meta.s });
          }
        }
        if (last < p.highWatermark - 1) opts.logger?.warn({ connector, topic, partition: p.partition, reached: last, end: p.highWatermark }, 'offset recovery stopped before the end of the partition; records after it may be read again');
      }
    } finally {
      await consumer.close();
    }
  }

  const updates: Array<{ partition: JsonObject; offset: JsonObject }> = [];
  for (const b of best.values()) {
    const stored = offsets.get(connector, b.partition);
    const storedSeq = typeof stored?.['__seq'] === 'number' ? (stored['__seq'] as number) : 0;
    if (b.seq > storedSeq) updates.push({ partition: b.partition, offset: { ...b.offset, __seq: b.seq } });
  }
  if (updates.length) {
    await offsets.put(connector, updates);
    opts.logger?.info({ connector, partitions: updates.length }, 'recovered source offsets of records written before the last stop');
  }
  return updates.length;
}

/** Removes the scan positions of every task (they are rewritten by the tasks that start next). */
export async function clearPositions(offsets: OffsetStore, connector: string): Promise<void> {
  const stale = offsets.all(connector).filter((e) => POSITIONS_KEY in e.partition);
  if (stale.length) await offsets.put(connector, stale.map((e) => ({ partition: e.partition, offset: null })));
}
