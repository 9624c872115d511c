/**
 * Consumer-lag status from the trend over a sliding window, as Burrow does — not from a fixed
 * threshold. A lag of 10 000 records that shrinks every interval is healthy; a lag of 5 that
 * never moves while the consumer commits nothing is not.
 *
 * Input: per partition, the samples the collector took over the window (time, committed offset,
 * high watermark), oldest first. Output: a status per partition and the group's worst one.
 * The rules, in order (Burrow's, adapted to periodic samples rather than commit events):
 *
 *  1. No committed offset in the newest sample → OK ("nothing committed yet"): no consumer has
 *     claimed these records, so nothing is late.
 *  2. Lag 0 in any sample of the window → OK: the consumer caught up within the window.
 *  3. Fewer than `minSamples` samples → OK, marked `complete: false`: too little history to see
 *     a trend (Burrow likewise waits for a full window).
 *  4. The committed offset moved backwards between two samples → WARN ("rewound"): a reset or a
 *     replay; worth a look, not an outage.
 *  5. The committed offset did not move over the whole window while lag stayed > 0 → STALLED:
 *     records wait and the consumer makes no progress (Burrow's STALL and STOP).
 *  6. The offset moved, but lag grew in every interval → WARN: the consumer works but falls
 *     further behind.
 *  7. Otherwise → OK.
 *
 * The module is pure (no clock, no I/O): `now` comes in, so every rule is tested directly.
 */

export type LagStatus = 'OK' | 'WARN' | 'STALLED';

/** One observation of one partition of one group. */
export interface LagSample {
  /** Milliseconds since the epoch. */
  time: number;
  /** Next offset the group will read (Kafka's committed offset); null when nothing is committed. */
  committedOffset: number | null;
  /** Offsets below this are visible to consumers. */
  highWatermark: number;
}

export interface PartitionLagEvaluation {
  status: LagStatus;
  /** Why, in words ("no progress for 50 s while 120 records waited"). */
  reason: string;
  /** False while the window holds fewer samples than needed to judge a trend. */
  complete: boolean;
  /** Lag in the newest sample (null when nothing is committed). */
  lag: number | null;
}

export interface GroupLagEvaluation {
  status: LagStatus;
  reason: string;
  /** True when every partition had a full window. */
  complete: boolean;
}

export interface LagEvaluationOptions {
  /** Samples needed before a trend counts (default 3: two intervals). */
  minSamples?: number;
}

const RANK: Record<LagStatus, number> = { OK: 0, WARN: 1, STALLED: 2 };

export function lagOf(s: LagSample): number | null {
  return s.committedOffset === null ? null : Math.max(0, s.highWatermark - s.committedOffset);
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

/**
 * Judges one partition from its window of samples (oldest first).
 *
 * @example
 * ```ts
 * evaluatePartitionLag([
 *   { time: 0, committedOffset: 10, highWatermark: 20 },
 *   { time: 5000, committedOffset: 10, highWatermark: 30 },
 *   { time: 10000, committedOffset: 10, highWatermark: 40 },
 * ]); // { status: 'STALLED', reason: 'no progress for 10 s while 30 records waited', … }
 * ```
 */
export function evaluatePartitionLag(window: readonly LagSample[], opts: LagEvaluationOptions = {}): PartitionLagEvaluation {
  const minSamples = Math.max(2, opts.minSamples ?? 3);
  const last = window[window.length - 1];
  if (!last) return { status: 'OK', reason: 'no samples yet', complete: false, lag: null };
  const lag = lagOf(last);
  if (lag === null) return { status: 'OK', reason: 'nothing committed yet', complete: true, lag };

  const samples = window.filter((s) => s.committedOffset !== null);
  if (samples.some((s) => lagOf(s) === 0)) {
    return { status: 'OK', reason: lag === 0 ? 'caught up' : 'caught up within the window', complete: samples.length >= minSamples, lag };
  }
  if (samples.length < minSamples) {
    return { status: 'OK', reason: `collecting a trend (${samples.length} of ${minSamples} samples)`, complete: false, lag };
  }

  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1]!.committedOffset!;
    const after = samples[i]!.committedOffset!;
    if (after < before) {
      return { status: 'WARN', reason: `committed offset moved back from ${before} to ${after} (reset or replay)`, complete: true, lag };
    }
  }

  const first = samples[0]!;
  const span = last.time - first.time;
  if (first.committedOffset === last.committedOffset) {
    return { status: 'STALLED', reason: `no progress for ${seconds(span)} while ${lag} record${lag === 1 ? '' : 's'} waited`, complete: true, lag };
  }

  let growing = true;
  for (let i = 1; i < samples.length && growing; i++) {
    if (lagOf(samples[i]!)! <= lagOf(samples[i - 1]!)!) growing = false;
  }
  if (growing) {
    return { status: 'WARN', reason: `consuming, but lag grew in every interval for ${seconds(span)} (now ${lag})`, complete: true, lag };
  }
  return { status: 'OK', reason: 'consuming and keeping up', complete: true, lag };
}

/**
 * A group's status is its worst partition's; the reason names that partition.
 *
 * @example
 * ```ts
 * const { status } = evaluateGroupLag(new Map([['orders/0', windowOf0], ['orders/1', windowOf1]]));
 * ```
 */
export function evaluateGroupLag(
  partitions: ReadonlyMap<string, readonly LagSample[]>,
  opts: LagEvaluationOptions = {},
): GroupLagEvaluation & { partitions: Map<string, PartitionLagEvaluation> } {
  const out = new Map<string, PartitionLagEvaluation>();
  let worst: { key: string; ev: PartitionLagEvaluation } | null = null;
  let complete = true;
  for (const [key, window] of partitions) {
    const ev = evaluatePartitionLag(window, opts);
    out.set(key, ev);
    if (!ev.complete) complete = false;
    if (!worst || RANK[ev.status] > RANK[worst.ev.status] || (RANK[ev.status] === RANK[worst.ev.status] && (ev.lag ?? 0) > (worst.ev.lag ?? 0))) {
      worst = { key, ev };
    }
  }
  if (!worst) return { status: 'OK', reason: 'no partitions', complete: true, partitions: out };
  const reason = worst.ev.status === 'OK' ? (complete ? 'every partition is keeping up' : 'collecting a trend') : `${worst.key}: ${worst.ev.reason}`;
  return { status: worst.ev.status, reason, complete, partitions: out };
}

export function worseStatus(a: LagStatus, b: LagStatus): LagStatus {
  return RANK[a] >= RANK[b] ? a : b;
}
