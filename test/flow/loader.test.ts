import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadDagsDir } from '../../src/flow/loader/load-dags.ts';

const dir = path.join(import.meta.dirname, 'fixtures', 'broken');

describe('loading DAG files', () => {
  it('a broken file becomes an error naming it; every other DAG still loads', async () => {
    const { dags, errors } = await loadDagsDir(dir);
    assert.deepEqual(dags.map((d) => d.id), ['still_loads']);
    assert.equal(dags[0]!.file, path.join(dir, 'a_ok.ts'));
    const byFile = Object.fromEntries(errors.map((e) => [path.basename(e.file), e.message]));
    assert.deepEqual(Object.keys(byFile).sort(), ['b_syntax.ts', 'c_cycle.ts', 'd_throws.ts', 'e_nothing.ts', 'f_dup.ts', 'g_cron.ts']);
    assert.match(byFile['b_syntax.ts']!, /b_syntax\.ts: does not compile: Expected "\)" but found ";" \(line 3, column \d+\)/);
    assert.match(byFile['c_cycle.ts']!, /c_cycle\.ts: failed on import: .*dag cyclic: dependency cycle (a → b → a|b → a → b)/);
    assert.match(byFile['d_throws.ts']!, /d_throws\.ts: failed on import: cannot reach the config service/);
    assert.match(byFile['e_nothing.ts']!, /e_nothing\.ts: exports no DAG/);
    assert.match(byFile['f_dup.ts']!, /DAG id "still_loads" is already defined in .*a_ok\.ts/);
    assert.match(byFile['g_cron.ts']!, /dag badcron: schedule: invalid cron expression "0 25 \* \* \*"/);
  });

  it('a missing folder means no DAGs', async () => {
    assert.deepEqual(await loadDagsDir(path.join(dir, 'nope')), { dags: [], errors: [], files: [] });
  });
});
