/**
 * Zod helpers shared by every schema that checks user input (config files, HTTP requests).
 *
 * Each leaf schema carries its own message, phrased as "expected …, got …", and strict objects
 * list the known fields (with a "did you mean" hint), so that an error tells the user what
 * would have been accepted. `problemsFromIssues` turns zod's issues into `{ path, message }`
 * pairs with readable paths (`topics["shop.orders"].partitions`, `records[0].value`).
 */
import { z } from 'zod';

export interface Problem {
  /** Path of the field, e.g. `topics.orders.partitions` or `records[0].value`; empty for the whole value. */
  path: string;
  message: string;
}

/** Renders a value the way an error message should quote it. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return 'an object';
}

export function got(input: unknown): string {
  return `, got ${describeValue(input)}`;
}

export interface NumberSpec {
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound (e.g. a rate must be > 0). */
  gt?: number;
  nullable?: boolean;
}

function numberExpectation(spec: NumberSpec): string {
  const kind = spec.int ? 'a whole number' : 'a number';
  const bounds: string[] = [];
  if (spec.gt !== undefined) bounds.push(`> ${spec.gt}`);
  if (spec.min !== undefined && spec.max !== undefined) bounds.push(`from ${spec.min} to ${spec.max}`);
  else if (spec.min !== undefined) bounds.push(`≥ ${spec.min}`);
  else if (spec.max !== undefined) bounds.push(`≤ ${spec.max}`);
  return `expected ${kind}${bounds.length ? ' ' + bounds.join(' and ') : ''}${spec.nullable ? ' or null' : ''}`;
}

export function num(spec: NumberSpec) {
  const message = numberExpectation(spec);
  const error = (iss: { input?: unknown }) => message + got(iss.input);
  let s = z.number({ error });
  if (spec.int) s = s.int({ error });
  if (spec.min !== undefined) s = s.min(spec.min, { error });
  if (spec.max !== undefined) s = s.max(spec.max, { error });
  if (spec.gt !== undefined) s = s.gt(spec.gt, { error });
  return s;
}

export function nullableNum(spec: Omit<NumberSpec, 'nullable'>) {
  return num({ ...spec, nullable: true }).nullable();
}

export function str(what = 'a non-empty string') {
  const error = (iss: { input?: unknown }) => `expected ${what}${got(iss.input)}`;
  return z.string({ error }).min(1, { error });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const list = values.map((v) => JSON.stringify(v)).join(', ');
  return z.enum(values, { error: (iss) => `expected one of ${list}${got(iss.input)}` });
}

export function bool() {
  return z.boolean({ error: (iss) => `expected true or false${got(iss.input)}` });
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known key closest to `key`, if it is close enough to be a likely typo. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function unknownKeysMessage(keys: readonly string[], known: readonly string[]): string {
  const parts = keys.map((k) => {
    const hint = suggest(k, known);
    return hint ? `${JSON.stringify(k)} (did you mean ${JSON.stringify(hint)}?)` : JSON.stringify(k);
  });
  const knownList = known.map((k) => JSON.stringify(k)).join(', ');
  return `unknown ${keys.length === 1 ? 'field' : 'fields'} ${parts.join(', ')}; known fields: ${knownList}`;
}

/** A strict object: unknown keys are errors that list the known ones. */
export function obj<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return unknownKeysMessage(iss.keys, known);
      return `expected an object${got(iss.input)}`;
    },
  });
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['topics', 'shop.orders', 'partitions']` → `topics["shop.orders"].partitions`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && IDENTIFIER.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** Turns zod issues into one problem per bad field. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[]): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) {
      problems.push({ path: formatPath([...issue.path, issue.keys[0]!]), message: issue.message });
    } else if (issue.code === 'invalid_key') {
      problems.push({ path: formatPath(issue.path), message: issue.issues[0]?.message ?? issue.message });
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Several shapes were possible and none matched: report the first shape's problems.
      problems.push(...problemsFromIssues(issue.errors[0]!.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))));
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}

