import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh temporary folder, removed when the test process exits. (Not with node:test's
 * `after`: called from a `before` hook, that would attach to whichever suite runs first and
 * delete the folder while later suites still use it.)
 */
export async function tempDir(prefix = 'tributary-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
