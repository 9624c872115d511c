/**
 * Building and testing models (I/O): every statement goes through the SQL gateway (so reads of
 * lake tables are authorized and audited like any query), and every table a model produces is
 * committed to the lake — one atomic snapshot per model — so external engines see it too.
 *
 * Design note — one model's build:
 *   view         `CREATE OR REPLACE VIEW <zone>.<name>` in the warehouse (a lake table of that
 *                name, left from an earlier materialization, is dropped);
 *   table        the result goes into a temp table, then to Parquet files in the lake's staging
 *                folder (one per partition), then `lake.overwrite` (whole table, one snapshot);
 *   incremental  first build (or --full-refresh): as table. Then the SQL renders with
 *                is_incremental() true and, by strategy:
 *                  append          `lake.append` of the new rows;
 *                  delete+insert   `lake.overwrite` of exactly the partitions the new rows fall in;
 *                  merge           old rows whose unique key reappears are replaced: the affected
 *                                  partitions (or the whole table) are rewritten as
 *                                  old-minus-replaced ∪ new, in one snapshot.
 * After a commit the model's view is refreshed before the next model runs, so `ref()` always
 * reads what was just built. A failing model fails only itself; its descendants are skipped.
 * One build or test run at a time (WAREHOUSE_BUSY otherwise).
 */
import { rmSync } from 'node:fs';
import type { Json } from '@duckdb/node-api';
import { HIVE_NULL, quoteIdent, quoteLiteral, type Lake, type PartitionField, type PartitionValues, type StagedFile } from '../../lake/index.ts';
import { LakeError } from '../../lake/index.ts';
import { ANONYMOUS, servicePrincipal, type Governance, type Principal } from '../../govern/index.ts';
import { WarehouseError, type SqlPosition } from '../errors.ts';
import type { GatewaySession, SqlGateway } from '../gateway/gateway.ts';
import { MODEL_VIEW_COMMENT, LAKE_VIEW_COMMENT } from '../gateway/lake-views.ts';
import { wrap, type SourceMap } from '../sql/source-map.ts';
import { selectModels } from './dag.ts';
import { partitionFilter, planOutput } from './output.ts';
import { compileModel, compileTests, loadProject, stripSemicolon, type CompiledTest, type ModelDef, type Project } from './project.ts';
import type { Severity } from './spec.ts';

export interface BuildOptions {
  /** dbt-style selectors (see `selectModels`); default every model. */
  select?: string[];
  /** Values for `var()`. */
  vars?: Record<string, unknown>;
  /** Rebuild incremental models from scratch. */
  fullRefresh?: boolean;
  principal?: Principal;
  onEvent?: (e: BuildEvent) => void;
}

export type BuildEvent = { type: 'start'; model: string; index: number; total: number } | { type: 'done'; result: ModelResult };

export interface ModelResult {
  model: string;
  relation: string;
  materialized: string;
  strategy: string | null;
  status: 'success' | 'error' | 'skipped';
  /** Rows the run produced (new rows for incremental runs). */
  rows: number | null;
  /** Lake snapshot of the commit (tables). */
  snapshot: number | null;
  ms: number;
  error?: { code: string; message: string; position?: SqlPosition };
  /** Skipped: the upstream model that failed. */
  skippedBecause?: string;
}

export interface TestResult {
  test: string;
  kind: string;
  model: string | null;
  column: string | null;
  severity: Severity;
  status: 'pass' | 'fail' | 'warn' | 'error';
  failures: number;
  /** Up to 5 failing rows. */
  samples: Array<Record<string, Json>>;
  sql: string;
  ms: number;
  error?: { code: string; message: string };
}

export interface ModelRunnerOptions {
  gateway: SqlGateway;
  lake: Lake;
  modelsDir: string;
  governance: Governance;
}

const SAMPLE_ROWS = 5;

export class ModelRunner {
  private busy: string | null = null;

  constructor(private readonly opts: ModelRunnerOptions) {}

  /** Loads and checks the project (models, tests, DAG); throws on bad models, missing refs, cycles. */
  project(): Project {
    return loadProject(this.opts.modelsDir);
  }

