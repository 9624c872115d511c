/**
 * Timetables: when a DAG runs and which slice of time ("data interval") each run covers.
 *
 * Airflow's model: a cron schedule cuts time into intervals [tick_i, tick_i+1); the run for an
 * interval starts once the interval has ended (at tick_i+1), so a daily run that starts just
 * after midnight processes the day before. Everything here is pure (no clock reads): callers pass
 * `now`. Times are epoch milliseconds; cron ticks are computed in the DAG's IANA timezone
 * (croner), so `0 0 * * *` in Asia/Seoul is midnight in Seoul and DST shifts are handled there.
 *
 * Schedules:
 * - a cron expression or nickname (`0 * * * *`, `@daily`, `@hourly`, `@weekly`, `@monthly`, `@yearly`);
 * - `null`: manual only (triggers and backfills of explicit intervals);
 * - `{ datasets: [...], mode }`: data-aware — a run starts when the named datasets (lake tables,
 *   models) get new snapshots; its interval runs from the previous such run to the newest event.
 */
import { Cron } from 'croner';
import { FlowError } from '../errors.ts';

export interface Interval {
  /** Inclusive, epoch ms. */
  start: number;
  /** Exclusive, epoch ms. */
  end: number;
}

export type DatasetSchedule = { datasets: string[]; mode?: 'all' | 'any' };
export type ScheduleSpec = string | null | DatasetSchedule;

export interface Timetable {
  readonly kind: 'cron' | 'manual' | 'datasets';
  /** The schedule as the user wrote it (`0 * * * *`, `manual`, `datasets: a, b (all)`). */
  readonly description: string;
  readonly timezone: string;
  /** Data-aware schedules: the datasets and whether all or any must be updated. */
  readonly datasets: DatasetSchedule | null;
  /** The first interval whose start is at or after `t` (cron only; null otherwise). */
  intervalStartingAtOrAfter(t: number): Interval | null;
  /** The interval that directly follows `prev` (cron only). */
  intervalAfter(prev: Interval): Interval | null;
  /** The newest interval that has ended at `now` (cron only). */
  latestComplete(now: number): Interval | null;
  /** Every interval with start ≥ from and end ≤ to, oldest first, at most `limit` (cron only). */
  between(from: number, to: number, limit: number): Interval[];
  /** The interval a manual trigger at `now` covers: the newest complete one, or [now, now]. */
  manualInterval(now: number): Interval;
}

const NICKNAMES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** Throws SCHEDULE_INVALID when `tz` is not an IANA timezone Node knows. */
export function checkTimezone(tz: string, where: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new FlowError('SCHEDULE_INVALID', `${where}: unknown timezone ${JSON.stringify(tz)}: use an IANA name such as "UTC", "Europe/Berlin" or "Asia/Seoul"`);
  }
}

class CronTimetable implements Timetable {
  readonly kind = 'cron' as const;
  readonly datasets = null;
  private readonly cron: Cron;

  constructor(
    readonly description: string,
    readonly timezone: string,
    where: string,
  ) {
    const expr = description.trim();
    if (!expr.startsWith('@')) {
      const fields = expr.split(/\s+/).length;
      if (fields !== 5 && fields !== 6) {
        throw new FlowError(
          'SCHEDULE_INVALID',
          `${where}: invalid cron expression ${JSON.stringify(description)}: expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with seconds first), or one of ${[...NICKNAMES].join(', ')}`,
        );
      }
    } else if (!NICKNAMES.has(expr.toLowerCase())) {
      throw new FlowError('SCHEDULE_INVALID', `${where}: unknown cron nickname ${JSON.stringify(description)}: use one of ${[...NICKNAMES].join(', ')}`);
    }
    try {
      this.cron = new Cron(expr, { paused: true, timezone, mode: '5-or-6-parts' });
    } catch (err) {
      throw new FlowError('SCHEDULE_INVALID', `${where}: invalid cron expression ${JSON.stringify(description)}: ${(err as Error).message}`, { cause: err });
    }
    if (this.cron.nextRun(new Date(0)) === null) {
      throw new FlowError('SCHEDULE_INVALID', `${where}: cron expression ${JSON.stringify(description)} never fires`);
    }
  }

  /** First tick strictly after t. */
  private next(t: number): number | null {
    const d = this.cron.nextRun(new Date(t));
    return d ? d.getTime() : null;
  }

  /** First tick at or after t. */
  private atOrAfter(t: number): number | null {
    return this.next(t - 1);
  }

  /** Newest tick at or before t. */
  private atOrBefore(t: number): number | null {
    const d = this.cron.previousRuns(1, new Date(t + 1))[0];
    return d ? d.getTime() : null;
  }

