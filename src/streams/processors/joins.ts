/**
 * Joins.
 *
 * - stream–stream (windowed): each side buffers its records in a store (`start` = record time,
 *   `end` = a sequence number within that time) until no on-time record of the other side can
 *   match it any more: a left record at `t` waits until the watermark passes
 *   `t + after + grace`, a right one `t + before + grace`. Inner joins emit on every match;
 *   left/outer joins remember whether a record matched and emit it with null for the other
 *   side when it expires unmatched — so a left join never emits a spurious (v, null) that a
 *   later match would contradict, and its output equals the batch LEFT JOIN.
 * - stream–table: a stream record looks up the table's store (current value).
 * - table–table: a change on either side looks up the other side's store; the result is a
 *   materialized table.
 * - foreign key: see `fkJoin*` below.
 */
import type { Change, Processor, Rec } from '../topology.ts';
import { encodeKey, keyId, type KeyValueStore, type WindowedStore } from '../state/stores.ts';
import { MinHeap } from './heap.ts';
import type { Factory } from './stateless.ts';

export type JoinKind = 'inner' | 'left' | 'outer';

interface Buffered {
  v: unknown;
  m: boolean;
}

interface Expiry {
  at: number;
  id: string;
  start: number;
  end: number;
}

export interface StreamJoinOptions {
  kind: JoinKind;
  before: number;
  after: number;
  grace: number;
  leftStore: string;
  rightStore: string;
  leftNode: number;
  lateTopic: string;
  joiner: (left: unknown, right: unknown, key: unknown) => unknown;
}

export const streamStreamJoinProc = (o: StreamJoinOptions): Factory => (ctx): Processor => {
  let left: WindowedStore<unknown, Buffered>;
  let right: WindowedStore<unknown, Buffered>;
  const leftExp = new MinHeap<Expiry>();
  const rightExp = new MinHeap<Expiry>();
  const expire = (heap: MinHeap<Expiry>, store: WindowedStore<unknown, Buffered>, wm: number, emitUnmatched: boolean, isLeft: boolean) => {
    for (let top = heap.peek(); top && top.at < wm; top = heap.peek()) {
      heap.pop();
      const e = store.getByKeyId(top.id, top.start, top.end);
      if (!e) continue;
      store.delete(e.key, e.start, e.end);
      if (emitUnmatched && !e.value.m) {
        const v = isLeft ? o.joiner(e.value.v, null, e.key) : o.joiner(null, e.value.v, e.key);
        ctx.forward({ key: e.key, value: v, ts: e.start });
      }
    }
  };
  return {
    init() {
      left = ctx.store(o.leftStore);
      right = ctx.store(o.rightStore);
      leftExp.clear();
      rightExp.clear();
      for (const e of left.entries()) leftExp.push({ at: e.start + o.after + o.grace, id: keyId(e.key), start: e.start, end: e.end });
      for (const e of right.entries()) rightExp.push({ at: e.start + o.before + o.grace, id: keyId(e.key), start: e.start, end: e.end });
    },
    onWatermark(wm) {
      expire(leftExp, left, wm, o.kind !== 'inner', true);
      expire(rightExp, right, wm, o.kind === 'outer', false);
    },
    process(r, from) {
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      const isLeft = from === o.leftNode;
      const t = r.ts;
      if (t + o.grace < ctx.watermark()) {
        ctx.late(r, o.lateTopic);
        return;
      }
      const id = keyId(r.key);
      const [mine, other, myHeap, lo, hi, wait] = isLeft
        ? [left, right, leftExp, t - o.before, t + o.after, o.after]
        : [right, left, rightExp, t - o.after, t + o.before, o.before];
      let matched = false;
      for (const e of other.byKeyId(id)) {
        if (e.start < lo || e.start > hi) continue;
        matched = true;
        if (!e.value.m) other.put(e.key, e.start, e.end, { v: e.value.v, m: true });
        const v = isLeft ? o.joiner(r.value, e.value.v, r.key) : o.joiner(e.value.v, r.value, r.key);
        ctx.forward({ key: r.key, value: v, ts: Math.max(t, e.start), ...(r.headers ? { headers: r.headers } : {}) });
      }
      let seq = 0;
      for (const e of mine.byKeyId(id)) if (e.start === t) seq = Math.max(seq, e.end + 1);
      mine.put(r.key, t, seq, { v: r.value, m: matched });
      myHeap.push({ at: t + wait + o.grace, id, start: t, end: seq });
    },
  };
};

