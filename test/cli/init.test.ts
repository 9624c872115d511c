import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { runCliCaptured } from '../helpers/cli.ts';
import { tempDirUntilExit as tempDir } from '../helpers/temp-dir.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

describe('tributary init', () => {
  it('scaffolds a project whose config loads once `tributary` is installed', async () => {
    const cwd = await tempDir();
    const run = await runCliCaptured(['init', 'my-pipeline'], { cwd });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /created my-pipeline\/tributary\.config\.ts/);
    assert.match(run.stdout, /next: cd my-pipeline && npm install && npx tributary up/);
    const root = path.join(cwd, 'my-pipeline');
    for (const f of ['tributary.config.ts', 'package.json', '.gitignore', 'README.md', 'streams/.gitkeep', 'dags/.gitkeep', 'models/.gitkeep']) {
      assert.ok(existsSync(path.join(root, f)), f);
    }
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
    assert.equal(pkg.name, 'my-pipeline');
    assert.equal(pkg.type, 'module');
    assert.ok(pkg.dependencies.tributary);

    // As after `npm install`: node_modules/tributary is this package.
    await mkdir(path.join(root, 'node_modules'));
    await symlink(repoRoot, path.join(root, 'node_modules', 'tributary'), 'dir');
    const { config } = await loadConfig(path.join(root, 'tributary.config.ts'));
    assert.deepEqual(config.topics, { events: { partitions: 3, retentionMs: 7 * 24 * 3600 * 1000 } });
    assert.equal(config.http?.port, 8080);
  });

  it('refuses to overwrite a config without --force and keeps other files', async () => {
    const cwd = await tempDir();
    await writeFile(path.join(cwd, 'tributary.config.ts'), 'export default {};\n');
    await writeFile(path.join(cwd, 'package.json'), '{"name":"mine"}\n');
    const refused = await runCliCaptured(['init'], { cwd });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: tributary\.config\.ts already exists: edit it, or pass --force/);

    const forced = await runCliCaptured(['init', '--force', '--json'], { cwd });
    assert.equal(forced.code, 0, forced.stderr);
    const out = JSON.parse(forced.stdout);
    assert.ok(out.created.includes('tributary.config.ts'));
    assert.ok(out.skipped.includes('package.json'));
    assert.equal(await readFile(path.join(cwd, 'package.json'), 'utf8'), '{"name":"mine"}\n');
    assert.match(await readFile(path.join(cwd, 'tributary.config.ts'), 'utf8'), /defineConfig/);
  });
});
