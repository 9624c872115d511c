import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toCsv } from '../../web/src/lib/csv.ts';
import { formatBytes, formatConfigValue, formatCount, formatDuration, formatRate, truncate } from '../../web/src/lib/format.ts';
import { paginate } from '../../web/src/lib/paging.ts';
import { numericColumns } from '../../web/src/lib/result.ts';
import { appendPoint, emptyRolling, topSeries } from '../../web/src/lib/series.ts';

describe('web UI helpers', () => {
  it('formats sizes, counts, rates and durations', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
    assert.equal(formatBytes(null), '—');
    assert.equal(formatCount(1234567.4), '1,234,567');
    assert.equal(formatRate(12.345), '12.3/s');
    assert.equal(formatRate(25_000), '25.0k/s');
    assert.equal(formatRate(2048, 'bytes'), '2.0 KiB/s');
    assert.equal(formatDuration(0.25), '250 ms');
    assert.equal(formatDuration(5.25), '5.3 s');
    assert.equal(formatDuration(245), '4 min 5 s');
    assert.equal(formatDuration(7380), '2 h 3 min');
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(formatConfigValue('retentionMs', 7 * 24 * 3600 * 1000), '7 d 0 h');
    assert.equal(formatConfigValue('segmentBytes', 128 * 1024 * 1024), '128 MiB');
    assert.equal(formatConfigValue('retentionBytes', null), 'none');
    assert.equal(formatConfigValue('cleanupPolicy', 'delete'), 'delete');
  });

  it('writes CSV that spreadsheets read back', () => {
    const csv = toCsv(['name', 'note', 'n'], [
      ['a,b', 'say "hi"', 1],
      ['line\nbreak', null, { x: 1 }],
      [' padded', '', 2.5],
    ]);
    assert.equal(csv, 'name,note,n\r\n"a,b","say ""hi""",1\r\n"line\nbreak",,"{""x"":1}"\r\n" padded",,2.5\r\n');
  });

  it('pages lists and clamps the page', () => {
    const items = Array.from({ length: 45 }, (_, i) => i);
    const p = paginate(items, 2, 20);
    assert.deepEqual([p.page, p.pages, p.from, p.to, p.items.length], [2, 3, 41, 45, 5]);
    assert.equal(paginate(items, 99, 20).page, 2);
    assert.deepEqual(paginate([], 0, 20), { items: [], page: 0, pages: 1, total: 0, from: 0, to: 0 });
  });

  it('keeps rolling series aligned, back-filling new series and dropping the oldest', () => {
    let r = emptyRolling();
    r = appendPoint(r, 1, { a: 1 }, 3);
    r = appendPoint(r, 2, { a: 2, b: 5 }, 3);
    r = appendPoint(r, 2, { a: 99 }, 3); // same time: ignored
    r = appendPoint(r, 3, { b: 6 }, 3);
    r = appendPoint(r, 4, { a: 4, b: 7 }, 3);
    assert.deepEqual(r, { times: [2, 3, 4], series: { a: [2, null, 4], b: [5, 6, 7] } });
    assert.deepEqual(topSeries(r.series, 1), ['b']);
  });

  it('finds the numeric columns of a query result (numbers, numeric strings, nulls)', () => {
    const r = { columns: [{ name: 'term', type: 'VARCHAR' }, { name: 'n', type: 'BIGINT' }, { name: 'd', type: 'DECIMAL' }, { name: 'x', type: 'VARCHAR' }], rows: [['치킨', 3, '1.50', null], ['피자', null, '12', 'a']], truncated: false, elapsedMs: 1 };
    assert.deepEqual(numericColumns(r), [1, 2]);
    assert.deepEqual(numericColumns({ ...r, rows: [] }), []);
  });
});
