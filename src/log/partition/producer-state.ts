/**
 * Idempotent-producer state of one partition (KIP-98): per producer id, its epoch and its last
 * five batches (sequence range → offsets). A batch whose sequence range matches a remembered
 * one is a retry: the log answers with the original offsets instead of appending it again. A
 * gap in sequences is refused (OUT_OF_ORDER_SEQUENCE), as is an older epoch (fenced).
 *
 * Durability: the state is rebuilt at start from a snapshot stored with the partition's
 * checkpoint — holding only batches below the recovery point, which are on disk — plus a
 * replay of the batch headers recovery validates after that point. So the state never claims
 * a batch that a power cut took away.
 */
import { LogError } from '../errors.ts';

export interface ProducerBatchEntry {
  epoch: number;
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestamp: number;
}

export type ProducerSnapshot = Array<[number, ProducerBatchEntry[]]>;

const KEEP = 5;
const INT32_MAX = 2147483647;

export type SequenceCheck = { kind: 'append' } | { kind: 'duplicate'; entry: ProducerBatchEntry };

export class ProducerState {
  private readonly producers = new Map<number, ProducerBatchEntry[]>();
  /** Highest epoch seen per producer id, from data batches and transaction markers alike. */
  private readonly epochs = new Map<number, number>();

  /** Refuses a write from an epoch older than one already seen (a fenced, zombie producer). */
  checkEpoch(pid: number, epoch: number, where: string): void {
    const current = this.epochs.get(pid);
    if (current !== undefined && epoch < current) {
      throw new LogError('PRODUCER_FENCED', `producer ${pid} epoch ${epoch} is older than the current epoch ${current} on ${where}: a newer instance took over`);
    }
  }

  seenEpoch(pid: number, epoch: number): void {
    if ((this.epochs.get(pid) ?? -1) < epoch) this.epochs.set(pid, epoch);
  }

  /** Decides what to do with a batch from producer `pid`; throws on a fenced epoch or a sequence gap. */
  check(pid: number, epoch: number, firstSeq: number, count: number, where: string): SequenceCheck {
    this.checkEpoch(pid, epoch, where);
    const entries = this.producers.get(pid);
    if (!entries || entries.length === 0) return { kind: 'append' };
    const last = entries[entries.length - 1]!;
    if (epoch < last.epoch) {
      throw new LogError('PRODUCER_FENCED', `producer ${pid} epoch ${epoch} is older than the current epoch ${last.epoch} on ${where}`);
    }
    if (epoch > last.epoch) {
      if (firstSeq !== 0) {
        throw new LogError('OUT_OF_ORDER_SEQUENCE', `producer ${pid} starts epoch ${epoch} at sequence ${firstSeq} on ${where}; a new epoch starts at 0`);
      }
      return { kind: 'append' };
    }
    const lastSeq = (firstSeq + count - 1) % (INT32_MAX + 1);
    for (const e of entries) {
      if (e.epoch === epoch && e.firstSeq === firstSeq && e.lastSeq === lastSeq) return { kind: 'duplicate', entry: e };
    }
    const expected = last.lastSeq === INT32_MAX ? 0 : last.lastSeq + 1;
    if (firstSeq !== expected) {
      throw new LogError('OUT_OF_ORDER_SEQUENCE', `producer ${pid} sent sequence ${firstSeq} on ${where}, expected ${expected}`);
    }
    return { kind: 'append' };
  }

  record(pid: number, entry: ProducerBatchEntry): void {
    let entries = this.producers.get(pid);
    if (!entries) this.producers.set(pid, (entries = []));
    const last = entries[entries.length - 1];
    if (last && entry.lastOffset <= last.lastOffset) return; // replayed twice during recovery
    if (last && entry.epoch > last.epoch) entries.length = 0;
    entries.push(entry);
    if (entries.length > KEEP) entries.shift();
  }

  /** The state as of `offset`: only batches entirely below it. */
  snapshot(offset: number, expireBefore: number): ProducerSnapshot {
    const out: ProducerSnapshot = [];
    for (const [pid, entries] of this.producers) {
      const kept = entries.filter((e) => e.lastOffset < offset);
      if (kept.length > 0 && kept[kept.length - 1]!.timestamp >= expireBefore) out.push([pid, kept]);
    }
    return out;
  }

  static fromSnapshot(snapshot: ProducerSnapshot | undefined): ProducerState {
    const s = new ProducerState();
    for (const [pid, entries] of snapshot ?? []) {
      s.producers.set(pid, [...entries]);
      for (const e of entries) s.seenEpoch(pid, e.epoch);
    }
    return s;
  }

  get size(): number {
    return this.producers.size;
  }
}
