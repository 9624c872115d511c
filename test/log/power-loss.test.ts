/**
 * Power-loss simulation: the log runs on a file system that forgets everything not made
 * durable (unsynced bytes, unsynced new files and renames) at random moments. After every cut
 * and recovery, every acknowledged record must be present and nothing may read as corrupt.
 * Seeded: set POWER_LOSS_SEED / POWER_LOSS_CUTS to reproduce or run longer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { Log } from '../../src/log/log.ts';
import { encodeRecordBatch } from '../../src/log/batch/record-batch.ts';
import { SimFileSystem, seededRng, type Rng } from '../helpers/sim-fs.ts';

const SEED = Number(process.env.POWER_LOSS_SEED ?? 20261125);
const CUTS = Number(process.env.POWER_LOSS_CUTS ?? 300);
const EVENTS = 'events';
const STATE = 'state';
const EVENT_PARTITIONS = 3;
const IDEM = 'idem';

interface Model {
  acked: Map<string, Map<number, string>>; // "topic/p" -> offset -> value
  requestedDeleteBefore: Map<string, number>;
  /** Records ever handed to append per partition: no offset can exceed it. */
  attempted: Map<string, number>;
  ackedDeleteBefore: Map<string, number>;
  latestAckedByKey: Map<string, { offset: number; value: string }>;
  /** One idempotent producer that outlives the cuts: its unacknowledged batches are retried after each restart. */
  idem: { nextSeq: number; pending: Array<{ seq: number; values: string[] }> };
}

function tp(topic: string, p: number): string {
  return `${topic}/${p}`;
}

async function openLog(fs: SimFileSystem): Promise<Log> {
  return Log.open({ dataDir: '/data', fs, lock: false, maintenanceIntervalMs: 0 });
}

function verify(log: Log, model: Model, cut: number): void {
  const ctx = `after cut ${cut} (seed ${SEED})`;
  for (let p = 0; p < EVENT_PARTITIONS; p++) {
    if (!log.hasTopic(EVENTS)) {
      assert.equal(model.acked.size, 0, `${ctx}: topic ${EVENTS} vanished although records were acknowledged`);
      return;
    }
    const part = log.partition(EVENTS, p);
    const key = tp(EVENTS, p);
    const present = new Map<number, string>();
    const seenValues = new Set<string>();
    let offset = part.logStartOffset;
    let last = -1;
    while (offset < part.highWatermark) {
      const r = part.readRecords(offset, 10_000, 1 << 20);
      for (const rec of r.records) {
        assert.ok(rec.offset > last, `${ctx}: offsets out of order in ${key}: ${rec.offset} after ${last}`);
        last = rec.offset;
        const v = rec.value!.toString();
        assert.ok(!seenValues.has(v), `${ctx}: value ${v} appears twice in ${key}`);
        seenValues.add(v);
        present.set(rec.offset, v);
      }
      if (r.nextOffset <= offset) break;
      offset = r.nextOffset;
    }
    assert.ok(part.logEndOffset <= (model.attempted.get(key) ?? 0), `${ctx}: ${key} ends at offset ${part.logEndOffset}, beyond the ${model.attempted.get(key) ?? 0} records ever appended`);
    const ackedDelete = model.ackedDeleteBefore.get(key) ?? 0;
    assert.ok(part.logStartOffset >= ackedDelete, `${ctx}: log start offset of ${key} moved back to ${part.logStartOffset} below the acknowledged ${ackedDelete}`);
    const deleteFloor = model.requestedDeleteBefore.get(key) ?? 0;
    for (const [off, value] of model.acked.get(key) ?? []) {
      if (off < deleteFloor) continue;
      assert.equal(present.get(off), value, `${ctx}: acknowledged record ${key}@${off} (${value}) is missing or different`);
    }
  }
  if (log.hasTopic(IDEM)) {
    const p = log.partition(IDEM, 0);
    const seen = new Map<string, number>();
    let offset = p.logStartOffset;
    while (offset < p.highWatermark) {
      const r = p.readRecords(offset, 10_000, 1 << 20);
      for (const rec of r.records) {
        const v = rec.value!.toString();
        assert.ok(!seen.has(v), `${ctx}: idempotent value ${v} stored twice (offsets ${seen.get(v)} and ${rec.offset})`);
        seen.set(v, rec.offset);
      }
      offset = r.nextOffset;
    }
    for (const [off, v] of model.acked.get(tp(IDEM, 0)) ?? []) assert.equal(seen.get(v), off, `${ctx}: acknowledged idempotent record ${v} missing or moved`);
  }
  if (!log.hasTopic(STATE)) return;
  const state = log.partition(STATE, 0);
  const latest = new Map<string, { offset: number; value: string }>();
  let offset = state.logStartOffset;
  while (offset < state.highWatermark) {
    const r = state.readRecords(offset, 10_000, 1 << 20);
    for (const rec of r.records) latest.set(rec.key!.toString(), { offset: rec.offset, value: rec.value!.toString() });
    if (r.nextOffset <= offset) break;
    offset = r.nextOffset;
  }
  for (const [k, acked] of model.latestAckedByKey) {
    const found = latest.get(k);
    assert.ok(found, `${ctx}: key ${k} of the compacted topic lost its acknowledged value ${acked.value}`);
    assert.ok(found.offset >= acked.offset, `${ctx}: key ${k} went back to offset ${found.offset} < acknowledged ${acked.offset}`);
    if (found.offset === acked.offset) assert.equal(found.value, acked.value);
  }
}

