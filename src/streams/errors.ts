/** Errors of the stream-processing library, with stable codes. */
import { TributaryError } from '../util/errors.ts';

export type StreamsErrorCode =
  /** The topology breaks a rule (unnamed stateful operator, duplicate name, bad window spec, …). */
  | 'TOPOLOGY_INVALID'
  /** Inputs that must be co-partitioned (joins, tasks reading several topics) have different partition counts. */
  | 'COPARTITION_MISMATCH'
  /** A record's key or value could not be deserialized. */
  | 'DESERIALIZATION_FAILED'
  /** A value could not be serialized for an output or a store. */
  | 'SERIALIZATION_FAILED'
  /** A user function (mapper, predicate, aggregator, joiner, …) threw. */
  | 'USER_FUNCTION_FAILED'
  /** A record's event time is not a usable number, or lies too far in the future. */
  | 'TIMESTAMP_INVALID'
  /** A source topic of the app does not exist. */
  | 'SOURCE_TOPIC_MISSING'
  /** The app stopped because of a record it could not process (`onError: 'stop'`). */
  | 'APP_STOPPED'
  | 'APP_NOT_FOUND'
  | 'APP_INVALID'
  | 'STORE_NOT_FOUND'
  /** A store is not hosted by this process (its partition belongs to another instance, or is restoring). */
  | 'STORE_NOT_AVAILABLE'
  | 'BAD_QUERY'
  /** The processing guarantee cannot be honoured on this bus. */
  | 'GUARANTEE_UNSUPPORTED';

const STATUS: Partial<Record<StreamsErrorCode, number>> = {
  APP_NOT_FOUND: 404,
  STORE_NOT_FOUND: 404,
  STORE_NOT_AVAILABLE: 503,
  SOURCE_TOPIC_MISSING: 409,
  APP_STOPPED: 409,
};

export class StreamsError extends TributaryError {
  declare readonly code: StreamsErrorCode;
  constructor(code: StreamsErrorCode, message: string, opts: { cause?: unknown; retriable?: boolean } = {}) {
    super(code, message, { httpStatus: STATUS[code] ?? 400, retriable: opts.retriable ?? code === 'STORE_NOT_AVAILABLE', cause: opts.cause });
    this.name = 'StreamsError';
  }
}

/** Message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
