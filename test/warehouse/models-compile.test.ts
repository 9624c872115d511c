/**
 * The pure side of models: templates (ref/source/config/var/is_incremental), configs, the DAG
 * (missing models, cycles, order, selection), YAML tests and their SQL, output planning.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WarehouseError } from '../../src/warehouse/errors.ts';
import { selectModels } from '../../src/warehouse/models/dag.ts';
import { planOutput } from '../../src/warehouse/models/output.ts';
import { compileModel, compileTests, parseProject, type ProjectFile } from '../../src/warehouse/models/project.ts';
import { resolveModelConfig } from '../../src/warehouse/models/spec.ts';
import { parseTemplate, renderTemplate } from '../../src/warehouse/models/template.ts';

function rejects(fn: () => unknown, code: string, text: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WarehouseError, `expected a WarehouseError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, text);
    return true;
  });
}

const files = (entries: Record<string, string>): ProjectFile[] => Object.entries(entries).map(([file, text]) => ({ file: `models/${file}`, text }));

describe('templates', () => {
  test('collects refs, sources, config and vars in every branch, and renders one', () => {
    const t = parseTemplate(
      `{{ config(materialized='incremental', unique_key=['a', 'b'], enabled=true) }}
select * from {{ ref("base") }} join {{ source('raw', 'orders') }} using (id)
{# a comment {{ ref('nope') }} #}
{% if is_incremental() %} where ts > (select max(ts) from {{ this }}) and d < {{ var('days', 7) }}
{%- elif not is_incremental() %} /* first */ {{ ref('other') }}
{% else %} never {% endif %}`,
      'models/m.sql',
    );
    assert.deepEqual(t.config, { materialized: 'incremental', unique_key: ['a', 'b'], enabled: true });
    assert.deepEqual(t.refs.map((r) => r.name), ['base', 'other']);
    assert.deepEqual(t.sources.map((s) => [s.zone, s.table]), [['raw', 'orders']]);
    const ctx = { ref: (n: string) => `curated.${n}`, source: (z: string, tb: string) => `${z}.${tb}`, this: 'curated.m', vars: { days: 30 } };
    const inc = renderTemplate(t, { ...ctx, isIncremental: true }).sql;
    assert.match(inc, /from curated\.base join raw\.orders using \(id\)/);
    assert.match(inc, /where ts > \(select max\(ts\) from curated\.m\) and d < 30/);
    assert.doesNotMatch(inc, /first|never|nope/);
    const full = renderTemplate(t, { ...ctx, isIncremental: false, vars: {} }).sql;
    assert.match(full, /\/\* first \*\/ curated\.other/);
    assert.doesNotMatch(full, /where ts/);
  });

  test('bad templates fail with the file, line and column', () => {
    rejects(() => parseTemplate('select 1\nfrom {{ ref(orders) }}', 'models/a.sql'), 'WAREHOUSE_MODEL_INVALID', /^models\/a\.sql:2:13: ref\(\): the model name must be a quoted string/);
    rejects(() => parseTemplate('select {{ refs("x") }}', 'models/a.sql'), 'WAREHOUSE_MODEL_INVALID', /models\/a\.sql:1:11: unknown function refs\(\)/);
    rejects(() => parseTemplate('select {{ ref("x")', 'models/a.sql'), 'WAREHOUSE_MODEL_INVALID', /\{\{ is never closed/);
    rejects(() => parseTemplate('{% if is_incremental() %} x', 'models/a.sql'), 'WAREHOUSE_MODEL_INVALID', /never closed with \{% endif %\}/);
    const t = parseTemplate("select {{ var('days') }}", 'models/a.sql');
    rejects(() => renderTemplate(t, { ref: String, source: String, this: '', isIncremental: false, vars: {} }), 'WAREHOUSE_MODEL_INVALID', /--vars/);
  });

  test('the render map points back into the template', () => {
    const text = "select {{ ref('a_model_with_a_long_name') }}.x, nope";
    const r = renderTemplate(parseTemplate(text, 'm.sql'), { ref: () => 'c.a', source: String, this: '', isIncremental: false, vars: {} });
    assert.equal(r.map.toInput(r.sql.indexOf('nope')), text.indexOf('nope'));
  });
});

describe('model configs', () => {
  test('defaults to a table in curated; incremental strategies need their keys', () => {
    assert.deepEqual(resolveModelConfig('m', undefined, {}), {
      materialized: 'table', incrementalStrategy: null, uniqueKey: [], partitionBy: [], zone: 'curated', tags: [], enabled: true, description: null,
    });
    assert.equal(resolveModelConfig('m', { materialized: 'incremental' }, { unique_key: 'id' }).incrementalStrategy, 'merge');
    assert.equal(resolveModelConfig('m', {}, { materialized: 'incremental', partition_by: 'dt' }).incrementalStrategy, 'delete+insert');
    assert.equal(resolveModelConfig('m', {}, { materialized: 'incremental' }).incrementalStrategy, 'append');
    rejects(() => resolveModelConfig('m.sql', {}, { materialized: 'incremental', incremental_strategy: 'merge' }), 'WAREHOUSE_MODEL_INVALID', /needs unique_key/);
    rejects(() => resolveModelConfig('m.sql', {}, { materialized: 'incremental', incremental_strategy: 'delete+insert' }), 'WAREHOUSE_MODEL_INVALID', /needs partition_by/);
    rejects(() => resolveModelConfig('m.sql', {}, { materialised: 'table' }), 'WAREHOUSE_MODEL_INVALID', /m\.sql: config\(\): .*materialised.*did you mean "materialized"/);
    rejects(() => resolveModelConfig('m.sql', {}, { materialized: 'ephemeral' }), 'WAREHOUSE_MODEL_INVALID', /materialized: expected one of "view", "table", "incremental"/);
    rejects(() => resolveModelConfig('m.sql', {}, { materialized: 'view', partition_by: 'x' }), 'WAREHOUSE_MODEL_INVALID', /a view has no partitions/);
  });
});

describe('the DAG', () => {
  const project = () =>
    parseProject(
      files({
        'stg/a.sql': "select * from {{ source('raw', 'orders') }}",
        'stg/b.sql': "{{ config(tags=['nightly']) }} select * from {{ ref('a') }}",
        'marts/c.sql': "select * from {{ ref('b') }} join {{ ref('a') }} using (id)",
        'marts/d.sql': "select * from {{ ref('a') }}",
        'marts/e.sql': "{{ config(materialized='view') }} select 1 as x",
      }),
    );

  test('orders parents before children, ties by name', () => {
    const p = project();
    assert.deepEqual(p.dag.order, ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(p.dag.parents.get('c'), ['a', 'b']);
    assert.deepEqual(p.dag.children.get('a'), ['b', 'c', 'd']);
  });

  test('selects with +upstream, downstream+, tags and paths', () => {
    const p = project();
    const sel = (...s: string[]) => selectModels(p.dag, p.models, s);
    assert.deepEqual(sel(), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(sel('c'), ['c']);
    assert.deepEqual(sel('+c'), ['a', 'b', 'c']);
    assert.deepEqual(sel('b+'), ['b', 'c']);
    assert.deepEqual(sel('tag:nightly', 'e'), ['b', 'e']);
    assert.deepEqual(sel('path:marts/'), ['c', 'd', 'e']);
    assert.deepEqual(sel('d,e'), ['d', 'e']);
    rejects(() => sel('cc'), 'WAREHOUSE_MODEL_UNKNOWN', /--select cc: matches no model — did you mean 'c'\?/);
  });

  test('a ref to a missing model names the model, the file position and a suggestion', () => {
    rejects(
      () => parseProject(files({ 'orders.sql': 'select 1 as id', 'daily.sql': "select *\nfrom {{ ref('order') }}" })),
      'WAREHOUSE_MODEL_UNKNOWN',
      /model daily \(models\/daily\.sql:2:9\) refers to ref\('order'\), which is not a model — did you mean 'orders'\?/,
    );
  });

  test('a cycle is an error naming the models in it', () => {
    rejects(
      () =>
        parseProject(
          files({
            'x.sql': "select * from {{ ref('y') }}",
            'y.sql': "select * from {{ ref('z') }}",
            'z.sql': "select * from {{ ref('x') }}",
            'w.sql': "select * from {{ ref('x') }}",
          }),
        ),
      'WAREHOUSE_MODEL_CYCLE',
      /cycle: x → y → z → x/,
    );
    rejects(() => parseProject(files({ 's.sql': "select * from {{ ref('s') }}" })), 'WAREHOUSE_MODEL_CYCLE', /model s .* refers to itself/);
  });

  test('bad file names, duplicates, disabled refs and unknown zones are errors', () => {
    rejects(() => parseProject(files({ 'Top-Products.sql': 'select 1' })), 'WAREHOUSE_MODEL_INVALID', /rename the file .* top_products\.sql/);
    rejects(() => parseProject(files({ 'a/m.sql': 'select 1', 'b/m.sql': 'select 2' })), 'WAREHOUSE_MODEL_INVALID', /two models are named m: models\/a\/m\.sql and models\/b\/m\.sql/);
    rejects(() => parseProject(files({ 'off.sql': "{{ config(enabled=false) }} select 1", 'on.sql': "select * from {{ ref('off') }}" })), 'WAREHOUSE_MODEL_UNKNOWN', /disabled/);
    rejects(() => parseProject(files({ 'm.sql': "select * from {{ source('bronze', 'x') }}" })), 'WAREHOUSE_SOURCE_UNKNOWN', /unknown zone "bronze"/);
  });

  test('compileModel checks sources against the lake', () => {
    const p = project();
    const ctx = { isIncremental: false, vars: {}, lakeTables: new Set(['raw.orders']) };
    assert.equal(compileModel(p, p.models.get('c')!, ctx).sql, 'select * from curated.b join curated.a using (id)');
    rejects(() => compileModel(p, p.models.get('a')!, { ...ctx, lakeTables: new Set(['raw.order']) }), 'WAREHOUSE_SOURCE_UNKNOWN', /models\/stg\/a\.sql:1:18: source\('raw', 'orders'\) is not a lake table \(tables: raw\.order\)/);
  });
});

describe('tests in YAML and SQL', () => {
  const yaml = `
