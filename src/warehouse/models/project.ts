/**
 * A models project: the SQL models, SQL tests and YAML properties under the models folder.
 * `parseProject` (pure) turns file contents into checked definitions and the DAG;
 * `loadProject` reads the folder; `compileModel` and `compileTests` (pure) produce the SQL a
 * build or test run executes.
 *
 * Files: `models/**\/<name>.sql` is the model `<name>` (a lake table name); `<name>.test.sql`
 * is a custom SQL test (it selects the failing rows); `*.yml` / `*.yaml` hold properties and
 * tests. Folders starting with `.` or `_` are skipped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { quoteIdent, quoteLiteral, ZONES } from '../../lake/index.ts';
import { WarehouseError } from '../errors.ts';
import type { SourceMap } from '../sql/source-map.ts';
import { buildDag, type Dag, type DagModel } from './dag.ts';
import { parsePropertiesFile, resolveModelConfig, type ModelConfig, type ModelProperties, type Severity, type TestSpec } from './spec.ts';
import { parseTemplate, renderTemplate, type ParsedTemplate } from './template.ts';

export interface ModelDef extends DagModel {
  template: ParsedTemplate;
  config: ModelConfig;
  properties: ModelProperties | null;
  /** `curated.<name>`. */
  relation: string;
}

export interface SqlTestDef {
  name: string;
  file: string;
  template: ParsedTemplate;
  severity: Severity;
}

export interface Project {
  models: Map<string, ModelDef>;
  /** Models with `enabled: false` (not built, may not be ref'd). */
  disabled: string[];
  sqlTests: SqlTestDef[];
  dag: Dag;
}

export interface ProjectFile {
  /** Relative to the project (for messages), e.g. `models/marts/top_products.sql`. */
  file: string;
  text: string;
}

const MODEL_NAME = /^[a-z_][a-z0-9_]{0,127}$/;

