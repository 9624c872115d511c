/**
 * What a benchmark suite (bench/suites/<name>.ts, default export) provides to the runner.
 *
 * The runner owns repetition and reporting: it asks the suite for its cases once, runs every case
 * `runs` times (run 1 of every case, then run 2 of every case, … so slow drifts of the machine
 * spread over all systems), takes per-metric medians and writes the JSON and markdown.
 * A case's `run` must start from fresh state (new peer, new data directory) and clean up after
 * itself even when it throws.
 */

import type { CaseResult } from './report.ts';

/** Named figures of one run of one case, e.g. `{ produceRecordsPerSec: 412000, … }`. */
export type Metrics = Record<string, number>;

export interface CaseContext {
  /** 1-based run number. */
  run: number;
  /** Progress line on stderr. */
  log(message: string): void;
}

export interface BenchCase {
  /** Unique within the suite, stable across runs (used to match results). */
  id: string;
  /** The table the case belongs to in PERFORMANCE.md, e.g. "1M × 100 B, 1 partition". */
  workload: string;
  /** e.g. "tributary", "redis", "nats". */
  system: string;
  /** The fsync / acknowledgement policy in words. Every figure must name one. */
  durability: string;
  run(ctx: CaseContext): Promise<Metrics>;
}

export interface MetricColumn {
  key: string;
  label: string;
  /** Fraction digits in the table. */
  digits: number;
}

export interface RatioColumn {
  /** Metric compared: subject's median ÷ this row's median. */
  key: string;
  label: string;
}

/** The columns of one workload's table. */
export interface TableSpec {
  columns: MetricColumn[];
  ratios: RatioColumn[];
}

export interface PreparedSuite {
  cases: BenchCase[];
  /** Settings worth recording (sizes, versions, client parameters). */
  settings: Record<string, unknown>;
  /** Lines printed under the section title (durability statements, caveats). */
  notes: string[];
  cleanup?(): Promise<void>;
}

export interface SuiteOptions {
  quick: boolean;
  /** Suite-specific `--name value` / `--flag` options from the command line. */
  extra: Record<string, string>;
  log(message: string): void;
}

export interface Suite {
  /** Heading of the suite's PERFORMANCE.md section. */
  title: string;
  /** One paragraph: what is measured and how. */
  description: string;
  /** The system the ratios are computed for (Tributary). */
  subject: string;
  columns: MetricColumn[];
  ratios: RatioColumn[];
  /** Help text for the suite's own options. */
  optionsHelp?: string;
  /** Optional: other columns for some workloads' tables (default: `columns` and `ratios`). */
  tableFor?(workload: string): TableSpec | undefined;
  /** Optional: lines listed after the notes, computed from the medians (e.g. goals met or not). */
  summary?(cases: CaseResult[]): string[];
  prepare(opts: SuiteOptions): Promise<PreparedSuite>;
}
