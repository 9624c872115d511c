/**
 * The sink's fast path (schema/json-scan.ts) against the full path (JSON.parse + the row
 * checker): on generated records and on thousands of byte-level mutations of them, every record
 * the fast path accepts must be one the full path accepts, with the same event time; and plain
 * records of a steady stream must take the fast path (or it would be dead code).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FastRowScanner, MISS, NO_EVENT_TIME } from '../../src/lake/schema/json-scan.ts';
import { compileRowChecker, parseIsoTimestamp } from '../../src/lake/schema/json-rows.ts';
import type { Column } from '../../src/lake/types.ts';

const COLUMNS: Column[] = [
  { id: 1, name: 'id', type: 'string', nullable: false },
  { id: 2, name: 'n', type: 'int64', nullable: true },
  { id: 3, name: 'small', type: 'int32', nullable: true },
  { id: 4, name: 'price', type: 'float64', nullable: true },
  { id: 5, name: 'ok', type: 'boolean', nullable: true },
  { id: 6, name: 'at', type: 'timestamp', nullable: true },
  { id: 7, name: 'items', type: 'json', nullable: true },
  { id: 8, name: 'day', type: 'date', nullable: true },
  { id: 9, name: 'amount', type: 'decimal(10,2)', nullable: true },
  { id: 10, name: 'naïve', type: 'string', nullable: true },
];

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function record(rnd: () => number, i: number): string {
  const o: Record<string, unknown> = { id: `r-${i}`, n: Math.floor(rnd() * 1e6) - 5e5, small: i % 1000, price: Math.round(rnd() * 1e4) / 100 };
  if (rnd() < 0.8) o['ok'] = rnd() < 0.5;
  o['at'] = rnd() < 0.1 ? STAMPS[Math.floor(rnd() * STAMPS.length)] : new Date(Date.UTC(2024, 4, 1) + Math.floor(rnd() * 48 * 3_600_000)).toISOString();
  if (rnd() < 0.7) o['items'] = [{ sku: `s-${i % 7}`, qty: 1 + (i % 3), tags: ['a', 'b\\"c'], deep: { x: null, y: [1, 2.5, -3e2] } }];
  if (rnd() < 0.1) o['day'] = '2024-05-01';
  if (rnd() < 0.1) o['amount'] = 12.5;
  if (rnd() < 0.2) o['naïve'] = 'café ☕';
  if (rnd() < 0.1) o['n'] = null;
  const text = JSON.stringify(o);
  return rnd() < 0.1 ? JSON.stringify(o, null, 2) : text;
}

const STAMPS = ['2024-05-01T07:08:09Z', '2024-05-01T07:08:09.5Z', '2024-05-01T07:08:09.123456789Z', '2024-05-01T07:08:09.Z', '2024-05-01 07:08:09Z', '2024-05-01T07:60:09Z', '2024-05-01T24:08:09Z', '2024-02-30T07:08:09Z', '2024-05-01T07:08:09+02:00', '2024-05-01T07:08', '2024-05-01T07:08:09.1234567890Z', '2024-05-01T07:08:9Z'];

const MUTATIONS = ['"', '\\', ',', ':', '{', '}', '[', ']', ' ', '\n', '0', '-', '.', 'e', 'E', '+', 'n', 't', 'f', 'u', '\u0001', '\u00e9', 'x', '1e400', '00', '"id"', '"n"', '"zz"', 'null', '9'.repeat(17)];

function mutate(rnd: () => number, s: string): string {
  const pos = Math.floor(rnd() * (s.length + 1));
  const r = rnd();
  if (r < 0.4) return s.slice(0, pos) + s.slice(pos + 1); // delete a character
  const m = MUTATIONS[Math.floor(rnd() * MUTATIONS.length)]!;
  if (r < 0.7) return s.slice(0, pos) + m + s.slice(pos); // insert
  return s.slice(0, pos) + m + s.slice(pos + m.length); // overwrite
}

function fullPath(text: string, checker: (row: unknown) => { problem: string | null; extra: string[] | null }, eventField: string | null): number | null {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch {
    return null;
  }
  const c = checker(row);
  if (c.problem !== null || c.extra !== null) return null;
  if (eventField === null) return NO_EVENT_TIME;
  const v = (row as Record<string, unknown>)[eventField];
  const t = typeof v === 'number' ? v : typeof v === 'string' ? parseIsoTimestamp(v) : NaN;
  return Number.isFinite(t) ? t : null;
}

for (const eventField of ['at', null] as const) {
  test(`fast path ⊆ full path, same event time (event time ${eventField ?? 'from the record timestamp'})`, () => {
    const rnd = seeded(eventField ? 7 : 11);
    const checker = compileRowChecker(COLUMNS, { rejectExtra: false });
    const scanner = new FastRowScanner(COLUMNS, eventField);
    let plainFast = 0;
    let plain = 0;
    let mutatedFast = 0;
    let mutatedFull = 0;
    for (let i = 0; i < 3000; i++) {
      const text = record(rnd, i);
      const expected = fullPath(text, checker, eventField);
      const got = scanner.check(Buffer.from(text));
      plain++;
      if (got !== MISS) {
        plainFast++;
        assert.equal(got, expected, `accepted ${text}`);
        assert.equal(scanner.breaks, text.includes('\n'));
      }
      for (let m = 0; m < 6; m++) {
        let bad = text;
        for (let k = 0, times = 1 + Math.floor(rnd() * 3); k < times; k++) bad = mutate(rnd, bad);
        const want = fullPath(bad, checker, eventField);
        if (want !== null) mutatedFull++;
        const fast = scanner.check(Buffer.from(bad));
        if (fast !== MISS) {
          mutatedFast++;
          assert.notEqual(want, null, `the fast path accepted what the full path refuses: ${JSON.stringify(bad)}`);
          assert.equal(fast, want, `event time of ${JSON.stringify(bad)}`);
        }
      }
    }
    // Most plain records (those without date/decimal values) take the fast path.
    assert.ok(plainFast / plain > 0.6, `fast path taken for ${plainFast} of ${plain} plain records`);
    assert.ok(mutatedFast > 100 && mutatedFull > mutatedFast / 2, `mutations exercised both outcomes (${mutatedFast} fast, ${mutatedFull} full)`);
  });
}

test('fast path: what it leaves to the full path', () => {
  const cols: Column[] = [
    { id: 1, name: 'a', type: 'int64', nullable: false },
    { id: 2, name: 'at', type: 'timestamp', nullable: true },
  ];
  const s = new FastRowScanner(cols, 'at');
  const at = '"at":"2024-05-01T07:00:00Z"';
  const ms = Date.UTC(2024, 4, 1, 7);
  assert.equal(s.check(Buffer.from(`{"a":1,${at}}`)), ms);
  assert.equal(s.check(Buffer.from(`  {"a" : -12 , ${at} }\r\n`)), ms);
  for (const bad of [
    `{${at}}`, // NOT NULL a missing
    `{"a":null,${at}}`,
    `{"a":1}`, // no event time
    `{"a":1,"at":null}`,
    `{"a":1,"at":1714546800000}`, // a number as event time: the full path decides
    `{"a":1,"a":2,${at}}`, // duplicate key
    `{"a":1,${at},"b":2}`, // unknown field (schema evolution)
    `{"\\u0061":1,${at}}`, // escaped key
    `{"a":1.5,${at}}`,
    `{"a":1e3,${at}}`,
    `{"a":1234567890123456,${at}}`, // 16 digits
    `{"a":01,${at}}`,
    `{"a":1,${at}} x`,
    `{"a":1,${at},}`,
    `[{"a":1}]`,
    `{"a":1,"at":"2024-05-01T07:00:00\\u005a"}`,
    `{"a":1,"at":"1969-12-31T23:59:59.998Z"}`, // the instant NO_EVENT_TIME stands for
    '\ufeff{"a":1}',
  ]) {
    assert.equal(s.check(Buffer.from(bad)), MISS, bad);
  }
  // Key order changes are fine (the shape is relearned).
  assert.equal(s.check(Buffer.from(`{${at},"a":3}`)), ms);
  assert.equal(s.check(Buffer.from(`{"a":3,${at}}`)), ms);
  assert.equal(s.check(Buffer.from(`{"a":3}`)), MISS);
  const noTime = new FastRowScanner(cols, null);
  assert.equal(noTime.check(Buffer.from('{"a":3}')), NO_EVENT_TIME);
});
