/**
 * Power loss during transactions: on the simulated file system (everything not fsynced is
 * forgotten at a random moment), every transaction is all or nothing for read_committed
 * readers — its records on both partitions and its group offset — and every transaction whose
 * commit was acknowledged is visible after recovery. Seeded (TXN_POWER_SEED / TXN_POWER_CUTS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/index.ts';
import { SimFileSystem, seededRng } from '../helpers/sim-fs.ts';

const SEED = Number(process.env.TXN_POWER_SEED ?? 4242);
const CUTS = Number(process.env.TXN_POWER_CUTS ?? 60);
const PER_TXN = 3; // records per partition per transaction

async function open(fs: SimFileSystem): Promise<EmbeddedBus> {
  return openEmbeddedBus({ dataDir: '/data', log: { fs, lock: false, maintenanceIntervalMs: 0 } });
}

function visibleByTxn(bus: EmbeddedBus): Map<number, number> {
  const counts = new Map<number, number>();
  for (let p = 0; p < 2; p++) {
    const part = bus.log.partition('out', p);
    let offset = part.logStartOffset;
    while (offset < part.lastStableOffset) {
      const r = part.readRecords(offset, 10_000, 1 << 20, { readCommitted: true });
      for (const rec of r.records) {
        const n = Number(rec.value!.toString().split('-')[0]!.slice(1));
        counts.set(n, (counts.get(n) ?? 0) + 1);
      }
      if (r.nextOffset <= offset) break;
      offset = r.nextOffset;
    }
  }
  return counts;
}

test(`transactions stay atomic across ${CUTS} power cuts`, async () => {
  const rng = seededRng(SEED);
  let fs = new SimFileSystem();
  const ackedCommits = new Set<number>();
  const ackedAborts = new Set<number>();
  let next = 1;
  for (let cut = 0; cut <= CUTS; cut++) {
    const bus = await open(fs);
    if (bus.log.hasTopic('out')) {
      const visible = visibleByTxn(bus);
      for (const [n, count] of visible) assert.equal(count, 2 * PER_TXN, `cut ${cut}: transaction ${n} is partly visible (${count} of ${2 * PER_TXN} records)`);
      for (const n of ackedCommits) assert.ok(visible.has(n), `cut ${cut}: acknowledged commit of transaction ${n} is not visible`);
      for (const n of ackedAborts) assert.ok(!visible.has(n), `cut ${cut}: aborted transaction ${n} became visible`);
      const offset = bus.groups.fetchOffset('g', 'src', 0)?.offset ?? 0;
      const maxVisible = Math.max(0, ...visible.keys());
      assert.equal(offset, maxVisible, `cut ${cut}: group offset ${offset} does not match the last visible transaction ${maxVisible}`);
    }
    if (cut === CUTS) {
      await bus.close();
      break;
    }
    fs.cutAfterOps = fs.ops + 1 + Math.floor(rng() * 400);
    try {
      if (!bus.log.hasTopic('out')) await bus.admin().createTopic('out', { partitions: 2, segmentBytes: 4096 });
      if (!bus.log.hasTopic('src')) await bus.admin().createTopic('src', { partitions: 1 });
      const producer = bus.transactionalProducer({ transactionalId: 'tx' });
      for (let i = 0; i < 50 && !fs.isDead; i++) {
        const n = next++;
        await producer.beginTransaction();
        const records = [0, 1].flatMap((partition) => Array.from({ length: PER_TXN }, (_, j) => ({ partition, value: Buffer.from(`T${n}-${partition}-${j}`) })));
        await producer.send('out', records);
        await producer.sendOffsets('g', [{ topic: 'src', partition: 0, offset: n }]);
        if (rng() < 0.75) {
          await producer.commitTransaction();
          ackedCommits.add(n);
        } else {
          await producer.abortTransaction();
          ackedAborts.add(n);
        }
        if (rng() < 0.3) await tick();
      }
    } catch {
      // the cut
    }
    for (let i = 0; i < 3; i++) await tick();
    fs = fs.powerCut(rng);
  }
  assert.ok(ackedCommits.size > CUTS, `too few acknowledged commits to mean anything (${ackedCommits.size})`);
});
