/** Reading topics back in tests (read_committed: only what committed transactions wrote). */
import type { Bus } from '../../../src/bus/types.ts';
import type { ConsumedRecord } from '../../../src/bus/types.ts';

export async function readTopic(bus: Bus, topic: string, opts: { isolation?: 'read_committed' | 'read_uncommitted' } = {}): Promise<ConsumedRecord[]> {
  const desc = await bus.admin().describeTopic(topic);
  const c = bus.consumer({ isolationLevel: opts.isolation ?? 'read_committed', fromBeginning: true });
  c.assign(desc.partitions.map((p) => ({ topic, partition: p.partition, offset: p.logStartOffset })));
  const out: ConsumedRecord[] = [];
  try {
    for (;;) {
      const recs = await c.poll({ timeoutMs: 100 });
      if (recs.length === 0) break;
      out.push(...recs);
    }
  } finally {
    await c.close();
  }
  return out;
}

/** Polls `check` until it returns true (or throws after `timeoutMs`, with `what` in the message). */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
