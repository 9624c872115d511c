/**
 * Windowed aggregations: tumbling/hopping, sliding and session windows.
 *
 * Each keeps its windows in a `WindowedStore` and a heap of close times. A record updates every
 * window it belongs to that is still open; one that finds all its windows closed is late and
 * goes to the side output. When the watermark passes a window's close time the window is
 * removed and, in `final` mode, its result is emitted then (once); in `update` mode every
 * change was emitted as it happened. Results are table changes keyed by `Windowed<K>`.
 * After a restore the heaps are rebuilt from the stores (`init`).
 */
import type { Change, Processor, ProcessorContext, Rec } from '../topology.ts';
import { keyId, type WindowedStore, type WindowedEntry } from '../state/stores.ts';
import { isClosed, lastTimeOf, windowStartsFor, type EmitMode, type SessionSpec, type SlidingSpec, type TumblingSpec, type HoppingSpec, type Windowed } from '../windows.ts';
import { MinHeap } from './heap.ts';
import type { Aggregator, Factory } from './stateless.ts';

interface Closing {
  at: number;
  id: string;
  start: number;
  end: number;
}

function emit(ctx: ProcessorContext, e: { key: unknown; start: number; end: number }, change: Change, ts: number, headers?: Rec['headers']): void {
  const key: Windowed<unknown> = { key: e.key, start: e.start, end: e.end };
  ctx.forward({ key, value: change, ts, ...(headers ? { headers } : {}) });
}

export interface WindowAggOptions {
  store: string;
  emit: EmitMode;
  lateTopic: string;
  init: () => unknown;
  agg: Aggregator;
}

/** Closes windows up to the watermark: shared by all three kinds. */
function closeUpTo(ctx: ProcessorContext, heap: MinHeap<Closing>, store: WindowedStore, wm: number, mode: EmitMode): void {
  for (let top = heap.peek(); top && top.at < wm; top = heap.peek()) {
    heap.pop();
    const e = store.getByKeyId(top.id, top.start, top.end);
    if (!e) continue; // merged away (sessions) or already closed
    store.delete(e.key, e.start, e.end);
    if (mode === 'final') emit(ctx, e, { newValue: e.value, oldValue: null }, Math.max(e.start, Math.min(top.at, e.end)));
  }
}

export const timeWindowAggProc = (spec: TumblingSpec | HoppingSpec, o: WindowAggOptions): Factory => (ctx): Processor => {
  let store: WindowedStore;
  const heap = new MinHeap<Closing>();
  const closeAt = (start: number, end: number) => lastTimeOf(spec, start, end) + spec.grace;
  return {
    init() {
      store = ctx.store<WindowedStore>(o.store);
      heap.clear();
      for (const e of store.entries()) heap.push({ at: closeAt(e.start, e.end), id: keyId(e.key), start: e.start, end: e.end });
    },
    onWatermark(wm) {
      closeUpTo(ctx, heap, store, wm, o.emit);
    },
    process(r) {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      const wm = ctx.watermark();
      let accepted = false;
      let id: string | null = null;
      for (const start of windowStartsFor(spec, r.ts)) {
        const end = start + spec.size;
        if (isClosed(spec, start, end, wm)) continue;
        accepted = true;
        const old = store.get(r.key, start, end);
        const next = o.agg(r.key, r.value, old === undefined ? o.init() : old);
        store.put(r.key, start, end, next);
        if (old === undefined) heap.push({ at: closeAt(start, end), id: (id ??= keyId(r.key)), start, end });
        if (o.emit === 'update') emit(ctx, { key: r.key, start, end }, { newValue: next, oldValue: old ?? null }, r.ts, r.headers);
      }
      if (!accepted) ctx.late(r, o.lateTopic);
    },
  };
};

/**
 * Sliding windows: one window `[t - size, t]` per distinct record time `t` of a key. A new
 * window is built from the buffered records of its key (kept in `<store>-records` until no new
 * window can include them); later records update every open window that covers them.
 */
