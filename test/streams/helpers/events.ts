/** Deterministic test events with bounded disorder (a seeded LCG, no Math.random). */
export interface Ev {
  k: string;
  ts: number;
  v: number;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * `n` events over `keys` keys; time advances by 0–`step` ms per event and each event's time is
 * moved back by up to `disorder` ms (so arrival order differs from time order by at most that).
 */
export function events(n: number, opts: { seed?: number; keys?: number; step?: number; disorder?: number; base?: number } = {}): Ev[] {
  const r = rng(opts.seed ?? 1);
  const keys = opts.keys ?? 5;
  let t = opts.base ?? 1_000_000;
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    t += Math.floor(r() * (opts.step ?? 100));
    const ts = t - Math.floor(r() * (opts.disorder ?? 0));
    out.push({ k: `k${Math.floor(r() * keys)}`, ts, v: Math.floor(r() * 1000) });
  }
  return out;
}
