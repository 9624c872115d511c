/**
 * Single message transforms (Kafka Connect's SMTs): small, pure steps applied to every record
 * in order, on the way in (sources, before the log) or out (sinks, before the plugin). A step
 * returns a new record or null (drop); any step can carry `when: <predicate>` to touch only some
 * records. A record's schema follows its value where the change is known (drop, rename, cast,
 * insert); a step that makes the schema unknowable (extract, a user function) removes it.
 *
 * | type | does |
 * |---|---|
 * | `cast` | `fields: { amount: 'float64', id: 'string' }` or `to: 'string'` (whole value) |
 * | `insertField` | `static: { source: 'app' }`, `topicField`, `partitionField`, `offsetField`, `timestampField` |
 * | `maskField` | `fields: [...]`, `replacement` (default: the type's empty value: 0, '', false) |
 * | `dropFields` / `renameFields` | `fields: [...]` / `renames: { old: 'new' }` |
 * | `filter` | `drop: <predicate>` or `keep: <predicate>` |
 * | `route` | `regex`, `replacement` (topic rewrite, `$1` groups) |
 * | `timestampConvert` | `field`, `to: 'unix' \| 'unixSeconds' \| 'iso' \| 'date'` |
 * | `extractField` | `field` (value becomes that field), `on: 'value' \| 'key'` |
 * | `valueToKey` | `fields: [...]` (key becomes an object of those value fields) |
 * | `function` | `fn: (record) => record \| null` — or a bare function in the list |
 */
import { z } from 'zod';
import { describeValue, got, obj, problemsFromIssues, str, suggest, type Problem } from '../../util/schema.ts';
import { ConnectError, errorMessage } from '../errors.ts';
import type { ConnectRecord, FieldType, RecordSchema, TransformFn } from '../types.ts';
import { deletePath, getPath, isPlainObject, setPath } from './paths.ts';
import { predicateSchema, testPredicate, type Predicate } from './predicates.ts';

export { testPredicate, predicateSchema, type Predicate } from './predicates.ts';

const CAST_TYPES = ['int32', 'int64', 'float64', 'string', 'boolean'] as const;
type CastType = (typeof CAST_TYPES)[number];
const castType = z.enum(CAST_TYPES, { error: (iss) => `expected one of ${CAST_TYPES.map((t) => `"${t}"`).join(', ')}${got(iss.input)}` });
const fieldList = z.array(str('a field name'), { error: (iss) => `expected an array of field names${got(iss.input)}` }).min(1, { error: 'expected at least one field' });
const on = z.enum(['value', 'key']).optional();
const when = predicateSchema.optional();

const TRANSFORM_SCHEMAS = {
  cast: obj({ type: z.literal('cast'), fields: z.record(z.string(), castType).optional(), to: castType.optional(), on, when }).refine(
    (t) => (t.fields === undefined) !== (t.to === undefined),
    { error: 'cast needs either "fields" ({ name: type }) or "to" (a type for the whole value), not both' },
  ),
  insertField: obj({
    type: z.literal('insertField'),
    static: z.record(z.string(), z.unknown()).optional(),
    topicField: str().optional(),
    partitionField: str().optional(),
    offsetField: str().optional(),
    timestampField: str().optional(),
    when,
  }),
  maskField: obj({ type: z.literal('maskField'), fields: fieldList, replacement: z.unknown().optional(), on, when }),
  dropFields: obj({ type: z.literal('dropFields'), fields: fieldList, on, when }),
  renameFields: obj({ type: z.literal('renameFields'), renames: z.record(z.string(), str('a new field name')), on, when }),
  filter: obj({ type: z.literal('filter'), drop: predicateSchema.optional(), keep: predicateSchema.optional() }).refine(
    (t) => (t.drop === undefined) !== (t.keep === undefined),
    { error: 'filter needs either "drop" or "keep" (a predicate), not both' },
  ),
  route: obj({
    type: z.literal('route'),
    regex: z.string().refine((s) => { try { new RegExp(s); return true; } catch { return false; } }, { error: (iss) => `invalid regular expression${got(iss.input)}` }),
    replacement: z.string(),
    when,
  }),
  timestampConvert: obj({ type: z.literal('timestampConvert'), field: str(), to: z.enum(['unix', 'unixSeconds', 'iso', 'date']), on, when }),
  extractField: obj({ type: z.literal('extractField'), field: str(), on, when }),
  valueToKey: obj({ type: z.literal('valueToKey'), fields: fieldList, when }),
  function: obj({ type: z.literal('function'), fn: z.custom<TransformFn>((v) => typeof v === 'function', { error: 'expected a function (record) => record | null' }), when }),
} as const;

