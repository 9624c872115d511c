/**
 * End to end: `tributary up` loads the stream apps of the project's streams/ folder, runs them,
 * and serves /api/streams; `tributary streams list|describe` show them; interactive queries read
 * a store by key and by range; outputs are visible with `tributary consume`; a module that does
 * not load is reported with its error while the others run.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, startTributary, type RunningTributary } from '../helpers/tributary-process.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { eventually } from './helpers/bus.ts';

const SRC = pathToFileURL(path.join(REPO_ROOT, 'src', 'index.ts')).href;
let server: RunningTributary | null = null;
after(async () => {
  await server?.stop();
});

test('tributary up runs the project stream apps; CLI and HTTP show them and query their stores', { timeout: 180_000 }, async () => {
  const dir = await tempDirUntilExit('tributary-streams-e2e-');
  mkdirSync(path.join(dir, 'streams'));
  writeFileSync(
    path.join(dir, 'tributary.config.ts'),
    `export default { topics: { words: { partitions: 2 } }, streams: { apps: { 'word-count': { commitIntervalMs: 50 } } } };\n`,
  );
  writeFileSync(
    path.join(dir, 'streams', 'word-count.ts'),
    `import { defineStreamApp, Serdes } from '${SRC}';
export default defineStreamApp({
  id: 'word-count',
  description: 'counts words',
  build(b) {
    b.stream('words', { value: Serdes.string() })
      .flatMapValues((line) => line.split(' '))
      .groupBy((_k, w) => w, { name: 'by-word' })
      .count({ name: 'counts' })
      .toStream()
      .to('word-counts');
  },
});
`,
  );
  writeFileSync(path.join(dir, 'streams', 'broken.ts'), `export default { id: 'broken' };\n`);
  writeFileSync(path.join(dir, 'streams', 'query.sql'), `-- streaming SQL lives here too and is not a stream app\n`);
  server = await startTributary({ args: ['--config', path.join(dir, 'tributary.config.ts')], cwd: dir });

  const produced = await server.cli(['produce', 'words', '--key-separator', ':'], { stdin: 'a:to be or not to be\nb:be quick\n' });
  assert.equal(produced.code, 0, produced.stderr);

  await eventually(async () => {
    const r = await fetch(`${server!.url}/api/streams/word-count/stores/counts?key=be`);
    return r.ok && ((await r.json()) as { value: number }).value === 3;
  }, 'count of "be" to reach 3', 60_000);

  const list = await server.cli(['streams', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const apps = JSON.parse(list.stdout) as Array<{ id: string; file: string | null; state: string; processingGuarantee: string | null; detail: string }>;
  const wc = apps.find((a) => a.id === 'word-count')!;
  assert.equal(wc.state, 'running');
  assert.equal(wc.processingGuarantee, 'exactly_once');
  const broken = apps.find((a) => a.file?.endsWith('broken.ts') || a.id.includes('broken'))!;
  assert.equal(broken.state, 'failed');
  assert.match(broken.detail, /build\(builder\) is missing/);
  assert.equal(apps.length, 2, 'the .sql file is not a stream app');

  const text = await server.cli(['streams', 'list']);
  assert.match(text.stdout, /word-count\s+running\s+exactly_once/);

  const desc = await server.cli(['streams', 'describe', 'word-count']);
  assert.equal(desc.code, 0, desc.stderr);
  assert.match(desc.stdout, /sub-topology 0: reads words → writes word-count-by-word-repartition/);
  assert.match(desc.stdout, /counts\s+kv\s+word-count-counts-changelog/);
  assert.match(desc.stdout, /lag:/);
  const descJson = JSON.parse((await server.cli(['streams', 'describe', 'word-count', '--json'])).stdout) as { taskDetails: unknown[]; topology: { stores: unknown[] } };
  assert.equal(descJson.taskDetails.length, 4);

  const range = (await (await fetch(`${server.url}/api/streams/word-count/stores/counts?from=a&to=p&limit=10`)).json()) as { entries: Array<{ key: string; value: number }> };
  assert.deepEqual(range.entries.map((e) => [e.key, e.value]), [['be', 3], ['not', 1], ['or', 1]]);

  const missing = await fetch(`${server.url}/api/streams/nope`);
  assert.equal(missing.status, 404);
  assert.match(((await missing.json()) as { error: { message: string } }).error.message, /no stream app "nope"/);
  const badParam = await fetch(`${server.url}/api/streams/word-count/stores/counts?kee=be`);
  assert.equal(badParam.status, 400);

  const unknown = await server.cli(['streams', 'describe', 'nope']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no stream app "nope"/);

  const consumed = await server.cli(['consume', 'word-counts', '--from-beginning', '--max-messages', '8', '--timeout-ms', '5000', '--json']);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.ok(consumed.stdout.includes('"be"') || consumed.stdout.includes('be'));
});
