/**
 * Per-partition watermarks of one task (pure: the wall clock is passed in).
 *
 * Each input channel's watermark (a partition, or a writer of an internal-topic partition) is
 * the largest event time seen on it. The task's watermark is the smallest of them over the
 * channels that are *active*. A channel that has been silent for `idleMs` of wall-clock time
 * stops holding the others back — but only while the task is starving (its last poll brought it
 * nothing): while records keep coming, a silent channel is more likely behind than idle (a
 * catching-up upstream task), so it is released only after 10 × `idleMs`. A channel that never
 * had data counts as silent since the task started. When every channel is idle, the watermark
 * advances with the wall clock from the largest time seen: windows close on idleness too, not
 * only when new data arrives. The watermark never moves backwards.
 *
 * Channels of internal topics (one per upstream task, named `topic:partition/writer`) are
 * *driven*: the upstream task sends its own watermark down as marker records at every commit,
 * so such a channel is never released for silence — an upstream task that is merely slow to
 * commit cannot make its records late. An upstream task that has never seen data and is idle
 * says so in its marker; its channel is then left out until it sends data.
 */

export interface WatermarkState {
  /** Largest event time seen per input partition (`topic:partition`). */
  max: Record<string, number>;
  watermark: number;
}

export class WatermarkTracker {
  private readonly max = new Map<string, number>();
  private readonly lastSeen = new Map<string, number>();
  private wm = -Infinity;
  private lastRecordWall: number;
  /** Driven channels whose upstream task is idle and has never seen data. */
  private readonly idleWriters = new Set<string>();
  private anyActive = true;

  constructor(
    readonly partitions: readonly string[],
    private readonly idleMs: number,
    startWall: number,
    restored?: WatermarkState,
  ) {
    this.lastRecordWall = startWall;
    for (const p of partitions) {
      this.max.set(p, restored?.max[p] ?? -Infinity);
      this.lastSeen.set(p, startWall);
    }
    if (restored && Number.isFinite(restored.watermark)) this.wm = restored.watermark;
  }

  get watermark(): number {
    return this.wm;
  }

  /** Notes a record; returns the (possibly advanced) task watermark. */
  observe(partition: string, ts: number, wallNow: number): number {
    // A channel not known in advance (e.g. more writers than expected) joins when it first speaks.
    const m = this.max.get(partition);
    if (m === undefined || ts > m) this.max.set(partition, ts);
    this.lastSeen.set(partition, wallNow);
    this.lastRecordWall = wallNow;
    this.idleWriters.delete(partition);
    return this.advance(wallNow, false);
  }

  /** Notes an upstream task's watermark marker on a driven channel (`wm` null: it has none yet). */
  mark(channel: string, wm: number | null, idle: boolean, wallNow: number): number {
    const m = this.max.get(channel) ?? -Infinity;
    const next = wm !== null && wm > m ? wm : m;
    this.max.set(channel, next);
    this.lastSeen.set(channel, wallNow);
    if (idle && next === -Infinity) this.idleWriters.add(channel);
    else this.idleWriters.delete(channel);
    return this.advance(wallNow, false);
  }

  /** Whether every channel was idle at the last recomputation (the task's own input is idle). */
  get idle(): boolean {
    return !this.anyActive;
  }

  /** Recomputes the watermark at `wallNow` (idle channels released, idle advance applied). */
  advance(wallNow: number, starving = true): number {
    const idleMs = starving ? this.idleMs : this.idleMs * 10;
    let active = Infinity;
    let anyActive = false;
    let all = -Infinity;
    for (const [p, m] of this.max) {
      if (m > all) all = m;
      if (p.includes('/')) {
        // Driven by the upstream task's markers: never released for silence.
        if (this.idleWriters.has(p)) continue;
        anyActive = true;
        if (m < active) active = m;
        continue;
      }
      const idle = wallNow - (this.lastSeen.get(p) ?? wallNow) >= idleMs;
      if (idle) continue;
      anyActive = true;
      if (m < active) active = m;
    }
    this.anyActive = anyActive;
    let next: number;
    if (anyActive) next = active;
    else {
      const idleFor = wallNow - this.lastRecordWall - idleMs;
      next = all === -Infinity ? -Infinity : idleFor > 0 ? all + idleFor : all;
    }
    if (next > this.wm) this.wm = next;
    return this.wm;
  }

  state(): WatermarkState {
    const max: Record<string, number> = {};
    for (const [p, m] of this.max) if (Number.isFinite(m)) max[p] = m;
    return { max, watermark: this.wm };
  }
}
