/**
 * The demo's four stream apps (examples/shop/streams) run under `tributary up` with the demo's
 * config, as `npm start` runs them, and their outputs are visible with `tributary consume`.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO_ROOT, startTributary, type RunningTributary } from '../helpers/tributary-process.ts';
import { eventually } from './helpers/bus.ts';

let server: RunningTributary | null = null;
after(async () => {
  await server?.stop();
});

interface Consumed {
  key: string | null;
  value: string;
}

async function firstRecord(t: RunningTributary, topic: string): Promise<Consumed | null> {
  const run = await t.cli(['consume', topic, '--from-beginning', '--max-messages', '1', '--timeout-ms', '3000', '--json']);
  if (run.code !== 0) return null;
  const line = run.stdout.trim().split('\n').find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as Consumed) : null;
}

test('the demo runs its four stream apps under tributary up; each output topic fills and `tributary consume` shows it', { timeout: 420_000 }, async () => {
  server = await startTributary({ args: ['--config', path.join(REPO_ROOT, 'examples/shop/tributary.config.ts')], readyTimeoutMs: 120_000 });
  const t = server;

  await eventually(async () => {
    const list = await t.cli(['streams', 'list', '--json']);
    if (list.code !== 0) return false;
    const apps = JSON.parse(list.stdout) as Array<{ id: string; state: string; processingGuarantee: string | null }>;
    const ids = apps.map((a) => a.id).sort();
    return ids.join(',') === 'driver-score,pos-inventory,review-cleanbot,search-ranking' && apps.every((a) => a.state === 'running' && a.processingGuarantee === 'exactly_once');
  }, 'the four demo apps to run', 120_000);

  // Each app's output, with the shape its module documents.
  const checks: Array<[string, (key: string | null, v: Record<string, unknown>) => void]> = [
    ['shop.search-ranking', (key, v) => {
      assert.match(key ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.equal(v['windowStart'], key);
      assert.ok(Array.isArray(v['top']) && (v['top'] as unknown[]).length > 0);
    }],
    ['shop.driver-scores', (key, v) => {
      assert.equal(v['driverId'], key);
      assert.ok(typeof v['score'] === 'number' && v['score'] >= 0 && v['score'] <= 100);
      assert.ok(typeof v['pings'] === 'number' && v['pings'] >= 1);
    }],
    ['shop.inventory', (key, v) => {
      assert.equal(key, `${v['storeId']}/${v['sku']}`);
      assert.equal(typeof v['stock'], 'number');
    }],
    ['shop.reviews-flagged', (_key, v) => {
      assert.ok(Array.isArray(v['matched']) && (v['matched'] as unknown[]).length > 0);
      assert.equal(v['action'], 'hidden-pending-moderation');
    }],
  ];
  for (const [topic, check] of checks) {
    let rec: Consumed | null = null;
    await eventually(async () => (rec = await firstRecord(t, topic)) !== null, `a record in ${topic}`, 240_000);
    const r = rec as unknown as Consumed;
    check(r.key, JSON.parse(r.value) as Record<string, unknown>);
  }

  // The inventory table answers interactive queries for a key seen on its output topic.
  const inv = (await firstRecord(t, 'shop.inventory'))!;
  const res = await fetch(`${t.url}/api/streams/pos-inventory/stores/stock?key=${encodeURIComponent(inv.key!)}`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { value: { sku: string } | null };
  assert.equal(body.value?.sku, (JSON.parse(inv.value) as { sku: string }).sku);
});
