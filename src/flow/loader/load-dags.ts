/**
 * Loading DAG files: every `.ts`/`.mts`/`.js`/`.mjs` file directly in a project's `dags/` folder
 * (files starting with `_` or `.` are helpers and skipped). Each file is imported on its own
 * (TypeScript through tsx); every exported `Dag` is registered. A file that does not compile,
 * throws on import (a cycle, a bad cron expression…), exports no DAG, or reuses another file's
 * DAG id becomes an import error naming the file — and every other DAG still loads.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { isDag, type Dag } from '../define/dag.ts';
import { DagLoadError } from '../errors.ts';
import type { ImportError } from '../engine/registry.ts';

const EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);

function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

let versions = 0;

/**
 * Imports a file as a fresh module (a query string per load, so a reload sees edits) that shares
 * Tributary's own modules with this process — so classes like FlowError stay one class. Where
 * TypeScript is not registered (a plain `node`), falls back to tsx's isolated import.
 */
async function importFresh(abs: string): Promise<Record<string, unknown>> {
  const url = `${pathToFileURL(abs).href}?v=${++versions}`;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    return (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
  }
}

/** Imports one DAG file and returns the DAGs it exports (throws DagLoadError naming the file). */
export async function loadDagFile(file: string): Promise<Dag[]> {
  const abs = path.resolve(file);
  const shown = displayPath(abs);
  let mod: Record<string, unknown>;
  try {
    mod = await importFresh(abs);
  } catch (err) {
    const e = err as Error & { errors?: Array<{ text?: string; location?: { line?: number; column?: number } }> };
    let message = e?.message ?? String(err);
    if (Array.isArray(e?.errors) && e.errors.length) {
      // esbuild's transform errors: report the first one with its position.
      const first = e.errors[0]!;
      message = `does not compile: ${first.text ?? message}${first.location?.line ? ` (line ${first.location.line}, column ${(first.location.column ?? 0) + 1})` : ''}`;
    } else if (/^Transform failed/.test(message)) {
      // tsx/esbuild: "Transform failed with 1 error:\n<file>:3:17: ERROR: Unexpected ";""
      const detail = message.split('\n').find((l) => /ERROR:/.test(l)) ?? message;
      const m = /:(\d+):(\d+): ERROR: (.*)$/.exec(detail);
      message = m ? `does not compile: ${m[3]} (line ${m[1]}, column ${Number(m[2]) + 1})` : `does not compile: ${detail}`;
    } else {
      message = `failed on import: ${e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${message.split('\n')[0]}` : String(err)}`;
    }
    throw new DagLoadError(shown, message, err);
  }
  const found = new Map<string, Dag>();
  const visit = (v: unknown) => {
    if (isDag(v)) found.set(v.id, v);
  };
  for (const v of Object.values(mod)) {
    visit(v);
    // A .ts file compiled as CommonJS exposes its exports under `default`.
    if (v && typeof v === 'object' && !isDag(v) && (v as { __esModule?: unknown }).__esModule) for (const x of Object.values(v)) visit(x);
  }
  if (found.size === 0) throw new DagLoadError(shown, 'exports no DAG: export one, e.g. `export default defineDag({ id: "my_dag", schedule: "@daily" }, (dag) => { … })`');
  for (const d of found.values()) d.file = abs;
  return [...found.values()];
}

export interface LoadedDags {
  dags: Dag[];
  errors: ImportError[];
  files: string[];
}

/** Loads every DAG file of a folder; a missing folder means no DAGs. */
export async function loadDagsDir(dir: string): Promise<LoadedDags> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { dags: [], errors: [], files: [] };
    throw err;
  }
  const files = names
    .filter((n) => EXTENSIONS.has(path.extname(n).toLowerCase()) && !n.startsWith('_') && !n.startsWith('.') && !n.endsWith('.d.ts') && !/\.test\.[mc]?[jt]s$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
  const dags: Dag[] = [];
  const errors: ImportError[] = [];
  const owner = new Map<string, string>();
  for (const file of files) {
    try {
      for (const dag of await loadDagFile(file)) {
        const prev = owner.get(dag.id);
        if (prev) {
          errors.push({ file: displayPath(file), message: `${displayPath(file)}: DAG id ${JSON.stringify(dag.id)} is already defined in ${displayPath(prev)}: DAG ids must be unique` });
          continue;
        }
        owner.set(dag.id, file);
        dags.push(dag);
      }
    } catch (err) {
      errors.push({ file: displayPath(file), message: (err as Error).message });
    }
  }
  return { dags, errors, files };
}
