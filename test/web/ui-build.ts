/** Makes sure web/dist exists before a browser test (builds it with vite when it does not). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const WEB_DIR = path.resolve(import.meta.dirname, '../../web');

export function ensureWebBuilt(): void {
  if (existsSync(path.join(WEB_DIR, 'dist', 'index.html'))) return;
  const vite = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', path.join(WEB_DIR, 'vite.config.ts')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the web UI failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}
