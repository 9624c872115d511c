/**
 * Producer to an external cluster: the same contract as the embedded producer (linger and
 * batch size, partition choice, per-record metadata) over the client library's idempotent
 * producer with acks=all.
 *
 * Partitions are chosen here, with the bus's own partitioner (Java-compatible murmur2 for keyed
 * records, sticky for keyless ones), and handed to the library as explicit partitions: the
 * library's default hash is `murmur2 >>> 0`, not Java's `murmur2 & 0x7fffffff`, and would put
 * keys in other partitions than Java, KafkaJS and the embedded bus do.
 *
 * One request is in flight at a time (the library assigns idempotence sequence numbers when a
 * request is built and advances them when it is answered, so concurrent sends to a partition
 * would reuse numbers); records sent meanwhile accumulate and go out together in the next one.
 * Within a request each partition's records form one batch, so record i of a partition gets
 * the batch's base offset + i.
 */
import { Producer } from '@platformatic/kafka';
import { translateKafkaError, type KafkaCluster } from '../../kafka/client/index.ts';
import { BusError } from '../errors.ts';
import { Partitioner } from '../partitioner.ts';
import type { BusProducer, ProducerOptions, ProducerRecord, RecordMetadata } from '../types.ts';

interface SendRequest {
  results: RecordMetadata[];
  remaining: number;
  failed: boolean;
  resolve: (r: RecordMetadata[]) => void;
  reject: (e: Error) => void;
}

interface OpenBatch {
  topic: string;
  partition: number;
  records: ProducerRecord[];
  owners: SendRequest[];
  slots: number[];
  bytes: number;
}

const RECORD_OVERHEAD = 24;
/** Below Kafka's default max.message.bytes (1 MiB + 12) with room for the batch header. */
const DEFAULT_MAX_BATCH_BYTES = 1_000_000;
const MAX_TIMESTAMP_DELTA = 2 ** 31;

export interface ExternalProducerOptions extends ProducerOptions {
  /** Ask the cluster to create unknown topics (default true). */
  autoCreateTopics?: boolean;
}

