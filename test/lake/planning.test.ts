/** The lake's pure parts: types and widenings, evolution plans, JSON row checks and inference, partitions, compaction plans. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCompaction } from '../../src/lake/compaction/plan.ts';
import { LakeError } from '../../src/lake/errors.ts';
import { parseTableName } from '../../src/lake/names.ts';
import { checkPartitionValues, EventTimePartitioner, identityValue, partitionPath, partitionTimeRange, timePartitioning } from '../../src/lake/partition.ts';
import { canWiden, fromDuckdbType, isColumnType } from '../../src/lake/schema/column-types.ts';
import { applySchemaChange, planSchemaEvolution } from '../../src/lake/schema/evolution.ts';
import { compileRowChecker, inferColumns, parseIsoTimestamp } from '../../src/lake/schema/json-rows.ts';
import type { Column, DataFile } from '../../src/lake/types.ts';

const err = (fn: () => unknown, code: string, text: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof LakeError && e.code === code && text.test(e.message));

test('column types, widenings and DuckDB names', () => {
  assert.ok(isColumnType('decimal(10,2)'));
  assert.ok(!isColumnType('decimal(40,2)'));
  assert.ok(!isColumnType('varchar'));
  assert.ok(canWiden('int32', 'int64'));
  assert.ok(canWiden('float32', 'float64'));
  assert.ok(canWiden('decimal(10,2)', 'decimal(12,2)'));
  assert.ok(!canWiden('int64', 'int32'));
  assert.ok(!canWiden('int64', 'float64'));
  assert.ok(!canWiden('decimal(10,2)', 'decimal(12,3)'));
  assert.equal(fromDuckdbType('SMALLINT'), 'int32');
  assert.equal(fromDuckdbType('TIMESTAMP WITH TIME ZONE'), 'timestamp');
  assert.equal(fromDuckdbType('STRUCT(a INTEGER)'), 'json');
  assert.equal(fromDuckdbType('HUGEINT'), null);
});

test('schema evolution plans and refusals', () => {
  const cols: Column[] = [
    { id: 1, name: 'n', type: 'int32', nullable: true },
    { id: 2, name: 'name', type: 'string', nullable: false },
  ];
  const change = planSchemaEvolution(cols, [{ name: 'n', type: 'int64' }, { name: 'name', type: 'string', nullable: true }, { name: 'x', type: 'float64' }], 3);
  assert.deepEqual(change, { add: [{ id: 3, name: 'x', type: 'float64', nullable: true }], widen: [{ name: 'n', from: 'int32', to: 'int64' }], relax: ['name'] });
  assert.deepEqual(applySchemaChange(cols, change).map((c) => `${c.id}:${c.name}:${c.type}:${c.nullable}`), ['1:n:int64:true', '2:name:string:true', '3:x:float64:true']);
  err(() => planSchemaEvolution(cols, [{ name: 'N', type: 'int32' }], 3), 'LAKE_SCHEMA_INCOMPATIBLE', /"N": the table has it as "n"/);
  err(() => planSchemaEvolution(cols, [{ name: 'name', type: 'json' }], 3), 'LAKE_SCHEMA_INCOMPATIBLE', /column "name": cannot change string to json/);
  err(() => planSchemaEvolution(cols, [{ name: 'a', type: 'string' }, { name: 'A', type: 'string' }], 3), 'LAKE_SCHEMA_INVALID', /declared twice/);
  err(() => planSchemaEvolution(cols, [{ name: 'a', type: 'text' as never }], 3), 'LAKE_SCHEMA_INVALID', /column "a": unknown type "text"/);
});

test('JSON rows: checks name the field; inference unifies what it sees', () => {
  const check = compileRowChecker(
    [
      { id: 1, name: 'id', type: 'int32', nullable: false },
      { id: 2, name: 'at', type: 'timestamp', nullable: true },
      { id: 3, name: 'd', type: 'date', nullable: true },
      { id: 4, name: 'price', type: 'decimal(5,2)', nullable: true },
    ],
    { rejectExtra: true },
  );
  assert.deepEqual(check({ id: 1, at: '2024-05-01T07:00:00.5+09:00', d: '2024-02-29', price: 999.99 }), { problem: null, extra: null });
  assert.equal(check({ id: 2 ** 31 }).problem, 'field "id": expected a whole number in int32 range, got 2147483648');
  assert.equal(check({ id: 1, at: '2024-13-01T00:00:00Z' }).problem, 'field "at": expected an ISO-8601 timestamp string, got "2024-13-01T00:00:00Z"');
  assert.equal(check({ id: 1, d: '2023-02-29' }).problem, 'field "d": expected a date "YYYY-MM-DD", got "2023-02-29"');
  assert.equal(check({ id: 1, price: 1000 }).problem, 'field "price": expected a number below 1000 in magnitude, got 1000');
  assert.equal(check({ id: 1, more: 1, other: 2 }).problem, 'field "more" is not in the table schema (nor "other")');
  assert.equal(check('x').problem, 'expected a JSON object, got "x"');
  assert.equal(parseIsoTimestamp('2024-05-01 07:00'), Date.UTC(2024, 4, 1, 7));
  assert.equal(parseIsoTimestamp('2024-05-01T07:00:00+0900'), Date.UTC(2024, 4, 0, 22));
  assert.deepEqual(
    inferColumns([{ a: 1, b: 'x', t: '2024-05-01T00:00:00Z', n: null }, { a: 1.5, b: 2, c: [1], d: '2024-05-01' }]).map((c) => [c.name, c.type]),
    [['a', 'float64'], ['b', 'json'], ['t', 'timestamp'], ['n', 'string'], ['c', 'json'], ['d', 'date']],
  );
});

test('partitions: event-time values, paths, bad segments, time ranges', () => {
  const spec = timePartitioning('hour');
  const p = new EventTimePartitioner(spec);
  assert.deepEqual(p.valuesFor(Date.UTC(2024, 4, 1, 7, 59)), { values: { dt: '2024-05-01', hr: '07' }, key: 'dt=2024-05-01/hr=07' });
  assert.deepEqual(p.valuesFor(Date.UTC(2024, 4, 1, 8)).values, { dt: '2024-05-01', hr: '08' });
  assert.equal(partitionPath(spec, { dt: '2024-05-01', hr: '07' }), 'dt=2024-05-01/hr=07');
  assert.deepEqual(partitionTimeRange(spec, { dt: '2024-05-01', hr: '07' }), { start: Date.UTC(2024, 4, 1, 7), end: Date.UTC(2024, 4, 1, 8) });
  assert.deepEqual(partitionTimeRange([{ name: 'm', transform: 'month' }], { m: '2024-12' }), { start: Date.UTC(2024, 11, 1), end: Date.UTC(2025, 0, 1) });
  err(() => checkPartitionValues(spec, { dt: '../x', hr: '01' }, 'file 1'), 'LAKE_PARTITION_INVALID', /dt="\.\.\/x" is not a valid path segment/);
  err(() => identityValue('city', 'São Paulo'), 'LAKE_PARTITION_INVALID', /city="São Paulo"/);
  assert.equal(identityValue('city', null), '__HIVE_DEFAULT_PARTITION__');
  err(() => parseTableName('raw.Orders'), 'LAKE_NAME_INVALID', /invalid table name "Orders"/);
});

test('compaction plans: small files per partition, in commit order, packed up to the target', () => {
  const f = (id: number, dt: string, bytes: number): DataFile => ({ id, key: `k${id}`, rows: 10, bytes, partition: { dt }, stats: {}, snapshotId: id });
  const plan = planCompaction([f(1, 'a', 40), f(2, 'a', 40), f(3, 'a', 40), f(4, 'a', 500), f(5, 'b', 10), f(6, 'c', 10), f(7, 'c', 10)], {
    targetFileBytes: 100,
    smallFileBytes: 50,
    minInputFiles: 2,
  });
  assert.deepEqual(plan.map((g) => [g.partition['dt'], g.fileIds]), [['a', [1, 2]], ['c', [6, 7]]]);
});