export type TransformType = keyof typeof TRANSFORM_SCHEMAS;
export const TRANSFORM_TYPES = Object.keys(TRANSFORM_SCHEMAS) as TransformType[];

/** A transform as configured, validated. */
export type TransformConfig = { [K in TransformType]: z.output<(typeof TRANSFORM_SCHEMAS)[K]> }[TransformType];

/** Checks a list of transforms; every problem names its place (`transforms[1].fields`). */
export function validateTransforms(value: unknown, path = 'transforms'): { transforms: TransformConfig[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const transforms: TransformConfig[] = [];
  if (value === undefined) return { transforms, problems };
  if (!Array.isArray(value)) return { transforms, problems: [{ path, message: `expected an array of transforms${got(value)}` }] };
  value.forEach((raw, i) => {
    const at = `${path}[${i}]`;
    if (typeof raw === 'function') {
      transforms.push({ type: 'function', fn: raw as TransformFn });
      return;
    }
    if (!isPlainObject(raw)) return void problems.push({ path: at, message: `expected a transform like { type: "dropFields", fields: ["password"] } or a function${got(raw)}` });
    const type = raw['type'];
    if (typeof type !== 'string' || !(type in TRANSFORM_SCHEMAS)) {
      const hint = typeof type === 'string' ? suggest(type, TRANSFORM_TYPES) : undefined;
      return void problems.push({
        path: `${at}.type`,
        message: `unknown transform type ${describeValue(type)}${hint ? ` (did you mean "${hint}"?)` : ''}; known types: ${TRANSFORM_TYPES.join(', ')}`,
      });
    }
    const parsed = TRANSFORM_SCHEMAS[type as TransformType].safeParse(raw);
    if (!parsed.success) {
      for (const p of problemsFromIssues(parsed.error.issues)) problems.push({ path: p.path ? `${at}.${p.path}` : at, message: p.message });
    } else transforms.push(parsed.data as TransformConfig);
  });
  return { transforms, problems };
}

/** What a transform may read besides the record (sinks know the log position). */
export interface TransformContext {
  offset?: number;
}

type Step = (r: ConnectRecord, ctx: TransformContext) => ConnectRecord | null | Promise<ConnectRecord | null>;

function castValue(v: unknown, to: CastType): unknown {
  if (v === null || v === undefined) return v;
  switch (to) {
    case 'string':
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 1 || v === '1') return true;
      if (v === 'false' || v === 0 || v === '0') return false;
      throw new Error(`cannot cast ${describeValue(v)} to boolean`);
    case 'float64': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw new Error(`cannot cast ${describeValue(v)} to float64`);
      return n;
    }
    case 'int32':
    case 'int64': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : typeof v === 'boolean' ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw new Error(`cannot cast ${describeValue(v)} to ${to}`);
      const t = Math.trunc(n);
      if (to === 'int32' && (t > 2147483647 || t < -2147483648)) throw new Error(`${t} does not fit in int32`);
      return t;
    }
  }
}

function maskOf(v: unknown, replacement: unknown): unknown {
  if (replacement !== undefined) return replacement;
  if (typeof v === 'number') return 0;
  if (typeof v === 'boolean') return false;
  if (typeof v === 'string') return '';
  if (Array.isArray(v)) return [];
  if (isPlainObject(v)) return {};
  return null;
}

function toMillis(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    if (/^-?\d+$/.test(v.trim())) return Number(v);
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  throw new Error(`cannot read ${describeValue(v)} as a timestamp (expected epoch milliseconds, a Date or an ISO-8601 string)`);
}

function inferType(v: unknown): FieldType {
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  return 'json';
}

