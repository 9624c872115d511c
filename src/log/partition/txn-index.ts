/**
 * Transactions seen by one partition: which producers have a transaction open (and from which
 * offset), and which transactions were aborted (their offset ranges), so that
 *  - the last stable offset (LSO) stops read_committed consumers before any open transaction;
 *  - read_committed readers skip the batches of aborted transactions (the Kafka fetch response
 *    lists them; in-process consumers filter them).
 *
 * Like the producer state, it is rebuilt from a snapshot "as of the recovery point" plus a
 * replay of the batches recovery validates; completed transactions are kept long enough to
 * answer "what was open at offset R" for the next snapshot.
 */

export interface TxnRange {
  pid: number;
  first: number;
  last: number;
}

export interface TxnSnapshot {
  ongoing: Array<[number, number]>;
  aborted: TxnRange[];
}

export class TxnIndex {
  private readonly ongoing = new Map<number, number>();
  /** Aborted transactions, in marker order (so by `last`). */
  private aborted: TxnRange[] = [];
  /** Recently committed transactions (for snapshots only). */
  private committed: TxnRange[] = [];

  /** A transactional data batch at `offset` from `pid`. */
  begin(pid: number, offset: number): void {
    if (!this.ongoing.has(pid)) this.ongoing.set(pid, offset);
  }

  /** A commit or abort marker of `pid` at `offset`. */
  end(pid: number, offset: number, aborted: boolean): void {
    const first = this.ongoing.get(pid);
    if (first === undefined) return; // a marker of a transaction that wrote nothing here, or one replayed twice
    this.ongoing.delete(pid);
    const range = { pid, first, last: offset };
    if (!aborted) {
      this.committed.push(range);
      return;
    }
    if (!this.aborted.some((a) => a.pid === pid && a.last === offset)) this.aborted.push(range);
  }

  /** The first offset of the oldest open transaction, or Infinity. */
  firstOpenOffset(): number {
    let min = Infinity;
    for (const first of this.ongoing.values()) if (first < min) min = first;
    return min;
  }

  isOpen(pid: number): boolean {
    return this.ongoing.has(pid);
  }

  /** Aborted transactions overlapping [from, to]. */
  abortedIn(from: number, to: number): TxnRange[] {
    return this.aborted.filter((a) => a.first <= to && a.last >= from);
  }

  /** True when the batch of `pid` at `offset` belongs to an aborted transaction. */
  isAborted(pid: number, offset: number): boolean {
    for (let i = this.aborted.length - 1; i >= 0; i--) {
      const a = this.aborted[i]!;
      if (a.pid === pid && a.first <= offset && offset <= a.last) return true;
    }
    return false;
  }

  /** The state as of offset `r`; forgets committed history below it and aborted ranges below `logStart`. */
  snapshot(r: number, logStart: number): TxnSnapshot {
    const ongoing: Array<[number, number]> = [];
    for (const [pid, first] of this.ongoing) if (first < r) ongoing.push([pid, first]);
    for (const c of [...this.committed, ...this.aborted]) if (c.first < r && c.last >= r) ongoing.push([c.pid, c.first]);
    this.committed = this.committed.filter((c) => c.last >= r);
    this.aborted = this.aborted.filter((a) => a.last >= logStart);
    return { ongoing, aborted: this.aborted.filter((a) => a.last < r) };
  }

  static fromSnapshot(s: TxnSnapshot | undefined): TxnIndex {
    const t = new TxnIndex();
    for (const [pid, first] of s?.ongoing ?? []) t.ongoing.set(pid, first);
    t.aborted = [...(s?.aborted ?? [])];
    return t;
  }

  get empty(): boolean {
    return this.ongoing.size === 0 && this.aborted.length === 0 && this.committed.length === 0;
  }
}
