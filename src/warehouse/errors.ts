import { TributaryError } from '../util/errors.ts';

/** Stable codes of every error the warehouse raises (users match on them; never renamed). */
export type WarehouseErrorCode =
  /** SQL DuckDB cannot parse; `position` points at the spot. */
  | 'WAREHOUSE_SQL_SYNTAX'
  /** SQL that parses but cannot run as written: unknown table or column, wrong types, …; `position` when DuckDB reports one. */
  | 'WAREHOUSE_SQL_INVALID'
  /** A statement the caller may not run through this entry point (only queries from the CLI and HTTP), or several statements at once. */
  | 'WAREHOUSE_STATEMENT_NOT_ALLOWED'
  /** The query failed while running (conversion error, out of memory, a file the lake lost, …). */
  | 'WAREHOUSE_QUERY_FAILED'
  | 'WAREHOUSE_QUERY_CANCELLED'
  | 'WAREHOUSE_QUERY_UNKNOWN'
  /** A time-travel clause or `asOf` that cannot be resolved (bad syntax, unknown or expired snapshot). */
  | 'WAREHOUSE_AS_OF_INVALID'
  /** A result format the gateway does not write. */
  | 'WAREHOUSE_FORMAT_UNKNOWN'
  /** A model file that cannot be compiled: bad template, bad config, a name that is not a valid table name. */
  | 'WAREHOUSE_MODEL_INVALID'
  /** `ref()` to a model that does not exist, or `--select` naming none. */
  | 'WAREHOUSE_MODEL_UNKNOWN'
  /** Models that refer to each other in a cycle. */
  | 'WAREHOUSE_MODEL_CYCLE'
  /** `source()` naming a lake table that does not exist. */
  | 'WAREHOUSE_SOURCE_UNKNOWN'
  /** A model test declared wrongly (unknown kind, missing argument, unknown model or column). */
  | 'WAREHOUSE_TEST_INVALID'
  /** Another build is running (one at a time per warehouse). */
  | 'WAREHOUSE_BUSY'
  /** The warehouse is not configured (no lake) or closed. */
  | 'WAREHOUSE_UNAVAILABLE'
  | 'WAREHOUSE_CONFIG_INVALID';

const httpStatus: Partial<Record<WarehouseErrorCode, number>> = {
  WAREHOUSE_STATEMENT_NOT_ALLOWED: 403,
  WAREHOUSE_QUERY_FAILED: 500,
  WAREHOUSE_QUERY_CANCELLED: 409,
  WAREHOUSE_QUERY_UNKNOWN: 404,
  WAREHOUSE_MODEL_UNKNOWN: 404,
  WAREHOUSE_BUSY: 409,
  WAREHOUSE_UNAVAILABLE: 503,
};

const retriable = new Set<WarehouseErrorCode>(['WAREHOUSE_BUSY', 'WAREHOUSE_UNAVAILABLE']);

/** Where in the SQL an error is: 1-based line and column, 0-based offset, and the file when it came from a model. */
export interface SqlPosition {
  line: number;
  column: number;
  offset: number;
  file?: string;
}

/**
 * The one error class of the warehouse; `code` is stable, `retriable` says whether trying
 * again may help, `position` (when known) points into the SQL the caller wrote.
 *
 * @example
 * ```ts
 * try { await gateway.query('SELECT * FORM raw.orders'); }
 * catch (err) { if (err instanceof WarehouseError && err.position) console.log(err.position.line, err.position.column); }
 * ```
 */
export class WarehouseError extends TributaryError {
  declare readonly code: WarehouseErrorCode;
  readonly position: SqlPosition | undefined;
  constructor(code: WarehouseErrorCode, message: string, opts: { cause?: unknown; retriable?: boolean; position?: SqlPosition } = {}) {
    super(code, message, {
      httpStatus: httpStatus[code] ?? 400,
      retriable: opts.retriable ?? retriable.has(code),
      ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    });
    this.name = 'WarehouseError';
    this.position = opts.position;
  }

  override toJSON(): { code: string; message: string; retriable: boolean; position?: SqlPosition } {
    return { ...super.toJSON(), ...(this.position ? { position: this.position } : {}) };
  }
}
