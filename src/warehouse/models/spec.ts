/**
 * What a model and its tests may declare (pure): the `config(...)` of a model (in its SQL or
 * its YAML entry) and the YAML properties files (`models/**\/*.yml`, dbt's layout), checked
 * with messages that name the file and the field.
 *
 * ```yaml
 * models:
 *   - name: top_products
 *     config: { materialized: table }
 *     columns:
 *       - name: sku
 *         tests: [unique, not_null]
 *       - name: rank
 *         tests:
 *           - accepted_values: { values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }
 *       - name: store_id
 *         tests:
 *           - relationships: { to: "ref('stores')", field: store_id, config: { severity: warn } }
 *     tests:
 *       - expression_is_true: { expression: "revenue >= 0" }
 * ```
 */
import { z } from 'zod';
import { ZONES } from '../../lake/index.ts';
import { obj, oneOf, problemsFromIssues, str } from '../../util/schema.ts';
import { WarehouseError } from '../errors.ts';

export const MATERIALIZATIONS = ['view', 'table', 'incremental'] as const;
export type Materialization = (typeof MATERIALIZATIONS)[number];
export const INCREMENTAL_STRATEGIES = ['append', 'delete+insert', 'merge'] as const;
export type IncrementalStrategy = (typeof INCREMENTAL_STRATEGIES)[number];
export type Severity = 'error' | 'warn';

const stringList = z.union([str('a column name'), z.array(str('a column name')).min(1)], { error: 'expected a column name or a list of them' });

export const modelConfigSchema = obj({
  materialized: oneOf(MATERIALIZATIONS).optional(),
  incremental_strategy: oneOf(INCREMENTAL_STRATEGIES).optional(),
  unique_key: stringList.optional(),
  partition_by: stringList.optional(),
  zone: oneOf(['clean', 'curated'] as const).optional(),
  tags: z.union([str('a tag'), z.array(str('a tag'))], { error: 'expected a tag or a list of tags' }).optional(),
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
  description: z.string({ error: 'expected a string' }).optional(),
});
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

export interface ModelConfig {
  materialized: Materialization;
  incrementalStrategy: IncrementalStrategy | null;
  uniqueKey: string[];
  partitionBy: string[];
  zone: 'clean' | 'curated';
  tags: string[];
  enabled: boolean;
  description: string | null;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Checks and completes a model's config (YAML first, the SQL's `config()` wins). Default: a table in `curated`. */
export function resolveModelConfig(where: string, yaml: unknown, inSql: unknown): ModelConfig {
  const parse = (what: string, v: unknown) => {
    const r = modelConfigSchema.safeParse(v ?? {});
    if (!r.success) {
      const text = problemsFromIssues(r.error.issues)
        .map((p) => (p.path ? `${p.path}: ${p.message}` : p.message))
        .join('; ');
      throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: ${what}: ${text}`);
    }
    return r.data;
  };
  const c = { ...parse('config in YAML', yaml), ...parse('config()', inSql) };
  const materialized = c.materialized ?? 'table';
  const uniqueKey = list(c.unique_key);
  const partitionBy = list(c.partition_by);
  let strategy: IncrementalStrategy | null = null;
  if (materialized === 'incremental') {
    strategy = c.incremental_strategy ?? (uniqueKey.length ? 'merge' : partitionBy.length ? 'delete+insert' : 'append');
    if (strategy === 'merge' && uniqueKey.length === 0) {
      throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: incremental_strategy 'merge' needs unique_key (the column(s) a new row replaces an old one by)`);
    }
    if (strategy === 'delete+insert' && partitionBy.length === 0) {
      throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: incremental_strategy 'delete+insert' needs partition_by (the partitions a run replaces)`);
    }
  } else if (c.incremental_strategy !== undefined) {
    throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: incremental_strategy is only for materialized='incremental' (this model is a ${materialized})`);
  }
  if (materialized === 'view' && partitionBy.length) {
    throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: a view has no partitions: drop partition_by or materialize it as a table`);
  }
  for (const p of partitionBy) {
    if (!/^[a-z_][a-z0-9_]{0,127}$/.test(p)) throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${where}: partition_by column ${JSON.stringify(p)} must be a lower-case name (a-z 0-9 _): it becomes a folder name`);
  }
  return {
    materialized,
    incrementalStrategy: strategy,
    uniqueKey,
    partitionBy,
    zone: c.zone ?? 'curated',
    tags: list(c.tags),
    enabled: c.enabled ?? true,
    description: c.description ?? null,
  };
}

