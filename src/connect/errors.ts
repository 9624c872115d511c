/**
 * Errors of the connector runtime and the built-in connectors. Codes are stable (users match on
 * them); `retriable` tells the runtime whether retrying with backoff can help (a database that is
 * down, a webhook answering 503) or not (a malformed record, a constraint violation).
 */
import { TributaryError } from '../util/errors.ts';

export type ConnectErrorCode =
  | 'CONNECTOR_NOT_FOUND'
  | 'CONNECTOR_EXISTS'
  | 'CONNECTOR_CONFIG_INVALID'
  | 'CONNECTOR_STATE_CONFLICT'
  | 'PLUGIN_NOT_FOUND'
  | 'TASK_NOT_FOUND'
  | 'CONVERSION_FAILED'
  | 'TRANSFORM_FAILED'
  | 'RECORD_INVALID'
  | 'RECORD_TOO_LARGE'
  | 'SOURCE_FAILED'
  | 'SINK_FAILED'
  | 'RETRIES_EXHAUSTED'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_ERROR'
  | 'WEBHOOK_FAILED'
  | 'INGEST_NO_CONNECTOR'
  | 'INGEST_UNAUTHORIZED'
  | 'INGEST_FORBIDDEN'
  | 'INGEST_BUSY'
  | 'INGEST_UNAVAILABLE'
  | 'INGEST_TOO_LARGE'
  | 'INGEST_BAD_REQUEST'
  | 'RUNTIME_STOPPED';

const HTTP_STATUS: Partial<Record<ConnectErrorCode, number>> = {
  CONNECTOR_NOT_FOUND: 404,
  PLUGIN_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  CONNECTOR_EXISTS: 409,
  CONNECTOR_STATE_CONFLICT: 409,
  INGEST_NO_CONNECTOR: 404,
  INGEST_UNAUTHORIZED: 401,
  INGEST_FORBIDDEN: 403,
  INGEST_BUSY: 429,
  INGEST_UNAVAILABLE: 503,
  INGEST_TOO_LARGE: 413,
  RECORD_TOO_LARGE: 413,
  RUNTIME_STOPPED: 503,
  DATABASE_UNAVAILABLE: 503,
  SOURCE_FAILED: 500,
  SINK_FAILED: 500,
  RETRIES_EXHAUSTED: 500,
  DATABASE_ERROR: 500,
  WEBHOOK_FAILED: 502,
};

const RETRIABLE = new Set<ConnectErrorCode>(['INGEST_BUSY', 'INGEST_UNAVAILABLE', 'DATABASE_UNAVAILABLE', 'RUNTIME_STOPPED']);

export class ConnectError extends TributaryError {
  declare readonly code: ConnectErrorCode;
  /** Seconds a client should wait before retrying (429/503 answers carry it as Retry-After). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ConnectErrorCode, message: string, opts: { retriable?: boolean; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(code, message, { retriable: opts.retriable ?? RETRIABLE.has(code), httpStatus: HTTP_STATUS[code] ?? 400, cause: opts.cause });
    this.name = 'ConnectError';
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** Thrown by a task for a condition that may pass (the runtime retries with backoff). */
export class RetriableError extends ConnectError {
  constructor(message: string, opts: { cause?: unknown; code?: ConnectErrorCode } = {}) {
    super(opts.code ?? 'SOURCE_FAILED', message, { retriable: true, cause: opts.cause });
    this.name = 'RetriableError';
  }
}

/** True when retrying may help: our own flag, or a network error code from Node. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof TributaryError) return err.retriable;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
