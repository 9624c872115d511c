/**
 * Which runs of a DAG to create and start now: a pure function of the DAG's schedule options,
 * what runs exist, pending dataset events and the clock.
 *
 * - Cron: the run for interval [a, b) is created once `now ≥ b`. Without catchup only the newest
 *   complete interval is created (missed ones are skipped); with catchup every interval since
 *   `start`, oldest first, as fast as `maxActiveRuns` allows.
 * - Datasets: a run is created when all (or any) of the DAG's datasets have events newer than the
 *   DAG's cursor; its interval runs from the previous dataset run's end to the newest event.
 * - Runs waiting in `queued` (manual triggers, backfills) start oldest first when fewer than
 *   `maxActiveRuns` are running. A paused DAG creates and starts nothing; running runs finish.
 */
import type { Interval, Timetable } from '../schedule/timetable.ts';

export interface DagScheduleView {
  dagId: string;
  paused: boolean;
  timetable: Timetable;
  catchup: boolean;
  /** First interval start (the DAG's `start`, else when it was first seen). */
  start: number;
  end: number | null;
  maxActiveRuns: number;
  /** Runs in state running. */
  running: number;
  /** Queued runs, oldest first (id, and interval start for ordering backfills). */
  queued: ReadonlyArray<{ id: number; intervalStart: number }>;
  /** The newest interval a scheduled run was created for. */
  lastScheduled: Interval | null;
  /** Data-aware: newest event per dataset after the cursor (absent = none). */
  datasetEvents: ReadonlyMap<string, { id: number; at: number }>;
  /** End of the previous dataset-triggered run's interval. */
  lastDatasetRunEnd: number | null;
}

export type ScheduleAction =
  | { type: 'startRun'; runId: number }
  | { type: 'createRun'; kind: 'scheduled'; interval: Interval }
  | { type: 'createRun'; kind: 'dataset'; interval: Interval; datasetCursor: number };

/** How many runs one pass may create for a DAG (catchup of years of hourly runs goes in steps). */
export const MAX_CREATE_PER_PASS = 64;

export function decideRuns(v: DagScheduleView, now: number): ScheduleAction[] {
  if (v.paused) return [];
  const actions: ScheduleAction[] = [];
  let capacity = v.maxActiveRuns - v.running;
  for (const q of [...v.queued].sort((a, b) => a.intervalStart - b.intervalStart || a.id - b.id)) {
    if (capacity <= 0) break;
    actions.push({ type: 'startRun', runId: q.id });
    capacity--;
  }
  if (capacity <= 0) return actions;

  const tt = v.timetable;
  if (tt.kind === 'cron') {
    const fits = (iv: Interval) => iv.start >= v.start && iv.end <= now && (v.end === null || iv.end <= v.end);
    if (!v.catchup) {
      const latest = tt.latestComplete(v.end !== null ? Math.min(now, v.end) : now);
      if (latest && fits(latest) && (v.lastScheduled === null || latest.start > v.lastScheduled.start)) {
        actions.push({ type: 'createRun', kind: 'scheduled', interval: latest });
      }
      return actions;
    }
    let next = v.lastScheduled ? tt.intervalAfter(v.lastScheduled) : tt.intervalStartingAtOrAfter(v.start);
    let made = 0;
    while (next && fits(next) && capacity > 0 && made < MAX_CREATE_PER_PASS) {
      actions.push({ type: 'createRun', kind: 'scheduled', interval: next });
      capacity--;
      made++;
      next = tt.intervalAfter(next);
    }
    return actions;
  }

  if (tt.kind === 'datasets' && tt.datasets) {
    const names = tt.datasets.datasets;
    const seen = names.filter((n) => v.datasetEvents.has(n));
    const ready = tt.datasets.mode === 'any' ? seen.length > 0 : seen.length === names.length;
    if (ready) {
      const events = seen.map((n) => v.datasetEvents.get(n)!);
      const newest = Math.max(...events.map((e) => e.at));
      const oldest = Math.min(...events.map((e) => e.at));
      const cursor = Math.max(...events.map((e) => e.id));
      const start = Math.min(v.lastDatasetRunEnd ?? oldest, newest);
      actions.push({ type: 'createRun', kind: 'dataset', interval: { start, end: newest }, datasetCursor: cursor });
    }
  }
  return actions;
}
