import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigSourceError, defineConfig, loadConfig, validateConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { tempDirUntilExit as tempDir } from '../helpers/temp-dir.ts';

const srcIndex = path.resolve(import.meta.dirname, '../../src/index.ts');

async function rejects(fn: () => Promise<unknown>): Promise<ConfigSourceError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ConfigSourceError, `expected a ConfigSourceError, got ${String(err)}`);
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err;
  }
  assert.fail('expected the promise to reject');
}

describe('loadConfig', () => {
  it('loads a .ts config that uses defineConfig from the package entry', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'tributary.config.ts');
    await writeFile(
      file,
      `import { defineConfig } from ${JSON.stringify(srcIndex)};
const partitions: number = 4;
export default defineConfig({ topics: { 'shop.orders': { partitions, cleanupPolicy: 'compact' } }, http: { port: 0 } });
`,
    );
    const { config, file: loaded } = await loadConfig(file);
    assert.equal(loaded, file);
    assert.deepEqual(config, { topics: { 'shop.orders': { partitions: 4, cleanupPolicy: 'compact' } }, http: { port: 0 } });
  });

  it('loads .json and .js configs', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'a.json'), JSON.stringify({ dataDir: 'data', logLevel: 'debug' }));
    await writeFile(path.join(dir, 'b.mjs'), 'export default { kafka: { port: 19092 } };');
    assert.deepEqual((await loadConfig(path.join(dir, 'a.json'))).config, { dataDir: 'data', logLevel: 'debug' });
    assert.deepEqual((await loadConfig(path.join(dir, 'b.mjs'))).config, { kafka: { port: 19092 } });
  });

  it('names the file and the path of the bad field', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'tributary.config.ts'), `export default { topics: { orders: { partitions: 0 } } };\n`);
    const err = await rejects(() => loadConfig('tributary.config.ts', { cwd: dir }));
    assert.equal(err.message, 'tributary.config.ts: topics.orders.partitions: expected a whole number ≥ 1, got 0');
    assert.equal(err.path, 'topics.orders.partitions');
    assert.equal(err.source, 'tributary.config.ts');
  });

  it('reports every bad field, with readable paths for dotted topic names and arrays', async () => {
    const dir = await tempDir();
    await writeFile(
      path.join(dir, 'cfg.ts'),
      `export default {
  http: { port: 'eighty' },
  topics: { 'shop.orders': { partitons: 3 }, 'bad name': {} },
  generators: [{ kind: 'shop', ratePerSecond: 0 }, { kind: 'weather', ratePerSecond: 1 }],
  extra: true,
};\n`,
    );
    const err = await rejects(() => loadConfig('cfg.ts', { cwd: dir }));
    const lines = err.message.split('\n');
    assert.ok(lines.every((l) => l.startsWith('cfg.ts: ')), err.message);
    const byPath = new Map(err.problems.map((p) => [p.path, p.message]));
    assert.match(byPath.get('http.port')!, /expected a whole number from 0 to 65535, got "eighty"/);
    assert.match(byPath.get('topics["shop.orders"].partitons')!, /unknown field "partitons" \(did you mean "partitions"\?\)/);
    assert.match(byPath.get('topics["bad name"]')!, /invalid topic name/);
    assert.match(byPath.get('generators[0].ratePerSecond')!, /expected a number > 0/);
    assert.match(byPath.get('generators[1].kind')!, /unknown generator kind "weather"/);
    assert.match(byPath.get('extra')!, /unknown field "extra"/);
  });

  it('rejects wrong enum values and nulls where none are allowed', () => {
    assert.throws(
      () => validateConfig({ topics: { t: { cleanupPolicy: 'archive', segmentBytes: null } }, logLevel: 'loud' }, 'inline'),
      (err: ConfigSourceError) => {
        assert.match(err.message, /^inline: topics\.t\.cleanupPolicy: expected one of "delete", "compact", "compact,delete", got "archive"$/m);
        assert.match(err.message, /^inline: topics\.t\.segmentBytes: expected a whole number ≥ 1, got null$/m);
        assert.match(err.message, /^inline: logLevel: expected one of .*got "loud"$/m);
        return true;
      },
    );
  });

  it('accepts null for optional limits', () => {
    const cfg = validateConfig({ topics: { t: { retentionMs: null, retentionBytes: null, segmentMs: null } } }, 'inline');
    assert.deepEqual(cfg.topics?.['t'], { retentionMs: null, retentionBytes: null, segmentMs: null });
  });

  it('explains a missing file, a file that does not compile and a missing default export', async () => {
    const dir = await tempDir();
    let err = await rejects(() => loadConfig('nope.ts', { cwd: dir }));
    assert.match(err.message, /^nope\.ts: no such file/);

    await writeFile(path.join(dir, 'broken.ts'), 'export default {{{;\n');
    err = await rejects(() => loadConfig('broken.ts', { cwd: dir }));
    assert.match(err.message, /^broken\.ts: cannot load: /);

    await writeFile(path.join(dir, 'named.ts'), 'export const config = {};\n');
    err = await rejects(() => loadConfig('named.ts', { cwd: dir }));
    assert.match(err.message, /^named\.ts: no default export: write `export default defineConfig/);

    await writeFile(path.join(dir, 'bad.json'), '{ "dataDir": ');
    err = await rejects(() => loadConfig('bad.json', { cwd: dir }));
    assert.match(err.message, /^bad\.json: cannot load: /);
  });

  it('defineConfig returns its argument unchanged', () => {
    const cfg = { topics: { a: { partitions: 2 } } };
    assert.equal(defineConfig(cfg), cfg);
  });
});
