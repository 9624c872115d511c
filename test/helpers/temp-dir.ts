import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix = 'tributary-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const madeUntilExit: string[] = [];
process.once('exit', () => {
  for (const dir of madeUntilExit) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh temporary directory, removed when the test process exits. (Not with node:test's
 * `after`: called from a `before` hook, that would attach to whichever suite runs first and
 * delete the folder while later suites still use it.)
 */
export async function tempDirUntilExit(prefix = 'tributary-test-'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeUntilExit.push(dir);
  return dir;
}
