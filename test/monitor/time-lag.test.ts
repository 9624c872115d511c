import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateTimeLag } from '../../src/monitor/lag/time-lag.ts';

describe('time lag from the high-watermark history', () => {
  const history = [
    { time: 0, highWatermark: 0 },
    { time: 10_000, highWatermark: 100 },
    { time: 20_000, highWatermark: 100 },
    { time: 30_000, highWatermark: 300 },
  ];

  it('is zero when the consumer is at the high watermark', () => {
    assert.deepEqual(estimateTimeLag(history, 300, 40_000), { seconds: 0, lowerBound: false });
  });

  it('interpolates when the watermark passed the committed offset', () => {
    // offset 49 became visible when the watermark reached 50: half-way through the first 10 s
    assert.deepEqual(estimateTimeLag(history, 49, 40_000), { seconds: 35, lowerBound: false });
    // offset 199 became visible at watermark 200: half-way between 20 s and 30 s
    assert.deepEqual(estimateTimeLag(history, 199, 40_000), { seconds: 15, lowerBound: false });
  });

  it('does not count the idle stretch where the watermark stood still', () => {
    // offset 100 appeared in (20 s, 30 s], not at 10 s
    const { seconds } = estimateTimeLag(history, 100, 30_000);
    assert.ok(seconds <= 10 && seconds > 0, `got ${seconds}`);
  });

  it('is a lower bound when the committed offset predates the history', () => {
    assert.deepEqual(estimateTimeLag(history.slice(1), 20, 40_000), { seconds: 30, lowerBound: true });
  });

  it('starts over after the watermark dropped (topic re-created)', () => {
    const h = [
      { time: 0, highWatermark: 500 },
      { time: 10_000, highWatermark: 600 },
      { time: 20_000, highWatermark: 0 },
      { time: 30_000, highWatermark: 10 },
    ];
    assert.deepEqual(estimateTimeLag(h, 4, 30_000), { seconds: 5, lowerBound: false });
  });

  it('is zero without history', () => {
    assert.deepEqual(estimateTimeLag([], 5, 1000), { seconds: 0, lowerBound: false });
  });
});
