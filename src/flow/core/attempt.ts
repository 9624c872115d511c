/**
 * What an attempt's outcome does to its task instance: a pure function of the policy, the
 * counters, the outcome, the clock and a random number (for jitter), applied by the worker in the
 * same statement that records the outcome.
 */
import type { SensorTiming, TaskPolicy } from '../define/types.ts';
import type { TaskState } from './states.ts';

export type AttemptOutcome =
  | { kind: 'success'; output: unknown }
  /** A sensor's check said "not yet". */
  | { kind: 'not-ready' }
  | { kind: 'failure'; error: string; code: string; retriable: boolean };

export interface AttemptCounters {
  tryNumber: number;
  tryBase: number;
  lostCount: number;
  firstStartedAt: number | null;
}

export interface AttemptResult {
  state: TaskState;
  nextTryAt: number | null;
  error: string | null;
}

/**
 * Delay before retry number `retry` (1 = first retry): `retryDelayMs · retryBackoff^(retry−1)`,
 * capped at `maxRetryDelayMs`, plus up to `retryJitter` of itself at random (so a failing
 * dependency is not hit by every task at the same instant), capped again.
 */
export function retryDelay(policy: Pick<TaskPolicy, 'retryDelayMs' | 'retryBackoff' | 'maxRetryDelayMs' | 'retryJitter'>, retry: number, random: number): number {
  const base = Math.min(policy.maxRetryDelayMs, policy.retryDelayMs * policy.retryBackoff ** Math.max(0, retry - 1));
  return Math.round(Math.min(policy.maxRetryDelayMs, base * (1 + policy.retryJitter * random)));
}

/**
 * @example
 * ```ts
 * afterAttempt(policy, null, { tryNumber: 1, tryBase: 0, lostCount: 0, firstStartedAt: null }, { kind: 'failure', error: 'boom', code: 'TASK_FAILED', retriable: true }, now, Math.random());
 * // → { state: 'up_for_retry', nextTryAt: now + 1000…1200, error: 'boom' }
 * ```
 */
export function afterAttempt(
  policy: TaskPolicy,
  sensor: Required<SensorTiming> | null,
  c: AttemptCounters,
  outcome: AttemptOutcome,
  now: number,
  random: number,
): AttemptResult {
  if (outcome.kind === 'success') return { state: 'success', nextTryAt: null, error: null };
  if (outcome.kind === 'not-ready') {
    if (sensor && c.firstStartedAt !== null && now + sensor.pokeIntervalMs - c.firstStartedAt > sensor.maxWaitMs) {
      return sensor.softFail
        ? { state: 'skipped', nextTryAt: null, error: `sensor gave up after waiting ${sensor.maxWaitMs} ms (softFail)` }
        : { state: 'failed', nextTryAt: null, error: `SENSOR_TIMEOUT: the condition was not met within ${sensor.maxWaitMs} ms` };
    }
    return { state: 'up_for_reschedule', nextTryAt: now + (sensor?.pokeIntervalMs ?? 30_000), error: null };
  }
  // Attempts lost with their worker are not the task's failures.
  const failures = c.tryNumber - c.tryBase - c.lostCount;
  if (outcome.retriable && failures <= policy.retries) {
    return { state: 'up_for_retry', nextTryAt: now + retryDelay(policy, failures, random), error: outcome.error };
  }
  return { state: 'failed', nextTryAt: null, error: outcome.error };
}
