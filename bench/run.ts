/**
 * Benchmark runner: `npm run bench -- <suite> [--runs N] [--quick] [suite options…]`.
 *
 * Loads bench/suites/<suite>.ts, runs every case N times (interleaved: run 1 of all cases, then
 * run 2, …), and writes bench/results/<suite>.json plus the suite's section of PERFORMANCE.md.
 * `--quick` shrinks the workloads to a smoke size and defaults to one run. Only a canonical run
 * (no `--quick`, no suite options) writes bench/results/<suite>.json and PERFORMANCE.md; quick
 * runs write <suite>.quick.json and runs with suite options <suite>.custom.json, so smoke or
 * partial figures never replace real ones.
 * Progress goes to stderr; the markdown section is also printed on stdout.
 */
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineFacts } from './lib/machine.ts';
import { renderSection, updatePerformanceMd, writeJson, type CaseResult, type SuiteResult } from './lib/report.ts';
import { median } from './lib/stats.ts';
import type { Suite } from './lib/suite.ts';
import { repoRoot } from './lib/workdir.ts';

const suitesDir = path.join(repoRoot, 'bench', 'suites');

function availableSuites(): string[] {
  return readdirSync(suitesDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function usage(): string {
  return [
    'usage: npm run bench -- <suite> [--runs N] [--quick] [suite options]',
    '',
    `suites: ${availableSuites().join(', ')}`,
    '  --runs N   runs per case; the tables show medians (default 3, or 1 with --quick)',
    '  --quick    smoke-size workloads; writes bench/results/<suite>.quick.json, leaves PERFORMANCE.md alone',
    '  (any suite option also leaves PERFORMANCE.md alone and writes bench/results/<suite>.custom.json)',
    '  --help     this text (with a suite: its options too)',
  ].join('\n');
}

interface Args {
  suite: string | null;
  runs: number | null;
  quick: boolean;
  help: boolean;
  extra: Record<string, string>;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { suite: null, runs: null, quick: false, help: false, extra: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--runs' || a.startsWith('--runs=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--runs needs a positive integer, got "${v ?? ''}"`);
      args.runs = n;
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) args.extra[a.slice(2, eq)] = a.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) args.extra[a.slice(2)] = argv[++i]!;
      else args.extra[a.slice(2)] = 'true';
    } else if (args.suite === null) args.suite = a;
    else throw new Error(`unexpected argument "${a}"`);
  }
  return args;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function loadSuite(name: string): Promise<Suite> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !existsSync(path.join(suitesDir, `${name}.ts`))) {
    throw new Error(`unknown suite "${name}"; available: ${availableSuites().join(', ')}`);
  }
  const mod = (await import(pathToFileURL(path.join(suitesDir, `${name}.ts`)).href)) as { default?: Suite };
  if (!mod.default || typeof mod.default.prepare !== 'function') {
    throw new Error(`bench/suites/${name}.ts must default-export a Suite (see bench/lib/suite.ts)`);
  }
  return mod.default;
}

function summarize(figures: Record<string, number>): string {
  return Object.entries(figures)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(Math.abs(v) >= 100 ? 0 : 2)}`)
    .join(' ');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!args.suite) {
    log(usage());
    return args.help ? 0 : 2;
  }
  const suite = await loadSuite(args.suite);
  if (args.help) {
    log(usage());
    log(`\n${args.suite}: ${suite.title}\n${suite.optionsHelp ?? '(no suite options)'}`);
    return 0;
  }
  const runs = args.runs ?? (args.quick ? 1 : 3);
  const started = Date.now();

  log(`bench ${args.suite}: ${suite.title}${args.quick ? ' (quick)' : ''}, ${runs} run(s) per case`);
  log('probing machine (fdatasync rate)…');
  const machine = machineFacts();
  log(`  ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.disk.filesystem}, fdatasync ${machine.disk.fdatasync4kPerSec}/s`);
  if (machine.loadAverage[0]! > machine.cores / 2) {
    log(`  warning: load average ${machine.loadAverage[0]} on ${machine.cores} cores — other work is running, figures will be noisy`);
  }

  const prepared = await suite.prepare({ quick: args.quick, extra: args.extra, log });
  const results: CaseResult[] = prepared.cases.map((c) => ({
    id: c.id,
    workload: c.workload,
    system: c.system,
    durability: c.durability,
    medians: {},
    runs: [],
    errors: [],
  }));
  try {
    for (let run = 1; run <= runs; run++) {
      for (const [i, c] of prepared.cases.entries()) {
        const tag = `[run ${run}/${runs} · case ${i + 1}/${prepared.cases.length}] ${c.system} (${c.durability.split(/[;(]/)[0]!.trim()}) · ${c.workload}`;
        log(tag);
        const t0 = Date.now();
        try {
          const figures = await c.run({ run, log: (msg) => log(`    ${msg}`) });
          results[i]!.runs.push({ run, ...figures });
          log(`    done in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${summarize(figures)}`);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          results[i]!.errors.push({ run, message });
          log(`    FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${message}`);
          if (err instanceof Error && err.stack) log(err.stack.split('\n').slice(1, 6).join('\n'));
        }
      }
    }
  } finally {
    await prepared.cleanup?.();
  }

  for (const r of results) {
    const keys = new Set(r.runs.flatMap((x) => Object.keys(x).filter((k) => k !== 'run')));
    for (const k of keys) r.medians[k] = median(r.runs.map((x) => x[k]).filter((v): v is number => typeof v === 'number'));
  }

  const result: SuiteResult = {
    suite: args.suite,
    title: suite.title,
    description: suite.description,
    date: new Date(started).toISOString(),
    quick: args.quick,
    options: args.extra,
    runs,
    durationSec: Math.round((Date.now() - started) / 1000),
    loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
    machine,
    settings: prepared.settings,
    notes: prepared.notes,
    cases: results,
  };
  const canonical = !args.quick && Object.keys(args.extra).length === 0;
  const variant = args.quick ? '.quick' : canonical ? '' : '.custom';
  const jsonFile = path.join(repoRoot, 'bench', 'results', `${args.suite}${variant}.json`);
  writeJson(jsonFile, result);
  const section = renderSection(args.suite, suite, result, path.relative(repoRoot, jsonFile));
  process.stdout.write(section);
  log(`\nwrote ${path.relative(repoRoot, jsonFile)}`);
  if (canonical) {
    const md = path.join(repoRoot, 'PERFORMANCE.md');
    updatePerformanceMd(md, args.suite, section);
    log(`updated ${path.relative(repoRoot, md)} (section ${args.suite})`);
  } else {
    log('PERFORMANCE.md not updated (only a run without --quick and without suite options updates it)');
  }
  log(`total ${result.durationSec} s`);
  const failed = results.filter((r) => r.errors.length > 0);
  if (failed.length > 0) {
    log(`${failed.length} case(s) had failed runs: ${failed.map((f) => f.id).join(', ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
