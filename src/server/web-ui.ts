/**
 * Serves the web UI (web/dist, built by `npm install` through the `prepare` script, or by
 * `npm run build:web`) on the HTTP port, next to the API: static files by path, `index.html`
 * for every other page path (the UI routes in the browser), nothing under `/api`.
 *
 * On a checkout whose UI was never built (e.g. `npm install --ignore-scripts`), the first
 * `tributary up` builds it in a child process; meanwhile pages say so in words and reload
 * themselves, and a failed build is shown with the command that fixes it.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip as zlibGzip } from 'node:zlib';
import type { Context } from 'hono';
import type { Logger } from 'pino';
import { HttpError } from './errors.ts';

export interface WebUiOptions {
  /** Folder with index.html and assets/ (default: the repository's web/dist). */
  distDir?: string;
  /** Build the UI in the background when distDir has no index.html (default true when web/ sources are there). */
  buildIfMissing?: boolean;
  logger?: Logger;
}

export interface WebUi {
  handler(c: Context): Promise<Response>;
  /** Resolves when a background build (if any) ended. */
  ready(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.map', '.txt']);
const gzip = promisify(zlibGzip);

const WEB_ROOT = path.resolve(import.meta.dirname, '../../web');

function page(title: string, body: string, refresh: boolean): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
  return `<!doctype html><html><head><meta charset="utf-8"><title>Tributary — ${esc(title)}</title>${refresh ? '<meta http-equiv="refresh" content="3">' : ''}</head><body style="font-family:system-ui;margin:40px;max-width:760px"><h1>${esc(title)}</h1><pre style="white-space:pre-wrap">${esc(body)}</pre><p>The API is available meanwhile: <a href="/api/topics">/api/topics</a>, <a href="/metrics">/metrics</a>, <a href="/ready">/ready</a>.</p></body></html>`;
}

/**
 * @example
 * ```ts
 * const ui = createWebUi({ logger });
 * const http = createHttpApp({ bus, web: ui.handler });
 * ```
 */
export function createWebUi(opts: WebUiOptions = {}): WebUi {
  const dist = path.resolve(opts.distDir ?? path.join(WEB_ROOT, 'dist'));
  const index = path.join(dist, 'index.html');
  let building: Promise<void> | null = null;
  let buildError: string | null = null;

  const canBuild = (opts.buildIfMissing ?? true) && existsSync(path.join(WEB_ROOT, 'vite.config.ts'));
  if (!existsSync(index) && canBuild) {
    building = (async () => {
      let viteBin: string;
      try {
        const require = createRequire(path.join(WEB_ROOT, 'vite.config.ts'));
        viteBin = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
      } catch {
        buildError = 'vite is not installed, so the UI cannot be built. Run `npm install` in the Tributary folder (it installs vite and builds the UI), then restart.';
        return;
      }
      opts.logger?.info({ dist }, 'web UI not built yet: building it now (npm run build:web)');
      const output: string[] = [];
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [viteBin, 'build', '--config', path.join(WEB_ROOT, 'vite.config.ts'), '--outDir', dist], {
          cwd: WEB_ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
        child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
        child.on('error', (err) => {
          output.push(err.message);
          resolve(-1);
        });
        child.on('close', resolve);
      });
      if (code !== 0 || !existsSync(index)) {
        buildError = `building the web UI failed (exit ${code}). Run \`npm run build:web\` to see why.\n\n${output.join('').slice(-4000)}`;
        opts.logger?.error({ output: output.join('').slice(-4000) }, 'building the web UI failed');
      } else {
        opts.logger?.info('web UI built');
      }
    })().finally(() => {
      building = null;
    });
  }

  // Text files go out gzipped to browsers that accept it (compressed once per file version).
  const gzipped = new Map<string, { mtimeMs: number; body: Buffer }>();
  const serveFile = async (file: string, immutable: boolean, acceptEncoding: string | undefined): Promise<Response> => {
    const ext = path.extname(file).toLowerCase();
    const type = TYPES[ext] ?? 'application/octet-stream';
    const headers: Record<string, string> = { 'Content-Type': type, 'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' };
    if (COMPRESSIBLE.has(ext)) {
      headers['Vary'] = 'Accept-Encoding';
      if (/\bgzip\b/.test(acceptEncoding ?? '')) {
        const mtimeMs = statSync(file).mtimeMs;
        let cached = gzipped.get(file);
        if (!cached || cached.mtimeMs !== mtimeMs) {
          cached = { mtimeMs, body: await gzip(await readFile(file), { level: 6 }) };
          gzipped.set(file, cached);
        }
        return new Response(cached.body, { status: 200, headers: { ...headers, 'Content-Encoding': 'gzip' } });
      }
    }
    return new Response(await readFile(file), { status: 200, headers });
  };

  return {
    async ready() {
      await building;
    },
    async handler(c: Context): Promise<Response> {
      if (!existsSync(index)) {
        if (building) return c.html(page('Building the web UI…', 'This is the first start of this checkout: the UI is being built (a few seconds). This page reloads by itself.', true), 503);
        if (buildError) return c.html(page('The web UI could not be built', buildError, false), 500);
        return c.html(page('The web UI is not built', `No ${index}.\nRun \`npm run build:web\` (or \`npm install\`, which builds it), then reload.`, false), 503);
      }
      let rel: string;
      try {
        rel = decodeURIComponent(c.req.path);
      } catch {
        throw new HttpError('BAD_REQUEST', `malformed path ${c.req.path}`);
      }
      const file = path.resolve(dist, `.${path.posix.normalize(rel)}`);
      if (file.startsWith(dist + path.sep) && existsSync(file) && statSync(file).isFile()) {
        return serveFile(file, rel.startsWith('/assets/'), c.req.header('accept-encoding'));
      }
      // A missing asset is a 404; any other path is a page of the UI.
      // (Topic names have dots: only known file types count as files.)
      if (rel.startsWith('/assets/') || path.extname(rel).toLowerCase() in TYPES) {
        throw new HttpError('NOT_FOUND', `no such file in the web UI: ${rel} (rebuild it with npm run build:web if it should exist)`);
      }
      return serveFile(index, false, c.req.header('accept-encoding'));
    },
  };
}
