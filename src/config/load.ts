import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { ConfigSourceError, problemsFromIssues } from './errors.ts';
import { configSchema } from './schema.ts';
import type { TributaryConfig } from './types.ts';

/** How a file is named in messages: relative to the working directory when inside it. */
export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * Checks a configuration object; throws a ConfigError naming `source` and every bad field.
 *
 * @example
 * ```ts
 * validateConfig({ topics: { orders: { partitions: 0 } } }, 'inline');
 * // ConfigError: inline: topics.orders.partitions: expected a whole number ≥ 1, got 0
 * ```
 */
export function validateConfig(value: unknown, source: string): TributaryConfig {
  const result = configSchema.safeParse(value);
  if (!result.success) throw new ConfigSourceError(source, problemsFromIssues(result.error.issues));
  return result.data;
}

async function importModule(file: string): Promise<unknown> {
  const ext = path.extname(file).toLowerCase();
  const url = pathToFileURL(file).href;
  if (ext === '.json') {
    const text = await readFile(file, 'utf8');
    return { default: JSON.parse(text) as unknown };
  }
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') return tsImport(url, import.meta.url);
  if (ext === '.js' || ext === '.mjs' || ext === '.cjs') return import(url);
  throw new Error(`unsupported file type "${ext || '(none)'}": use a .ts, .js or .json file`);
}

/**
 * Loads and validates a config file (`.ts` via tsx, `.js`, or `.json`). The module's default
 * export is the configuration (`export default defineConfig({...})`).
 *
 * Throws ConfigError whose message starts with the file name: a missing file, a file that does
 * not compile or run, a missing default export, or a bad field
 * (`tributary.config.ts: topics.orders.partitions: expected a whole number ≥ 1, got 0`).
 *
 * @example
 * ```ts
 * const { config, file } = await loadConfig('tributary.config.ts');
 * ```
 */
export async function loadConfig(
  file: string,
  opts: { cwd?: string } = {},
): Promise<{ config: TributaryConfig; file: string }> {
  const cwd = opts.cwd ?? process.cwd();
  const abs = path.resolve(cwd, file);
  const shown = displayPath(abs, cwd);
  if (!existsSync(abs)) {
    throw new ConfigSourceError(shown, [
      { path: '', message: 'no such file: create one with `tributary init` or pass another --config' },
    ]);
  }
  let mod: unknown;
  try {
    mod = await importModule(abs);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ConfigSourceError(shown, [{ path: '', message: `cannot load: ${message}` }]);
  }
  let value = (mod as { default?: unknown }).default;
  // Outside a `"type": "module"` package a .ts file is compiled to CommonJS: the namespace's
  // default is then `module.exports`, marked `__esModule`, holding the real default export.
  if (value && typeof value === 'object' && (value as { __esModule?: unknown }).__esModule === true) {
    value = (value as { default?: unknown }).default;
  }
  if (value === undefined) {
    throw new ConfigSourceError(shown, [
      { path: '', message: 'no default export: write `export default defineConfig({ ... })`' },
    ]);
  }
  return { config: validateConfig(value, shown), file: abs };
}
