/**
 * Watermarks across a repartition: upstream tasks pass their watermark down as marker records, so
 * an upstream task that is slow to commit never has its channel released for silence (its
 * records would be late), while an idle upstream task that never saw data stops holding the
 * downstream back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamsBuilder, TimeWindows, TopologyTestDriver } from '../../src/streams/index.ts';
import { WATERMARK_HEADER } from '../../src/streams/runtime/task.ts';
import { WatermarkTracker } from '../../src/streams/watermarks.ts';

const IDLE = 1_000;

test('an upstream-task channel is not released for silence, even while the task starves', () => {
  const w = new WatermarkTracker(['rep:0/0_0', 'rep:0/0_1'], IDLE, 0);
  w.observe('rep:0/0_0', 50_000, 10);
  assert.equal(w.watermark, -Infinity, 'writer 0_1 has not spoken: the watermark waits');
  // Long silence of writer 0_1 (a slow commit upstream); the task's polls bring nothing.
  assert.equal(w.advance(100 * IDLE, true), -Infinity);
  // Its records then arrive and are on time.
  w.observe('rep:0/0_1', 20_000, 100 * IDLE + 1);
  assert.equal(w.watermark, 20_000);
  // A marker moves the channel on without data.
  w.mark('rep:0/0_1', 60_000, false, 100 * IDLE + 2);
  assert.equal(w.watermark, 50_000);
});

test('an idle upstream task that never saw data is left out; its first record brings it back', () => {
  const w = new WatermarkTracker(['rep:0/0_0', 'rep:0/0_1'], IDLE, 0);
  w.observe('rep:0/0_0', 5_000, 10);
  w.mark('rep:0/0_1', null, true, 20);
  assert.equal(w.watermark, 5_000);
  w.observe('rep:0/0_0', 9_000, 30);
  assert.equal(w.watermark, 9_000);
  w.observe('rep:0/0_1', 9_500, 40);
  w.observe('rep:0/0_0', 12_000, 50);
  assert.equal(w.watermark, 9_500, 'the channel holds the watermark again');
});

test('input partitions are still released after idleMs of silence while the task starves', () => {
  const w = new WatermarkTracker(['in:0', 'in:1'], IDLE, 0);
  w.observe('in:0', 5_000, 10);
  assert.equal(w.watermark, -Infinity);
  assert.equal(w.advance(IDLE + 5, true), 5_000, "in:1 (silent since the start) no longer holds in:0 back");
});

test('upstream tasks write watermark markers into every partition of the repartition topic; read() leaves them out; windows close from them', () => {
  const b = new StreamsBuilder('wm');
  b.stream<string, { g: string }>('in')
    .groupBy((_k, v) => v.g, { name: 'by-g' })
    .windowedBy(TimeWindows.tumbling(1_000).grace(0))
    .count({ name: 'counts', emit: 'final' })
    .toStream((w) => `${w.key}@${w.start}`)
    .to('out');
  const d = new TopologyTestDriver(b.build(), { partitions: { in: 2 }, wallClock: 0, idleMs: 60_000 });
  d.pipe('in', 'k1', { g: 'a' }, 100);
  d.pipe('in', 'k2', { g: 'b' }, 200);
  const raw = d.readRaw('wm-by-g-repartition');
  const markers = raw.filter((r) => r.headers.some((h) => h.key === WATERMARK_HEADER));
  assert.ok(markers.length > 0, 'markers were written');
  assert.deepEqual(new Set(markers.map((m) => m.partition)), new Set([0, 1]), 'to every partition');
  assert.ok(markers.every((m) => m.key === null && m.value === null));
  assert.equal(d.read('wm-by-g-repartition').length, 2, 'read() shows the data records only');
  // Event time moves past the window on both input partitions: the markers close it downstream.
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
  for (const k of keys) d.pipe('in', k, { g: 'c' }, 5_000);
  const out = d.read<string, number>('out', { value: { name: 'n', serialize: () => null, deserialize: (x) => Number(x!.toString()) } });
  assert.deepEqual(out.filter((r) => r.key.endsWith('@0')).map((r) => [r.key, r.value]).sort(), [['a@0', 1], ['b@0', 1]]);
});
