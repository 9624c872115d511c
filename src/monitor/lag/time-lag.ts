/**
 * Lag in seconds, estimated from the history of a partition's high watermark (the method of
 * Lightbend's kafka-lag-exporter): the record at the committed offset was appended when the high
 * watermark passed that offset, so the time lag is `now` minus the moment the watermark crossed
 * it, interpolated linearly between the two samples around the crossing.
 *
 * This reads no records (a scrape costs nothing per partition), and works on any bus. When the
 * committed offset is older than the oldest sample, the estimate is a lower bound: `now` minus
 * the oldest sample's time.
 */

export interface WatermarkSample {
  time: number;
  highWatermark: number;
}

export interface TimeLag {
  seconds: number;
  /** True when the committed offset predates the history: the real lag is at least `seconds`. */
  lowerBound: boolean;
}

/**
 * @param history samples of the high watermark, oldest first (non-decreasing offsets, except
 *                after a topic was deleted and re-created — then only the part after the drop counts)
 * @example
 * ```ts
 * estimateTimeLag([{ time: 0, highWatermark: 0 }, { time: 10_000, highWatermark: 100 }], 50, 20_000);
 * // { seconds: 15, lowerBound: false }: offset 50 was reached at 5 s
 * ```
 */
export function estimateTimeLag(history: readonly WatermarkSample[], committedOffset: number, now: number): TimeLag {
  const last = history[history.length - 1];
  if (!last || committedOffset >= last.highWatermark) return { seconds: 0, lowerBound: false };
  // Only the stretch since the watermark last went down (topic re-created) is one timeline.
  let start = 0;
  for (let i = history.length - 1; i > 0; i--) {
    if (history[i]!.highWatermark < history[i - 1]!.highWatermark) {
      start = i;
      break;
    }
  }
  const first = history[start]!;
  if (committedOffset < first.highWatermark) {
    return { seconds: Math.max(0, (now - first.time) / 1000), lowerBound: true };
  }
  // Find the first sample whose watermark is above the committed offset: the record was appended
  // between it and the sample before.
  let lo = start;
  let hi = history.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (history[mid]!.highWatermark > committedOffset) hi = mid;
    else lo = mid + 1;
  }
  const after = history[lo]!;
  const before = history[lo - 1] ?? after;
  const span = after.highWatermark - before.highWatermark;
  const crossed = span > 0 ? before.time + ((committedOffset - before.highWatermark + 1) / span) * (after.time - before.time) : after.time;
  return { seconds: Math.max(0, (now - Math.min(crossed, after.time)) / 1000), lowerBound: false };
}
