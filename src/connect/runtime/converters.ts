/**
 * Converters: between the bytes in the log and the values connectors and transforms work with
 * (Kafka Connect's key/value converters). Pure.
 *
 * - `json` (default): values are JSON; with `schemas: true` a value with a schema travels as
 *   `{ "schema": …, "payload": … }` (Kafka Connect's JsonConverter with `schemas.enable`), and a
 *   sink reading such an envelope gets the schema back.
 * - `string`: UTF-8 text; a non-string value is written as JSON.
 * - `bytes`: Buffers pass through; strings are written as UTF-8.
 */
import { ConnectError } from '../errors.ts';
import type { ConverterKind, FieldType, RecordSchema } from '../types.ts';

export interface Converter {
  toBytes(value: unknown, schema: RecordSchema | undefined): Buffer | null;
  fromBytes(bytes: Buffer | null): { value: unknown; schema?: RecordSchema };
}

const FIELD_TYPES = new Set<FieldType>(['int16', 'int32', 'int64', 'float32', 'float64', 'decimal', 'boolean', 'string', 'bytes', 'timestamp', 'date', 'time', 'json', 'array', 'uuid']);
/** Kafka Connect's type names that map onto ours. */
const KAFKA_TYPES: Record<string, FieldType> = { int8: 'int16', map: 'json', struct: 'json' };

function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return Buffer.from((v as { data: number[] }).data).toString('base64');
  }
  return v;
}

/**
 * JSON text with bigints as strings and Buffers as base64. Plain `JSON.stringify` first (a replacer
 * slows every value down); only when that meets a bigint (it throws) or a Buffer (its toJSON
 * shape shows in the text) is the value written again with the replacer — same result either way.
 */
function stringify(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return JSON.stringify(value, jsonReplacer);
  }
  return text !== undefined && text.includes('"type":"Buffer","data":[') ? JSON.stringify(value, jsonReplacer) : text;
}

/** Reads a schema from an envelope; null when it is not one we understand. */
export function parseSchema(raw: unknown): RecordSchema | null {
  if (!raw || typeof raw !== 'object') return null;
  const s = raw as { type?: unknown; fields?: unknown; name?: unknown };
  if (s.type !== 'struct' || !Array.isArray(s.fields)) return null;
  const fields: RecordSchema['fields'] = [];
  for (const f of s.fields as Array<Record<string, unknown>>) {
    const name = f['field'] ?? f['name'];
    const rawType = String(f['type'] ?? 'json');
    const logical = typeof f['name'] === 'string' && f['field'] !== undefined ? String(f['name']) : '';
    let type: FieldType = FIELD_TYPES.has(rawType as FieldType) ? (rawType as FieldType) : (KAFKA_TYPES[rawType] ?? 'json');
    if (logical.endsWith('.Timestamp')) type = 'timestamp';
    else if (logical.endsWith('.Date')) type = 'date';
    else if (logical.endsWith('.Decimal')) type = 'decimal';
    if (typeof name !== 'string') return null;
    fields.push({ field: name, type, optional: f['optional'] !== false });
  }
  return { type: 'struct', ...(typeof s.name === 'string' ? { name: s.name } : {}), fields };
}

export function createConverter(kind: ConverterKind, opts: { schemas?: boolean } = {}): Converter {
  switch (kind) {
    case 'json':
      return {
        toBytes(value, schema) {
          if (value === null || value === undefined) return null;
          if (Buffer.isBuffer(value)) return value;
          if (opts.schemas && schema) return Buffer.from(stringify({ schema, payload: value }));
          return Buffer.from(stringify(value));
        },
        fromBytes(bytes) {
          if (bytes === null) return { value: null };
          let parsed: unknown;
          try {
            parsed = JSON.parse(bytes.toString('utf8'));
          } catch (err) {
            const text = bytes.toString('utf8', 0, Math.min(bytes.length, 60));
            throw new ConnectError('CONVERSION_FAILED', `not valid JSON (${(err as Error).message}): ${JSON.stringify(text)}${bytes.length > 60 ? '…' : ''}`);
          }
          if (opts.schemas && parsed && typeof parsed === 'object' && 'payload' in parsed && 'schema' in parsed) {
            const env = parsed as { schema: unknown; payload: unknown };
            const schema = parseSchema(env.schema);
            return schema ? { value: env.payload, schema } : { value: env.payload };
          }
          return { value: parsed };
        },
      };
    case 'string':
      return {
        toBytes(value) {
          if (value === null || value === undefined) return null;
          if (Buffer.isBuffer(value)) return value;
          return Buffer.from(typeof value === 'string' ? value : stringify(value));
        },
        fromBytes(bytes) {
          return { value: bytes === null ? null : bytes.toString('utf8') };
        },
      };
    case 'bytes':
      return {
        toBytes(value) {
          if (value === null || value === undefined) return null;
          if (Buffer.isBuffer(value)) return value;
          if (typeof value === 'string') return Buffer.from(value);
          throw new ConnectError('CONVERSION_FAILED', `the bytes converter takes Buffers or strings, got ${typeof value}`);
        },
        fromBytes(bytes) {
          return { value: bytes };
        },
      };
  }
}
