/**
 * Dead-letter records: the failed record's own bytes, with headers saying why (Kafka Connect's
 * names, so existing tooling reads them): `__connect.errors.topic`, `.partition`, `.offset`
 * (sinks: where the record was in the log), `.connector.name`, `.task.id`, `.stage`,
 * `.class.name`, `.exception.message`, `.exception.stacktrace`, and for sources
 * `.source.partition` / `.source.offset` (JSON). Pure.
 */
import type { ProducerRecord } from '../../bus/types.ts';
import type { RecordHeader } from '../../log/types.ts';
import type { JsonObject } from '../types.ts';

export type ErrorStage = 'SOURCE' | 'KEY_CONVERTER' | 'VALUE_CONVERTER' | 'TRANSFORMATION' | 'PRODUCE' | 'SINK';

export const DLQ_HEADER_PREFIX = '__connect.errors.';

export interface DeadLetterInput {
  connector: string;
  taskId: number;
  stage: ErrorStage;
  error: Error;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** Sinks: where the record was read. */
  origin?: { topic: string; partition: number; offset: number };
  /** Sources: the topic it was meant for and where it came from. */
  intendedTopic?: string;
  sourcePartition?: JsonObject;
  sourceOffset?: JsonObject;
}

export function deadLetterRecord(d: DeadLetterInput): ProducerRecord {
  const h = (k: string, v: string): RecordHeader => ({ key: DLQ_HEADER_PREFIX + k, value: Buffer.from(v) });
  const headers: RecordHeader[] = [...d.headers.filter((x) => !x.key.startsWith(DLQ_HEADER_PREFIX))];
  if (d.origin) {
    headers.push(h('topic', d.origin.topic), h('partition', String(d.origin.partition)), h('offset', String(d.origin.offset)));
  } else if (d.intendedTopic) {
    headers.push(h('topic', d.intendedTopic));
  }
  headers.push(
    h('connector.name', d.connector),
    h('task.id', String(d.taskId)),
    h('stage', d.stage),
    h('class.name', (d.error as { code?: string }).code ?? d.error.name ?? 'Error'),
    h('exception.message', d.error.message),
    h('exception.stacktrace', (d.error.stack ?? d.error.message).slice(0, 8192)),
  );
  if (d.sourcePartition) headers.push(h('source.partition', JSON.stringify(d.sourcePartition)));
  if (d.sourceOffset) headers.push(h('source.offset', JSON.stringify(d.sourceOffset)));
  return { key: d.key, value: d.value, headers };
}

/** Reads the `__connect.errors.*` headers of a record back into an object (for tests and tools). */
export function readDeadLetterHeaders(headers: RecordHeader[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const x of headers) if (x.key.startsWith(DLQ_HEADER_PREFIX)) out[x.key.slice(DLQ_HEADER_PREFIX.length)] = x.value?.toString('utf8') ?? '';
  return out;
}
