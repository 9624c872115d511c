import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, decodePgOutput, encodeStandbyStatus, formatLsn, parseLsn, millisToPgTime, pgTimeToMillis } from '../../src/connect/plugins/postgres/pgoutput.ts';
import { decodeText, OID, inferSchema } from '../../src/connect/plugins/postgres/values.ts';

/** A tiny writer for building pgoutput messages as PostgreSQL sends them. */
class W {
  parts: Buffer[] = [];
  c(s: string) { this.parts.push(Buffer.from(s, 'latin1')); return this; }
  u8(n: number) { const b = Buffer.alloc(1); b.writeUInt8(n); this.parts.push(b); return this; }
  i16(n: number) { const b = Buffer.alloc(2); b.writeInt16BE(n); this.parts.push(b); return this; }
  i32(n: number) { const b = Buffer.alloc(4); b.writeInt32BE(n); this.parts.push(b); return this; }
  u64(n: bigint) { const b = Buffer.alloc(8); b.writeBigUInt64BE(n); this.parts.push(b); return this; }
  i64(n: bigint) { const b = Buffer.alloc(8); b.writeBigInt64BE(n); this.parts.push(b); return this; }
  s(t: string) { this.parts.push(Buffer.from(t + '\0')); return this; }
  text(t: string) { const b = Buffer.from(t); return this.c('t').i32(b.length).raw(b); }
  raw(b: Buffer) { this.parts.push(b); return this; }
  done() { return Buffer.concat(this.parts); }
}

describe('pgoutput protocol', () => {
  it('LSNs and times', () => {
    assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
    assert.equal(parseLsn('0/10'), 16n);
    assert.throws(() => parseLsn('nope'), /not an LSN/);
    assert.equal(pgTimeToMillis(millisToPgTime(1_700_000_000_123)), 1_700_000_000_123);
  });

  it('decodes relation, begin, insert, update (with old key), delete, truncate, commit', () => {
    const rel = new W().c('R').i32(16384).s('public').s('users').c('d').i16(2).u8(1).s('id').i32(23).i32(-1).u8(0).s('name').i32(25).i32(-1).done();
    const m = decodePgOutput(rel);
    assert.equal(m.tag, 'relation');
    if (m.tag !== 'relation') return;
    assert.deepEqual(m.relation.columns.map((c) => [c.name, c.typeOid, c.isKey]), [['id', 23, true], ['name', 25, false]]);
    const begin = decodePgOutput(new W().c('B').u64(100n).i64(millisToPgTime(5000)).i32(777).done());
    assert.deepEqual(begin, { tag: 'begin', finalLsn: 100n, commitTime: 5000, xid: 777 });
    const ins = decodePgOutput(new W().c('I').i32(16384).c('N').i16(2).text('1').c('n').done());
    assert.deepEqual(ins, { tag: 'insert', relationId: 16384, newTuple: ['1', null] });
    const upd = decodePgOutput(new W().c('U').i32(16384).c('K').i16(2).text('1').c('n').c('N').i16(2).text('2').c('u').done());
    assert.deepEqual(upd, { tag: 'update', relationId: 16384, keyTuple: ['1', null], oldTuple: null, newTuple: ['2', { unchanged: true }] });
    const del = decodePgOutput(new W().c('D').i32(16384).c('O').i16(2).text('2').text('x').done());
    assert.deepEqual(del, { tag: 'delete', relationId: 16384, keyTuple: null, oldTuple: ['2', 'x'] });
    const tr = decodePgOutput(new W().c('T').i32(2).u8(3).i32(1).i32(2).done());
    assert.deepEqual(tr, { tag: 'truncate', cascade: true, restartIdentity: true, relationIds: [1, 2] });
    const commit = decodePgOutput(new W().c('C').u8(0).u64(100n).u64(120n).i64(millisToPgTime(6000)).done());
    assert.deepEqual(commit, { tag: 'commit', flags: 0, commitLsn: 100n, endLsn: 120n, commitTime: 6000 });
    assert.throws(() => decodePgOutput(Buffer.from('Z')), /unknown pgoutput message "Z"/);
    assert.throws(() => decodePgOutput(new W().c('I').i32(1).c('N').i16(1).c('t').i32(10).done()), /ends early/);
  });

  it('frames and the standby status update', () => {
    const x = decodeFrame(new W().c('w').u64(1n).u64(2n).u64(3n).raw(Buffer.from('B')).done());
    assert.equal(x.type, 'xlog');
    const k = decodeFrame(new W().c('k').u64(9n).u64(0n).u8(1).done());
    assert.deepEqual(k, { type: 'keepalive', walEnd: 9n, sendTime: 0n, replyRequested: true });
    const s = encodeStandbyStatus(5n, 5n, 0);
    assert.equal(s.length, 34);
    assert.equal(s.toString('latin1', 0, 1), 'r');
    assert.equal(s.readBigUInt64BE(9), 5n);
  });

  it('text values by type', () => {
    assert.equal(decodeText(OID.int8, '9007199254740993'), '9007199254740993');
    assert.equal(decodeText(OID.int8, '42'), 42);
    assert.equal(decodeText(OID.bool, 't'), true);
    assert.equal(decodeText(OID.numeric, '1.10'), '1.10');
    assert.deepEqual(decodeText(OID.jsonb, '{"a": [1]}'), { a: [1] });
    assert.equal(decodeText(OID.timestamptz, '2024-05-01 10:00:00.5+02'), '2024-05-01T08:00:00.500Z');
    assert.equal(decodeText(OID.bytea, '\\x6869'), Buffer.from('hi').toString('base64'));
    assert.equal(decodeText(OID.text, null), null);
    assert.deepEqual(inferSchema([{ a: 1, b: 'x', c: null }, { a: 1.5, c: true }]).fields.map((f) => [f.field, f.type]), [['a', 'float64'], ['b', 'string'], ['c', 'boolean']]);
  });
});
