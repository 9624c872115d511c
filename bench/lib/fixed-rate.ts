/**
 * Fixed-rate load for acknowledgement latency: records are released on a schedule (record i is
 * due at start + i / rate), checked every `tickMs` (a timer, so the sender does not spin and
 * steal a core from the system under test); each tick hands every record that has come due to
 * `send(from, to)` in one call. The system reports acknowledgements with `acked(i)` or
 * `ackedRange(from, to)`; a record's latency runs from the moment its tick called `send` until
 * its acknowledgement. The latency from the record's scheduled time is kept too, so a sender
 * that fell behind (a busy event loop, a client blocking) shows up instead of being hidden
 * (coordinated omission).
 */
import { percentile } from './stats.ts';
import type { Metrics } from './suite.ts';

export interface FixedRateOptions {
  recordsPerSec: number;
  durationMs: number;
  recordBytes: number;
  tickMs?: number;
  /** How long to wait for the last acknowledgements after the schedule ends. */
  drainTimeoutMs?: number;
}

export interface FixedRateSink {
  acked(i: number): void;
  ackedRange(from: number, to: number): void;
  fail(err: Error): void;
}

export async function runFixedRate(
  opts: FixedRateOptions,
  setup: (sink: FixedRateSink) => (from: number, to: number) => void,
): Promise<Metrics> {
  const total = Math.round((opts.recordsPerSec * opts.durationMs) / 1000);
  const tickMs = opts.tickMs ?? 1;
  const sentAt = new Float64Array(total);
  const latency = new Float64Array(total).fill(NaN);
  let ackedCount = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const ack = (i: number, now: number): void => {
    if (i < 0 || i >= total || !Number.isNaN(latency[i]!)) {
      failure ??= new Error(`acknowledgement for record ${i} is unexpected or repeated`);
      return;
    }
    latency[i] = now - sentAt[i]!;
    ackedCount++;
    if (ackedCount === total && wake) wake();
  };
  const sink: FixedRateSink = {
    acked: (i) => ack(i, performance.now()),
    ackedRange: (from, to) => {
      const now = performance.now();
      for (let i = from; i < to; i++) ack(i, now);
    },
    fail: (err) => {
      failure ??= err;
      if (wake) wake();
    },
  };
  const send = setup(sink);

  let sent = 0;
  let ticks = 0;
  let maxBehindMs = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      if (failure) return resolve();
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * opts.recordsPerSec) / 1000));
      if (due > sent) {
        // How late the oldest record of this tick is against its schedule.
        const behind = now - (start + (sent * 1000) / opts.recordsPerSec);
        if (behind > maxBehindMs) maxBehindMs = behind;
        const from = sent;
        for (let i = from; i < due; i++) sentAt[i] = now;
        sent = due;
        ticks++;
        try {
          send(from, due);
        } catch (err) {
          failure ??= err as Error;
        }
      }
      if (sent >= total) resolve();
      else setTimeout(tick, tickMs);
    };
    tick();
  });
  const sendMs = performance.now() - start;
  if (!failure && ackedCount < total) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, opts.drainTimeoutMs ?? 30_000).unref();
    });
  }
  wake = null;
  if (failure) throw failure;
  if (ackedCount < total) throw new Error(`only ${ackedCount} of ${total} records acknowledged ${opts.drainTimeoutMs ?? 30_000} ms after the last send`);

  const fromSchedule = new Array<number>(total);
  for (let i = 0; i < total; i++) fromSchedule[i] = sentAt[i]! + latency[i]! - (start + (i * 1000) / opts.recordsPerSec);
  const lat = Array.from(latency);
  return {
    rateMBps: (total * opts.recordBytes) / (sendMs / 1000) / 1e6,
    records: total,
    ackP50Ms: percentile(lat, 50),
    ackP99Ms: percentile(lat, 99),
    ackP999Ms: percentile(lat, 99.9),
    ackMaxMs: percentile(lat, 100),
    fromScheduleP99Ms: percentile(fromSchedule, 99),
    senderMaxBehindMs: maxBehindMs,
    ticks,
  };
}
