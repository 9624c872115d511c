/** Scratch directories for benchmark data, on the project's disk (bench/.work/, git-ignored). */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding package.json). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const workRoot = path.join(repoRoot, 'bench', '.work');

/**
 * A fresh empty directory under bench/.work/. Not /tmp: it may be a tmpfs, and the figures
 * must come from the same disk the project writes to.
 */
export function makeWorkDir(prefix: string): string {
  mkdirSync(workRoot, { recursive: true });
  const dir = mkdtempSync(path.join(workRoot, `${prefix}-`));
  if (live.size === 0 && !hookInstalled) {
    hookInstalled = true;
    // Directories left by a run that ends early (Ctrl-C, a crash) are removed on exit.
    process.on('exit', () => {
      for (const d of live) {
        try {
          rmSync(d, { recursive: true, force: true, maxRetries: 3 });
        } catch {
          // a peer killed a moment ago may still be closing files; leave it for the next run
        }
      }
    });
  }
  live.add(dir);
  return dir;
}

export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  live.delete(dir);
}

const live = new Set<string>();
let hookInstalled = false;