  private async exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new WarehouseError('WAREHOUSE_BUSY', `a model ${this.busy} is running: wait for it to finish`);
    this.busy = what;
    try {
      return await fn();
    } finally {
      this.busy = null;
    }
  }

  /** Builds the selected models in dependency order. */
  build(opts: BuildOptions = {}): Promise<{ ok: boolean; results: ModelResult[] }> {
    return this.exclusive('build', async () => {
      const project = this.project();
      const names = selectModels(project.dag, project.models, opts.select ?? []);
      const principal = opts.principal ?? ANONYMOUS;
      const results: ModelResult[] = [];
      const failed = new Map<string, string>();
      for (const [index, name] of names.entries()) {
        const model = project.models.get(name)!;
        opts.onEvent?.({ type: 'start', model: name, index, total: names.length });
        const upstreamFailure = project.dag.parents.get(name)!.map((p) => failed.get(p)).find((x) => x !== undefined);
        let result: ModelResult;
        if (upstreamFailure !== undefined) {
          failed.set(name, upstreamFailure);
          result = { ...this.resultBase(model), status: 'skipped', rows: null, snapshot: null, ms: 0, skippedBecause: upstreamFailure };
        } else {
          const start = Date.now();
          try {
            const out = await this.buildModel(project, model, { vars: opts.vars ?? {}, fullRefresh: opts.fullRefresh ?? false, principal });
            result = { ...this.resultBase(model), status: 'success', rows: out.rows, snapshot: out.snapshot, ms: Date.now() - start };
          } catch (err) {
            failed.set(name, name);
            const e = err as WarehouseError;
            result = {
              ...this.resultBase(model),
              status: 'error',
              rows: null,
              snapshot: null,
              ms: Date.now() - start,
              error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err), ...(e.position ? { position: e.position } : {}) },
            };
          }
        }
        results.push(result);
        opts.onEvent?.({ type: 'done', result });
      }
      return { ok: results.every((r) => r.status === 'success'), results };
    });
  }

  private resultBase(m: ModelDef) {
    return { model: m.name, relation: m.relation, materialized: m.config.materialized, strategy: m.config.incrementalStrategy };
  }

  private async lakeTables(): Promise<Set<string>> {
    return new Set((await this.opts.lake.tables()).map((t) => t.fullName));
  }

  private async buildModel(
    project: Project,
    model: ModelDef,
    o: { vars: Record<string, unknown>; fullRefresh: boolean; principal: Principal },
  ): Promise<{ rows: number | null; snapshot: number | null }> {
    const { gateway, lake, governance } = this.opts;
    governance.authorize(o.principal, 'execute', { type: 'model', name: model.name }, 'models');
    governance.authorize(o.principal, 'write', { type: 'table', name: model.relation }, 'models');
    const lakeTables = await this.lakeTables();
    const exists = lakeTables.has(model.relation);
    const cfg = model.config;
    const incremental = cfg.materialized === 'incremental' && exists && !o.fullRefresh;
    const compiled = compileModel(project, model, { isIncremental: incremental, vars: o.vars, lakeTables });
    const body = stripSemicolon(compiled.sql);
    const origin = (prefix: string, suffix: string) => {
      const w = wrap(prefix, body, suffix);
      return { sql: w.text, origin: { text: model.text, map: compiled.map.then(w.map) as SourceMap, file: model.file } };
    };

    if (cfg.materialized === 'view') {
      // Bind it through the gateway first: authorization of what it reads, and positioned errors.
      const probe = origin('SELECT * FROM (\n', '\n) LIMIT 0');
      await gateway.all(probe.sql, { principal: o.principal, origin: probe.origin, trusted: true, via: 'models' });
      if (exists) await lake.dropTable(model.relation, { writer: 'warehouse' });
      await gateway.views.refresh(model.relation);
      const [zone, name] = model.relation.split('.') as [string, string];
      const target = `${quoteIdent(zone)}.${quoteIdent(name)}`;
      await gateway.views.ddl(async (c) => {
        const existing = await gateway.views.commentOf(c, zone, name);
        if (existing === LAKE_VIEW_COMMENT) await c.run(`DROP VIEW ${target}`);
        await c.run('BEGIN');
        try {
          await c.run(`CREATE OR REPLACE VIEW ${target} AS\n${body}\n`);
          await c.run(`COMMENT ON VIEW ${target} IS ${quoteLiteral(MODEL_VIEW_COMMENT)}`);
          await c.run('COMMIT');
        } catch (err) {
          await c.run('ROLLBACK').catch(() => {});
          throw err;
        }
      });
      return { rows: null, snapshot: null };
    }

    const session = await gateway.session();
    const tmp = `__tributary_new_${model.name}`;
    const staged: string[] = [];
    try {
      const create = origin(`CREATE OR REPLACE TEMP TABLE ${tmp} AS SELECT * FROM (\n`, '\n)');
      await gateway.exec(create.sql, { principal: o.principal, origin: create.origin, session, via: 'models' });
      const described = (await gateway.exec(`DESCRIBE ${tmp}`, { session })).map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
      const plan = planOutput(model.file, described, cfg.partitionBy);
      const rows = Number((await gateway.exec(`SELECT count(*) AS n FROM ${tmp}`, { session }))[0]!['n']);
      const partitionSpec: PartitionField[] = cfg.partitionBy.map((p) => ({ name: p, transform: 'identity' }));
      const commitOpts = { writer: 'warehouse', message: `model ${model.name}`, evolveSchema: true };

      // Writes `from` (a relation with the model's columns) as files, one per partition.
      const writeFiles = async (from: string): Promise<{ files: StagedFile[]; partitions: PartitionValues[] }> => {
        const partitions = await this.partitionsOf(session, from, cfg.partitionBy);
        const files: StagedFile[] = [];
        for (const part of partitions) {
          const file = lake.stagingPath();
          staged.push(file);
          const where = cfg.partitionBy.length ? ` WHERE ${partitionFilter(part, HIVE_NULL)}` : '';
          await gateway.exec(`COPY (SELECT ${plan.select} FROM ${from}${where}) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION zstd)`, { session });
          files.push({ localPath: file, ...(cfg.partitionBy.length ? { partition: part } : {}) });
        }
        return { files, partitions };
      };

      let snapshot: number;
      const strategy = incremental ? cfg.incrementalStrategy! : 'full';
      if (strategy === 'full') {
        const existing = exists ? await lake.table(model.relation) : null;
        const specChanged = existing !== null && existing.partitionBy.map((p) => p.name).join(',') !== cfg.partitionBy.join(',');
        if (existing && specChanged) await lake.dropTable(model.relation, { writer: 'warehouse' });
        if (!existing || specChanged) await this.createTable(model.relation, plan.columns, partitionSpec);
        const { files } = await writeFiles(tmp);
        snapshot = await this.replaceAll(model.relation, files, commitOpts, plan.columns, partitionSpec);
      } else if (strategy === 'append') {
        if (rows === 0) return { rows, snapshot: null };
        const { files } = await writeFiles(tmp);
        snapshot = (await lake.append(model.relation, files, commitOpts)).snapshot.id;
      } else if (strategy === 'delete+insert') {
        if (rows === 0) return { rows, snapshot: null };
        const { files, partitions } = await writeFiles(tmp);
        snapshot = (await lake.overwrite(model.relation, files, { ...commitOpts, partitions })).snapshot.id;
      } else {
        // merge on the unique key
        if (rows === 0) return { rows, snapshot: null };
        const keys = cfg.uniqueKey;
        for (const k of keys) {
          if (!described.some((d) => d.name === k)) throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${model.file}: unique_key column ${JSON.stringify(k)} is not in the result`);
        }
        const match = keys.map((k) => `n.${quoteIdent(k)} IS NOT DISTINCT FROM t.${quoteIdent(k)}`).join(' AND ');
        const merged = `__tributary_merged_${model.name}`;
        const current = model.relation;
        if (cfg.partitionBy.length) {
          // Partitions touched: those of the new rows and those of the rows they replace.
          const pcols = cfg.partitionBy.map((p) => `CAST(${quoteIdent(p)} AS VARCHAR) AS ${quoteIdent(p)}`).join(', ');
          await gateway.exec(
            `CREATE OR REPLACE TEMP TABLE __tributary_parts AS SELECT DISTINCT ${pcols} FROM ${tmp} UNION SELECT DISTINCT ${pcols} FROM ${current} t WHERE EXISTS (SELECT 1 FROM ${tmp} n WHERE ${match})`,
            { session, via: 'models', principal: servicePrincipal('warehouse') },
          );
          const inParts = cfg.partitionBy.map((p) => `CAST(t.${quoteIdent(p)} AS VARCHAR) IS NOT DISTINCT FROM x.${quoteIdent(p)}`).join(' AND ');
          await gateway.exec(
            `CREATE OR REPLACE TEMP TABLE ${merged} AS SELECT t.* FROM ${current} t WHERE EXISTS (SELECT 1 FROM __tributary_parts x WHERE ${inParts}) AND NOT EXISTS (SELECT 1 FROM ${tmp} n WHERE ${match}) UNION ALL BY NAME SELECT * FROM ${tmp}`,
            { session, via: 'models', principal: servicePrincipal('warehouse') },
          );
          const { files, partitions } = await writeFiles(merged);
          snapshot = (await lake.overwrite(model.relation, files, { ...commitOpts, partitions })).snapshot.id;
        } else {
          await gateway.exec(
            `CREATE OR REPLACE TEMP TABLE ${merged} AS SELECT t.* FROM ${current} t WHERE NOT EXISTS (SELECT 1 FROM ${tmp} n WHERE ${match}) UNION ALL BY NAME SELECT * FROM ${tmp}`,
            { session, via: 'models', principal: servicePrincipal('warehouse') },
          );
          const { files } = await writeFiles(merged);
          snapshot = (await lake.overwrite(model.relation, files, commitOpts)).snapshot.id;
        }
      }
      await gateway.views.refresh(model.relation);
      return { rows, snapshot };
    } finally {
      session.close();
      for (const f of staged) rmSync(f, { force: true });
    }
  }

  private async createTable(relation: string, columns: Array<{ name: string; type: import('../../lake/index.ts').ColumnType }>, partitionBy: PartitionField[]): Promise<void> {
    // A model's SQL may yield no rows: the table must exist (with its columns) all the same.
    await this.opts.lake.createTable(relation, { columns, partitionBy, ifNotExists: true, writer: 'warehouse' });
    await this.opts.gateway.views.refresh(relation);
  }

  /** Replaces the whole table; a schema the table cannot evolve to (a type narrowed or changed) recreates it. */
  private async replaceAll(
    relation: string,
    files: StagedFile[],
    opts: { writer: string; message: string; evolveSchema: boolean },
    columns: Array<{ name: string; type: import('../../lake/index.ts').ColumnType }>,
    partitionBy: PartitionField[],
  ): Promise<number> {
    const { lake } = this.opts;
    try {
      return (await lake.overwrite(relation, files, opts)).snapshot.id;
    } catch (err) {
      if (!(err instanceof LakeError) || (err.code !== 'LAKE_SCHEMA_INCOMPATIBLE' && err.code !== 'LAKE_DATA_INVALID')) throw err;
      // Not atomic across the drop (readers briefly see no table); only when the model's columns changed type.
      await lake.dropTable(relation, { writer: 'warehouse' });
      await this.createTable(relation, columns, partitionBy);
      return (await lake.overwrite(relation, files, opts)).snapshot.id;
    }
  }

  /** Distinct partition values of `from` as folder values (no partitioning: one empty partition). */
  private async partitionsOf(session: GatewaySession, from: string, partitionBy: readonly string[]): Promise<PartitionValues[]> {
    if (partitionBy.length === 0) return [{}];
    const cols = partitionBy.map((p) => `CAST(${quoteIdent(p)} AS VARCHAR) AS ${quoteIdent(p)}`).join(', ');
    const rows = await this.opts.gateway.exec(`SELECT DISTINCT ${cols} FROM ${from} ORDER BY ALL`, { session });
    return rows.map((r) => Object.fromEntries(partitionBy.map((p) => [p, r[p] === null ? HIVE_NULL : String(r[p])])));
  }

  /** Runs the tests (of the selected models, or all). */
  test(opts: { select?: string[]; vars?: Record<string, unknown>; principal?: Principal; onResult?: (r: TestResult) => void } = {}): Promise<{ ok: boolean; results: TestResult[] }> {
    return this.exclusive('test', async () => {
      const project = this.project();
      const only = opts.select?.length ? new Set(selectModels(project.dag, project.models, opts.select)) : undefined;
      const tests = compileTests(project, { lakeTables: await this.lakeTables(), vars: opts.vars ?? {} }, only);
      const results: TestResult[] = [];
      for (const t of tests) {
        const r = await this.runTest(t, opts.principal ?? ANONYMOUS);
        results.push(r);
        opts.onResult?.(r);
      }
      return { ok: results.every((r) => r.status === 'pass' || r.status === 'warn'), results };
    });
  }

  private async runTest(t: CompiledTest, principal: Principal): Promise<TestResult> {
    const { gateway } = this.opts;
    const start = Date.now();
    const base = { test: t.name, kind: t.kind, model: t.model, column: t.column, severity: t.severity, sql: t.sql };
    const opt = (prefix: string, suffix: string) => {
      const w = wrap(prefix, t.sql, suffix);
      return { sql: w.text, opts: { principal, via: 'models', ...(t.origin ? { origin: { text: t.origin.text, map: t.origin.map.then(w.map) as SourceMap, file: t.origin.file } } : {}) } };
    };
    try {
      const c = opt('SELECT count(*) AS n FROM (\n', '\n)');
      const failures = Number((await gateway.all(c.sql, c.opts))[0]!['n']);
      let samples: Array<Record<string, Json>> = [];
      if (failures > 0) {
        const s = opt('SELECT * FROM (\n', `\n) LIMIT ${SAMPLE_ROWS}`);
        samples = await gateway.all(s.sql, s.opts);
      }
      const status = failures === 0 ? 'pass' : t.severity === 'warn' ? 'warn' : 'fail';
      return { ...base, status, failures, samples, ms: Date.now() - start };
    } catch (err) {
      const e = err as WarehouseError;
      return { ...base, status: 'error', failures: 0, samples: [], ms: Date.now() - start, error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } };
    }
  }
}