models:
  - name: m
    columns:
      - name: id
        tests: [unique, not_null]
      - name: kind
        tests:
          - accepted_values: { values: [a, b], config: { severity: warn } }
      - name: parent_id
        data_tests:
          - relationships: { to: "ref('p')", field: id }
    tests:
      - expression_is_true: { expression: "amount >= 0" }
`;
  const proj = () =>
    parseProject(files({ 'm.sql': 'select 1 as id', 'p.sql': 'select 1 as id', 'schema.yml': yaml, 'm_sane.test.sql': "{{ config(severity='warn') }}\nselect * from {{ ref('m') }} where id < 0;\n" }));

  test('compile to failing-row queries with names and severities', () => {
    const tests = compileTests(proj(), { lakeTables: new Set(), vars: {} });
    assert.deepEqual(
      tests.map((t) => [t.name, t.kind, t.severity]),
      [
        ['expression_is_true_m_1', 'expression_is_true', 'error'],
        ['unique_m_id', 'unique', 'error'],
        ['not_null_m_id', 'not_null', 'error'],
        ['accepted_values_m_kind', 'accepted_values', 'warn'],
        ['relationships_m_parent_id', 'relationships', 'error'],
        ['m_sane', 'sql', 'warn'],
      ],
    );
    assert.match(tests[3]!.sql, /CAST\("kind" AS VARCHAR\) NOT IN \('a', 'b'\)/);
    assert.match(tests[4]!.sql, /LEFT JOIN curated\.p AS parent ON child\."parent_id" = parent\."id"/);
    assert.equal(tests[5]!.sql, '\nselect * from curated.m where id < 0');
    assert.equal(compileTests(proj(), { lakeTables: new Set(), vars: {} }, new Set(['p'])).length, 0);
  });

  test('bad test declarations name the file and the entry', () => {
    const bad = (y: string, re: RegExp) => rejects(() => parseProject(files({ 'm.sql': 'select 1 as id', 'schema.yml': y })), 'WAREHOUSE_TEST_INVALID', re);
    bad('models:\n  - name: m\n    columns:\n      - name: id\n        tests: [uniq]\n', /models\/schema\.yml: models\[0\] \(m\)\.columns\[0\] \(id\)\.tests\[0\]: unknown test "uniq"/);
    bad('models:\n  - name: m\n    tests: [unique]\n', /unique belongs under a column/);
    bad('models:\n  - name: m\n    columns:\n      - name: id\n        tests: [{accepted_values: {values: []}}]\n', /values: expected a non-empty list/);
    bad("models:\n  - name: m\n    columns:\n      - name: id\n        tests: [{relationships: {to: 'orders', field: id}}]\n", /to: expected "ref\('<model>'\)"/);
    bad("models:\n  - name: m\n    columns:\n      - name: id\n        tests: [{not_null: {severity: fatal}}]\n", /severity: expected "error" or "warn"/);
    bad('models:\n  - name: mm\n', /describes model mm, but there is no mm\.sql/);
    bad('models: [\n', /not valid YAML/);
  });
});

describe('planOutput', () => {
  test('casts what the lake cannot store and moves partition columns to folders', () => {
    const plan = planOutput('m.sql', [
      { name: 'month', type: 'VARCHAR' },
      { name: 'n', type: 'HUGEINT' },
      { name: 'at', type: 'TIMESTAMP' },
      { name: 'd', type: 'INTERVAL' },
      { name: 'x', type: 'DECIMAL(18,3)' },
    ], ['month']);
    assert.equal(plan.select, 'CAST("n" AS BIGINT) AS "n", CAST("at" AS TIMESTAMPTZ) AS "at", CAST("d" AS VARCHAR) AS "d", "x"');
    assert.deepEqual(plan.columns.map((c) => c.type), ['int64', 'timestamp', 'string', 'decimal(18,3)']);
    rejects(() => planOutput('m.sql', [{ name: 'a', type: 'INTEGER' }], ['b']), 'WAREHOUSE_MODEL_INVALID', /partition_by column "b" is not in the result/);
    rejects(() => planOutput('m.sql', [{ name: 'a', type: 'INTEGER' }, { name: 'A', type: 'INTEGER' }], []), 'WAREHOUSE_MODEL_INVALID', /two result columns are named "A"/);
  });
});
