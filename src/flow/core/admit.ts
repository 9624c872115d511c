/**
 * Admission: which scheduled task instances may be queued now without exceeding a pool's slots,
 * a DAG's `maxActiveTasks` or the global parallelism. Pure: counts in, keys out. The caller runs
 * it inside the one critical section (a transaction holding the admission lock), so two
 * schedulers never both fill the last slot.
 */
export interface Candidate {
  key: string;
  dagId: string;
  pool: string;
  priority: number;
  /** Tie-breakers: older runs first, then lower map index. */
  runOrder: number;
  mapIndex: number;
}

export interface Usage {
  /** Queued + running per pool. */
  pools: ReadonlyMap<string, number>;
  /** Queued + running per DAG. */
  dags: ReadonlyMap<string, number>;
  total: number;
}

export interface Limits {
  /** Slots per pool; a pool not listed is unknown. */
  pools: ReadonlyMap<string, number>;
  maxActiveTasks: ReadonlyMap<string, number>;
  /** Across everything (default: no limit). */
  parallelism: number;
}

export interface Admission {
  admit: string[];
  /** Candidates naming a pool that does not exist: they fail with a message saying so. */
  unknownPool: Array<{ key: string; pool: string }>;
}

export function admit(candidates: readonly Candidate[], usage: Usage, limits: Limits): Admission {
  const pools = new Map(usage.pools);
  const dags = new Map(usage.dags);
  let total = usage.total;
  const out: Admission = { admit: [], unknownPool: [] };
  const sorted = [...candidates].sort((a, b) => b.priority - a.priority || a.runOrder - b.runOrder || a.mapIndex - b.mapIndex || (a.key < b.key ? -1 : 1));
  for (const c of sorted) {
    const slots = limits.pools.get(c.pool);
    if (slots === undefined) {
      out.unknownPool.push({ key: c.key, pool: c.pool });
      continue;
    }
    if (total >= limits.parallelism) break;
    if ((pools.get(c.pool) ?? 0) >= slots) continue;
    if ((dags.get(c.dagId) ?? 0) >= (limits.maxActiveTasks.get(c.dagId) ?? Infinity)) continue;
    out.admit.push(c.key);
    pools.set(c.pool, (pools.get(c.pool) ?? 0) + 1);
    dags.set(c.dagId, (dags.get(c.dagId) ?? 0) + 1);
    total++;
  }
  return out;
}
