import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConverter } from '../../src/connect/runtime/converters.ts';

describe('converters', () => {
  it('json: plain values, bigints as strings, Buffers as base64 (also nested), schema envelopes', () => {
    const json = createConverter('json');
    assert.equal(json.toBytes({ a: 1, b: 'x"y' }, undefined)!.toString(), '{"a":1,"b":"x\\"y"}');
    assert.equal(json.toBytes({ n: 12345678901234567890n }, undefined)!.toString(), '{"n":"12345678901234567890"}');
    assert.equal(json.toBytes({ deep: [{ bin: Buffer.from('hi') }] }, undefined)!.toString(), '{"deep":[{"bin":"aGk="}]}');
    // Text that merely looks like a Buffer inside a string stays as it is.
    assert.equal(json.toBytes({ s: '"type":"Buffer","data":[1]' }, undefined)!.toString(), '{"s":"\\"type\\":\\"Buffer\\",\\"data\\":[1]"}');
    assert.equal(json.toBytes(null, undefined), null);
    const raw = Buffer.from('raw');
    assert.equal(json.toBytes(raw, undefined), raw);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    assert.throws(() => json.toBytes(cyclic, undefined), /circular/i);

    const withSchemas = createConverter('json', { schemas: true });
    const schema = { type: 'struct' as const, fields: [{ field: 'id', type: 'int64' as const, optional: false }] };
    const bytes = withSchemas.toBytes({ id: 7 }, schema)!;
    assert.deepEqual(withSchemas.fromBytes(bytes), { value: { id: 7 }, schema: { type: 'struct', fields: [{ field: 'id', type: 'int64', optional: false }] } });
    assert.throws(() => json.fromBytes(Buffer.from('{nope')), (e: Error & { code?: string }) => e.code === 'CONVERSION_FAILED' && /not valid JSON/.test(e.message));
  });

  it('string and bytes', () => {
    const str = createConverter('string');
    assert.equal(str.toBytes('héllo', undefined)!.toString(), 'héllo');
    assert.equal(str.toBytes({ n: 1n }, undefined)!.toString(), '{"n":"1"}');
    assert.deepEqual(str.fromBytes(Buffer.from('abc')), { value: 'abc' });
    const bytes = createConverter('bytes');
    assert.equal(bytes.toBytes('x', undefined)!.toString(), 'x');
    assert.throws(() => bytes.toBytes({ a: 1 }, undefined), (e: Error & { code?: string }) => e.code === 'CONVERSION_FAILED');
  });
});
