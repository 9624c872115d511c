/**
 * Declarative message schemas: one per API key covering every version we serve, written as
 * data (the approach of Kafka's own JSON message definitions, franz-go and tansu). The one
 * generic codec in `codec.ts` reads and writes any of them.
 *
 * Versions are given as Kafka writes them: "0+", "3-5", "7", or "none".
 */
export type Range = readonly [number, number];

export type Primitive = 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64' | 'string' | 'bytes' | 'uuid' | 'records';

export interface StructType {
  kind: 'struct';
  fields: Field[];
}
export interface ArrayType {
  kind: 'array';
  of: FieldType;
}
export type FieldType = Primitive | StructType | ArrayType;

export interface Field {
  /** camelCase name of the property in decoded objects. */
  name: string;
  type: FieldType;
  versions: Range;
  nullable: Range | null;
  tag: number | null;
  taggedVersions: Range | null;
  default: unknown;
  /** Encoded in the classic (non-compact) form even in flexible versions (RequestHeader.ClientId). */
  neverFlexible: boolean;
}

export interface MessageSchema {
  name: string;
  apiKey: number;
  versions: Range;
  flexible: Range | null;
  fields: Field[];
}

export function range(spec: string): Range | null {
  if (spec === 'none') return null;
  const plus = /^(\d+)\+$/.exec(spec);
  if (plus) return [Number(plus[1]), Infinity];
  const span = /^(\d+)-(\d+)$/.exec(spec);
  if (span) return [Number(span[1]), Number(span[2])];
  if (/^\d+$/.test(spec)) return [Number(spec), Number(spec)];
  throw new Error(`bad version range "${spec}"`);
}

export function inRange(r: Range | null, v: number): boolean {
  return r !== null && v >= r[0] && v <= r[1];
}

export interface FieldOptions {
  nullable?: string;
  tag?: number;
  tagged?: string;
  default?: unknown;
  neverFlexible?: boolean;
}

/** A field: `field('ErrorCode', 'int16', '0+')`; the JS property is camelCase (`errorCode`). */
export function field(name: string, type: FieldType, versions: string, opts: FieldOptions = {}): Field {
  const v = range(versions);
  if (!v) throw new Error(`field ${name} has no versions`);
  return {
    name: name.charAt(0).toLowerCase() + name.slice(1),
    type,
    versions: v,
    nullable: opts.nullable ? range(opts.nullable) : null,
    tag: opts.tag ?? null,
    taggedVersions: opts.tagged ? range(opts.tagged) : null,
    default: opts.default !== undefined ? opts.default : defaultFor(type, opts.nullable !== undefined),
    neverFlexible: opts.neverFlexible ?? false,
  };
}

export function struct(...fields: Field[]): StructType {
  return { kind: 'struct', fields };
}

export function array(of: FieldType): ArrayType {
  return { kind: 'array', of };
}

export function message(apiKey: number, name: string, versions: string, flexible: string, fields: Field[]): MessageSchema {
  return { apiKey, name, versions: range(versions)!, flexible: range(flexible), fields };
}

function defaultFor(type: FieldType, nullable: boolean): unknown {
  if (typeof type !== 'string') return type.kind === 'array' ? [] : null;
  switch (type) {
    case 'bool':
      return false;
    case 'string':
      return nullable ? null : '';
    case 'bytes':
    case 'records':
      return nullable ? null : Buffer.alloc(0);
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
    default:
      return 0;
  }
}

/** An API: its request and response schemas and the versions the broker serves. */
export interface ApiSchema {
  apiKey: number;
  name: string;
  request: MessageSchema;
  response: MessageSchema;
  /** Versions we serve (may be narrower than the schema's). */
  min: number;
  max: number;
}

export function api(request: MessageSchema, response: MessageSchema, serve?: string): ApiSchema {
  const r = serve ? range(serve)! : request.versions;
  return { apiKey: request.apiKey, name: request.name.replace(/Request$/, ''), request, response, min: r[0], max: Math.min(r[1], request.versions[1]) };
}
