/**
 * Loads the stream apps of a project: every `*.ts` / `*.mts` / `*.js` / `*.mjs` module in the
 * streams folder (not `*.d.ts`, `*.test.*`, files starting with `_`; `*.sql` belongs to
 * streaming SQL). A module's default export is one app (`defineStreamApp`) or an array of them.
 * A module that does not load gives an entry with its error instead of stopping the others.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { defineStreamApp, type StreamAppDefinition } from './app.ts';
import { errorMessage } from './errors.ts';

export interface LoadedApp {
  file: string;
  app: StreamAppDefinition | null;
  error: string | null;
}

const EXT = /\.(ts|mts|js|mjs)$/;

export function streamAppFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => EXT.test(f) && !f.endsWith('.d.ts') && !/\.test\.[mc]?[jt]s$/.test(f) && !f.startsWith('_'))
    .sort()
    .map((f) => path.join(dir, f));
}

export async function loadStreamApps(dir: string): Promise<LoadedApp[]> {
  const out: LoadedApp[] = [];
  for (const file of streamAppFiles(dir)) {
    try {
      const url = pathToFileURL(file).href;
      const mod = (/\.m?ts$/.test(file) ? await tsImport(url, import.meta.url) : await import(url)) as { default?: unknown };
      let value = mod.default;
      if (value && typeof value === 'object' && (value as { __esModule?: unknown }).__esModule === true) value = (value as { default?: unknown }).default;
      if (value === undefined) throw new Error('no default export: write `export default defineStreamApp({ id, build(b) { … } })`');
      for (const v of Array.isArray(value) ? value : [value]) out.push({ file, app: defineStreamApp(v as StreamAppDefinition), error: null });
    } catch (err) {
      out.push({ file, app: null, error: `${path.basename(file)}: ${errorMessage(err)}` });
    }
  }
  return out;
}
