/**
 * End to end: the real `tributary` command in child processes — `up` on a temporary data
 * directory and free ports, then the client verbs against it over HTTP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDirUntilExit as tempDir } from '../helpers/temp-dir.ts';
import { BIN, REPO_ROOT, startTributary, tributary, type RunningTributary } from '../helpers/tributary-process.ts';

describe('tributary up + client verbs', () => {
  let t: RunningTributary;

  before(async () => {
    t = await startTributary();
  });
  after(async () => {
    await t?.stop('SIGKILL');
  });

  it('prints exactly one ready line with the HTTP URL and the Kafka address', () => {
    assert.match(t.readyLine, /^tributary ready http=http:\/\/127\.0\.0\.1:\d+ kafka=127\.0\.0\.1:\d+$/);
  });

  it('topics create, list and describe', async () => {
    const created = await t.cli(['topics', 'create', 'orders', '--partitions', '3', '--config', 'retention.ms=3600000']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'created topic orders with 3 partitions\n');

    const dup = await t.cli(['topics', 'create', 'orders']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^error: .*orders.*exists/m);

    const list = await t.cli(['topics', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+PARTITIONS\s+RECORDS\s+SIZE$/m);
    assert.match(list.stdout, /^orders\s+3\s+0\s+0 B$/m);
    const listJson = JSON.parse((await t.cli(['topics', 'list', '--json'])).stdout);
    assert.deepEqual(listJson.map((x: { name: string }) => x.name), ['orders']);

    const describe = await t.cli(['topics', 'describe', 'orders']);
    assert.equal(describe.code, 0, describe.stderr);
    assert.match(describe.stdout, /^topic orders: 3 partitions/);
    assert.match(describe.stdout, /^\s+retentionMs = 3600000$/m);
    const d = JSON.parse((await t.cli(['topics', 'describe', 'orders', '--json'])).stdout);
    assert.equal(d.partitions.length, 3);
    assert.equal(d.config.retentionMs, 3600000);

    const missing = await t.cli(['topics', 'describe', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: topic nope does not exist/);
  });

  it('produce from stdin, consume with a group, and groups describe with lag', async () => {
    await t.cli(['topics', 'create', 'events', '--partitions', '2']);
    const lines = Array.from({ length: 25 }, (_, i) => `user-${i % 4}:event ${i} 이벤트`).join('\n') + '\n';
    const produced = await t.cli(['produce', 'events', '--key-separator', ':', '--json'], { stdin: lines });
    assert.equal(produced.code, 0, produced.stderr);
    const summary = JSON.parse(produced.stdout);
    assert.equal(summary.records, 25);

    const consumed = await t.cli(['consume', 'events', '--group', 'readers', '--from-beginning', '--max-messages', '20', '--json']);
    assert.equal(consumed.code, 0, consumed.stderr);
    const records = consumed.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(records.length, 20);
    for (const r of records) {
      assert.deepEqual(Object.keys(r).sort(), ['headers', 'key', 'offset', 'partition', 'timestamp', 'topic', 'value']);
      assert.equal(r.topic, 'events');
      assert.match(r.key, /^user-\d$/);
      assert.match(r.value, /^event \d+ 이벤트$/);
    }
    // Per key, records come back in the order they were produced.
    const byKey = new Map<string, number[]>();
    for (const r of records) byKey.set(r.key, [...(byKey.get(r.key) ?? []), Number(r.value.split(' ')[1])]);
    for (const seq of byKey.values()) assert.deepEqual(seq, [...seq].sort((a, b) => a - b));

    const described = JSON.parse((await t.cli(['groups', 'describe', 'readers', '--json'])).stdout);
    assert.equal(described.groupId, 'readers');
    assert.equal(described.totalLag, 5, 'the 5 records not printed are lag');
    assert.equal(described.offsets.length, 2);

    const human = await t.cli(['groups', 'describe', 'readers']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG\s+OWNER$/m);
    assert.match(human.stdout, /^total lag: 5$/m);

    // The group resumes after what it committed.
    const rest = await t.cli(['consume', 'events', '--group', 'readers', '--max-messages', '5']);
    assert.equal(rest.code, 0, rest.stderr);
    const restValues = rest.stdout.trim().split('\n');
    assert.equal(restValues.length, 5);
    const all = new Set([...records.map((r) => r.value), ...restValues]);
    assert.equal(all.size, 25, 'every record exactly once across the two runs');
    assert.equal(JSON.parse((await t.cli(['groups', 'describe', 'readers', '--json'])).stdout).totalLag, 0);

    const groups = JSON.parse((await t.cli(['groups', 'list', '--json'])).stdout);
    assert.ok(groups.some((g: { groupId: string }) => g.groupId === 'readers'));
  });

  it('consume without a group reads every partition and stops after --timeout-ms without records', async () => {
    await t.cli(['produce', 'plain'], { stdin: 'a\nb\n\nc\n' });
    const run = await t.cli(['consume', 'plain', '--from-beginning', '--timeout-ms', '500', '--print-key']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n').sort(), ['null\ta', 'null\tb', 'null\tc']);
  });

  it('produce fails with a message and a non-zero exit when records are rejected', async () => {
    await t.cli(['topics', 'create', 'one', '--partitions', '1']);
    const run = await t.cli(['produce', 'one', '--partition', '5'], { stdin: 'x\ny\n' });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /^error: records from line 1 on were not acknowledged \(0 earlier records were\): .*partition/m);

    const noSep = await t.cli(['produce', 'one', '--key-separator', '='], { stdin: 'k=v\nno separator here\n' });
    assert.equal(noSep.code, 1);
    assert.match(noSep.stderr, /line 2 has no key separator "="/);
    assert.match(noSep.stderr, /the 1 records before it were acknowledged/);
  });

  it('consume --group commits what it printed when interrupted with Ctrl-C', async () => {
    await t.cli(['produce', 'ticks', '--partition', '0'], { stdin: Array.from({ length: 7 }, (_, i) => `tick ${i}`).join('\n') + '\n' });
    const child = spawn(process.execPath, [BIN, 'consume', 'ticks', '--group', 'watchers', '--from-beginning', '--server', t.url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.split('\n').length > 7) resolve();
      });
    });
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
    assert.equal(out, Array.from({ length: 7 }, (_, i) => `tick ${i}\n`).join(''));
    const g = JSON.parse((await t.cli(['groups', 'describe', 'watchers', '--json'])).stdout);
    assert.deepEqual(g.offsets.map((o: { partition: number; committedOffset: number }) => [o.partition, o.committedOffset]), [[0, 7]]);
    assert.equal(g.members, 0, 'the consumer left the group');
  });

  it('topics delete removes the topic', async () => {
    await t.cli(['topics', 'create', 'temp']);
    const del = await t.cli(['topics', 'delete', 'temp', '--json']);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(JSON.parse(del.stdout), { deleted: 'temp' });
    assert.equal((await t.cli(['topics', 'describe', 'temp'])).code, 1);
  });
});

describe('tributary up lifecycle', () => {
  it('exits 0 on SIGTERM and on SIGINT, and keeps acknowledged records across a restart', async () => {
    const first = await startTributary();
    const produced = await first.cli(['produce', 'durable'], { stdin: 'one\ntwo\nthree\n' });
    assert.equal(produced.code, 0, produced.stderr);
    const stopped = await first.stop('SIGTERM');
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /shutting down/);

    const second = await startTributary({ dataDir: first.dataDir });
    const consumed = await second.cli(['consume', 'durable', '--from-beginning', '--max-messages', '3']);
    assert.equal(consumed.stdout, 'one\ntwo\nthree\n');
    const interrupted = await second.stop('SIGINT');
    assert.equal(interrupted.code, 0, interrupted.stderr);
  });

  it('fails on a bad config with the file and field path in the message', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'tributary.config.ts'), 'export default { topics: { orders: { partitions: 0 } }, http: { prot: 1 } };\n');
    const run = await tributary(['up', '--data-dir', path.join(dir, 'data')], { cwd: dir });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: tributary\.config\.ts: http\.prot: unknown field "prot" \(did you mean "port"\?\)/m);
    assert.match(run.stderr, /^tributary\.config\.ts: topics\.orders\.partitions: expected a whole number ≥ 1, got 0$/m);

    const env = await tributary(['up'], { cwd: dir, env: { TRIBUTARY_CONFIG: 'missing.ts' } });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /missing\.ts: no such file \(named by TRIBUTARY_CONFIG\)/);
  });

  it('says which port is taken', async () => {
    const t = await startTributary();
    const port = new URL(t.url).port;
    const dir = await tempDir();
    const run = await tributary(['up', '--data-dir', path.join(dir, 'data'), '--http-port', port], { cwd: dir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`, 'm'));
    await t.stop();
  });

  it('runs the shop example: its topics exist and the generator fills them', async () => {
    const t = await startTributary({ args: ['--config', path.join(REPO_ROOT, 'examples/shop/tributary.config.ts')] });
    try {
      const expected = ['shop.deliveries', 'shop.orders', 'shop.pos-sales', 'shop.reviews', 'shop.searches'];
      const all = JSON.parse((await t.cli(['topics', 'list', '--json'])).stdout) as Array<{ name: string; partitions: number }>;
      // The demo's other parts (stream apps, lake sink, connectors) add topics of their own.
      const topics = all.filter((x) => expected.includes(x.name));
      assert.deepEqual(topics.map((x) => x.name), expected);
      assert.ok(topics.every((x) => x.partitions >= 3 && x.partitions <= 6));
      const run = await t.cli(['consume', 'shop.orders', '--from-beginning', '--max-messages', '3', '--json']);
      assert.equal(run.code, 0, run.stderr);
      const orders = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(orders.length, 3);
      for (const o of orders) {
        const v = JSON.parse(o.value);
        assert.equal(v.type, 'order');
        assert.equal(o.key, v.orderId);
        assert.equal(o.timestamp, Date.parse(v.eventTime));
      }
    } finally {
      const stopped = await t.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
    }
  });
});
