/**
 * Window specifications and their arithmetic (pure).
 *
 * Conventions (all times ms since the epoch, event time):
 * - tumbling/hopping windows are half-open `[start, end)`; a record at `t` belongs to every
 *   window with `start <= t < end`;
 * - sliding windows (Kafka's SlidingWindows) are closed `[end - size, end]`, one per distinct
 *   record time of a key: the aggregate over the `size` ms up to and including that record;
 * - session windows `[first, last]` grow while records of a key arrive less than `gap` apart;
 * - a window is *closed* once the watermark passes the last time a record of it may carry plus
 *   the grace period: `watermark > lastTime + grace`. A record for a closed window is late.
 */
import { StreamsError } from './errors.ts';

export type EmitMode = 'update' | 'final';

export interface TumblingSpec { kind: 'tumbling'; size: number; grace: number }
export interface HoppingSpec { kind: 'hopping'; size: number; advance: number; grace: number }
export interface SlidingSpec { kind: 'sliding'; size: number; grace: number }
export interface SessionSpec { kind: 'session'; gap: number; grace: number }
export type TimeWindowSpec = TumblingSpec | HoppingSpec | SlidingSpec;
export type WindowSpec = TimeWindowSpec | SessionSpec;

/** The key of a windowed result. */
export interface Windowed<K> {
  key: K;
  start: number;
  /** Exclusive for tumbling/hopping, inclusive for sliding and session windows. */
  end: number;
}

function checkMs(what: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new StreamsError('TOPOLOGY_INVALID', `${what}: expected a whole number of milliseconds ≥ ${min}, got ${String(v)}`);
  return v;
}

class Spec<S extends WindowSpec> {
  constructor(readonly spec: S) {}
  /** How long after a window's last moment records are still accepted (default 0). */
  grace(ms: number): this {
    const Cls = this.constructor as new (s: S) => this;
    return new Cls({ ...this.spec, grace: checkMs('grace', ms, 0) });
  }
}

export class TimeWindows extends Spec<TumblingSpec | HoppingSpec> {
  /** Fixed-size, non-overlapping windows: `TimeWindows.tumbling(60_000)`. */
  static tumbling(sizeMs: number): TimeWindows {
    return new TimeWindows({ kind: 'tumbling', size: checkMs('window size', sizeMs, 1), grace: 0 });
  }
  /** Fixed-size windows starting every `advanceMs` (Flink calls them sliding): `TimeWindows.hopping(600_000, 60_000)`. */
  static hopping(sizeMs: number, advanceMs: number): TimeWindows {
    checkMs('window size', sizeMs, 1);
    checkMs('window advance', advanceMs, 1);
    if (advanceMs > sizeMs) throw new StreamsError('TOPOLOGY_INVALID', `hopping window advance ${advanceMs} ms exceeds its size ${sizeMs} ms`);
    return new TimeWindows(advanceMs === sizeMs ? { kind: 'tumbling', size: sizeMs, grace: 0 } : { kind: 'hopping', size: sizeMs, advance: advanceMs, grace: 0 });
  }
}

export class SlidingWindows extends Spec<SlidingSpec> {
  /** One window per record: the `sizeMs` up to and including it. */
  static of(sizeMs: number): SlidingWindows {
    return new SlidingWindows({ kind: 'sliding', size: checkMs('window size', sizeMs, 1), grace: 0 });
  }
}

export class SessionWindows extends Spec<SessionSpec> {
  /** Sessions of a key end after `gapMs` without records. */
  static withGap(gapMs: number): SessionWindows {
    return new SessionWindows({ kind: 'session', gap: checkMs('session gap', gapMs, 1), grace: 0 });
  }
}

export interface JoinWindowSpec { before: number; after: number; grace: number }

/** Stream–stream joins pair records whose times differ by at most the window: `JoinWindows.of(5_000)`. */
export class JoinWindows {
  constructor(readonly spec: JoinWindowSpec) {}
  static of(ms: number): JoinWindows {
    checkMs('join window', ms, 0);
    return new JoinWindows({ before: ms, after: ms, grace: 0 });
  }
  /** Other-side records may be at most `ms` earlier than this side's. */
  before(ms: number): JoinWindows {
    return new JoinWindows({ ...this.spec, before: checkMs('join window before', ms, 0) });
  }
  /** Other-side records may be at most `ms` later than this side's. */
  after(ms: number): JoinWindows {
    return new JoinWindows({ ...this.spec, after: checkMs('join window after', ms, 0) });
  }
  grace(ms: number): JoinWindows {
    return new JoinWindows({ ...this.spec, grace: checkMs('grace', ms, 0) });
  }
}

/** Starts of the tumbling/hopping windows holding time `t`, oldest first. */
export function windowStartsFor(spec: TumblingSpec | HoppingSpec, t: number): number[] {
  if (spec.kind === 'tumbling') return [t - mod(t, spec.size)];
  const last = t - mod(t, spec.advance);
  const out: number[] = [];
  for (let s = last - Math.floor((spec.size - 1) / spec.advance) * spec.advance; s <= last; s += spec.advance) {
    if (s + spec.size > t) out.push(s);
  }
  return out;
}

function mod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/** The last event time a window can hold (its close time is this plus grace). */
export function lastTimeOf(spec: WindowSpec, start: number, end: number): number {
  switch (spec.kind) {
    case 'tumbling':
    case 'hopping':
      return end - 1;
    case 'sliding':
      return end;
    case 'session':
      return end + spec.gap - 1;
  }
}

/** True once no on-time record can change the window any more. */
export function isClosed(spec: WindowSpec, start: number, end: number, watermark: number): boolean {
  return watermark > lastTimeOf(spec, start, end) + spec.grace;
}
