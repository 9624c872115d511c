/**
 * The ui suite: what a person waits for in the web UI, and what a Prometheus server waits for.
 *
 * - overview: a real `tributary up` on the shop demo; a fresh headless Chromium (Debian's, via
 *   playwright-core) opens http://…/ cold and the case records when the overview is meaningful —
 *   the health table, the throughput chart and the first throughput figure drawn — measured in
 *   the page as ms since navigation start, plus the browser's first-contentful-paint.
 * - bundle: the built web/dist JS and CSS, gzipped (level 9, as a server would send them).
 * - scrape: `tributary up` with 100 topics × 10 partitions (1 000 topic-partitions), one record
 *   in each partition and a consumer group committed on all of them, so every per-partition
 *   series exists (watermarks, sizes, lag in records and seconds); then GET /metrics 30 times.
 *
 * Goals (issue 8): overview ≤ 1 s, bundle ≤ 400 KB gzipped, scrape ≤ 100 ms.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort, startProcess, type PeerProcess } from '../lib/process.ts';
import { median, percentile } from '../lib/stats.ts';
import type { BenchCase, Metrics, Suite } from '../lib/suite.ts';
import type { CaseResult } from '../lib/report.ts';
import { makeWorkDir, removeWorkDir, repoRoot } from '../lib/workdir.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const WEB = path.join(repoRoot, 'web');
const SHOP = path.join(repoRoot, 'examples', 'shop', 'tributary.config.ts');

let built = false;
/** Builds web/dist from the current sources once per run (the bundle case measures what it builds). */
function buildWeb(): void {
  if (built) return;
  const vite = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', path.join(WEB, 'vite.config.ts')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the web UI failed: ${r.stderr || r.stdout}`);
  built = true;
}

async function startUp(dataDir: string, configArgs: string[], env: Record<string, string> = {}): Promise<{ proc: PeerProcess; url: string }> {
  const httpPort = await freePort();
  const kafkaPort = await freePort();
  const bin = path.join(repoRoot, 'bin', 'tributary.js');
  // startProcess has no env option: pass the monitor settings through `env`.
  const args = [...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, bin, 'up', ...configArgs, '--data-dir', dataDir, '--http-port', String(httpPort), '--kafka-port', String(kafkaPort), '--log-level', 'warn'];
  const proc = startProcess('env', args, { cwd: repoRoot, group: true });
  await proc.waitFor(/tributary ready http=/, 60_000);
  return { proc, url: `http://127.0.0.1:${httpPort}` };
}

async function call(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

async function overviewCase(): Promise<Metrics> {
  buildWeb();
  const { chromium } = await import('playwright-core');
  const dir = makeWorkDir('ui-overview');
  const profile = mkdtempSync(path.join(tmpdir(), 'tributary-bench-chromium-'));
  const { proc, url } = await startUp(path.join(dir, 'data'), ['--config', SHOP]);
  try {
    // Let the demo run a few seconds so the overview has history and groups to show.
    await new Promise((r) => setTimeout(r, 5000));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 } });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url, { waitUntil: 'commit' });
      // (A string: this file is type-checked without the DOM library.)
      await page.waitForFunction(
        `document.querySelectorAll('[data-testid="parts"] tbody tr').length > 0 &&
         document.querySelector('[data-testid="chart-io"] canvas') !== null &&
         /\\d/.test(document.querySelector('[data-testid="stat-append"]')?.textContent ?? '')`,
        undefined,
        { timeout: 30_000, polling: 'raf' },
      );
      const meaningful = (await page.evaluate('performance.now()')) as number;
      const fcp = (await page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || { startTime: -1 }).startTime",
      )) as number;
      if (errors.length) throw new Error(`the page threw: ${errors.join('; ')}`);
      return { overviewMeaningfulMs: meaningful, overviewFcpMs: fcp };
    } finally {
      await context.close();
    }
  } finally {
    await proc.stop();
    rmSync(profile, { recursive: true, force: true });
    removeWorkDir(dir);
  }
}

