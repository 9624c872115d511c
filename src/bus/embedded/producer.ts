/**
 * In-process producer: accumulates records per partition and appends them as one record
 * batch when the batch is full (`batchBytes`) or has lingered `lingerMs`. Each `send`
 * resolves when all of its records are acknowledged by the log (after the group commit for
 * fsync topics), with their offsets.
 */
import { encodeRecordBatch } from '../../log/batch/record-batch.ts';
import type { Log } from '../../log/log.ts';
import { LogError } from '../../log/errors.ts';
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
  timer: NodeJS.Timeout | null;
  immediate: NodeJS.Immediate | null;
}

const RECORD_OVERHEAD = 24;

export class EmbeddedProducer implements BusProducer {
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly partitioner = new Partitioner();
  private readonly open = new Map<string, OpenBatch>();
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly log: Log,
    opts: ProducerOptions = {},
  ) {
    this.lingerMs = opts.lingerMs ?? 5;
    this.batchBytes = opts.batchBytes ?? 1024 * 1024;
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.closed) throw new BusError('PRODUCER_CLOSED', 'producer is closed');
    if (!this.log.hasTopic(topic)) await this.log.ensureTopic(topic);
    if (records.length === 0) return [];
    const numPartitions = this.log.partitionCount(topic);
    const maxBatch = this.log.topicConfig(topic).maxRecordBytes - 61;
    const limit = Math.min(this.batchBytes, maxBatch);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const req: SendRequest = { results: new Array(records.length), remaining: records.length, failed: false, resolve, reject };
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const size = recordSize(r);
        if (size > maxBatch) {
          req.failed = true;
          reject(new LogError('RECORD_TOO_LARGE', `record ${i} is about ${size} bytes; topic ${topic} accepts at most ${maxBatch} (maxRecordBytes): send a smaller record or raise the limit`));
          return;
        }
        const p = this.partitioner.choose(topic, numPartitions, r.key, r.partition);
        if (!Number.isInteger(p) || p < 0 || p >= numPartitions) {
          req.failed = true;
          reject(new BusError('PARTITION_UNKNOWN', `topic ${topic} has no partition ${p} (it has ${numPartitions})`, { kafkaCode: 3, httpStatus: 404 }));
          return;
        }
        const key = `${topic}\u0000${p}`;
        let batch = this.open.get(key);
        if (batch && batch.bytes + size > limit) {
          this.drain(batch);
          batch = undefined;
        }
        if (!batch) {
          batch = { topic, partition: p, records: [], owners: [], slots: [], bytes: 0, timer: null, immediate: null };
          this.open.set(key, batch);
          this.schedule(batch);
        }
        batch.records.push(r);
        batch.owners.push(req);
        batch.slots.push(i);
        batch.bytes += size;
        if (batch.bytes >= limit) this.drain(batch);
      }
    });
  }

  private schedule(batch: OpenBatch): void {
    if (this.lingerMs <= 0) batch.immediate = setImmediate(() => this.drain(batch));
    else batch.timer = setTimeout(() => this.drain(batch), this.lingerMs);
  }

  private drain(batch: OpenBatch): void {
    const key = `${batch.topic}\u0000${batch.partition}`;
    if (this.open.get(key) !== batch) return;
    this.open.delete(key);
    if (batch.timer) clearTimeout(batch.timer);
    if (batch.immediate) clearImmediate(batch.immediate);
    if (batch.records.some((r) => r.key == null)) this.partitioner.batchSent(batch.topic);
    let append: Promise<{ baseOffset: number; logAppendTime: number }>;
    const now = this.log.clock();
    try {
      const encoded = encodeRecordBatch(batch.records, { now });
      append = this.log.partition(batch.topic, batch.partition).append(encoded, { trusted: true });
    } catch (err) {
      append = Promise.reject(err);
    }
    const done = append.then(
      (res) => {
        const { records, owners, slots } = batch;
        for (let i = 0; i < records.length; i++) {
          const owner = owners[i]!;
          if (owner.failed) continue;
          owner.results[slots[i]!] = { topic: batch.topic, partition: batch.partition, offset: res.baseOffset + i, timestamp: records[i]!.timestamp ?? now };
          if (--owner.remaining === 0) owner.resolve(owner.results);
        }
      },
      (err: Error) => {
        for (const owner of new Set(batch.owners)) {
          if (owner.failed) continue;
          owner.failed = true;
          owner.reject(err);
        }
      },
    );
    this.inflight.add(done);
    void done.finally(() => this.inflight.delete(done));
  }

  async flush(): Promise<void> {
    for (const batch of [...this.open.values()]) this.drain(batch);
    await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
  }
}

function recordSize(r: ProducerRecord): number {
  let n = RECORD_OVERHEAD + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers) for (const h of r.headers) n += h.key.length * 3 + (h.value?.length ?? 0) + 4;
  return n;
}
