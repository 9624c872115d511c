import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCsv, splitLines } from '../../src/connect/plugins/file/split.ts';
import { globToRegExp, ownerOf } from '../../src/connect/plugins/file/source.ts';

describe('splitting files into records', () => {
  it('NDJSON: complete lines only, unless the file is final', () => {
    const b = Buffer.from('{"a":1}\r\n\n{"a":2}\n{"a":');
    const r = splitLines(b, false);
    assert.deepEqual(r.pieces.map((p) => p.text), ['{"a":1}', '{"a":2}']);
    assert.equal(r.consumed, b.lastIndexOf('{"a":'));
    assert.equal(r.pieces[1]!.end, r.consumed);
    const f = splitLines(b, true);
    assert.deepEqual(f.pieces.map((p) => p.text), ['{"a":1}', '{"a":2}', '{"a":']);
    assert.equal(f.consumed, b.length);
  });

  it('NDJSON offsets are bytes (multi-byte UTF-8)', () => {
    const b = Buffer.from('{"k":"한글"}\n{"k":"x"}\n');
    const r = splitLines(b, false);
    assert.equal(r.pieces[0]!.end, Buffer.byteLength('{"k":"한글"}\n'));
    assert.equal(r.consumed, b.length);
  });

  it('CSV: RFC 4180 quoting with delimiters, quotes and newlines inside fields', () => {
    const b = Buffer.from('id,name,note\r\n1,"Kim, J","said ""hi""\nthen left"\n2,Lee,\n3,"open');
    const r = splitCsv(b, false);
    assert.deepEqual(r.pieces.map((p) => p.fields), [
      ['id', 'name', 'note'],
      ['1', 'Kim, J', 'said "hi"\nthen left'],
      ['2', 'Lee', ''],
    ]);
    assert.equal(r.consumed, b.indexOf('3,"open'));
    const f = splitCsv(b, true);
    assert.deepEqual(f.pieces.at(-1)!.fields, ['3', 'open']);
  });

  it('CSV: a row cut at the chunk end waits; other delimiters', () => {
    assert.equal(splitCsv(Buffer.from('a;b\n1;2'), false, ';').pieces.length, 1);
    assert.deepEqual(splitCsv(Buffer.from('a;b\n1;2'), true, ';').pieces.map((p) => p.fields), [['a', 'b'], ['1', '2']]);
    assert.equal(splitCsv(Buffer.from('"x"'), false).pieces.length, 0, 'a closing quote at the end may be an escaped one');
  });

  it('globs and task ownership', () => {
    assert.ok(globToRegExp('*.ndjson').test('a.ndjson'));
    assert.ok(!globToRegExp('*.ndjson').test('a.ndjson.1'));
    assert.ok(globToRegExp('orders-??.csv').test('orders-01.csv'));
    const owners = new Set(Array.from({ length: 50 }, (_, i) => ownerOf(`f${i}.csv`, 3)));
    assert.deepEqual([...owners].sort(), [0, 1, 2]);
    assert.equal(ownerOf('same', 4), ownerOf('same', 4));
  });
});
