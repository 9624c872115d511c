/** Processors without state, and the table operators that only look at the change they get. */
import type { Change, Processor, ProcessorContext, Rec, SendOptions } from '../topology.ts';
import type { KeyValueStore } from '../state/stores.ts';

export type Factory = (ctx: ProcessorContext) => Processor;

export const filterProc = (pred: (k: unknown, v: unknown) => boolean, negate: boolean): Factory => (ctx) => ({
  process(r) {
    if (Boolean(pred(r.key, r.value)) !== negate) ctx.forward(r);
  },
});

export const mapProc = (fn: (k: unknown, v: unknown) => [unknown, unknown]): Factory => (ctx) => ({
  process(r) {
    const out = fn(r.key, r.value);
    if (!Array.isArray(out) || out.length !== 2) throw new Error('map() must return a [key, value] pair');
    ctx.forward({ key: out[0], value: out[1], ts: r.ts, headers: r.headers });
  },
});

export const mapValuesProc = (fn: (v: unknown, k: unknown) => unknown): Factory => (ctx) => ({
  process(r) {
    ctx.forward({ key: r.key, value: fn(r.value, r.key), ts: r.ts, headers: r.headers });
  },
});

export const flatMapProc = (fn: (k: unknown, v: unknown) => Iterable<[unknown, unknown]>): Factory => (ctx) => ({
  process(r) {
    for (const kv of fn(r.key, r.value)) ctx.forward({ key: kv[0], value: kv[1], ts: r.ts, headers: r.headers });
  },
});

export const flatMapValuesProc = (fn: (v: unknown, k: unknown) => Iterable<unknown>): Factory => (ctx) => ({
  process(r) {
    for (const v of fn(r.value, r.key)) ctx.forward({ key: r.key, value: v, ts: r.ts, headers: r.headers });
  },
});

export const selectKeyProc = (fn: (k: unknown, v: unknown) => unknown): Factory => (ctx) => ({
  process(r) {
    ctx.forward({ key: fn(r.key, r.value), value: r.value, ts: r.ts, headers: r.headers });
  },
});

export const peekProc = (fn: (k: unknown, v: unknown) => void): Factory => (ctx) => ({
  process(r) {
    fn(r.key, r.value);
    ctx.forward(r);
  },
});

/** A record goes to the first branch whose predicate holds (or nowhere). */
export const branchProc = (preds: Array<(k: unknown, v: unknown) => boolean>): Factory => (ctx) => ({
  process(r) {
    for (let i = 0; i < preds.length; i++) {
      if (preds[i]!(r.key, r.value)) {
        ctx.forwardTo(i, r);
        return;
      }
    }
  },
});

export const passProc: Factory = (ctx) => ({
  process(r) {
    ctx.forward(r);
  },
});

export const sinkProc = (topic: string, opts: SendOptions): Factory => (ctx) => ({
  process(r) {
    ctx.send(topic, r, opts);
  },
});

/** Sink with a topic chosen per record. */
export const dynamicSinkProc = (choose: (k: unknown, v: unknown) => string, opts: SendOptions): Factory => (ctx) => ({
  process(r) {
    ctx.send(choose(r.key, r.value), r, opts);
  },
});

export const toStreamProc = (mapKey?: (k: unknown, v: unknown) => unknown): Factory => (ctx) => ({
  process(r) {
    const c = r.value as Change;
    ctx.forward({ key: mapKey ? mapKey(r.key, c.newValue) : r.key, value: c.newValue, ts: r.ts, headers: r.headers });
  },
});

/** Puts a change into the table's store (when materialized) and forwards it with the stored old value. */
function materialize(ctx: ProcessorContext, store: string | null, r: Rec, next: unknown, computedOld: unknown): void {
  let old = computedOld;
  if (store) {
    const s = ctx.store<KeyValueStore>(store);
    old = s.get(r.key) ?? null;
    if (next === null || next === undefined) s.delete(r.key);
    else s.put(r.key, next);
  }
  if ((next ?? null) === null && (old ?? null) === null) return;
  ctx.forward({ key: r.key, value: { newValue: next ?? null, oldValue: old ?? null } satisfies Change, ts: r.ts, headers: r.headers });
}

/** stream.toTable() and builder.table(): every record is the key's new value (null deletes). */
export const toTableProc = (store: string): Factory => (ctx) => ({
  process(r) {
    if (r.key === null || r.key === undefined) return;
    materialize(ctx, store, r, r.value, null);
  },
});

export const tableFilterProc = (pred: (k: unknown, v: unknown) => boolean, negate: boolean, store: string | null): Factory => (ctx) => ({
  process(r) {
    const c = r.value as Change;
    const keep = (v: unknown) => (v !== null && v !== undefined && Boolean(pred(r.key, v)) !== negate ? v : null);
    materialize(ctx, store, r, keep(c.newValue), keep(c.oldValue));
  },
});

export const tableMapValuesProc = (fn: (v: unknown, k: unknown) => unknown, store: string | null): Factory => (ctx) => ({
  process(r) {
    const c = r.value as Change;
    const f = (v: unknown) => (v === null || v === undefined ? null : fn(v, r.key));
    materialize(ctx, store, r, f(c.newValue), store ? null : f(c.oldValue));
  },
});

export type Aggregator = (key: unknown, value: unknown, agg: unknown) => unknown;

/** count / reduce / aggregate on a grouped stream: one value per key in a key-value store. */
export const aggregateProc = (store: string, init: () => unknown, agg: Aggregator): Factory => (ctx) => {
  let s: KeyValueStore;
  return {
    init() {
      s = ctx.store<KeyValueStore>(store);
    },
    process(r) {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      const old = s.get(r.key);
      const next = agg(r.key, r.value, old === undefined ? init() : old);
      s.put(r.key, next);
      ctx.forward({ key: r.key, value: { newValue: next, oldValue: old ?? null } satisfies Change, ts: r.ts, headers: r.headers });
    },
  };
};
