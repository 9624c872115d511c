/**
 * Time for the engine. Every scheduling decision and every timer (retry due, poke due, task
 * timeout, lease renewal) goes through a Clock, so tests drive time by hand: `ManualClock`
 * fires timers only when `advance()` passes their due time.
 */
export interface ClockTimer {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds (whole). */
  now(): number;
  setTimer(ms: number, fn: () => void): ClockTimer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Precise wall-clock time in fractional milliseconds (for attempt start/end and hand-off latency). */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A clock that only moves when told to.
 * @example
 * ```ts
 * const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * clock.setTimer(1000, () => console.log('fired'));
 * await clock.advance(1000); // fired
 * ```
 */
export class ManualClock implements Clock {
  private timers: Array<{ at: number; seq: number; fn: () => void }> = [];
  private seq = 0;
  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): ClockTimer {
    const entry = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(entry);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== entry)) };
  }

  /** Moves time forward by `ms`, firing due timers in order (awaiting a turn of the event loop after each). */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.t + ms);
  }

  async advanceTo(target: number): Promise<void> {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = Math.max(this.t, target);
  }

  /** When the earliest pending timer fires, or null. */
  nextTimerAt(): number | null {
    return this.timers.reduce<number | null>((m, x) => (m === null || x.at < m ? x.at : m), null);
  }
}
