/**
 * Transaction coordinator (Kafka transactions, KIP-98) for the embedded log.
 *
 * Per transactional id: the producer id and epoch, and a state machine
 *
 *   Empty ──addPartitions/addOffsets──► Ongoing ──endTxn──► PrepareCommit | PrepareAbort
 *     ▲                                                        │ markers written to every
 *     └──────────────── CompleteCommit | CompleteAbort ◄───────┘ partition, offsets applied
 *
 * Every transition is a record of the compacted internal topic `__transaction_state`, durable
 * before the caller hears back. The Prepare* record is the commit point: after a crash, start-up
 * finishes any transaction found in Prepare* (markers and group offsets are written again,
 * which readers tolerate). A new producer with the same transactional id (initProducerId) bumps
 * the epoch, which fences the old one, and aborts whatever it left open; so does a timeout.
 */
import { TributaryError } from '../../util/errors.ts';
import type { GroupCoordinator } from '../groups/group-coordinator.ts';
import type { OffsetCommitEntry } from '../groups/offset-store.ts';
import type { Log } from '../log.ts';
import type { ProducerIdAllocator } from './producer-ids.ts';

export const TXN_STATE_TOPIC = '__transaction_state';

export const TxnErrorCode = {
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  PRODUCER_FENCED: 90,
} as const;

export class TxnError extends TributaryError {
  constructor(code: keyof typeof TxnErrorCode, message: string) {
    super(`TXN_${code}`, message, { kafkaCode: TxnErrorCode[code], retriable: code === 'CONCURRENT_TRANSACTIONS', httpStatus: 409 });
    this.name = 'TxnError';
  }
}

type TxnState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort';

interface TxnMeta {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** "topic\u0000partition" of every partition written in the open transaction. */
  partitions: string[];
  /** Group offsets to apply when the transaction commits. */
  pendingOffsets: Record<string, OffsetCommitEntry[]>;
  startedAt: number;
}