export function parseProject(files: readonly ProjectFile[]): Project {
  const models = new Map<string, ModelDef>();
  const disabled: string[] = [];
  const sqlTests: SqlTestDef[] = [];
  const properties = new Map<string, ModelProperties>();
  for (const f of files) {
    if (!/\.ya?ml$/.test(f.file)) continue;
    let doc: unknown;
    try {
      doc = parseYaml(f.text);
    } catch (err) {
      throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${f.file}: not valid YAML: ${(err as Error).message}`);
    }
    for (const p of parsePropertiesFile(f.file, doc)) {
      const prev = properties.get(p.name);
      if (prev) throw new WarehouseError('WAREHOUSE_TEST_INVALID', `model ${p.name} is described twice: ${prev.where} and ${p.where}`);
      properties.set(p.name, p);
    }
  }
  for (const f of [...files].sort((a, b) => a.file.localeCompare(b.file))) {
    if (!f.file.endsWith('.sql')) continue;
    const base = path.basename(f.file);
    if (base.endsWith('.test.sql')) {
      const template = parseTemplate(f.text, f.file);
      const sev = template.config['severity'] ?? 'error';
      if (sev !== 'error' && sev !== 'warn') throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${f.file}: config(severity=…) must be 'error' or 'warn'`);
      for (const k of Object.keys(template.config)) {
        if (k !== 'severity' && k !== 'tags') throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${f.file}: a test's config() takes severity (and tags), not ${k}`);
      }
      sqlTests.push({ name: base.slice(0, -'.test.sql'.length), file: f.file, template, severity: sev });
      continue;
    }
    const name = base.slice(0, -'.sql'.length);
    if (!MODEL_NAME.test(name)) {
      throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `${f.file}: the model name ${JSON.stringify(name)} is not a table name: rename the file to a-z 0-9 _ (starting with a letter or _), e.g. ${name.toLowerCase().replace(/[^a-z0-9_]/g, '_')}.sql`);
    }
    const prev = models.get(name);
    if (prev) throw new WarehouseError('WAREHOUSE_MODEL_INVALID', `two models are named ${name}: ${prev.file} and ${f.file} (model names are table names and must be unique)`);
    const template = parseTemplate(f.text, f.file);
    const props = properties.get(name) ?? null;
    const config = resolveModelConfig(f.file, props?.config, template.config);
    if (!config.enabled) {
      disabled.push(name);
      continue;
    }
    for (const s of template.sources) {
      if (!(ZONES as readonly string[]).includes(s.zone)) {
        throw new WarehouseError('WAREHOUSE_SOURCE_UNKNOWN', `${f.file}: source('${s.zone}', '${s.table}'): unknown zone ${JSON.stringify(s.zone)}; use one of ${ZONES.join(', ')}`);
      }
    }
    models.set(name, {
      name,
      file: f.file,
      text: f.text,
      refs: template.refs,
      tags: config.tags,
      template,
      config,
      properties: props,
      relation: `${config.zone}.${name}`,
    });
  }
  for (const m of models.values()) {
    for (const r of m.refs) {
      if (disabled.includes(r.name)) throw new WarehouseError('WAREHOUSE_MODEL_UNKNOWN', `model ${m.name} (${m.file}) refers to ref('${r.name}'), which is disabled (enabled: false)`);
    }
  }
  for (const p of properties.values()) {
    if (!models.has(p.name) && !disabled.includes(p.name)) {
      throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${p.where}: describes model ${p.name}, but there is no ${p.name}.sql (models: ${[...models.keys()].sort().join(', ') || 'none'})`);
    }
  }
  return { models, disabled, sqlTests, dag: buildDag(models) };
}

/** Reads every model, test and properties file under `dir` (relative names start with `models/`). */
export function loadProject(dir: string): Project {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new WarehouseError('WAREHOUSE_CONFIG_INVALID', `no models folder at ${dir}: create it with your models (<name>.sql), or set warehouse.modelsDir`);
  }
  if (!st.isDirectory()) throw new WarehouseError('WAREHOUSE_CONFIG_INVALID', `${dir} is not a folder (warehouse.modelsDir)`);
  const files: ProjectFile[] = [];
  const label = path.basename(dir);
  const walk = (abs: string, rel: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name.startsWith('_') || e.name === 'node_modules') continue;
      const a = path.join(abs, e.name);
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(a, r);
      else if (/\.(sql|ya?ml)$/.test(e.name)) files.push({ file: r, text: readFileSync(a, 'utf8') });
    }
  };
  walk(dir, label);
  return parseProject(files);
}

export interface CompileContext {
  /** The model's own table exists and this build adds to it. */
  isIncremental: boolean;
  vars: Record<string, unknown>;
  /** Lake tables that exist (`raw.orders`), to check source() against. */
  lakeTables: ReadonlySet<string>;
}

/** A model's SQL for one build, with a map back to its file for error positions. */
export function compileModel(project: Project, model: ModelDef, ctx: CompileContext): { sql: string; map: SourceMap } {
  return renderTemplate(model.template, {
    ref: (name) => project.models.get(name)!.relation,
    source: (zone, table, offset) => sourceRelation(model.template, zone, table, offset, ctx.lakeTables),
    this: model.relation,
    isIncremental: ctx.isIncremental,
    vars: ctx.vars,
  });
}

function sourceRelation(t: ParsedTemplate, zone: string, table: string, offset: number, lakeTables: ReadonlySet<string>): string {
  const name = `${zone}.${table}`;
  if (!lakeTables.has(name)) {
    const before = t.text.slice(0, offset);
    const line = before.split('\n').length;
    const col = offset - before.lastIndexOf('\n');
    throw new WarehouseError(
      'WAREHOUSE_SOURCE_UNKNOWN',
      `${t.file}:${line}:${col}: source('${zone}', '${table}') is not a lake table${lakeTables.size ? ` (tables: ${[...lakeTables].sort().join(', ')})` : ' (the lake has no tables yet)'}`,
    );
  }
  return name;
}

// --- tests -------------------------------------------------------------------------------------

export interface CompiledTest {
  /** dbt-style: `unique_top_products_sku`, `accepted_values_top_products_rank`, or the SQL test's file name. */
  name: string;
  kind: TestSpec['kind'] | 'sql';
  model: string | null;
  column: string | null;
  severity: Severity;
  /** Selects the failing rows. */
  sql: string;
  /** For error positions (SQL tests). */
  origin?: { text: string; map: SourceMap; file: string };
  file: string;
}

function literal(v: string | number | boolean): string {
  return typeof v === 'string' ? quoteLiteral(v) : String(v);
}

/** The failing-row query of every test (of the `models` given, or all); pure. */
export function compileTests(project: Project, ctx: { lakeTables: ReadonlySet<string>; vars: Record<string, unknown> }, only?: ReadonlySet<string>): CompiledTest[] {
  const out: CompiledTest[] = [];
  for (const m of project.models.values()) {
    if (only && !only.has(m.name)) continue;
    const props = m.properties;
    if (!props) continue;
    const rel = m.relation;
    for (const t of props.tests) {
      const sev = t.severity;
      const file = props.where.split(':')[0]!;
      switch (t.kind) {
        case 'unique': {
          const c = quoteIdent(t.column);
          out.push({ name: `unique_${m.name}_${t.column}`, kind: t.kind, model: m.name, column: t.column, severity: sev, file, sql: `SELECT ${c}, count(*) AS n_records FROM ${rel} WHERE ${c} IS NOT NULL GROUP BY ${c} HAVING count(*) > 1` });
          break;
        }
        case 'not_null':
          out.push({ name: `not_null_${m.name}_${t.column}`, kind: t.kind, model: m.name, column: t.column, severity: sev, file, sql: `SELECT * FROM ${rel} WHERE ${quoteIdent(t.column)} IS NULL` });
          break;
        case 'accepted_values': {
          const c = quoteIdent(t.column);
          const allStrings = t.values.every((v) => typeof v === 'string');
          const lhs = allStrings ? `CAST(${c} AS VARCHAR)` : c;
          out.push({
            name: `accepted_values_${m.name}_${t.column}`,
            kind: t.kind,
            model: m.name,
            column: t.column,
            severity: sev,
            file,
            sql: `SELECT ${c} AS value, count(*) AS n_records FROM ${rel} WHERE ${c} IS NOT NULL AND ${lhs} NOT IN (${t.values.map(literal).join(', ')}) GROUP BY ${c}`,
          });
          break;
        }
        case 'relationships': {
          let parent: string;
          if ('ref' in t.to) {
            const p = project.models.get(t.to.ref);
            if (!p) throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${props.where} (${m.name}): relationships to ref('${t.to.ref}'): no such model`);
            parent = p.relation;
          } else {
            parent = `${t.to.source[0]}.${t.to.source[1]}`;
            if (!ctx.lakeTables.has(parent)) throw new WarehouseError('WAREHOUSE_TEST_INVALID', `${props.where} (${m.name}): relationships to source('${t.to.source[0]}', '${t.to.source[1]}'): not a lake table`);
          }
          const c = quoteIdent(t.column);
          const f = quoteIdent(t.field);
          out.push({
            name: `relationships_${m.name}_${t.column}`,
            kind: t.kind,
            model: m.name,
            column: t.column,
            severity: sev,
            file,
            sql: `SELECT child.${c} AS ${c} FROM ${rel} AS child LEFT JOIN ${parent} AS parent ON child.${c} = parent.${f} WHERE child.${c} IS NOT NULL AND parent.${f} IS NULL`,
          });
          break;
        }
        case 'expression_is_true':
          out.push({
            name: `expression_is_true_${m.name}_${out.filter((x) => x.model === m.name && x.kind === 'expression_is_true').length + 1}`,
            kind: t.kind,
            model: m.name,
            column: null,
            severity: sev,
            file,
            sql: `SELECT * FROM ${rel} WHERE NOT coalesce((${t.expression}), false)`,
          });
          break;
      }
    }
  }
  for (const t of project.sqlTests) {
    const refs = t.template.refs.map((r) => r.name);
    for (const r of t.template.refs) {
      if (!project.models.has(r.name)) throw new WarehouseError('WAREHOUSE_MODEL_UNKNOWN', `test ${t.name} (${t.file}) refers to ref('${r.name}'), which is not a model`);
    }
    if (only && refs.length && !refs.some((r) => only.has(r))) continue;
    const { sql, map } = renderTemplate(t.template, {
      ref: (name) => project.models.get(name)!.relation,
      source: (zone, table, offset) => sourceRelation(t.template, zone, table, offset, ctx.lakeTables),
      this: '',
      isIncremental: false,
      vars: ctx.vars,
    });
    out.push({ name: t.name, kind: 'sql', model: refs[0] ?? null, column: null, severity: t.severity, sql: stripSemicolon(sql), origin: { text: t.template.text, map, file: t.file }, file: t.file });
  }
  return out;
}

/** Drops a trailing `;` (and whitespace) so the SQL can be wrapped in a subquery. */
export function stripSemicolon(sql: string): string {
  return sql.replace(/;\s*$/, '');
}
