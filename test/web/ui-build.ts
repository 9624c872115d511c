/**
 * Makes sure web/dist is built from the current sources before a browser test: builds it with
 * vite when it is missing or older than any file under web/src (or web/index.html, the config).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const WEB_DIR = path.resolve(import.meta.dirname, '../../web');

function newestSource(): number {
  let newest = 0;
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(path.join(p, n));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ['src', 'index.html', 'vite.config.ts']) if (existsSync(path.join(WEB_DIR, p))) walk(path.join(WEB_DIR, p));
  return newest;
}

export function ensureWebBuilt(): void {
  const index = path.join(WEB_DIR, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestSource()) return;
  const vite = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', path.join(WEB_DIR, 'vite.config.ts')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the web UI failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}
