/**
 * The scheduler lease (embedded SQLite metadata: exactly one scheduler acts at a time).
 * A holder renews before `expiresAt`; anyone may take a lease that has expired. Pure decision;
 * the store applies it with a compare-and-set on (holder, expiresAt).
 */
export interface LeaseRow {
  holder: string;
  expiresAt: number;
}

export type LeaseDecision = { type: 'acquire'; expiresAt: number } | { type: 'renew'; expiresAt: number } | { type: 'standby'; holder: string; until: number };

export function decideLease(current: LeaseRow | null, me: string, now: number, ttlMs: number): LeaseDecision {
  if (current === null) return { type: 'acquire', expiresAt: now + ttlMs };
  if (current.holder === me) return { type: 'renew', expiresAt: now + ttlMs };
  if (current.expiresAt <= now) return { type: 'acquire', expiresAt: now + ttlMs };
  return { type: 'standby', holder: current.holder, until: current.expiresAt };
}