export class ExternalProducer implements BusProducer {
  private readonly lingerMs: number;
  private readonly batchLimit: number;
  private readonly autoCreate: boolean;
  private readonly client: Producer;
  private readonly partitioner = new Partitioner();
  private open = new Map<string, OpenBatch>();
  private lingerTimer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly cluster: KafkaCluster,
    opts: ExternalProducerOptions = {},
  ) {
    this.lingerMs = opts.lingerMs ?? 5;
    this.batchLimit = Math.min(opts.batchBytes ?? 1024 * 1024, DEFAULT_MAX_BATCH_BYTES);
    this.autoCreate = opts.autoCreateTopics ?? true;
    this.client = new Producer({ ...cluster.clientOptions(), idempotent: true, retries: 5, retryDelay: 100, autocreateTopics: false });
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) throw new BusError('PRODUCER_CLOSED', 'producer is closed');
    const meta = await this.cluster.topic(topic, { autoCreate: this.autoCreate });
    if (records.length === 0) return [];
    const numPartitions = meta.partitions.length;
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const req: SendRequest = { results: new Array(records.length), remaining: records.length, failed: false, resolve, reject };
      // Choose every partition first, so a bad one rejects the send before any record is queued.
      const chosen: number[] = [];
      for (const r of records) {
        const p = this.partitioner.choose(topic, numPartitions, r.key, r.partition);
        if (!Number.isInteger(p) || p < 0 || p >= numPartitions) {
          reject(new BusError('PARTITION_UNKNOWN', `topic ${topic} has no partition ${p} (it has ${numPartitions})`, { kafkaCode: 3, httpStatus: 404 }));
          return;
        }
        chosen.push(p);
      }
      let full = false;
      records.forEach((r, i) => {
        const p = chosen[i]!;
        const size = recordSize(r);
        const key = `${topic}\u0000${p}`;
        let batch = this.open.get(key);
        if (batch && batch.bytes + size > this.batchLimit) {
          this.drain();
          batch = undefined;
        }
        if (!batch) {
          batch = { topic, partition: p, records: [], owners: [], slots: [], bytes: 0 };
          this.open.set(key, batch);
        }
        batch.records.push(r);
        batch.owners.push(req);
        batch.slots.push(i);
        batch.bytes += size;
        if (batch.bytes >= this.batchLimit) full = true;
      });
      if (full || this.lingerMs <= 0) this.drain();
      else this.lingerTimer ??= setTimeout(() => this.drain(), this.lingerMs);
    });
  }

  /** Moves every open batch into the next request (sent after the one in flight). */
  private drain(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (this.open.size === 0) return;
    const batches = [...this.open.values()];
    this.open = new Map();
    for (const b of batches) if (b.records.some((r) => r.key == null)) this.partitioner.batchSent(b.topic);
    const done = (this.chain = this.chain.then(() => this.sendBatches(batches)));
    this.inflight.add(done);
    void done.finally(() => this.inflight.delete(done));
  }

  private async sendBatches(batches: OpenBatch[]): Promise<void> {
    const now = Date.now();
    const timestamp = (r: ProducerRecord) => r.timestamp ?? now;
    // The library writes a record's timestamp as a delta to its batch's first timestamp, and
    // its 64-bit varint encoder (@platformatic/dynamic-buffer 0.3.1) corrupts deltas outside
    // ±2^31 ms (about 24 days). Records further apart than that go in separate requests.
    const requests: Array<Array<{ batch: OpenBatch; from: number; to: number }>> = [];
    for (const b of batches) {
      let from = 0;
      let run = 0;
      for (let i = 1; i <= b.records.length; i++) {
        if (i < b.records.length && Math.abs(timestamp(b.records[i]!) - timestamp(b.records[from]!)) < MAX_TIMESTAMP_DELTA) continue;
        (requests[run] ??= []).push({ batch: b, from, to: i });
        run++;
        from = i;
      }
    }
    for (const runs of requests) {
      const messages = runs.flatMap(({ batch, from, to }) =>
        batch.records.slice(from, to).map((r) => ({
          topic: batch.topic,
          partition: batch.partition,
          key: r.key ?? undefined,
          value: r.value as Buffer,
          timestamp: BigInt(timestamp(r)),
          headers: new Map((r.headers ?? []).map((h) => [Buffer.from(h.key, 'utf8'), h.value as Buffer])),
        })),
      );
      let bases: Map<string, number>;
      try {
        const result = await this.client.send({ messages });
        bases = new Map((result.offsets ?? []).map((o) => [`${o.topic}\u0000${o.partition}`, Number(o.offset)]));
      } catch (err) {
        const topics = [...new Set(runs.map((r) => r.batch.topic))].join(', ');
        const error = translateKafkaError(err, `producing to ${topics}`);
        for (const { batch, from, to } of runs) {
          for (const owner of new Set(batch.owners.slice(from, to))) {
            if (owner.failed) continue;
            owner.failed = true;
            owner.reject(error);
          }
        }
        continue;
      }
      for (const { batch, from, to } of runs) {
        const base = bases.get(`${batch.topic}\u0000${batch.partition}`);
        for (let i = from; i < to; i++) {
          const owner = batch.owners[i]!;
          if (owner.failed) continue;
          if (base === undefined) {
            owner.failed = true;
            owner.reject(new BusError('PARTITION_UNKNOWN', `the cluster did not acknowledge ${batch.topic}-${batch.partition}`));
            continue;
          }
          owner.results[batch.slots[i]!] = { topic: batch.topic, partition: batch.partition, offset: base + (i - from), timestamp: timestamp(batch.records[i]!) };
          if (--owner.remaining === 0) owner.resolve(owner.results);
        }
      }
    }
  }

  async flush(): Promise<void> {
    this.drain();
    await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.client.close().catch(() => {});
  }
}

function recordSize(r: ProducerRecord): number {
  let n = RECORD_OVERHEAD + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers) for (const h of r.headers) n += h.key.length * 3 + (h.value?.length ?? 0) + 4;
  return n;
}
