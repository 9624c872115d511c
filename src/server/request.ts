/** Reading and checking request bodies and query parameters; every failure is a 400 that says why. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { describeValue } from '../util/schema.ts';
import { badRequestFromIssues, HttpError } from './errors.ts';

/**
 * Parses the JSON body and validates it. An empty body counts as `{}` when `optional`.
 * (Size is limited before this by the body-limit middleware.)
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S, opts: { optional?: boolean } = {}): Promise<z.infer<S>> {
  const text = await c.req.text();
  let value: unknown;
  if (text.trim() === '') {
    if (!opts.optional) throw new HttpError('INVALID_JSON', 'request body is empty: send a JSON object (Content-Type: application/json)');
    value = {};
  } else {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new HttpError('INVALID_JSON', `request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) throw badRequestFromIssues('invalid request body', result.error.issues);
  return result.data;
}

/** Query parameters, rejecting any not in `allowed` (a typo should not be silently ignored). */
export function queryParams(c: Context, allowed: readonly string[]): Record<string, string> {
  const q = c.req.query();
  for (const name of Object.keys(q)) {
    if (!allowed.includes(name)) {
      const known = allowed.length ? `known parameters: ${allowed.join(', ')}` : 'this endpoint takes none';
      throw new HttpError('BAD_REQUEST', `unknown query parameter "${name}"; ${known}`);
    }
  }
  return q;
}

export function intParam(
  q: Record<string, string>,
  name: string,
  spec: { min: number; max?: number; default: number },
): number;
export function intParam(
  q: Record<string, string>,
  name: string,
  spec: { min: number; max?: number; default?: undefined },
): number | undefined;
export function intParam(
  q: Record<string, string>,
  name: string,
  spec: { min: number; max?: number; default?: number },
): number | undefined {
  const raw = q[name];
  if (raw === undefined || raw === '') return spec.default;
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < spec.min || (spec.max !== undefined && n > spec.max)) {
    const range = spec.max !== undefined ? `from ${spec.min} to ${spec.max}` : `≥ ${spec.min}`;
    throw new HttpError('BAD_REQUEST', `query parameter ${name}: expected a whole number ${range}, got ${describeValue(raw)}`);
  }
  return n;
}

export function boolParam(q: Record<string, string>, name: string, dflt = false): boolean {
  const raw = q[name];
  if (raw === undefined) return dflt;
  if (raw === '' || raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new HttpError('BAD_REQUEST', `query parameter ${name}: expected true or false, got ${describeValue(raw)}`);
}