function editSchema(s: RecordSchema | undefined, edit: (fields: RecordSchema['fields']) => RecordSchema['fields']): RecordSchema | undefined {
  return s ? { ...s, fields: edit(s.fields) } : undefined;
}

/** Applies `fn` to the value or the key (an object), keeping the schema of that side in step. */
function onSide(
  r: ConnectRecord,
  side: 'value' | 'key' | undefined,
  fn: (obj: Record<string, unknown>) => Record<string, unknown>,
  schemaEdit?: (fields: RecordSchema['fields']) => RecordSchema['fields'],
): ConnectRecord {
  const isKey = side === 'key';
  const base = isKey ? r.key : r.value;
  if (base === null || base === undefined) return r; // tombstones and missing keys pass through
  if (!isPlainObject(base)) throw new Error(`expected the ${isKey ? 'key' : 'value'} to be an object${got(base)}`);
  const next = fn(base);
  if (isKey) return { ...r, key: next, keySchema: schemaEdit ? editSchema(r.keySchema, schemaEdit) : r.keySchema };
  return { ...r, value: next, valueSchema: schemaEdit ? editSchema(r.valueSchema, schemaEdit) : r.valueSchema };
}

function compileOne(t: TransformConfig): Step {
  switch (t.type) {
    case 'cast':
      if (t.to !== undefined) {
        const to = t.to;
        return (r) => (t.on === 'key' ? { ...r, key: castValue(r.key, to), keySchema: undefined } : { ...r, value: castValue(r.value, to), valueSchema: undefined });
      }
      return (r) =>
        onSide(
          r,
          t.on,
          (o) => {
            let out = o;
            for (const [f, to] of Object.entries(t.fields!)) {
              const g = getPath(out, f);
              if (g.exists) out = setPath(out, f, castValue(g.value, to));
            }
            return out;
          },
          (fields) => fields.map((f) => (t.fields![f.field] ? { ...f, type: t.fields![f.field]! } : f)),
        );
    case 'insertField':
      return (r, ctx) =>
        onSide(
          r,
          'value',
          (o) => {
            let out = o;
            for (const [k, v] of Object.entries(t.static ?? {})) out = setPath(out, k, v);
            if (t.topicField) out = setPath(out, t.topicField, r.topic);
            if (t.partitionField) out = setPath(out, t.partitionField, r.partition ?? null);
            if (t.offsetField) out = setPath(out, t.offsetField, ctx.offset ?? null);
            if (t.timestampField) out = setPath(out, t.timestampField, r.timestamp ?? null);
            return out;
          },
          (fields) => {
            const added: RecordSchema['fields'] = [];
            for (const [k, v] of Object.entries(t.static ?? {})) added.push({ field: k, type: inferType(v), optional: true });
            if (t.topicField) added.push({ field: t.topicField, type: 'string', optional: true });
            if (t.partitionField) added.push({ field: t.partitionField, type: 'int32', optional: true });
            if (t.offsetField) added.push({ field: t.offsetField, type: 'int64', optional: true });
            if (t.timestampField) added.push({ field: t.timestampField, type: 'int64', optional: true });
            const names = new Set(added.map((a) => a.field));
            return [...fields.filter((f) => !names.has(f.field)), ...added];
          },
        );
    case 'maskField':
      return (r) =>
        onSide(r, t.on, (o) => {
          let out = o;
          for (const f of t.fields) {
            const g = getPath(out, f);
            if (g.exists) out = setPath(out, f, maskOf(g.value, t.replacement));
          }
          return out;
        });
    case 'dropFields':
      return (r) =>
        onSide(
          r,
          t.on,
          (o) => t.fields.reduce((acc, f) => deletePath(acc, f), o),
          (fields) => fields.filter((f) => !t.fields.includes(f.field)),
        );
    case 'renameFields':
      return (r) =>
        onSide(
          r,
          t.on,
          (o) => {
            const out: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(o)) out[t.renames[k] ?? k] = v;
            return out;
          },
          (fields) => fields.map((f) => (t.renames[f.field] ? { ...f, field: t.renames[f.field]! } : f)),
        );
    case 'filter':
      return (r) => {
        const hit = testPredicate((t.drop ?? t.keep)!, r);
        const dropIt = t.drop !== undefined ? hit : !hit;
        return dropIt ? null : r;
      };
    case 'route': {
      const re = new RegExp(`^(?:${t.regex})$`);
      return (r) => (re.test(r.topic) ? { ...r, topic: r.topic.replace(re, t.replacement) } : r);
    }
    case 'timestampConvert':
      return (r) =>
        onSide(r, t.on, (o) => {
          const g = getPath(o, t.field);
          if (!g.exists || g.value === null) return o;
          const ms = toMillis(g.value);
          const out = t.to === 'unix' ? ms : t.to === 'unixSeconds' ? Math.floor(ms / 1000) : t.to === 'iso' ? new Date(ms).toISOString() : new Date(ms).toISOString().slice(0, 10);
          return setPath(o, t.field, out);
        }, (fields) => fields.map((f) => (f.field === t.field ? { ...f, type: t.to === 'unix' || t.to === 'unixSeconds' ? 'int64' : 'string' } : f)));
    case 'extractField':
      return (r) => {
        const base = t.on === 'key' ? r.key : r.value;
        if (base === null || base === undefined) return r;
        if (!isPlainObject(base)) throw new Error(`expected the ${t.on === 'key' ? 'key' : 'value'} to be an object${got(base)}`);
        const g = getPath(base, t.field);
        const v = g.exists ? g.value : null;
        return t.on === 'key' ? { ...r, key: v, keySchema: undefined } : { ...r, value: v, valueSchema: undefined };
      };
    case 'valueToKey':
      return (r) => {
        if (r.value === null || r.value === undefined) return r;
        if (!isPlainObject(r.value)) throw new Error(`expected the value to be an object${got(r.value)}`);
        const key: Record<string, unknown> = {};
        for (const f of t.fields) key[f] = getPath(r.value, f).value ?? null;
        const keySchema = r.valueSchema ? { type: 'struct' as const, fields: r.valueSchema.fields.filter((f) => t.fields.includes(f.field)) } : undefined;
        return { ...r, key, keySchema };
      };
    case 'function':
      return async (r) => {
        const out = await t.fn(r);
        if (out === null || out === undefined) return null;
        if (typeof out !== 'object' || typeof out.topic !== 'string') throw new Error('a function transform must return a record (with a topic) or null');
        return { ...out, headers: out.headers ?? [] };
      };
  }
}

