import { TributaryError } from '../util/errors.ts';

/** Stable codes of every error the lake raises (users match on them; never renamed). */
export type LakeErrorCode =
  /** A zone, table or column name that cannot be used (bad characters, reserved, too long). */
  | 'LAKE_NAME_INVALID'
  | 'LAKE_ZONE_UNKNOWN'
  | 'LAKE_TABLE_UNKNOWN'
  | 'LAKE_TABLE_EXISTS'
  /** A column type the lake does not know, or a schema that is malformed. */
  | 'LAKE_SCHEMA_INVALID'
  /** A schema change the lake refuses (narrowing a type, changing a type incompatibly, …). */
  | 'LAKE_SCHEMA_INCOMPATIBLE'
  /** A row or file that does not fit the table's schema. */
  | 'LAKE_DATA_INVALID'
  /** A partition value that is not a valid path segment, or a partition spec that does not fit the table. */
  | 'LAKE_PARTITION_INVALID'
  | 'LAKE_SNAPSHOT_UNKNOWN'
  /** Time travel to a snapshot that has been expired. */
  | 'LAKE_SNAPSHOT_EXPIRED'
  /** Another writer changed what this commit depends on (compaction inputs, schema); retry. */
  | 'LAKE_COMMIT_CONFLICT'
  | 'LAKE_MANIFEST_ERROR'
  | 'LAKE_STORE_ERROR'
  /** A committed file is missing or has another size than the manifest records. */
  | 'LAKE_FILE_MISSING'
  | 'LAKE_CLOSED'
  | 'LAKE_SINK_ERROR'
  | 'LAKE_CONFIG_INVALID';

const httpStatus: Partial<Record<LakeErrorCode, number>> = {
  LAKE_ZONE_UNKNOWN: 404,
  LAKE_TABLE_UNKNOWN: 404,
  LAKE_SNAPSHOT_UNKNOWN: 404,
  LAKE_SNAPSHOT_EXPIRED: 410,
  LAKE_TABLE_EXISTS: 409,
  LAKE_COMMIT_CONFLICT: 409,
  LAKE_MANIFEST_ERROR: 500,
  LAKE_STORE_ERROR: 500,
  LAKE_FILE_MISSING: 500,
  LAKE_CLOSED: 503,
  LAKE_SINK_ERROR: 500,
};

const retriable = new Set<LakeErrorCode>(['LAKE_COMMIT_CONFLICT', 'LAKE_STORE_ERROR', 'LAKE_MANIFEST_ERROR']);

/**
 * The one error class of the lake; `code` is stable, `retriable` says whether trying again may help.
 *
 * @example
 * ```ts
 * try { await lake.evolveSchema('raw.orders', { widen: [{ name: 'id', type: 'int32' }] }); }
 * catch (err) { if (err instanceof LakeError && err.code === 'LAKE_SCHEMA_INCOMPATIBLE') … }
 * ```
 */
export class LakeError extends TributaryError {
  declare readonly code: LakeErrorCode;
  constructor(code: LakeErrorCode, message: string, opts: { cause?: unknown; retriable?: boolean } = {}) {
    super(code, message, {
      httpStatus: httpStatus[code] ?? 400,
      retriable: opts.retriable ?? retriable.has(code),
      ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
    });
    this.name = 'LakeError';
  }
}
