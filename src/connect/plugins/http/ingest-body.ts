/**
 * Request bodies of `POST /ingest/<topic>` (pure).
 *
 * - One record: `{ "value": <any JSON>, "key"?: <string | JSON>, "headers"?: { name: "text" }, "partition"?: n, "timestamp"?: ms }`
 * - A batch (like Kinesis PutRecords): `{ "records": [ <record>, … ] }` — each record is checked
 *   on its own, so one bad record fails alone (partial failure) and the others are written.
 * - NDJSON (`Content-Type: application/x-ndjson`): one value per line, a batch.
 */
import { describeValue, suggest } from '../../../util/schema.ts';
import { ConnectError } from '../../errors.ts';
import { isPlainObject } from '../../transforms/paths.ts';

export interface IngestRecord {
  key: unknown;
  value: unknown;
  headers: Array<{ key: string; value: string }>;
  partition?: number;
  timestamp?: number;
}

export type ParsedItem = { ok: true; record: IngestRecord } | { ok: false; error: ConnectError };

export interface ParsedBody {
  batch: boolean;
  items: ParsedItem[];
}

const RECORD_FIELDS = ['key', 'value', 'headers', 'partition', 'timestamp'];

function invalid(message: string): ParsedItem {
  return { ok: false, error: new ConnectError('RECORD_INVALID', message) };
}

export function parseRecord(raw: unknown, where: string): ParsedItem {
  if (!isPlainObject(raw)) return invalid(`${where}: expected an object like { "value": … }, got ${describeValue(raw)}`);
  for (const k of Object.keys(raw)) {
    if (!RECORD_FIELDS.includes(k)) {
      const hint = suggest(k, RECORD_FIELDS);
      return invalid(`${where}: unknown field "${k}"${hint ? ` (did you mean "${hint}"?)` : ''}; known fields: ${RECORD_FIELDS.join(', ')}`);
    }
  }
  if (!('value' in raw)) return invalid(`${where}: "value" is missing (use null for a tombstone)`);
  const headers: IngestRecord['headers'] = [];
  if (raw['headers'] !== undefined) {
    if (!isPlainObject(raw['headers'])) return invalid(`${where}.headers: expected an object of name → text, got ${describeValue(raw['headers'])}`);
    for (const [k, v] of Object.entries(raw['headers'])) {
      if (typeof v !== 'string') return invalid(`${where}.headers.${k}: expected text, got ${describeValue(v)}`);
      headers.push({ key: k, value: v });
    }
  }
  const record: IngestRecord = { key: raw['key'] ?? null, value: raw['value'], headers };
  const p = raw['partition'];
  if (p !== undefined) {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0) return invalid(`${where}.partition: expected a whole number ≥ 0, got ${describeValue(p)}`);
    record.partition = p;
  }
  const t = raw['timestamp'];
  if (t !== undefined) {
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) return invalid(`${where}.timestamp: expected epoch milliseconds, got ${describeValue(t)}`);
    record.timestamp = t;
  }
  return { ok: true, record };
}

export function parseIngestBody(text: string, contentType: string | undefined, opts: { maxRecords: number }): ParsedBody {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/ndjson') {
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (lines.length === 0) throw new ConnectError('INGEST_BAD_REQUEST', 'the body has no lines: send one JSON value per line');
    if (lines.length > opts.maxRecords) throw new ConnectError('INGEST_TOO_LARGE', `${lines.length} records in one request; at most ${opts.maxRecords}: split the batch`);
    return {
      batch: true,
      items: lines.map((line, i) => {
        try {
          return { ok: true, record: { key: null, value: JSON.parse(line), headers: [] } };
        } catch (err) {
          return invalid(`line ${i + 1}: not valid JSON (${(err as Error).message})`);
        }
      }),
    };
  }
  if (text.trim() === '') throw new ConnectError('INGEST_BAD_REQUEST', 'the body is empty: send { "value": … } or { "records": [ … ] }');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ConnectError('INGEST_BAD_REQUEST', `the body is not valid JSON (${(err as Error).message})`);
  }
  if (isPlainObject(body) && 'records' in body) {
    const extra = Object.keys(body).filter((k) => k !== 'records');
    if (extra.length) throw new ConnectError('INGEST_BAD_REQUEST', `a batch is { "records": [ … ] } only; unexpected ${extra.map((k) => `"${k}"`).join(', ')}`);
    const records = body['records'];
    if (!Array.isArray(records) || records.length === 0) throw new ConnectError('INGEST_BAD_REQUEST', `"records" must be a non-empty array, got ${describeValue(records)}`);
    if (records.length > opts.maxRecords) throw new ConnectError('INGEST_TOO_LARGE', `${records.length} records in one request; at most ${opts.maxRecords}: split the batch`);
    return { batch: true, items: records.map((r, i) => parseRecord(r, `records[${i}]`)) };
  }
  const item = parseRecord(body, 'body');
  if (!item.ok) throw new ConnectError('INGEST_BAD_REQUEST', item.error.message);
  return { batch: false, items: [item] };
}