  intervalStartingAtOrAfter(t: number): Interval | null {
    const start = this.atOrAfter(t);
    if (start === null) return null;
    const end = this.next(start);
    return end === null ? null : { start, end };
  }

  intervalAfter(prev: Interval): Interval | null {
    return this.intervalStartingAtOrAfter(prev.end);
  }

  latestComplete(now: number): Interval | null {
    const end = this.atOrBefore(now);
    if (end === null) return null;
    const prev = this.cron.previousRuns(1, new Date(end))[0];
    return prev ? { start: prev.getTime(), end } : null;
  }

  between(from: number, to: number, limit: number): Interval[] {
    const out: Interval[] = [];
    let iv = this.intervalStartingAtOrAfter(from);
    while (iv && iv.end <= to && out.length < limit) {
      out.push(iv);
      iv = this.intervalAfter(iv);
    }
    return out;
  }

  manualInterval(now: number): Interval {
    return this.latestComplete(now) ?? { start: now, end: now };
  }
}

class ManualTimetable implements Timetable {
  readonly kind: 'manual' | 'datasets';
  readonly description: string;
  constructor(
    readonly timezone: string,
    readonly datasets: DatasetSchedule | null,
  ) {
    this.kind = datasets ? 'datasets' : 'manual';
    this.description = datasets ? `datasets: ${datasets.datasets.join(', ')} (${datasets.mode ?? 'all'})` : 'manual';
  }
  intervalStartingAtOrAfter(): Interval | null {
    return null;
  }
  intervalAfter(): Interval | null {
    return null;
  }
  latestComplete(): Interval | null {
    return null;
  }
  between(): Interval[] {
    return [];
  }
  manualInterval(now: number): Interval {
    return { start: now, end: now };
  }
}

/**
 * Builds the timetable of a schedule; `where` prefixes error messages (`dag shop_hourly: schedule`).
 *
 * @example
 * ```ts
 * const tt = timetable('0 0 * * *', 'Asia/Seoul');
 * tt.latestComplete(Date.parse('2026-01-02T03:00:00Z')); // { start: 2025-12-31T15:00Z, end: 2026-01-01T15:00Z }
 * ```
 */
export function timetable(schedule: ScheduleSpec | undefined, timezone = 'UTC', where = 'schedule'): Timetable {
  checkTimezone(timezone, where);
  if (schedule === null || schedule === undefined) return new ManualTimetable(timezone, null);
  if (typeof schedule === 'string') {
    if (schedule.trim() === '' || schedule === '@once' || schedule === 'manual') return new ManualTimetable(timezone, null);
    return new CronTimetable(schedule, timezone, where);
  }
  if (typeof schedule === 'object' && Array.isArray((schedule as DatasetSchedule).datasets)) {
    const ds = schedule as DatasetSchedule;
    if (ds.datasets.length === 0) throw new FlowError('SCHEDULE_INVALID', `${where}: a data-aware schedule needs at least one dataset name`);
    for (const name of ds.datasets) {
      if (typeof name !== 'string' || name.trim() === '') {
        throw new FlowError('SCHEDULE_INVALID', `${where}: dataset names must be non-empty strings, got ${JSON.stringify(name)}`);
      }
    }
    if (ds.mode !== undefined && ds.mode !== 'all' && ds.mode !== 'any') {
      throw new FlowError('SCHEDULE_INVALID', `${where}: mode must be "all" or "any", got ${JSON.stringify(ds.mode)}`);
    }
    return new ManualTimetable(timezone, { datasets: [...new Set(ds.datasets)], mode: ds.mode ?? 'all' });
  }
  throw new FlowError(
    'SCHEDULE_INVALID',
    `${where}: expected a cron expression ("0 * * * *", "@daily"), null (manual only) or { datasets: [...] }, got ${JSON.stringify(schedule)}`,
  );
}

/** Parses a user-given time (ISO 8601 string, date `YYYY-MM-DD` = midnight UTC, epoch ms, Date); `what` names it in errors. */
export function parseTime(value: string | number | Date, what: string): number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new FlowError('BAD_REQUEST', `${what}: invalid date`);
    return value.getTime();
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new FlowError('BAD_REQUEST', `${what}: expected a time, got ${value}`);
    return value;
  }
  const s = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return parseTime(`${s}T00:00:00Z`, what);
  const t = Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(s) || Number.isNaN(t)) {
    throw new FlowError('BAD_REQUEST', `${what}: expected an ISO 8601 time like 2026-01-31 or 2026-01-31T12:00:00Z, got ${JSON.stringify(value)}`);
  }
  return t;
}

export function iso(t: number): string {
  return new Date(t).toISOString();
}
