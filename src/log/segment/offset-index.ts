/**
 * Sparse offset index of one segment: (batch base offset → byte position), one entry every
 * `intervalBytes` of log. Held in memory; persisted for closed segments as a cache that is
 * validated on load and rebuilt from the log when missing or stale.
 */
export class OffsetIndex {
  private offsets: Float64Array = new Float64Array(64);
  private positions: Float64Array = new Float64Array(64);
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(offset: number, position: number): void {
    if (this.count === this.offsets.length) {
      this.offsets = grow(this.offsets);
      this.positions = grow(this.positions);
    }
    this.offsets[this.count] = offset;
    this.positions[this.count] = position;
    this.count++;
  }

  /** Position of the last indexed batch whose base offset is ≤ `offset` (0 when none). */
  floorPosition(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? 0 : this.positions[found]!;
  }

  /** Drops entries at or beyond `position` (after a truncation). */
  truncateToPosition(position: number): void {
    while (this.count > 0 && this.positions[this.count - 1]! >= position) this.count--;
  }

  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.count; i++) out.push([this.offsets[i]!, this.positions[i]!]);
    return out;
  }

  clear(): void {
    this.count = 0;
  }
}

/**
 * Sparse time index: (max timestamp so far → base offset of the batch where it was reached).
 * Timestamps in the index only grow, so a binary search finds where records at or after a
 * given time can start.
 */
export class TimeIndex {
  private timestamps: Float64Array = new Float64Array(64);
  private offsets: Float64Array = new Float64Array(64);
  private count = 0;

  get size(): number {
    return this.count;
  }

  get lastTimestamp(): number {
    return this.count === 0 ? -Infinity : this.timestamps[this.count - 1]!;
  }

  add(timestamp: number, offset: number): void {
    if (timestamp <= this.lastTimestamp) return;
    if (this.count === this.timestamps.length) {
      this.timestamps = grow(this.timestamps);
      this.offsets = grow(this.offsets);
    }
    this.timestamps[this.count] = timestamp;
    this.offsets[this.count] = offset;
    this.count++;
  }

  /**
   * An offset from which to scan for the first record with timestamp ≥ `ts`: the batch after
   * the last entry whose max timestamp is still < ts (every record up to it is older).
   * Returns the base offset of that entry's batch (scan skips it) or -1 to scan from the start.
   */
  lastOffsetBefore(ts: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! < ts) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? -1 : this.offsets[found]!;
  }

  truncateToOffset(offset: number): void {
    while (this.count > 0 && this.offsets[this.count - 1]! >= offset) this.count--;
  }

  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.count; i++) out.push([this.timestamps[i]!, this.offsets[i]!]);
    return out;
  }

  clear(): void {
    this.count = 0;
  }
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}
