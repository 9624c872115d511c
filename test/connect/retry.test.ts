import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectError, RetriableError } from '../../src/connect/errors.ts';
import { backoffDelay, withRetries } from '../../src/connect/runtime/retry.ts';

describe('retries with backoff', () => {
  it('doubles up to the cap, with ±20 % jitter', () => {
    const mid = () => 0.5;
    assert.deepEqual([0, 1, 2, 3, 10].map((a) => backoffDelay(a, { initialMs: 100, maxMs: 1000, random: mid })), [100, 200, 400, 800, 1000]);
    assert.equal(backoffDelay(0, { initialMs: 100, maxMs: 1000, random: () => 0 }), 80);
    assert.equal(backoffDelay(0, { initialMs: 100, maxMs: 1000, random: () => 1 }), 120);
  });

  it('retries retriable errors until success; other errors at once; gives up after the timeout', async () => {
    let n = 0;
    const v = await withRetries(async () => {
      if (++n < 3) throw new RetriableError('db down');
      return 'ok';
    }, { timeoutMs: -1, maxDelayMs: 5, initialMs: 1 });
    assert.deepEqual([v, n], ['ok', 3]);

    let m = 0;
    await assert.rejects(withRetries(async () => { m++; throw new ConnectError('RECORD_INVALID', 'bad'); }, { timeoutMs: -1, maxDelayMs: 5 }), /bad/);
    assert.equal(m, 1, 'not retried');

    const net = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await assert.rejects(
      withRetries(async () => { throw net; }, { timeoutMs: 30, maxDelayMs: 10, initialMs: 5 }),
      (e: ConnectError) => e.code === 'RETRIES_EXHAUSTED' && /ECONNREFUSED/.test(e.message),
    );

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(withRetries(async () => { throw new RetriableError('still down'); }, { timeoutMs: -1, maxDelayMs: 10_000, initialMs: 10_000, signal: ac.signal }), /still down/);
  });
});