export const streamTableJoinProc = (o: { kind: 'inner' | 'left'; tableStore: string; joiner: (v: unknown, tv: unknown, key: unknown) => unknown; streamNode: number }): Factory => (ctx): Processor => {
  let table: KeyValueStore;
  return {
    init() {
      table = ctx.store(o.tableStore);
    },
    process(r, from) {
      if (from !== o.streamNode) return; // the table side only updates its store
      if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
      const tv = table.get(r.key);
      if (tv === undefined && o.kind === 'inner') return;
      ctx.forward({ key: r.key, value: o.joiner(r.value, tv ?? null, r.key), ts: r.ts, ...(r.headers ? { headers: r.headers } : {}) });
    },
  };
};

export const tableTableJoinProc = (o: { kind: JoinKind; leftStore: string; rightStore: string; resultStore: string; leftNode: number; joiner: (l: unknown, r: unknown, key: unknown) => unknown }): Factory => (ctx): Processor => {
  let left: KeyValueStore;
  let right: KeyValueStore;
  let result: KeyValueStore;
  const compute = (l: unknown, r: unknown, key: unknown): unknown => {
    const hasL = l !== null && l !== undefined;
    const hasR = r !== null && r !== undefined;
    if (o.kind === 'inner' && !(hasL && hasR)) return null;
    if (o.kind === 'left' && !hasL) return null;
    if (!hasL && !hasR) return null;
    return o.joiner(hasL ? l : null, hasR ? r : null, key);
  };
  return {
    init() {
      left = ctx.store(o.leftStore);
      right = ctx.store(o.rightStore);
      result = ctx.store(o.resultStore);
    },
    process(r, from) {
      const c = r.value as Change;
      const isLeft = from === o.leftNode;
      // The side's own store already holds the new value (materialized upstream): read the other side.
      const next = isLeft ? compute(c.newValue, right.get(r.key), r.key) : compute(left.get(r.key), c.newValue, r.key);
      const old = result.get(r.key) ?? null;
      if (next === null) result.delete(r.key);
      else result.put(r.key, next);
      if (next === null && old === null) return;
      ctx.forward({ key: r.key, value: { newValue: next, oldValue: old } satisfies Change, ts: r.ts });
    },
  };
};

/*
 * Foreign-key table–table join (left table K→V, right table FK→VR, fk = extractor(V)), in three
 * steps over two internal topics:
 *  1. (left's task) a left change sends a subscription `{op:'sub', k}` keyed by the new fk to
 *     `<name>-fk-subscription`, and `{op:'del', k}` to the old fk when it changed; a deleted
 *     left row (or an inner join whose fk is null) emits its tombstone at once.
 *  2. (right's task, co-partitioned with the right table) subscriptions are kept in
 *     `<name>-subscriptions` (fk, k); a subscription is answered with the current right value,
 *     and a right change is sent to every subscriber: `{fk, r}` keyed by k to `<name>-fk-response`.
 *  3. (left's task) a response is joined with the *current* left value, and dropped when that
 *     value's fk is no longer the response's fk (it was overtaken by a later change).
 */
export interface FkSubscription {
  op: 'sub' | 'del';
  k: unknown;
}

export interface FkResponse {
  fk: unknown;
  r: unknown;
}

function sameKey(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return false;
  return encodeKey(a).equals(encodeKey(b));
}

