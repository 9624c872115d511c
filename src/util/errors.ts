/**
 * Typed errors with stable codes.
 *
 * Every module throws a subclass of TributaryError with a `code` that never changes once
 * published (users match on it) and a `retriable` flag (callers decide whether to retry).
 * Where a Kafka error code exists for the condition, `kafkaCode` carries it so the Kafka
 * server can map errors one-to-one.
 */
export class TributaryError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly kafkaCode: number | undefined;
  /** HTTP status the server answers with when this error reaches an HTTP boundary. */
  readonly httpStatus: number;

  constructor(
    code: string,
    message: string,
    opts: { retriable?: boolean; kafkaCode?: number; httpStatus?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.kafkaCode = opts.kafkaCode;
    this.httpStatus = opts.httpStatus ?? 400;
  }

  toJSON(): { code: string; message: string; retriable: boolean } {
    return { code: this.code, message: this.message, retriable: this.retriable };
  }
}

export function isTributaryError(err: unknown): err is TributaryError {
  return err instanceof TributaryError;
}

/** Error for invalid configuration; `path` names the offending field (e.g. `topics.orders.partitions`). */
export class ConfigError extends TributaryError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('CONFIG_INVALID', path ? `${path}: ${message}` : message);
    this.name = 'ConfigError';
    this.path = path;
  }
}