/**
 * A chain of transforms, applied in order.
 *
 * @example
 * ```ts
 * const chain = compileTransforms([{ type: 'maskField', fields: ['card'] }, { type: 'route', regex: '(.*)', replacement: '$1.masked' }]);
 * const out = await chain.apply({ topic: 'orders', key: null, value: { card: '4111', total: 5 }, headers: [] });
 * // → { topic: 'orders.masked', value: { card: '', total: 5 }, … }
 * ```
 */
export class TransformChain {
  private readonly steps: Array<{ step: Step; when: Predicate | undefined; index: number; type: string }>;

  constructor(transforms: TransformConfig[]) {
    this.steps = transforms.map((t, index) => ({ step: compileOne(t), when: 'when' in t ? (t.when as Predicate | undefined) : undefined, index, type: t.type }));
  }

  get length(): number {
    return this.steps.length;
  }

  /** The transformed record, or null when a step dropped it. Errors are ConnectError TRANSFORM_FAILED naming the step. */
  async apply(record: ConnectRecord, ctx: TransformContext = {}): Promise<ConnectRecord | null> {
    let r: ConnectRecord | null = record;
    for (const s of this.steps) {
      if (r === null) return null;
      if (s.when && !testPredicate(s.when, r)) continue;
      try {
        r = await s.step(r, ctx);
      } catch (err) {
        throw new ConnectError('TRANSFORM_FAILED', `transforms[${s.index}] (${s.type}): ${errorMessage(err)}`, { cause: err });
      }
    }
    return r;
  }
}

export function compileTransforms(transforms: TransformConfig[]): TransformChain {
  return new TransformChain(transforms);
}
