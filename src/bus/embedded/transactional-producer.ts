/**
 * In-process transactional producer over the log's transaction coordinator: records sent in a
 * transaction become visible to read_committed consumers together with the group offsets sent
 * with it, or not at all. The first beginTransaction() registers the transactional id, fencing
 * any earlier instance and aborting what it left open.
 */
import { encodeRecordBatch } from '../../log/batch/record-batch.ts';
import type { Log } from '../../log/log.ts';
import type { TransactionCoordinator } from '../../log/txn/transaction-coordinator.ts';
import { BusError } from '../errors.ts';
import { Partitioner } from '../partitioner.ts';
import type { ProducerRecord, RecordMetadata, TopicPartitionOffset, TransactionalProducer, TransactionalProducerOptions } from '../types.ts';

export class EmbeddedTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  private producerId = -1;
  private producerEpoch = -1;
  private inTransaction = false;
  private readonly added = new Set<string>();
  private readonly sequences = new Map<string, number>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly partitioner = new Partitioner();
  private closed = false;

  constructor(
    private readonly log: Log,
    private readonly txns: TransactionCoordinator,
    private readonly opts: TransactionalProducerOptions,
  ) {
    this.transactionalId = opts.transactionalId;
  }

  async beginTransaction(): Promise<void> {
    this.assertOpen();
    if (this.inTransaction) throw new BusError('GROUP_ERROR', `transaction of ${this.transactionalId} is already open: commit or abort it first`);
    if (this.producerId < 0) {
      const id = await this.txns.initProducerId(this.transactionalId, this.opts.transactionTimeoutMs ?? 60_000);
      this.producerId = id.producerId;
      this.producerEpoch = id.producerEpoch;
    }
    this.inTransaction = true;
    this.added.clear();
  }

  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    this.assertInTransaction('send');
    if (!this.log.hasTopic(topic)) await this.log.ensureTopic(topic);
    const n = this.log.partitionCount(topic);
    const byPartition = new Map<number, number[]>();
    records.forEach((r, i) => {
      const p = this.partitioner.choose(topic, n, r.key, r.partition);
      if (!Number.isInteger(p) || p < 0 || p >= n) throw new BusError('PARTITION_UNKNOWN', `topic ${topic} has no partition ${p} (it has ${n})`, { kafkaCode: 3, httpStatus: 404 });
      const list = byPartition.get(p);
      if (list) list.push(i);
      else byPartition.set(p, [i]);
    });
    const fresh = [...byPartition.keys()].filter((p) => !this.added.has(`${topic}\u0000${p}`));
    if (fresh.length > 0) {
      await this.txns.addPartitions(this.transactionalId, this.producerId, this.producerEpoch, fresh.map((partition) => ({ topic, partition })));
      for (const p of fresh) this.added.add(`${topic}\u0000${p}`);
    }
    const out = new Array<RecordMetadata>(records.length);
    const now = this.log.clock();
    const work = [...byPartition].map(async ([p, indexes]) => {
      const key = `${topic}\u0000${p}\u0000${this.producerEpoch}`;
      const seq = this.sequences.get(key) ?? 0;
      this.sequences.set(key, (seq + indexes.length) % 2147483648);
      const batch = encodeRecordBatch(
        indexes.map((i) => records[i]!),
        { now, producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: seq, transactional: true },
      );
      const res = await this.log.partition(topic, p).append(batch, { trusted: true });
      indexes.forEach((i, j) => (out[i] = { topic, partition: p, offset: res.baseOffset + j, timestamp: records[i]!.timestamp ?? now }));
    });
    const all = Promise.all(work);
    this.inflight.add(all);
    try {
      await all;
    } finally {
      this.inflight.delete(all);
    }
    return out;
  }

  async sendOffsets(groupId: string, offsets: TopicPartitionOffset[]): Promise<void> {
    this.assertInTransaction('sendOffsets');
    await this.txns.addOffsets(
      this.transactionalId,
      this.producerId,
      this.producerEpoch,
      groupId,
      offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
    );
  }

  async commitTransaction(): Promise<void> {
    await this.end(true);
  }

  async abortTransaction(): Promise<void> {
    await this.end(false);
  }

  private async end(commit: boolean): Promise<void> {
    this.assertInTransaction(commit ? 'commitTransaction' : 'abortTransaction');
    const sends = Promise.allSettled([...this.inflight]);
    await sends;
    try {
      await this.txns.endTxn(this.transactionalId, this.producerId, this.producerEpoch, commit);
    } finally {
      this.inTransaction = false;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new BusError('PRODUCER_CLOSED', `transactional producer ${this.transactionalId} is closed`);
  }

  private assertInTransaction(what: string): void {
    this.assertOpen();
    if (!this.inTransaction) throw new BusError('GROUP_ERROR', `${what}() needs an open transaction: call beginTransaction() first`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.inTransaction) await this.abortTransaction().catch(() => {});
    this.closed = true;
  }
}
