import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateGroupLag, evaluatePartitionLag, type LagSample } from '../../src/monitor/lag/evaluate.ts';

/** Samples 5 s apart from [committed, highWatermark] pairs. */
function win(...pairs: Array<[number | null, number]>): LagSample[] {
  return pairs.map(([committedOffset, highWatermark], i) => ({ time: 1_000_000 + i * 5000, committedOffset, highWatermark }));
}

describe('lag evaluation (Burrow rules over a sliding window)', () => {
  it('is OK when the consumer caught up at some point of the window, however large the lag now', () => {
    const ev = evaluatePartitionLag(win([10, 10], [10, 500], [10, 900], [10, 1200]), { minSamples: 4 });
    assert.equal(ev.status, 'OK');
    assert.equal(ev.lag, 1190);
    assert.match(ev.reason, /caught up within the window/);
  });

  it('is STALLED when the committed offset never moves while records wait', () => {
    const ev = evaluatePartitionLag(win([10, 20], [10, 30], [10, 40], [10, 40]), { minSamples: 4 });
    assert.equal(ev.status, 'STALLED');
    assert.equal(ev.complete, true);
    assert.equal(ev.reason, 'no progress for 15 s while 30 records waited');
  });

  it('is STALLED even when nothing new arrives (a fixed lag that never shrinks)', () => {
    const ev = evaluatePartitionLag(win([7, 12], [7, 12], [7, 12]), { minSamples: 3 });
    assert.equal(ev.status, 'STALLED');
  });

  it('is WARN when the consumer moves but lag grows in every interval', () => {
    const ev = evaluatePartitionLag(win([10, 20], [15, 30], [20, 45], [25, 70]), { minSamples: 4 });
    assert.equal(ev.status, 'WARN');
    assert.match(ev.reason, /lag grew in every interval/);
  });

  it('is OK when lag grows in some intervals and shrinks in others (no fixed threshold)', () => {
    const ev = evaluatePartitionLag(win([100, 10_100], [5000, 12_000], [9000, 20_000], [18_000, 21_000]), { minSamples: 4 });
    assert.equal(ev.status, 'OK');
    assert.equal(ev.lag, 3000);
  });

  it('is OK but incomplete while the window is not full, even if it looks stalled', () => {
    const ev = evaluatePartitionLag(win([10, 20], [10, 30]), { minSamples: 4 });
    assert.equal(ev.status, 'OK');
    assert.equal(ev.complete, false);
    assert.match(ev.reason, /collecting a trend \(2 of 4 samples\)/);
  });

  it('warns when the committed offset moved backwards (a reset)', () => {
    const ev = evaluatePartitionLag(win([50, 60], [20, 61], [25, 62]), { minSamples: 3 });
    assert.equal(ev.status, 'WARN');
    assert.match(ev.reason, /moved back from 50 to 20/);
  });

  it('is OK when nothing is committed yet, and when there are no samples', () => {
    assert.equal(evaluatePartitionLag(win([null, 10], [null, 20], [null, 30])).status, 'OK');
    assert.equal(evaluatePartitionLag(win([null, 10], [null, 20], [null, 30])).lag, null);
    assert.equal(evaluatePartitionLag([]).complete, false);
  });

  it('counts only samples with a committed offset toward the window', () => {
    const ev = evaluatePartitionLag(win([null, 10], [null, 20], [5, 30]), { minSamples: 3 });
    assert.equal(ev.status, 'OK');
    assert.equal(ev.complete, false);
  });

  it('gives the group its worst partition, naming it', () => {
    const ev = evaluateGroupLag(
      new Map([
        ['orders/0', win([10, 10], [20, 20], [30, 30])],
        ['orders/1', win([10, 20], [15, 30], [20, 45])],
        ['orders/2', win([10, 20], [10, 30], [10, 40])],
      ]),
      { minSamples: 3 },
    );
    assert.equal(ev.status, 'STALLED');
    assert.match(ev.reason, /^orders\/2: no progress/);
    assert.equal(ev.partitions.get('orders/1')!.status, 'WARN');
    assert.equal(ev.partitions.get('orders/0')!.status, 'OK');
  });

  it('calls a group OK with every partition keeping up, and incomplete while any window is short', () => {
    const full = evaluateGroupLag(new Map([['a/0', win([1, 1], [2, 2], [3, 3])]]), { minSamples: 3 });
    assert.deepEqual([full.status, full.complete, full.reason], ['OK', true, 'every partition is keeping up']);
    const short = evaluateGroupLag(new Map([['a/0', win([1, 5], [2, 7])]]), { minSamples: 3 });
    assert.deepEqual([short.status, short.complete], ['OK', false]);
  });
});
