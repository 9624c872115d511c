import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTransforms, validateTransforms, type TransformConfig } from '../../src/connect/transforms/index.ts';
import type { ConnectRecord } from '../../src/connect/types.ts';

const rec = (value: unknown, extra: Partial<ConnectRecord> = {}): ConnectRecord => ({ topic: 'orders', key: null, value, headers: [], ...extra });

async function run(transforms: unknown[], r: ConnectRecord, ctx = {}) {
  const { transforms: t, problems } = validateTransforms(transforms);
  assert.deepEqual(problems, []);
  return compileTransforms(t as TransformConfig[]).apply(r, ctx);
}

describe('single message transforms', () => {
  it('cast fields and whole values, with schemas following', async () => {
    const out = await run([{ type: 'cast', fields: { amount: 'float64', id: 'string', ok: 'boolean', n: 'int32' } }], rec(
      { amount: '12.5', id: 7, ok: 'true', n: '41.9' },
      { valueSchema: { type: 'struct', fields: [{ field: 'amount', type: 'string' }, { field: 'id', type: 'int64' }] } },
    ));
    assert.deepEqual(out!.value, { amount: 12.5, id: '7', ok: true, n: 41 });
    assert.deepEqual(out!.valueSchema!.fields, [{ field: 'amount', type: 'float64' }, { field: 'id', type: 'string' }]);
    assert.equal((await run([{ type: 'cast', to: 'string' }], rec({ a: 1 })))!.value, '{"a":1}');
    await assert.rejects(run([{ type: 'cast', fields: { n: 'int32' } }], rec({ n: 'x' })), /transforms\[0\] \(cast\): cannot cast "x" to int32/);
    await assert.rejects(run([{ type: 'cast', fields: { n: 'int32' } }], rec({ n: 2 ** 40 })), /does not fit in int32/);
  });

  it('insert, mask, drop and rename fields (nested paths too)', async () => {
    const out = await run(
      [
        { type: 'insertField', static: { source: 'app' }, topicField: 'meta.topic', offsetField: 'meta.offset' },
        { type: 'maskField', fields: ['card', 'user.email', 'pin'] },
        { type: 'maskField', fields: ['phone'], replacement: '***' },
        { type: 'dropFields', fields: ['password', 'user.secret'] },
        { type: 'renameFields', renames: { total: 'amount' } },
      ],
      rec({ card: '4111', pin: 1234, phone: '010', password: 'x', total: 5, user: { email: 'a@b', secret: 's', name: 'n' } }),
      { offset: 42 },
    );
    assert.deepEqual(out!.value, { card: '', pin: 0, phone: '***', amount: 5, user: { email: '', name: 'n' }, source: 'app', meta: { topic: 'orders', offset: 42 } });
  });

  it('filter by predicate, route by regex, extract a field, value to key', async () => {
    const filter = [{ type: 'filter', drop: { field: 'status', in: ['test', 'spam'] } }];
    assert.equal(await run(filter, rec({ status: 'spam' })), null);
    assert.ok(await run(filter, rec({ status: 'paid' })));
    const keep = [{ type: 'filter', keep: { all: [{ topicMatches: 'orders|payments' }, { field: 'total', exists: true }] } }];
    assert.ok(await run(keep, rec({ total: 1 })));
    assert.equal(await run(keep, rec({})), null);
    assert.equal(await run(keep, rec({ total: 1 }, { topic: 'other' })), null);
    assert.equal((await run([{ type: 'route', regex: 'orders', replacement: 'orders.eu' }], rec({})))!.topic, 'orders.eu');
    assert.equal((await run([{ type: 'route', regex: '(.*)\\.raw', replacement: '$1.clean' }], rec({}, { topic: 'a.b.raw' })))!.topic, 'a.b.clean');
    assert.deepEqual((await run([{ type: 'extractField', field: 'after' }], rec({ after: { id: 1 }, before: null })))!.value, { id: 1 });
    assert.deepEqual((await run([{ type: 'valueToKey', fields: ['id'] }], rec({ id: 3, x: 1 })))!.key, { id: 3 });
    // when: only matching records are touched
    const cond = [{ type: 'maskField', fields: ['email'], when: { field: 'country', equals: 'DE' } }];
    assert.deepEqual((await run(cond, rec({ country: 'DE', email: 'a' })))!.value, { country: 'DE', email: '' });
    assert.deepEqual((await run(cond, rec({ country: 'KR', email: 'a' })))!.value, { country: 'KR', email: 'a' });
    assert.equal(await run([{ type: 'filter', drop: { isTombstone: true } }], rec(null)), null);
    assert.equal(await run([{ type: 'filter', drop: { hasHeader: 'test' } }], rec({}, { headers: [{ key: 'test', value: '1' }] })), null);
  });

  it('timestamp conversion', async () => {
    const out = await run(
      [
        { type: 'timestampConvert', field: 'a', to: 'iso' },
        { type: 'timestampConvert', field: 'b', to: 'unix' },
        { type: 'timestampConvert', field: 'c', to: 'date' },
        { type: 'timestampConvert', field: 'd', to: 'unixSeconds' },
      ],
      rec({ a: 0, b: '2024-01-02T03:04:05.000Z', c: 1704164645000, d: '1704164645000' }),
    );
    assert.deepEqual(out!.value, { a: '1970-01-01T00:00:00.000Z', b: 1704164645000, c: '2024-01-02', d: 1704164645 });
    await assert.rejects(run([{ type: 'timestampConvert', field: 'a', to: 'iso' }], rec({ a: 'yesterday' })), /cannot read "yesterday" as a timestamp/);
  });

  it('user functions, sync or async, may change or drop records', async () => {
    const fn = async (r: ConnectRecord) => ((r.value as { n: number }).n > 1 ? { ...r, value: { n: (r.value as { n: number }).n * 10 } } : null);
    assert.deepEqual((await run([fn], rec({ n: 2 })))!.value, { n: 20 });
    assert.equal(await run([{ type: 'function', fn }], rec({ n: 1 })), null);
    await assert.rejects(run([() => 'nope'], rec({})), /must return a record/);
  });

  it('bad transform configs name the place and suggest the fix', () => {
    const { problems } = validateTransforms([
      { type: 'maskFeild', fields: ['a'] },
      { type: 'dropFields', feilds: ['a'] },
      { type: 'filter', drop: { field: 'a', matches: '(' } },
      { type: 'cast' },
      'x',
    ]);
    const text = problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    assert.match(text, /transforms\[0\]\.type: unknown transform type "maskFeild" \(did you mean "maskField"\?\)/);
    assert.match(text, /transforms\[1\]\.feilds: unknown field "feilds" \(did you mean "fields"\?\)/);
    assert.match(text, /transforms\[2\]/);
    assert.match(text, /transforms\[3\].*cast needs either "fields"/);
    assert.match(text, /transforms\[4\]: expected a transform/);
  });
});
