import { FlowEngine, type FlowEngineOptions } from '../../../src/flow/engine/engine.ts';
import { ManualClock } from '../../../src/flow/engine/clock.ts';
import { DagRegistry } from '../../../src/flow/engine/registry.ts';
import type { Dag } from '../../../src/flow/define/dag.ts';
import { FlowStore } from '../../../src/flow/store/flow-store.ts';
import { openSqlite, type SqlDb } from '../../../src/flow/store/sql.ts';

export const T0 = Date.parse('2026-01-01T00:00:00Z');

export interface TestEngine {
  engine: FlowEngine;
  store: FlowStore;
  clock: ManualClock;
  close(): Promise<void>;
}

/** An engine on a fresh SQLite database (in memory unless `db` is given), driven by a manual clock. */
export async function testEngine(dags: Dag<any>[], opts: Partial<FlowEngineOptions> & { db?: SqlDb; now?: number } = {}): Promise<TestEngine> {
  const clock = opts.clock instanceof ManualClock ? opts.clock : new ManualClock(opts.now ?? T0);
  const store = await FlowStore.open(opts.db ?? (await openSqlite(':memory:')));
  const engine = new FlowEngine({ store, registry: new DagRegistry(dags as Dag[]), clock, schedulerLease: false, workerSlots: 4, random: () => 0, ...opts });
  await engine.init();
  return {
    engine,
    store,
    clock,
    async close() {
      await engine.stop();
      await store.close();
    },
  };
}