export const slidingWindowAggProc = (spec: SlidingSpec, o: WindowAggOptions & { bufferStore: string }): Factory => (ctx): Processor => {
  let store: WindowedStore;
  let buffer: WindowedStore;
  const heap = new MinHeap<Closing>();
  const expiry = new MinHeap<Closing>();
  return {
    init() {
      store = ctx.store<WindowedStore>(o.store);
      buffer = ctx.store<WindowedStore>(o.bufferStore);
      heap.clear();
      expiry.clear();
      for (const e of store.entries()) heap.push({ at: e.end + spec.grace, id: keyId(e.key), start: e.start, end: e.end });
      for (const e of buffer.entries()) expiry.push({ at: e.start + spec.size + spec.grace, id: keyId(e.key), start: e.start, end: e.end });
    },
    onWatermark(wm) {
      closeUpTo(ctx, heap, store, wm, o.emit);
      for (let top = expiry.peek(); top && top.at < wm; top = expiry.peek()) {
        expiry.pop();
        const e = buffer.getByKeyId(top.id, top.start, top.end);
        if (e) buffer.delete(e.key, e.start, e.end);
      }
    },
    process(r) {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      const t = r.ts;
      if (t + spec.grace < ctx.watermark()) {
        ctx.late(r, o.lateTopic);
        return;
      }
      const id = keyId(r.key);
      const records = buffer.byKeyId(id);
      let seq = 0;
      for (const e of records) if (e.start === t) seq++;
      buffer.put(r.key, t, seq, r.value);
      expiry.push({ at: t + spec.size + spec.grace, id, start: t, end: seq });
      // Windows of this key that end at or after t and start at or before t: add the record.
      const windows = store.byKeyId(id);
      let own: WindowedEntry | undefined;
      for (const w of windows) {
        if (w.end === t) own = w;
        if (w.end < t || w.start > t || w.end === t) continue;
        const next = o.agg(r.key, r.value, w.value);
        const old = w.value;
        store.put(r.key, w.start, w.end, next);
        if (o.emit === 'update') emit(ctx, w, { newValue: next, oldValue: old }, r.ts, r.headers);
      }
      if (own) {
        const next = o.agg(r.key, r.value, own.value);
        const old = own.value;
        store.put(r.key, own.start, own.end, next);
        if (o.emit === 'update') emit(ctx, own, { newValue: next, oldValue: old }, r.ts, r.headers);
      } else {
        let agg = o.init();
        for (const e of records) if (e.start >= t - spec.size && e.start <= t) agg = o.agg(r.key, e.value, agg);
        agg = o.agg(r.key, r.value, agg);
        store.put(r.key, t - spec.size, t, agg);
        heap.push({ at: t + spec.grace, id, start: t - spec.size, end: t });
        if (o.emit === 'update') emit(ctx, { key: r.key, start: t - spec.size, end: t }, { newValue: agg, oldValue: null }, r.ts, r.headers);
      }
    },
  };
};

/**
 * Session windows: a record joins (and merges) every session of its key that it lies less than
 * `gap` from; merged-away sessions are retracted (a change with newValue null) in update mode.
 */
export const sessionAggProc = (spec: SessionSpec, o: WindowAggOptions & { merge: (key: unknown, a: unknown, b: unknown) => unknown }): Factory => (ctx): Processor => {
  let store: WindowedStore;
  const heap = new MinHeap<Closing>();
  const closeAt = (start: number, end: number) => lastTimeOf(spec, start, end) + spec.grace;
  return {
    init() {
      store = ctx.store<WindowedStore>(o.store);
      heap.clear();
      for (const e of store.entries()) heap.push({ at: closeAt(e.start, e.end), id: keyId(e.key), start: e.start, end: e.end });
    },
    onWatermark(wm) {
      closeUpTo(ctx, heap, store, wm, o.emit);
    },
    process(r) {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      const t = r.ts;
      if (t + spec.grace < ctx.watermark()) {
        ctx.late(r, o.lateTopic);
        return;
      }
      const id = keyId(r.key);
      let start = t;
      let end = t;
      let agg: unknown = undefined;
      for (const s of store.byKeyId(id)) {
        if (t - s.end >= spec.gap || s.start - t >= spec.gap) continue;
        start = Math.min(start, s.start);
        end = Math.max(end, s.end);
        agg = agg === undefined ? s.value : o.merge(r.key, agg, s.value);
        store.delete(s.key, s.start, s.end);
        if (o.emit === 'update') emit(ctx, s, { newValue: null, oldValue: s.value }, r.ts, r.headers);
      }
      const next = o.agg(r.key, r.value, agg === undefined ? o.init() : agg);
      store.put(r.key, start, end, next);
      heap.push({ at: closeAt(start, end), id, start, end });
      if (o.emit === 'update') emit(ctx, { key: r.key, start, end }, { newValue: next, oldValue: null }, r.ts, r.headers);
    },
  };
};
