/**
 * Writing results: bench/results/<suite>.json (everything, including each run's raw figures) and
 * the suite's section of PERFORMANCE.md, between `<!-- bench:<suite>:start -->` and
 * `<!-- bench:<suite>:end -->`, leaving the other suites' sections untouched.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MachineFacts } from './machine.ts';
import type { Metrics, Suite } from './suite.ts';

export interface CaseResult {
  id: string;
  workload: string;
  system: string;
  durability: string;
  /** Per-metric median over the successful runs. */
  medians: Metrics;
  /** Every successful run's figures, in run order. */
  runs: Array<Metrics & { run: number }>;
  /** Runs that threw. */
  errors: Array<{ run: number; message: string }>;
}

export interface SuiteResult {
  suite: string;
  title: string;
  description: string;
  date: string;
  quick: boolean;
  /** Suite options given on the command line (empty for a canonical run). */
  options: Record<string, string>;
  runs: number;
  durationSec: number;
  /** 1/5/15 min load averages when the run ended (the start is in `machine`). */
  loadAverageAtEnd: number[];
  machine: MachineFacts;
  settings: Record<string, unknown>;
  notes: string[];
  cases: CaseResult[];
}

export function writeJson(file: string, result: SuiteResult): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
}

function fmt(value: number | undefined, digits: number): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The markdown of one suite's section, markers excluded. */
export function renderSection(suiteName: string, suite: Suite, result: SuiteResult, jsonPath: string): string {
  const m = result.machine;
  const lines: string[] = [];
  lines.push(`## ${suiteName}: ${suite.title}`, '');
  lines.push(suite.description, '');
  const flags = [result.quick ? ' --quick' : '', ...Object.entries(result.options).map(([k, v]) => (v === 'true' ? ` --${k}` : ` --${k} ${v}`))].join('');
  lines.push(
    `Run ${result.date.slice(0, 10)} with \`npm run bench -- ${suiteName}${flags}\`` +
      ` — ${result.runs} run${result.runs === 1 ? '' : 's'} per case, medians shown; every run's figures in \`${jsonPath}\`.`,
    '',
  );
  lines.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}, Linux ${m.kernel}, Node ${m.node}; ` +
      `disk ${m.disk.filesystem}, ${m.disk.note} Load average (1 min) ${m.loadAverage[0]} at the start, ${result.loadAverageAtEnd[0]} at the end.`,
    '',
  );
  for (const note of result.notes) lines.push(`- ${note}`);
  if (result.notes.length > 0) lines.push('');
  const summary = suite.summary?.(result.cases) ?? [];
  for (const line of summary) lines.push(`- ${line}`);
  if (summary.length > 0) lines.push('');

  const workloads = [...new Set(result.cases.map((c) => c.workload))];
  for (const workload of workloads) {
    const cases = result.cases.filter((c) => c.workload === workload);
    const subject = cases.find((c) => c.system === suite.subject && c.runs.length > 0);
    const table = suite.tableFor?.(workload) ?? { columns: suite.columns, ratios: suite.ratios };
    lines.push(`### ${workload}`, '');
    const header = ['system', 'durability', ...table.columns.map((c) => c.label)];
    const subjectName = suite.subject.charAt(0).toUpperCase() + suite.subject.slice(1);
    const ratioCols = table.ratios.map((r) => `${subjectName} ÷ this, ${r.label}`);
    header.push(...ratioCols);
    lines.push(`| ${header.join(' | ')} |`);
    lines.push(`|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
    for (const c of cases) {
      const cells = [escapeCell(c.system), escapeCell(c.durability)];
      if (c.runs.length === 0) {
        const msg = c.errors[0]?.message ?? 'no result';
        cells.push(`failed: ${escapeCell(msg.slice(0, 120))}`, ...new Array(table.columns.length - 1 + table.ratios.length).fill(''));
      } else {
        for (const col of table.columns) cells.push(fmt(c.medians[col.key], col.digits));
        for (const r of table.ratios) {
          if (!subject || c === subject) cells.push('—');
          else {
            const ratio = (subject.medians[r.key] ?? NaN) / (c.medians[r.key] ?? NaN);
            cells.push(Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—');
          }
        }
      }
      lines.push(`| ${cells.join(' | ')} |`);
    }
    if (!subject) lines.push('', `_${suite.subject}: no figures in this run._`);
    lines.push('');
  }
  return lines.join('\n').trimEnd() + '\n';
}

const HEADER = `# Performance

Measured, not asserted: each section below is written by \`npm run bench -- <suite>\` (see
\`bench/README.md\`), which runs Tributary side by side with real peer systems on the same machine
in the same run. Every figure names its durability (fsync) policy. Do not edit between the
\`bench:\` markers by hand; the next run replaces that section.
`;

/** Replaces (or appends) the suite's section of the markdown file; creates the file if needed. */
export function updatePerformanceMd(file: string, suiteName: string, section: string): void {
  const start = `<!-- bench:${suiteName}:start -->`;
  const end = `<!-- bench:${suiteName}:end -->`;
  const block = `${start}\n${section.trimEnd()}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) {
    text = text.slice(0, i) + block + text.slice(j + end.length);
  } else {
    if (i >= 0 || j >= 0) throw new Error(`${file}: unbalanced markers for suite "${suiteName}"; fix them by hand`);
    text = text.trimEnd() + '\n\n' + block + '\n';
  }
  writeFileSync(file, text);
}
