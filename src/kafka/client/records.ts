/** Record batches as the client library decodes them → our record shape. */
import type { LogRecord } from '../../log/types.ts';

/** What the library yields for one batch of a Fetch response (decompressed). */
export interface FetchedBatch {
  firstOffset: bigint;
  attributes: number;
  lastOffsetDelta: number;
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  records: Array<{
    timestampDelta: bigint;
    offsetDelta: number;
    key: Buffer | null;
    value: Buffer | null;
    headers: Array<[Buffer | null, Buffer | null]>;
  }>;
}

const TIMESTAMP_LOG_APPEND_TIME = 0x08;
const CONTROL = 0x20;

/**
 * The records at or after `from`, and the offset after the last batch (a fetch returns whole
 * batches, so the first may start before `from`; control batches and compacted gaps still move
 * the position forward).
 */
export function decodeFetchedBatches(batches: FetchedBatch[] | undefined, from: number): { records: LogRecord[]; nextOffset: number } {
  const records: LogRecord[] = [];
  let nextOffset = from;
  for (const batch of batches ?? []) {
    const base = Number(batch.firstOffset);
    const end = base + batch.lastOffsetDelta + 1;
    if (end > nextOffset) nextOffset = end;
    if (batch.attributes & CONTROL) continue;
    const appendTime = (batch.attributes & TIMESTAMP_LOG_APPEND_TIME) !== 0;
    for (const r of batch.records) {
      const offset = base + r.offsetDelta;
      if (offset < from) continue;
      records.push({
        offset,
        timestamp: appendTime ? Number(batch.maxTimestamp) : Number(batch.firstTimestamp + BigInt(r.timestampDelta)),
        key: r.key,
        value: r.value,
        headers: r.headers.map(([k, v]) => ({ key: k ? k.toString('utf8') : '', value: v })),
      });
    }
  }
  return { records, nextOffset };
}
