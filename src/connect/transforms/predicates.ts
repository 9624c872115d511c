/**
 * Predicates (Kafka Connect's `predicates`): conditions on a record that `filter` uses, and that
 * any transform can take as `when` to apply only to some records. Pure.
 *
 * { topicMatches: 'orders\\..*' } · { hasHeader: 'trace-id' } · { isTombstone: true } ·
 * { field: 'status', equals: 'cancelled' } · { field: 'country', in: ['KR', 'JP'] } ·
 * { field: 'email', matches: '@example\\.com$' } · { field: 'coupon', exists: true } ·
 * { not: P } · { all: [P, …] } · { any: [P, …] }
 */
import { z } from 'zod';
import { got, obj, str } from '../../util/schema.ts';
import type { ConnectRecord } from '../types.ts';
import { getPath } from './paths.ts';

export type Predicate =
  | { topicMatches: string }
  | { hasHeader: string }
  | { isTombstone: boolean }
  | { field: string; equals?: unknown; in?: unknown[]; matches?: string; exists?: boolean; on?: 'value' | 'key' }
  | { not: Predicate }
  | { all: Predicate[] }
  | { any: Predicate[] };

function regex(what: string) {
  return z.string({ error: (iss) => `expected ${what} (a regular expression)${got(iss.input)}` }).refine(
    (s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    },
    { error: (iss) => `invalid regular expression${got(iss.input)}` },
  );
}

export const predicateSchema: z.ZodType<Predicate> = z.lazy(() =>
  z.union(
    [
      obj({ topicMatches: regex('a topic pattern') }),
      obj({ hasHeader: str('a header name') }),
      obj({ isTombstone: z.boolean() }),
      obj({
        field: str('a field name (a.b for nested fields)'),
        equals: z.unknown().optional(),
        in: z.array(z.unknown()).optional(),
        matches: regex('a pattern').optional(),
        exists: z.boolean().optional(),
        on: z.enum(['value', 'key']).optional(),
      }),
      obj({ not: predicateSchema }),
      obj({ all: z.array(predicateSchema).min(1) }),
      obj({ any: z.array(predicateSchema).min(1) }),
    ],
    {
      error: (iss) =>
        `expected a predicate: { topicMatches }, { hasHeader }, { isTombstone }, { field, equals | in | matches | exists }, { not }, { all }, { any }${got(iss.input)}`,
    },
  ),
) as z.ZodType<Predicate>;

const regexCache = new Map<string, RegExp>();
function re(s: string): RegExp {
  let r = regexCache.get(s);
  if (!r) {
    r = new RegExp(s);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(s, r);
  }
  return r;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

export function testPredicate(p: Predicate, r: ConnectRecord): boolean {
  if ('topicMatches' in p) return re(`^(?:${p.topicMatches})$`).test(r.topic);
  if ('hasHeader' in p) return r.headers.some((h) => h.key === p.hasHeader);
  if ('isTombstone' in p) return (r.value === null || r.value === undefined) === p.isTombstone;
  if ('not' in p) return !testPredicate(p.not, r);
  if ('all' in p) return p.all.every((q) => testPredicate(q, r));
  if ('any' in p) return p.any.some((q) => testPredicate(q, r));
  const base = p.on === 'key' ? r.key : r.value;
  const found = getPath(base, p.field);
  if (p.exists !== undefined && found.exists !== p.exists) return false;
  if (p.equals !== undefined && !(found.exists && sameValue(found.value, p.equals))) return false;
  if (p.in !== undefined && !(found.exists && p.in.some((v) => sameValue(found.value, v)))) return false;
  if (p.matches !== undefined && !(found.exists && found.value !== null && re(p.matches).test(String(found.value)))) return false;
  return true;
}
