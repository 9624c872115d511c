import { TributaryError } from '../util/errors.ts';
import { problemsFromIssues } from '../util/schema.ts';
import type { z } from 'zod';

export type HttpErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_JSON'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'PARTITION_UNKNOWN'
  | 'OFFSET_OUT_OF_RANGE'
  | 'CONSUMER_UNKNOWN'
  | 'CONSUMER_HAS_NO_GROUP'
  | 'TOO_MANY_CONSUMERS'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

const statusOf: Record<HttpErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  PARTITION_UNKNOWN: 404,
  OFFSET_OUT_OF_RANGE: 400,
  CONSUMER_UNKNOWN: 404,
  CONSUMER_HAS_NO_GROUP: 400,
  TOO_MANY_CONSUMERS: 429,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
};

/** An error raised by the HTTP layer itself (bad request, unknown consumer instance, …). */
export class HttpError extends TributaryError {
  declare readonly code: HttpErrorCode;
  constructor(code: HttpErrorCode, message: string, cause?: unknown) {
    super(code, message, { httpStatus: statusOf[code], retriable: code === 'SHUTTING_DOWN' || code === 'TOO_MANY_CONSUMERS', cause });
    this.name = 'HttpError';
  }
}

/** A 400 naming every bad field of a request body or query (`records[0].value: expected …`). */
export function badRequestFromIssues(where: string, issues: readonly z.core.$ZodIssue[]): HttpError {
  const problems = problemsFromIssues(issues);
  const text = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
  return new HttpError('BAD_REQUEST', `${where}: ${text}`);
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; retriable: boolean };
}

export function errorBody(err: TributaryError): ErrorBody {
  return { error: { code: err.code, message: err.message, retriable: err.retriable } };
}
