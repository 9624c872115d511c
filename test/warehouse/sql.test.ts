/**
 * The pure SQL layer of the gateway: the lexer, finding lake tables and time-travel clauses,
 * rewriting them with a source map, and turning DuckDB's error context into positions in the
 * text the user wrote.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WarehouseError } from '../../src/warehouse/errors.ts';
import { findLakeRefs, parseTime, rewriteAsOf } from '../../src/warehouse/sql/lake-refs.ts';
import { caretContext, locateError, parseDuckdbError, positionAt } from '../../src/warehouse/sql/positions.ts';
import { applyEdits, wrap } from '../../src/warehouse/sql/source-map.ts';
import { significant, tokenize } from '../../src/warehouse/sql/tokens.ts';

const ZONES = ['raw', 'clean', 'curated'];

describe('tokenize', () => {
  test('covers every character once and understands strings, quotes, comments and dollar quotes', () => {
    const sql = `SELECT 'it''s raw.x', "A ""b""", E'\\n', $q$ raw.y $q$ -- raw.z\n/* raw.w /* nested */ */ x::INT => 1.5e3`;
    const toks = tokenize(sql);
    assert.equal(toks.map((t) => sql.slice(t.start, t.end)).join(''), sql);
    const sig = significant(toks);
    assert.deepEqual(
      sig.map((t) => [t.kind, t.value]),
      [
        ['word', 'select'],
        ['string', "it's raw.x"],
        ['punct', ','],
        ['quoted', 'A "b"'],
        ['punct', ','],
        ['string', '\\n'.slice(1)],
        ['punct', ','],
        ['string', ' raw.y '],
        ['word', 'x'],
        ['op', '::'],
        ['word', 'int'],
        ['op', '=>'],
        ['number', '1.5e3'],
      ],
    );
  });
});

describe('findLakeRefs', () => {
  test('finds zone.table references, quoted or not, but not in strings, comments, columns or functions', () => {
    const sql = `SELECT o.id, raw.orders.id FROM raw.orders o JOIN "curated"."Top" t ON true, clean.t2
      WHERE x IN (SELECT 1 FROM Raw.Searches) AND y = 'raw.nope' -- raw.nope2
      AND raw.fn(1) AND main.raw.nope3 IS NULL AND memory.raw.yes = 1`;
    const refs = findLakeRefs(sql, ZONES, 'memory');
    assert.deepEqual(
      refs.map((r) => [r.table, sql.slice(r.start, r.end)]),
      [
        ['raw.orders', 'raw.orders'],
        ['clean.t2', 'clean.t2'],
        ['raw.searches', 'Raw.Searches'],
        ['raw.yes', 'memory.raw.yes'],
      ],
    );
  });

  test('reads time-travel clauses by version or timestamp', () => {
    const sql = `SELECT * FROM raw.orders AT (VERSION => 12) o, raw.searches at(timestamp=>'2024-05-01 07:00:00') s, clean.x`;
    const refs = findLakeRefs(sql, ZONES);
    assert.deepEqual(refs[0]!.asOf, { snapshot: 12 });
    assert.equal(sql.slice(refs[0]!.start, refs[0]!.end), 'raw.orders AT (VERSION => 12)');
    assert.deepEqual(refs[1]!.asOf, { time: Date.UTC(2024, 4, 1, 7) });
    assert.equal(refs[2]!.asOf, undefined);
  });

  test('a malformed clause is an error pointing at it', () => {
    const sql = 'SELECT *\nFROM raw.orders AT (VERSION => latest)';
    assert.throws(
      () => findLakeRefs(sql, ZONES),
      (err: unknown) => err instanceof WarehouseError && err.code === 'WAREHOUSE_AS_OF_INVALID' && err.position?.line === 2 && err.position.column === 32 && /snapshot id/.test(err.message),
    );
    assert.throws(() => findLakeRefs(`SELECT * FROM raw.o AT (TIMESTAMP => 'yesterday')`, ZONES), /TIMESTAMP takes an ISO-8601 time/);
  });

  test('parseTime reads ISO-8601 (UTC without a zone) and epoch milliseconds', () => {
    assert.equal(parseTime('2024-05-01'), Date.UTC(2024, 4, 1));
    assert.equal(parseTime('2024-05-01T07:30:00+02:00'), Date.UTC(2024, 4, 1, 5, 30));
    assert.equal(parseTime('1714546800000'), 1714546800000);
    assert.ok(Number.isNaN(parseTime('soon')));
  });
});

describe('rewriting and positions', () => {
  test('rewriteAsOf keeps the table name last and maps offsets back', () => {
    const sql = 'SELECT orders.id FROM raw.orders AT (VERSION => 3) WHERE nope = 1';
    const refs = findLakeRefs(sql, ZONES);
    const out = rewriteAsOf(sql, refs, (r) => (r.asOf && 'snapshot' in r.asOf ? r.asOf.snapshot : null));
    assert.equal(out.sql, 'SELECT orders.id FROM _asof_3.raw.orders WHERE nope = 1');
    const nope = out.sql.indexOf('nope');
    assert.equal(out.map.toInput(nope), sql.indexOf('nope'));
    assert.equal(out.map.toInput(out.sql.indexOf('_asof_3') + 4), sql.indexOf('raw.orders'));
  });

  test('maps compose: wrapped → rendered → template', () => {
    const template = 'select {{ x }} from t where bad';
    const rendered = applyEdits(template, [{ start: 7, end: 14, text: 'a_much_longer_thing' }]);
    const wrapped = wrap('SELECT * FROM (\n', rendered.text, '\n) LIMIT 0');
    const map = rendered.map.then(wrapped.map);
    assert.equal(map.toInput(wrapped.text.indexOf('bad')), template.indexOf('bad'));
  });

  test('parseDuckdbError recovers the offset, also from a window cut at both ends', () => {
    const sql = 'SELECT id,\n  nope FROM raw.orders';
    const raw = 'Binder Error: Referenced column "nope" not found in FROM clause!\nCandidate bindings: "id"\n\nLINE 2:   nope FROM raw.orders\n          ^';
    const p = parseDuckdbError(raw, sql);
    assert.equal(p.type, 'Binder Error');
    assert.equal(p.offset, sql.indexOf('nope'));
    assert.equal(p.message, 'Binder Error: Referenced column "nope" not found in FROM clause!\nCandidate bindings: "id"');

    const long = `SELECT ${'a'.repeat(120)} + nope + ${'b'.repeat(120)}`;
    const window = long.slice(90, 170);
    const caret = ' '.repeat('LINE 1: ...'.length + (long.indexOf('nope') - 90)) + '^';
    const cut = parseDuckdbError(`Failed to prepare statement: Binder Error: x\n\nLINE 1: ...${window}...\n${caret}`, long);
    assert.equal(cut.type, 'Binder Error');
    assert.equal(cut.offset, long.indexOf('nope'));
    assert.equal(parseDuckdbError('Parser Error: syntax error at end of input', 'SELECT (').offset, null);
  });

  test('locateError renders the caret under the spot in the original text', () => {
    const original = 'select *\nfrom raw.orders AT (VERSION => 3)\nwhere nope';
    const refs = findLakeRefs(original, ZONES);
    const out = rewriteAsOf(original, refs, () => 3);
    const executedNope = out.sql.indexOf('nope');
    const line = out.sql.slice(0, executedNope).split('\n').length;
    const lineText = out.sql.split('\n')[line - 1]!;
    const col = executedNope - (out.sql.lastIndexOf('\n', executedNope - 1) + 1);
    const raw = `Binder Error: column nope\n\nLINE ${line}: ${lineText}\n${' '.repeat(`LINE ${line}: `.length + col)}^`;
    const located = locateError(raw, out.sql, original, out.map, 'q.sql');
    assert.deepEqual(located.position, { line: 3, column: 7, offset: original.indexOf('nope'), file: 'q.sql' });
    assert.match(located.message, /at q\.sql:line 3, column 7:\n {4}3 \| where nope\n {4} {2}\| {7}\^/);
  });

  test('caretContext cuts long lines around the position', () => {
    const text = 'x'.repeat(300) + 'HERE' + 'y'.repeat(300);
    const ctx = caretContext(text, positionAt(text, 300));
    const [l1, l2] = ctx.split('\n');
    assert.ok(l1!.length < 120);
    assert.equal(l1!.indexOf('HERE'), l2!.indexOf('^'));
  });
});