async function workload(log: Log, fs: SimFileSystem, model: Model, rng: Rng, cycle: number): Promise<void> {
  const pending: Promise<unknown>[] = [];
  const swallow = (p: Promise<unknown>) => pending.push(p.catch(() => {}));
  if (!log.hasTopic(EVENTS)) await log.createTopic(EVENTS, { partitions: EVENT_PARTITIONS, segmentBytes: 2048 });
  if (!log.hasTopic(STATE)) {
    await log.createTopic(STATE, { partitions: 1, segmentBytes: 1024, cleanupPolicy: 'compact', deleteRetentionMs: 3_600_000 });
  }
  if (!log.hasTopic(IDEM)) await log.createTopic(IDEM, { partitions: 1, segmentBytes: 2048 });
  const sendIdem = (b: { seq: number; values: string[] }) =>
    log
      .append(IDEM, 0, encodeRecordBatch(b.values.map((v) => ({ value: Buffer.from(v) })), { producerId: 1, producerEpoch: 0, baseSequence: b.seq }))
      .then((res) => {
        const m = model.acked.get(tp(IDEM, 0)) ?? new Map<number, string>();
        b.values.forEach((v, j) => m.set(res.baseOffset + j, v));
        model.acked.set(tp(IDEM, 0), m);
        model.idem.pending = model.idem.pending.filter((x) => x !== b);
      });
  // The producer retries what it never heard back about, in order, with the same sequences.
  for (const b of [...model.idem.pending]) await sendIdem(b);
  for (let i = 0; !fs.isDead && i < 400; i++) {
    const action = rng();
    if (action < 0.1) {
      const values = Array.from({ length: 1 + Math.floor(rng() * 3) }, (_, j) => `i${cycle}-${i}-${j}`);
      const b = { seq: model.idem.nextSeq, values };
      model.idem.nextSeq += values.length;
      model.idem.pending.push(b);
      // Appends are ordered when they are called, so several may be in flight at once.
      swallow(sendIdem(b));
    } else if (action < 0.6) {
      const p = Math.floor(rng() * EVENT_PARTITIONS);
      const n = 1 + Math.floor(rng() * 5);
      const values = Array.from({ length: n }, (_, j) => `c${cycle}-${i}-${j}`);
      model.attempted.set(tp(EVENTS, p), (model.attempted.get(tp(EVENTS, p)) ?? 0) + n);
      swallow(
        log.appendRecords(EVENTS, p, values.map((v) => ({ value: Buffer.from(v) }))).then((res) => {
          const m = model.acked.get(tp(EVENTS, p)) ?? new Map<number, string>();
          values.forEach((v, j) => m.set(res.baseOffset + j, v));
          model.acked.set(tp(EVENTS, p), m);
        }),
      );
    } else if (action < 0.85) {
      const k = `k${Math.floor(rng() * 8)}`;
      const v = `s${cycle}-${i}`;
      swallow(
        log.appendRecords(STATE, 0, [{ key: Buffer.from(k), value: Buffer.from(v) }]).then((res) => {
          const prev = model.latestAckedByKey.get(k);
          if (!prev || prev.offset < res.baseOffset) model.latestAckedByKey.set(k, { offset: res.baseOffset, value: v });
        }),
      );
    } else if (action < 0.9) {
      const p = Math.floor(rng() * EVENT_PARTITIONS);
      const part = log.partition(EVENTS, p);
      const target = part.logStartOffset + Math.floor(rng() * (part.highWatermark - part.logStartOffset + 1) * 0.3);
      const key = tp(EVENTS, p);
      model.requestedDeleteBefore.set(key, Math.max(model.requestedDeleteBefore.get(key) ?? 0, target));
      swallow(
        log.deleteRecordsBefore(EVENTS, p, target).then(() => {
          model.ackedDeleteBefore.set(key, Math.max(model.ackedDeleteBefore.get(key) ?? 0, target));
        }),
      );
    } else if (action < 0.93) {
      swallow(log.runMaintenance());
    } else if (action < 0.96) {
      swallow(log.writeCheckpoints());
    } else {
      await Promise.all(pending.splice(0));
    }
    if (rng() < 0.3) await tick();
  }
  await Promise.all(pending.splice(0));
}

test(`power loss: acknowledged records survive ${CUTS} random power cuts`, async () => {
  const rng = seededRng(SEED);
  const model: Model = { acked: new Map(), requestedDeleteBefore: new Map(), ackedDeleteBefore: new Map(), latestAckedByKey: new Map(), idem: { nextSeq: 0, pending: [] }, attempted: new Map() };
  let fs = new SimFileSystem();
  let ackedTotal = 0;
  for (let cut = 0; cut < CUTS; cut++) {
    const log = await openLog(fs);
    verify(log, model, cut);
    fs.cutAfterOps = fs.ops + 1 + Math.floor(rng() * 600);
    try {
      await workload(log, fs, model, rng, cut);
    } catch {
      // The power cut surfaces as errors in whatever was running; that is the point.
    }
    // Let in-flight work observe the dead file system before the next "boot".
    for (let i = 0; i < 3; i++) await tick();
    fs = fs.powerCut(rng);
  }
  for (const m of model.acked.values()) ackedTotal += m.size;
  assert.ok(ackedTotal > CUTS, `the workload acknowledged too little to mean anything (${ackedTotal} records)`);
  const log = await openLog(fs);
  verify(log, model, CUTS);
  await log.close();
});
