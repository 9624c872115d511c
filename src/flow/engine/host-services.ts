/**
 * Services the engine host performs for tasks (which may run in child processes without a bus):
 * reading a topic's records of a time range, and writing records. Until the warehouse exists,
 * this is how batch tasks read the events the log holds.
 */
import type { Bus } from '../../bus/types.ts';
import type { TopicAccess, TopicRecord } from '../define/types.ts';
import { FlowError } from '../errors.ts';
import type { TaskServices } from '../exec/types.ts';
import { warehouseAccess, type WarehouseResolver } from './host-warehouse.ts';

/** Event times may trail by this much (late events); range scans widen by it and filter exactly. */
const MARGIN_MS = 10 * 60_000;

async function timestampAt(bus: Bus, topic: string, partition: number, offset: number): Promise<number | null> {
  const c = bus.consumer({ fromBeginning: true, maxPollRecords: 1 });
  try {
    c.assign([{ topic, partition, offset }]);
    for (let i = 0; i < 10; i++) {
      const r = await c.poll({ timeoutMs: 100, maxRecords: 1 });
      if (r.length) return r[0]!.timestamp;
    }
    return null;
  } finally {
    await c.close();
  }
}

/** The first offset in [lo, hi) whose record's timestamp is ≥ t (assuming near order), or hi. */
async function firstOffsetAtOrAfter(bus: Bus, topic: string, partition: number, lo: number, hi: number, t: number): Promise<number> {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    const ts = await timestampAt(bus, topic, partition, mid);
    if (ts === null) return lo;
    if (ts < t) a = mid + 1;
    else b = mid;
  }
  return a;
}

const toMs = (t: Date | number | undefined): number | undefined => (t === undefined ? undefined : t instanceof Date ? t.getTime() : t);

export function topicAccess(bus: Bus | null | undefined): TopicAccess {
  const need = (): Bus => {
    if (!bus) throw new FlowError('BAD_REQUEST', 'this worker has no bus: topics are reachable from tasks run by `tributary up` (or configure broker.external)');
    return bus;
  };
  return {
    async read(topic, opts = {}) {
      const b = need();
      const from = toMs(opts.from);
      const to = toMs(opts.to);
      const limit = opts.limit ?? 1_000_000;
      const d = await b.admin().describeTopic(topic);
      const out: TopicRecord[] = [];
      for (const p of d.partitions) {
        if (p.highWatermark <= p.logStartOffset || out.length >= limit) continue;
        // Timestamps are event times: nearly ordered (late events trail by seconds), so a binary
        // search with a margin finds where the range starts without reading the partition.
        const start = from === undefined ? p.logStartOffset : await firstOffsetAtOrAfter(b, topic, p.partition, p.logStartOffset, p.highWatermark, from - MARGIN_MS);
        if (start >= p.highWatermark) continue;
        const consumer = b.consumer({ fromBeginning: true, maxPollRecords: 10_000 });
        try {
          consumer.assign([{ topic, partition: p.partition, offset: start }]);
          let idle = 0;
          scan: while (out.length < limit) {
            const recs = await consumer.poll({ timeoutMs: 100 });
            if (recs.length === 0) {
              if (++idle > 20) break;
              continue;
            }
            idle = 0;
            for (const r of recs) {
              if (r.offset >= p.highWatermark) break scan;
              if (to !== undefined && r.timestamp >= to + MARGIN_MS) break scan;
              if ((from === undefined || r.timestamp >= from) && (to === undefined || r.timestamp < to)) {
                out.push({ partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: r.key ? r.key.toString('utf8') : null, value: r.value ? r.value.toString('utf8') : null });
                if (out.length >= limit) break scan;
              }
              if (r.offset >= p.highWatermark - 1) break scan;
            }
          }
        } finally {
          await consumer.close();
        }
      }
      return out;
    },
    async write(topic, records) {
      const b = need();
      const producer = b.producer({ lingerMs: 1 });
      try {
        const sent = await producer.send(
          topic,
          records.map((r) => ({
            key: r.key === undefined || r.key === null ? null : Buffer.from(r.key),
            value: Buffer.from(typeof r.value === 'string' ? r.value : JSON.stringify(r.value)),
          })),
        );
        return sent.length;
      } finally {
        await producer.close();
      }
    },
  };
}

export function hostServices(bus: Bus | null | undefined, warehouse?: WarehouseResolver | null): TaskServices {
  return { topics: topicAccess(bus), warehouse: warehouseAccess(warehouse) };
}