const MAX_TIMEOUT_MS = 15 * 60 * 1000;
const MAX_EPOCH = 32767;

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnMeta>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly log: Log,
    private readonly groups: GroupCoordinator,
    private readonly producerIds: ProducerIdAllocator,
    private readonly clock: () => number,
  ) {}

  static async open(log: Log, groups: GroupCoordinator, producerIds: ProducerIdAllocator, clock: () => number = Date.now): Promise<TransactionCoordinator> {
    if (!log.hasTopic(TXN_STATE_TOPIC)) {
      await log.createTopic(TXN_STATE_TOPIC, { partitions: 1, cleanupPolicy: 'compact', retentionMs: null, ackPolicy: 'fsync' }, { internal: true });
    }
    const c = new TransactionCoordinator(log, groups, producerIds, clock);
    c.load();
    // Finish what a crash interrupted after the commit point.
    for (const meta of [...c.txns.values()]) {
      if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') await c.complete(meta);
    }
    c.timer = setInterval(() => void c.abortTimedOut().catch(() => {}), 1000);
    c.timer.unref();
    return c;
  }

  private load(): void {
    const p = this.log.partition(TXN_STATE_TOPIC, 0);
    let offset = p.logStartOffset;
    while (offset < p.highWatermark) {
      const r = p.readRecords(offset, 10_000, 8 * 1024 * 1024);
      for (const rec of r.records) {
        if (!rec.key) continue;
        const id = rec.key.toString();
        if (rec.value === null) this.txns.delete(id);
        else this.txns.set(id, JSON.parse(rec.value.toString()) as TxnMeta);
      }
      offset = r.nextOffset;
    }
  }

  private async persist(meta: TxnMeta): Promise<void> {
    await this.log.appendRecords(TXN_STATE_TOPIC, 0, [{ key: Buffer.from(meta.transactionalId), value: Buffer.from(JSON.stringify(meta)) }]);
    this.txns.set(meta.transactionalId, { ...meta, partitions: [...meta.partitions], pendingOffsets: { ...meta.pendingOffsets } });
  }

  /** Runs `fn` for one transactional id at a time. */
  private serialized<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.locks.set(id, next);
    void next.finally(() => {
      if (this.locks.get(id) === next) this.locks.delete(id);
    }).catch(() => {});
    return next;
  }

  private current(id: string, pid: number, epoch: number): TxnMeta {
    const meta = this.txns.get(id);
    if (!meta || meta.producerId !== pid) {
      throw new TxnError('INVALID_PRODUCER_ID_MAPPING', `transactional id ${id} does not belong to producer ${pid}: call initTransactions first`);
    }
    if (epoch < meta.producerEpoch) {
      throw new TxnError('PRODUCER_FENCED', `producer ${pid} epoch ${epoch} of ${id} was fenced by a newer instance (epoch ${meta.producerEpoch})`);
    }
    if (epoch !== meta.producerEpoch) throw new TxnError('INVALID_PRODUCER_EPOCH', `producer ${pid} of ${id} sent epoch ${epoch}, expected ${meta.producerEpoch}`);
    if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') {
      throw new TxnError('CONCURRENT_TRANSACTIONS', `transaction ${id} is still completing: retry`);
    }
    return { ...meta, partitions: [...meta.partitions], pendingOffsets: { ...meta.pendingOffsets } };
  }

  /** Registers (or re-registers) a transactional producer: fences older instances and aborts their open transaction. */
  initProducerId(transactionalId: string, timeoutMs: number): Promise<{ producerId: number; producerEpoch: number }> {
    if (!transactionalId) throw new TxnError('INVALID_TXN_STATE', 'a transactional id must not be empty');
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
      throw new TxnError('INVALID_TRANSACTION_TIMEOUT', `transaction timeout ${timeoutMs} ms must be between 1 and ${MAX_TIMEOUT_MS}`);
    }
    return this.serialized(transactionalId, async () => {
      let meta = this.txns.get(transactionalId);
      if (meta && meta.state === 'Ongoing') meta = await this.finish(meta, false, true);
      let producerId = meta?.producerId ?? (await this.producerIds.allocate());
      let producerEpoch = meta ? meta.producerEpoch + 1 : 0;
      if (producerEpoch > MAX_EPOCH) {
        producerId = await this.producerIds.allocate();
        producerEpoch = 0;
      }
      await this.persist({ transactionalId, producerId, producerEpoch, timeoutMs, state: 'Empty', partitions: [], pendingOffsets: {}, startedAt: 0 });
      return { producerId, producerEpoch };
    });
  }

  addPartitions(id: string, pid: number, epoch: number, partitions: Array<{ topic: string; partition: number }>): Promise<void> {
    return this.serialized(id, async () => {
      const meta = this.current(id, pid, epoch);
      let changed = meta.state !== 'Ongoing';
      for (const p of partitions) {
        this.log.partition(p.topic, p.partition); // validates
        const key = `${p.topic}\u0000${p.partition}`;
        if (!meta.partitions.includes(key)) {
          meta.partitions.push(key);
          changed = true;
        }
      }
      if (!changed) return;
      if (meta.state === 'Empty') meta.startedAt = this.clock();
      meta.state = 'Ongoing';
      await this.persist(meta);
    });
  }

  /** Stages group offsets that become committed together with the transaction. */
  addOffsets(id: string, pid: number, epoch: number, groupId: string, offsets: OffsetCommitEntry[]): Promise<void> {
    return this.serialized(id, async () => {
      const meta = this.current(id, pid, epoch);
      const staged = new Map((meta.pendingOffsets[groupId] ?? []).map((o) => [`${o.topic}\u0000${o.partition}`, o]));
      for (const o of offsets) staged.set(`${o.topic}\u0000${o.partition}`, o);
      meta.pendingOffsets[groupId] = [...staged.values()];
      if (meta.state === 'Empty') meta.startedAt = this.clock();
      meta.state = 'Ongoing';
      await this.persist(meta);
    });
  }

  endTxn(id: string, pid: number, epoch: number, commit: boolean): Promise<void> {
    return this.serialized(id, async () => {
      const meta = this.current(id, pid, epoch);
      if (meta.state === 'Empty') return; // nothing was written
      await this.finish(meta, commit, false);
    });
  }

  /** Prepare (the commit point) → markers → offsets → Empty. `fence` bumps the epoch first. */
  private async finish(meta: TxnMeta, commit: boolean, fence: boolean): Promise<TxnMeta> {
    const next: TxnMeta = { ...meta, state: commit ? 'PrepareCommit' : 'PrepareAbort', producerEpoch: fence ? Math.min(meta.producerEpoch + 1, MAX_EPOCH) : meta.producerEpoch };
    await this.persist(next);
    return this.complete(next);
  }

  private async complete(meta: TxnMeta): Promise<TxnMeta> {
    const commit = meta.state === 'PrepareCommit';
    await Promise.all(
      meta.partitions.map(async (key) => {
        const [topic, partition] = key.split('\u0000') as [string, string];
        if (!this.log.hasTopic(topic) || Number(partition) >= this.log.partitionCount(topic)) return; // deleted meanwhile
        await this.log.partition(topic, Number(partition)).appendMarker(meta.producerId, meta.producerEpoch, commit);
      }),
    );
    if (commit) {
      for (const [groupId, offsets] of Object.entries(meta.pendingOffsets)) await this.groups.offsets.commit(groupId, offsets, this.clock());
    }
    const done: TxnMeta = { ...meta, state: 'Empty', partitions: [], pendingOffsets: {}, startedAt: 0 };
    await this.persist(done);
    return done;
  }

  private async abortTimedOut(): Promise<void> {
    const now = this.clock();
    for (const meta of [...this.txns.values()]) {
      if (meta.state !== 'Ongoing' || now - meta.startedAt <= meta.timeoutMs) continue;
      await this.serialized(meta.transactionalId, async () => {
        const m = this.txns.get(meta.transactionalId);
        if (m && m.state === 'Ongoing' && this.clock() - m.startedAt > m.timeoutMs) await this.finish(m, false, true);
      });
    }
  }

  /** For tests and the UI: the state of a transactional id. */
  describe(id: string): { producerId: number; producerEpoch: number; state: TxnState; partitions: number } | null {
    const m = this.txns.get(id);
    return m ? { producerId: m.producerId, producerEpoch: m.producerEpoch, state: m.state, partitions: m.partitions.length } : null;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