export const fkLeftProc = (o: { kind: 'inner' | 'left'; fk: (v: unknown) => unknown; subscriptionTopic: string; resultStore: string; joiner: (l: unknown, r: unknown) => unknown }): Factory => (ctx): Processor => {
  let result: KeyValueStore;
  return {
    init() {
      result = ctx.store(o.resultStore);
    },
    process(r) {
      const c = r.value as Change;
      const newFk = c.newValue === null || c.newValue === undefined ? null : (o.fk(c.newValue) ?? null);
      const oldFk = c.oldValue === null || c.oldValue === undefined ? null : (o.fk(c.oldValue) ?? null);
      if (oldFk !== null && !sameKey(oldFk, newFk)) ctx.send(o.subscriptionTopic, { key: oldFk, value: { op: 'del', k: r.key } satisfies FkSubscription, ts: r.ts }, { internal: true });
      if (newFk !== null) {
        ctx.send(o.subscriptionTopic, { key: newFk, value: { op: 'sub', k: r.key } satisfies FkSubscription, ts: r.ts }, { internal: true });
        return;
      }
      const next = c.newValue !== null && c.newValue !== undefined && o.kind === 'left' ? o.joiner(c.newValue, null) : null;
      const old = result.get(r.key) ?? null;
      if (next === null) result.delete(r.key);
      else result.put(r.key, next);
      if (next !== null || old !== null) ctx.forward({ key: r.key, value: { newValue: next, oldValue: old } satisfies Change, ts: r.ts });
    },
  };
};

/** Step 2: subscriptions (from the internal source) and right-table changes (from the right table). */
export const fkRightProc = (o: { subscriptionStore: string; rightStore: string; responseTopic: string; subscriptionNode: number }): Factory => (ctx): Processor => {
  let subs: WindowedStore<unknown, unknown>;
  let right: KeyValueStore;
  return {
    init() {
      subs = ctx.store(o.subscriptionStore);
      right = ctx.store(o.rightStore);
    },
    process(r, from) {
      if (from === o.subscriptionNode) {
        const s = r.value as FkSubscription;
        const fk = r.key;
        // (fk, k) pairs live in a windowed store keyed by fk; the slot is a hash of k, probed on collision.
        const existing = subs.byKey(fk);
        const mine = existing.find((e) => sameKey(e.value, s.k));
        if (s.op === 'del') {
          if (mine) subs.delete(fk, mine.start, 0);
          return;
        }
        if (!mine) {
          let slotNo = subscriberSlot(s.k);
          while (existing.some((e) => e.start === slotNo)) slotNo++;
          subs.put(fk, slotNo, 0, s.k);
        }
        ctx.send(o.responseTopic, { key: s.k, value: { fk, r: right.get(fk) ?? null } satisfies FkResponse, ts: r.ts }, { internal: true });
        return;
      }
      const c = r.value as Change;
      for (const e of subs.byKey(r.key)) {
        ctx.send(o.responseTopic, { key: e.value, value: { fk: r.key, r: c.newValue ?? null } satisfies FkResponse, ts: r.ts }, { internal: true });
      }
    },
  };
};

/** A stable number standing for a left key inside the subscription store (FNV-1a over its bytes). */
function subscriberSlot(k: unknown): number {
  const b = encodeKey(k);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export const fkResponseProc = (o: { kind: 'inner' | 'left'; fk: (v: unknown) => unknown; leftStore: string; resultStore: string; joiner: (l: unknown, r: unknown) => unknown }): Factory => (ctx): Processor => {
  let left: KeyValueStore;
  let result: KeyValueStore;
  return {
    init() {
      left = ctx.store(o.leftStore);
      result = ctx.store(o.resultStore);
    },
    process(r: Rec) {
      const resp = r.value as FkResponse;
      const cur = left.get(r.key);
      if (cur === undefined || cur === null) return;
      if (!sameKey(o.fk(cur), resp.fk)) return; // overtaken by a later change of the left row
      const next = resp.r !== null && resp.r !== undefined ? o.joiner(cur, resp.r) : o.kind === 'left' ? o.joiner(cur, null) : null;
      const old = result.get(r.key) ?? null;
      if (next === null) result.delete(r.key);
      else result.put(r.key, next);
      if (next !== null || old !== null) ctx.forward({ key: r.key, value: { newValue: next, oldValue: old } satisfies Change, ts: r.ts });
    },
  };
};
