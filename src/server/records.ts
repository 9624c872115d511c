/**
 * Records as JSON: how the HTTP API writes and reads keys, values and headers.
 *
 * Text by default (UTF-8 strings); with the `base64` flag every key, value and header value is
 * base64, so binary data survives the trip. `null` stays `null` (a tombstone's value).
 */
import { z } from 'zod';
import type { ConsumedRecord, ProducerRecord } from '../bus/types.ts';
import type { RecordHeader } from '../log/types.ts';
import { got, num, obj } from '../util/schema.ts';

export interface JsonHeader {
  key: string;
  value: string | null;
}

/** A record as the API returns it. */
export interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: JsonHeader[];
}

function decodeBytes(b: Buffer | null, base64: boolean): string | null {
  if (b === null) return null;
  return base64 ? b.toString('base64') : b.toString('utf8');
}

export function recordToJson(r: ConsumedRecord, base64: boolean): JsonRecord {
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: decodeBytes(r.key, base64),
    value: decodeBytes(r.value, base64),
    headers: r.headers.map((h) => ({ key: h.key, value: decodeBytes(h.value, base64) })),
  };
}

const nullableString = (what: string) =>
  z.string({ error: (iss) => `expected ${what} (a string) or null${got(iss.input)}` }).nullable();

const headerSchema = obj({
  key: z.string({ error: (iss) => `expected a header name (a string)${got(iss.input)}` }),
  value: nullableString('a header value'),
});

/** Headers as `[{ key, value }]` (keeps duplicates and order) or `{ name: value }`. */
const headersSchema = z.union([z.array(headerSchema), z.record(z.string(), nullableString('a header value'))], {
  error: (iss) => `expected headers as [{ "key": …, "value": … }] or { "name": "value" }${got(iss.input)}`,
});

export const produceRecordSchema = obj({
  key: nullableString('a key').optional(),
  value: nullableString('a value'),
  headers: headersSchema.optional(),
  partition: num({ int: true, min: 0 }).optional(),
  timestamp: num({ int: true, min: 0 }).optional(),
});

export const produceBodySchema = obj({
  base64: z.boolean({ error: (iss) => `expected true or false${got(iss.input)}` }).optional(),
  records: z
    .array(produceRecordSchema, { error: (iss) => `expected an array of records${got(iss.input)}` })
    .min(1, { error: 'expected at least one record' }),
});

export type ProduceBody = z.infer<typeof produceBodySchema>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function encodeBytes(s: string | null | undefined, base64: boolean, path: string): Buffer | null {
  if (s === null || s === undefined) return null;
  if (!base64) return Buffer.from(s, 'utf8');
  if (s.length % 4 !== 0 || !BASE64.test(s)) {
    throw new Error(`${path}: expected base64 (the request sets "base64": true), got ${JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s)}`);
  }
  return Buffer.from(s, 'base64');
}

/** Turns a validated produce body into producer records; throws on bad base64 with the field's path. */
export function recordsFromBody(body: ProduceBody): ProducerRecord[] {
  const base64 = body.base64 ?? false;
  return body.records.map((r, i) => {
    const headers: RecordHeader[] = [];
    if (Array.isArray(r.headers)) {
      r.headers.forEach((h, j) => headers.push({ key: h.key, value: encodeBytes(h.value, base64, `records[${i}].headers[${j}].value`) }));
    } else if (r.headers) {
      for (const [key, value] of Object.entries(r.headers)) {
        headers.push({ key, value: encodeBytes(value, base64, `records[${i}].headers.${key}`) });
      }
    }
    const out: ProducerRecord = {
      key: encodeBytes(r.key, base64, `records[${i}].key`),
      value: encodeBytes(r.value, base64, `records[${i}].value`),
      headers,
    };
    if (r.partition !== undefined) out.partition = r.partition;
    if (r.timestamp !== undefined) out.timestamp = r.timestamp;
    return out;
  });
}
