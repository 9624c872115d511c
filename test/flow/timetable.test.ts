import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowError } from '../../src/flow/errors.ts';
import { parseTime, timetable } from '../../src/flow/schedule/timetable.ts';

const t = (s: string) => Date.parse(s);
const iv = (i: { start: number; end: number } | null) => (i ? [new Date(i.start).toISOString(), new Date(i.end).toISOString()] : null);

describe('timetable', () => {
  it('daily cron in a timezone: intervals are local days', () => {
    const tt = timetable('0 0 * * *', 'Asia/Seoul');
    // 03:00 UTC on Jan 2 is 12:00 in Seoul: the newest complete Seoul day is Jan 1 (local).
    assert.deepEqual(iv(tt.latestComplete(t('2026-01-02T03:00:00Z'))), ['2025-12-31T15:00:00.000Z', '2026-01-01T15:00:00.000Z']);
    assert.deepEqual(iv(tt.intervalStartingAtOrAfter(t('2026-01-01T15:00:00Z'))), ['2026-01-01T15:00:00.000Z', '2026-01-02T15:00:00.000Z']);
    assert.deepEqual(iv(tt.intervalStartingAtOrAfter(t('2026-01-01T15:00:00.001Z'))), ['2026-01-02T15:00:00.000Z', '2026-01-03T15:00:00.000Z']);
  });

  it('an interval ending exactly now is complete', () => {
    const tt = timetable('@hourly', 'UTC');
    assert.deepEqual(iv(tt.latestComplete(t('2026-03-01T10:00:00Z'))), ['2026-03-01T09:00:00.000Z', '2026-03-01T10:00:00.000Z']);
    assert.deepEqual(iv(tt.latestComplete(t('2026-03-01T09:59:59.999Z'))), ['2026-03-01T08:00:00.000Z', '2026-03-01T09:00:00.000Z']);
  });

  it('between lists consecutive intervals inside [from, to)', () => {
    const tt = timetable('0 0 * * *', 'UTC');
    const list = tt.between(t('2026-01-01T00:00:00Z'), t('2026-01-31T00:00:00Z'), 1000);
    assert.equal(list.length, 30);
    for (let i = 1; i < list.length; i++) assert.equal(list[i]!.start, list[i - 1]!.end);
    assert.equal(tt.between(t('2026-01-01T00:00:00Z'), t('2026-01-31T00:00:00Z'), 5).length, 5);
  });

  it('across a DST change the local-midnight interval is 23 hours long', () => {
    const tt = timetable('0 0 * * *', 'Europe/Berlin');
    const day = tt.intervalStartingAtOrAfter(t('2026-03-28T23:00:00Z'))!; // 29 March 00:00 CET
    assert.equal((day.end - day.start) / 3600_000, 23);
  });

  it('manual and data-aware schedules have no time intervals; manual runs cover [now, now]', () => {
    const m = timetable(null);
    assert.equal(m.kind, 'manual');
    assert.deepEqual(m.manualInterval(5), { start: 5, end: 5 });
    const d = timetable({ datasets: ['lake.orders', 'lake.orders', 'model.top10'], mode: 'any' });
    assert.equal(d.kind, 'datasets');
    assert.deepEqual(d.datasets, { datasets: ['lake.orders', 'model.top10'], mode: 'any' });
    assert.throws(() => timetable({ datasets: [] }), /at least one dataset/);
    assert.throws(() => timetable(42 as never), (e: unknown) => e instanceof FlowError && e.code === 'SCHEDULE_INVALID');
  });

  it('parses user times with a clear error', () => {
    assert.equal(parseTime('2026-01-31', 'from'), t('2026-01-31T00:00:00Z'));
    assert.throws(() => parseTime('yesterday', '--from'), /--from: expected an ISO 8601 time like 2026-01-31/);
  });
});
