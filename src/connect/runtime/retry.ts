/** Exponential backoff with jitter, and the retry loop the runtime wraps around retriable work. */
import { ConnectError, errorMessage, isRetriable } from '../errors.ts';

/** Delay before retry number `attempt` (0-based): initial × 2^attempt, capped, ±20 % jitter. Pure given `random`. */
export function backoffDelay(attempt: number, opts: { initialMs?: number; maxMs: number; random?: () => number }): number {
  const initial = opts.initialMs ?? 100;
  const base = Math.min(opts.maxMs, initial * 2 ** Math.min(attempt, 30));
  const jitter = 0.8 + 0.4 * (opts.random ?? Math.random)();
  return Math.max(1, Math.min(opts.maxMs, Math.round(base * jitter)));
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RetryOptions {
  /** Give up after this long (ms); -1 = never. */
  timeoutMs: number;
  maxDelayMs: number;
  initialMs?: number;
  signal?: AbortSignal;
  /** Called before each wait (for logs and status). */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
}

/**
 * Runs `fn` until it succeeds. Retriable errors are retried with backoff until the timeout;
 * others are thrown at once. After the timeout the last error is thrown as RETRIES_EXHAUSTED.
 * When `signal` aborts during a wait, the last error is thrown.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetriable(err)) throw err;
      if (opts.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, { maxMs: opts.maxDelayMs, ...(opts.initialMs !== undefined ? { initialMs: opts.initialMs } : {}) });
      if (opts.timeoutMs >= 0 && Date.now() - started + delay > opts.timeoutMs) {
        throw new ConnectError('RETRIES_EXHAUSTED', `gave up after ${attempt + 1} attempts in ${Date.now() - started} ms: ${errorMessage(err)}`, { cause: err });
      }
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.signal);
      if (opts.signal?.aborted) throw err;
    }
  }
}