/** A 100 000-row result in the SQL console: from the Run click until the table shows the row count and rows. */
async function sqlCase(): Promise<Metrics> {
  buildWeb();
  const { chromium } = await import('playwright-core');
  const dir = makeWorkDir('ui-sql');
  const profile = mkdtempSync(path.join(tmpdir(), 'tributary-bench-chromium-'));
  const { proc, url } = await startUp(path.join(dir, 'data'), ['--config', SHOP]);
  try {
    const ready = (await (await fetch(`${url}/ready`)).json()) as { parts: Record<string, unknown> };
    if (!ready.parts['warehouse']) throw new Error('this server runs no warehouse part: the SQL case cannot run');
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 } });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${url}/sql`);
      await page.getByLabel('SQL').fill("SELECT i AS id, i % 97 AS bucket, 'name-' || i AS label, i * 0.5 AS half FROM range(100000) t(i)");
      const t0 = (await page.evaluate('performance.now()')) as number;
      await page.getByRole('button', { name: /Run/ }).click();
      // First meaningful paint of the result: its first rows in the table (they stream in).
      await page.waitForFunction(`document.querySelectorAll('[data-testid="sql-result"] tbody td').length > 0`, undefined, { timeout: 120_000, polling: 'raf' });
      const tFirst = (await page.evaluate('performance.now()')) as number;
      await page.waitForFunction(
        `/^100,000 rows/.test(document.querySelector('[data-testid="sql-summary"]')?.textContent ?? '') &&
         document.querySelectorAll('[data-testid="sql-result"] tbody td').length > 0`,
        undefined,
        { timeout: 120_000, polling: 'raf' },
      );
      const t1 = (await page.evaluate('performance.now()')) as number;
      return { sql100kFirstRowsMs: tFirst - t0, sql100kMs: t1 - t0 };
    } finally {
      await context.close();
    }
  } finally {
    await proc.stop();
    rmSync(profile, { recursive: true, force: true });
    removeWorkDir(dir);
  }
}

function gzSize(file: string): number {
  return gzipSync(readFileSync(file), { level: 9 }).length;
}

async function bundleCase(): Promise<Metrics> {
  buildWeb();
  const assets = path.join(WEB, 'dist', 'assets');
  const files = readdirSync(assets);
  const js = files.filter((f) => f.endsWith('.js')).map((f) => path.join(assets, f));
  const css = files.filter((f) => f.endsWith('.css')).map((f) => path.join(assets, f));
  if (js.length === 0) throw new Error(`no JavaScript in ${assets}`);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  // What the first page load fetches: the scripts index.html names (other views load on demand).
  const html = readFileSync(path.join(WEB, 'dist', 'index.html'), 'utf8');
  const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => path.join(WEB, 'dist', m[1]!));
  return {
    jsGzKB: sum(js.map(gzSize)) / 1000,
    initialJsGzKB: sum(initial.map(gzSize)) / 1000,
    cssGzKB: sum(css.map(gzSize)) / 1000,
    jsRawKB: sum(js.map((f) => readFileSync(f).length)) / 1000,
  };
}

async function scrapeCase(topics: number, partitions: number, scrapes: number): Promise<Metrics> {
  const dir = makeWorkDir('ui-scrape');
  const { proc, url } = await startUp(path.join(dir, 'data'), [], { TRIBUTARY_MONITOR_LAG_INTERVAL_MS: '1000' });
  try {
    const names = Array.from({ length: topics }, (_, i) => `bench.t${String(i).padStart(3, '0')}`);
    for (const name of names) {
      await call(`${url}/api/topics`, { method: 'POST', body: JSON.stringify({ name, partitions }) });
      const records = Array.from({ length: partitions }, (_, p) => ({ partition: p, key: `k${p}`, value: 'x' }));
      await call(`${url}/api/topics/${name}/records`, { method: 'POST', body: JSON.stringify({ records }) });
    }
    // One group committed on every partition: a lag series per partition.
    const offsets = names.flatMap((topic) => Array.from({ length: partitions }, (_, p) => ({ topic, partition: p, offset: 0 })));
    // The only member of the group owns every partition, so it may commit offset 0 on each (lag 1).
    const member = (await call(`${url}/api/consumers`, { method: 'POST', body: JSON.stringify({ group: 'bench', topics: names, fromBeginning: true }) })) as { id: string };
    for (let i = 0; i < 20; i++) {
      const r = (await call(`${url}/api/consumers/${member.id}/records?maxRecords=10000&timeoutMs=1000`)) as { records: unknown[] };
      if (r.records.length === 0) break;
    }
    await call(`${url}/api/consumers/${member.id}/commit`, { method: 'POST', body: JSON.stringify({ offsets }) });
    const want = topics * partitions;
    let lagSeries = 0;
    for (let i = 0; i < 60 && lagSeries < want; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const text = await (await fetch(`${url}/metrics`)).text();
      lagSeries = text.split('\n').filter((l) => l.startsWith('tributary_consumer_group_lag_records{group="bench"')).length;
    }
    if (lagSeries < want) throw new Error(`expected ${want} lag series after the collector ran, found ${lagSeries}`);
    await call(`${url}/api/consumers/${member.id}`, { method: 'DELETE' });

    const times: number[] = [];
    let bytes = 0;
    let lines = 0;
    for (let i = 0; i < scrapes; i++) {
      const t0 = performance.now();
      const res = await fetch(`${url}/metrics`);
      const text = await res.text();
      times.push(performance.now() - t0);
      bytes = text.length;
      lines = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    }
    return { scrapeMedianMs: median(times), scrapeP99Ms: percentile(times, 99), scrapeKB: bytes / 1000, series: lines };
  } finally {
    await proc.stop();
    removeWorkDir(dir);
  }
}

const GOALS: Array<{ key: string; label: string; max: number; unit: string }> = [
  { key: 'overviewMeaningfulMs', label: 'overview meaningful paint', max: 1000, unit: 'ms' },
  { key: 'jsGzKB', label: 'JS bundle gzipped', max: 400, unit: 'KB' },
  { key: 'scrapeMedianMs', label: '/metrics scrape (1 000 topic-partitions in a canonical run)', max: 100, unit: 'ms' },
  { key: 'sql100kFirstRowsMs', label: 'SQL console, first rows of a 100k-row result painted', max: Infinity, unit: 'ms' },
  { key: 'sql100kMs', label: 'SQL console, all of a 100k-row result painted', max: Infinity, unit: 'ms' },
];

function goals(cases: CaseResult[]): string[] {
  const out: string[] = [];
  for (const g of GOALS) {
    const c = cases.find((x) => x.medians[g.key] !== undefined);
    const v = c?.medians[g.key];
    if (!Number.isFinite(g.max)) {
      out.push(`${g.label}: ${v === undefined ? 'not measured' : `${v.toFixed(0)} ${g.unit}`} (no goal set)`);
    } else if (v === undefined) out.push(`goal ${g.label} ≤ ${g.max} ${g.unit}: not measured`);
    else out.push(`goal ${g.label} ≤ ${g.max} ${g.unit}: ${v.toFixed(1)} ${g.unit} — ${v <= g.max ? 'met' : 'NOT met'}`);
  }
  const o = cases.find((x) => x.medians['overviewMeaningfulMs'] !== undefined)?.medians;
  if (o && o['overviewFcpMs'] !== undefined && o['overviewFcpMs'] > 0) {
    out.push(
      `overview: meaningful paint comes ${(o['overviewMeaningfulMs']! - o['overviewFcpMs']).toFixed(0)} ms after the first contentful paint (${o['overviewFcpMs'].toFixed(0)} ms, ` +
        'the browser loading and starting the scripts): index.html asks for the overview\'s data while the scripts load',
    );
  }
  return out;
}

const suite: Suite = {
  title: 'web UI and /metrics',
  description:
    'Cold load of the overview in headless Chromium against `tributary up` running the shop demo (ms from ' +
    'navigation start until the health table, the throughput chart and the first throughput figure are drawn; ' +
    'and first-contentful-paint); the built JavaScript and CSS gzipped at level 9; and GET /metrics on a ' +
    'server with 1 000 topic-partitions, each with a consumer-group lag series (median and p99 of 30 scrapes ' +
    'from the same machine). No peer: the figures are compared with the goals of issue 8.',
  subject: 'tributary',
  columns: [],
  ratios: [],
  tableFor(workload) {
    if (workload.startsWith('overview')) return { columns: [{ key: 'overviewMeaningfulMs', label: 'meaningful paint (ms)', digits: 0 }, { key: 'overviewFcpMs', label: 'first contentful paint (ms)', digits: 0 }], ratios: [] };
    if (workload.startsWith('bundle')) return { columns: [{ key: 'jsGzKB', label: 'JS gzipped (KB)', digits: 1 }, { key: 'initialJsGzKB', label: 'first load JS gzipped (KB)', digits: 1 }, { key: 'cssGzKB', label: 'CSS gzipped (KB)', digits: 1 }, { key: 'jsRawKB', label: 'JS raw (KB)', digits: 1 }], ratios: [] };
    if (workload.startsWith('SQL')) return { columns: [{ key: 'sql100kFirstRowsMs', label: 'Run → first rows painted (ms)', digits: 0 }, { key: 'sql100kMs', label: 'Run → all 100k rows (ms)', digits: 0 }], ratios: [] };
    return { columns: [{ key: 'scrapeMedianMs', label: 'scrape median (ms)', digits: 1 }, { key: 'scrapeP99Ms', label: 'scrape p99 (ms)', digits: 1 }, { key: 'scrapeKB', label: 'size (KB)', digits: 0 }, { key: 'series', label: 'samples', digits: 0 }], ratios: [] };
  },
  summary: goals,
  optionsHelp: '  --topics N      topics in the scrape case (default 100; × --partitions = topic-partitions)\n  --partitions N  partitions per topic (default 10)',

  async prepare({ quick, extra }) {
    const unknown = Object.keys(extra).filter((k) => !['topics', 'partitions'].includes(k));
    if (unknown.length) throw new Error(`ui suite: unknown option(s) ${unknown.map((k) => `--${k}`).join(', ')}; see --help`);
    const topics = Number(extra['topics'] ?? (quick ? 10 : 100));
    const partitions = Number(extra['partitions'] ?? 10);
    if (!Number.isInteger(topics) || topics < 1 || !Number.isInteger(partitions) || partitions < 1) throw new Error('ui suite: --topics and --partitions need whole numbers ≥ 1');
    if (!existsSync(CHROMIUM)) throw new Error(`ui suite: ${CHROMIUM} is missing (apt-get install chromium)`);
    const cases: BenchCase[] = [
      { id: 'overview', workload: 'overview page, cold load', system: 'tributary', durability: 'n/a (reads only; the demo topics fsync before ack)', run: () => overviewCase() },
      { id: 'bundle', workload: 'bundle size', system: 'tributary', durability: 'n/a', run: () => bundleCase() },
      {
        id: 'scrape',
        workload: `/metrics scrape, ${topics * partitions} topic-partitions`,
        system: 'tributary',
        durability: 'n/a (reads only)',
        run: () => scrapeCase(topics, partitions, 30),
      },
    ];
    // The SQL console case needs the warehouse part (issue: "when SQL exists").
    const sqlLanded = existsSync(path.join(repoRoot, 'src', 'warehouse', 'part.ts'));
    if (sqlLanded) {
      cases.push({ id: 'sql-100k', workload: 'SQL console, 100 000-row result', system: 'tributary', durability: 'n/a (a query of generated rows)', run: () => sqlCase() });
    }
    return {
      cases,
      settings: { topics, partitions, scrapes: 30, chromium: CHROMIUM, viewport: '1400×1000' },
      notes: sqlLanded ? [] : ['No SQL console case: the warehouse part (src/warehouse/part.ts) is not there yet.'],
    };
  },
};

export default suite;