// --- tests -------------------------------------------------------------------------------------

export type TestSpec =
  | { kind: 'unique'; column: string; severity: Severity }
  | { kind: 'not_null'; column: string; severity: Severity }
  | { kind: 'accepted_values'; column: string; values: Array<string | number | boolean>; severity: Severity }
  | { kind: 'relationships'; column: string; to: { ref: string } | { source: [string, string] }; field: string; severity: Severity }
  | { kind: 'expression_is_true'; expression: string; severity: Severity };

export const TEST_KINDS = ['unique', 'not_null', 'accepted_values', 'relationships', 'expression_is_true'] as const;

export interface ModelProperties {
  name: string;
  config?: unknown;
  description?: string;
  columns: Array<{ name: string; description?: string }>;
  tests: TestSpec[];
  /** `file: models[2]` for messages. */
  where: string;
}

function testInvalid(where: string, message: string): never {
  throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${where}: ${message}`);
}

function parseSeverity(where: string, args: Record<string, unknown>): Severity {
  const cfg = args['config'];
  const raw = (cfg && typeof cfg === 'object' ? (cfg as Record<string, unknown>)['severity'] : undefined) ?? args['severity'];
  if (raw === undefined) return 'error';
  const v = String(raw).toLowerCase();
  if (v !== 'error' && v !== 'warn') testInvalid(where, `severity: expected "error" or "warn", got ${JSON.stringify(raw)}`);
  return v;
}

/** `ref('x')` / `source('raw', 't')` in a relationships test's `to`. */
function parseRelation(where: string, to: unknown): { ref: string } | { source: [string, string] } {
  const text = typeof to === 'string' ? to.trim() : '';
  let m = /^ref\(\s*['"]([^'"]+)['"]\s*\)$/.exec(text);
  if (m) return { ref: m[1]! };
  m = /^source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)$/.exec(text);
  if (m) return { source: [m[1]!, m[2]!] };
  return testInvalid(where, `to: expected "ref('<model>')" or "source('<zone>', '<table>')", got ${JSON.stringify(to)}`);
}

function parseTest(where: string, raw: unknown, column: string | null): TestSpec {
  let kind: string;
  let args: Record<string, unknown> = {};
  if (typeof raw === 'string') kind = raw;
  else if (raw && typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 1) {
    kind = Object.keys(raw)[0]!;
    const a = (raw as Record<string, unknown>)[kind];
    if (a !== null && a !== undefined && (typeof a !== 'object' || Array.isArray(a))) testInvalid(where, `${kind}: expected its arguments as an object`);
    args = (a ?? {}) as Record<string, unknown>;
  } else return testInvalid(where, `expected a test name (${TEST_KINDS.join(', ')}) or { <test>: { arguments } }`);
  const severity = parseSeverity(`${where}.${kind}`, args);
  const known = (keys: string[]) => {
    for (const k of Object.keys(args)) if (![...keys, 'config', 'severity'].includes(k)) testInvalid(`${where}.${kind}`, `unknown argument ${JSON.stringify(k)}; known: ${keys.join(', ') || 'none'} (and config.severity)`);
  };
  const needColumn = (): string => column ?? testInvalid(where, `${kind} belongs under a column (columns: [{ name, tests: [${kind}] }])`);
  switch (kind) {
    case 'unique':
    case 'not_null':
      known([]);
      return { kind, column: needColumn(), severity };
    case 'accepted_values': {
      known(['values', 'quote']);
      const values = args['values'];
      if (!Array.isArray(values) || values.length === 0 || values.some((v) => !['string', 'number', 'boolean'].includes(typeof v))) {
        testInvalid(`${where}.accepted_values`, 'values: expected a non-empty list of strings, numbers or booleans');
      }
      return { kind, column: needColumn(), values: values as Array<string | number | boolean>, severity };
    }
    case 'relationships': {
      known(['to', 'field']);
      const field = args['field'];
      if (typeof field !== 'string' || !field) testInvalid(`${where}.relationships`, 'field: expected the column of the parent relation');
      return { kind, column: needColumn(), to: parseRelation(`${where}.relationships`, args['to']), field, severity };
    }
    case 'expression_is_true': {
      known(['expression']);
      const expression = args['expression'];
      if (typeof expression !== 'string' || !expression.trim()) testInvalid(`${where}.expression_is_true`, 'expression: expected a SQL condition every row must satisfy, e.g. "amount >= 0"');
      const cond = column ? `${quote(column)} IS NULL OR (${expression})` : expression;
      return { kind, expression: cond, severity };
    }
    default:
      return testInvalid(where, `unknown test ${JSON.stringify(kind)}; use one of ${TEST_KINDS.join(', ')}, or a SQL test file (<name>.test.sql)`);
  }
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The models declared in one parsed YAML document. */
export function parsePropertiesFile(file: string, doc: unknown): ModelProperties[] {
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${file}: expected a mapping with a models: list`);
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!['version', 'models', 'sources'].includes(k)) throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${file}: unknown key ${JSON.stringify(k)}; known: version, models, sources`);
  }
  const models = d['models'] ?? [];
  if (!Array.isArray(models)) throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${file}: models: expected a list`);
  return models.map((m, i) => {
    const where = `${file}: models[${i}]`;
    if (!m || typeof m !== 'object' || typeof (m as { name?: unknown }).name !== 'string') testInvalid(where, 'expected { name: <model>, columns?, tests?, config? }');
    const mm = m as Record<string, unknown>;
    for (const k of Object.keys(mm)) {
      if (!['name', 'description', 'config', 'columns', 'tests', 'data_tests'].includes(k)) testInvalid(where, `unknown key ${JSON.stringify(k)}; known: name, description, config, columns, tests`);
    }
    const name = mm['name'] as string;
    const tests: TestSpec[] = [];
    const modelTests = mm['tests'] ?? mm['data_tests'] ?? [];
    if (!Array.isArray(modelTests)) testInvalid(where, 'tests: expected a list');
    (modelTests as unknown[]).forEach((t, j) => tests.push(parseTest(`${where} (${name}).tests[${j}]`, t, null)));
    const columnsRaw = mm['columns'] ?? [];
    if (!Array.isArray(columnsRaw)) testInvalid(where, 'columns: expected a list of { name, tests? }');
    const columns = (columnsRaw as unknown[]).map((c, j) => {
      const cw = `${where} (${name}).columns[${j}]`;
      if (!c || typeof c !== 'object' || typeof (c as { name?: unknown }).name !== 'string') testInvalid(cw, 'expected { name: <column>, tests? }');
      const cc = c as Record<string, unknown>;
      const ct = cc['tests'] ?? cc['data_tests'] ?? [];
      if (!Array.isArray(ct)) testInvalid(cw, 'tests: expected a list');
      (ct as unknown[]).forEach((t, k) => tests.push(parseTest(`${cw} (${cc['name'] as string}).tests[${k}]`, t, cc['name'] as string)));
      return { name: cc['name'] as string, ...(typeof cc['description'] === 'string' ? { description: cc['description'] } : {}) };
    });
    return {
      name,
      where,
      columns,
      tests,
      ...(mm['config'] !== undefined ? { config: mm['config'] } : {}),
      ...(typeof mm['description'] === 'string' ? { description: mm['description'] } : {}),
    };
  });
}

export { ZONES };
