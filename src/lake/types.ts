/**
 * The public shapes of the lake: zones, tables, schemas, partitions, snapshots and data files.
 *
 * A lake table is a set of Hive-partitioned Parquet files
 * (`<zone>/<table>/dt=2024-05-01/hr=07/part-<uuid>.parquet`) plus its rows in the manifest, which
 * is the only truth about which files belong to which snapshot (never a directory or bucket
 * listing). Partition columns are virtual, as in Hive: their values live in the path and the
 * manifest, not inside the files, so Spark, Athena and Trino read the folders as they are.
 */

/** The lake's namespaces, from landed-as-is to purpose-built. */
export const ZONES = ['raw', 'clean', 'curated'] as const;
export type Zone = (typeof ZONES)[number];

/** A table: `{ zone: 'raw', name: 'orders' }`, written `raw.orders`. */
export interface TableRef {
  zone: Zone;
  name: string;
}

/** `'raw.orders'` or `{ zone: 'raw', name: 'orders' }`. */
export type TableName = string | TableRef;

/** Column types. Stored as the matching Parquet physical/logical type. */
export const PRIMITIVE_TYPES = [
  'boolean',
  'int32',
  'int64',
  'float32',
  'float64',
  'string',
  'binary',
  'date',
  /** An instant, microsecond precision, UTC (Parquet TIMESTAMP(isAdjustedToUTC=true, MICROS)). */
  'timestamp',
  /** Any JSON value (objects, arrays), stored as a JSON string. */
  'json',
] as const;
export type PrimitiveType = (typeof PRIMITIVE_TYPES)[number];
/** A primitive type, or `decimal(p,s)` with 1 ≤ p ≤ 38, 0 ≤ s ≤ p. */
export type ColumnType = PrimitiveType | `decimal(${number},${number})`;

/** A column as a writer declares it. */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  /** Default true. A non-nullable column must be present (and not null) in every row. */
  nullable?: boolean;
}

/** A column as the manifest records it; `id` is stable across renames of nothing (we never rename) and type widenings. */
export interface Column {
  id: number;
  name: string;
  type: ColumnType;
  nullable: boolean;
}

/** The data columns of a table (stored in its files), at one schema version. */
export interface TableSchema {
  /** Starts at 1, +1 with every change of this table's columns. */
  version: number;
  columns: Column[];
}

/**
 * How a partition value is derived. Time transforms read a `timestamp`/`date` column (or the
 * writer's event time) in UTC: `day` → `2024-05-01`, `hour` → `07` (hour of the day, Hive's
 * `dt=…/hr=…` convention), `month` → `2024-05`, `year` → `2024`; `identity` uses the value as is.
 */
export type PartitionTransform = 'identity' | 'year' | 'month' | 'day' | 'hour';

export interface PartitionField {
  /** The path key and virtual column name, e.g. `dt`, `hr`, `country`. */
  name: string;
  transform: PartitionTransform;
  /**
   * The data column the value comes from. Omitted: the writer supplies the value (the lake sink
   * uses its event time: the record timestamp or a JSON field).
   */
  source?: string;
}

/** Partition values by partition field name, e.g. `{ dt: '2024-05-01', hr: '07' }`. */
export type PartitionValues = Record<string, string>;

/** Min/max as rendered by DuckDB from the Parquet footer (strings; compare by the column's type). */
export interface ColumnStats {
  min: string | null;
  max: string | null;
  nullCount: number | null;
  valueCount: number;
}

export interface DataFile {
  id: number;
  /** Object key relative to the lake root: `raw/orders/dt=2024-05-01/hr=07/part-<uuid>.parquet`. */
  key: string;
  rows: number;
  bytes: number;
  partition: PartitionValues;
  /** Per data column, by name. */
  stats: Record<string, ColumnStats>;
  /** The snapshot that added the file. */
  snapshotId: number;
}

/** A data file with a path DuckDB can open (the file itself, or its copy in the local cache for S3). */
export interface LocalDataFile extends DataFile {
  localPath: string;
}

export type SnapshotKind =
  /** Snapshot 0, written when the manifest is created. */
  | 'init'
  | 'create_table'
  | 'append'
  | 'overwrite'
  | 'compact'
  | 'evolve_schema'
  | 'retention'
  | 'drop_table';

export interface SnapshotSummary {
  addedFiles: number;
  removedFiles: number;
  addedRows: number;
  removedRows: number;
  /** Who committed: `sink:<name>`, `compaction`, `warehouse`, … */
  writer?: string;
  message?: string;
}

/** One committed state of the whole lake (snapshot ids grow by one per commit, across all tables). */
export interface Snapshot {
  id: number;
  /** Commit time, ms since the epoch. */
  time: number;
  kind: SnapshotKind;
  /** `zone.name` of the table the commit changed (null for lake-wide ones). */
  table: string | null;
  summary: SnapshotSummary;
}

/** Where a reader looks: a snapshot id, or the last snapshot at or before a time. Omitted: the current snapshot. */
export type AsOf = { snapshot: number } | { time: number | Date };

export interface TableInfo {
  id: number;
  uuid: string;
  zone: Zone;
  name: string;
  /** `zone.name`. */
  fullName: string;
  /** Key prefix of its files: `raw/orders`. */
  path: string;
  schema: TableSchema;
  partitionBy: PartitionField[];
  createdAt: number;
  createdSnapshot: number;
  /** At the snapshot asked for. */
  files: number;
  rows: number;
  bytes: number;
}

export interface PartitionInfo {
  partition: PartitionValues;
  files: number;
  rows: number;
  bytes: number;
}

/** What a reader needs to read a table at one snapshot. */
export interface TableScan {
  snapshot: Snapshot;
  /** The table as of that snapshot (its schema then). */
  table: TableInfo;
  files: LocalDataFile[];
}

/** A Parquet file written to local disk (e.g. by DuckDB into `lake.stagingPath()`), ready to commit. */
export interface StagedFile {
  localPath: string;
  /** Required when the table is partitioned: the values of every partition field. */
  partition?: PartitionValues;
}

/** Topic positions an exactly-once writer records in the same transaction as its files. */
export interface SinkPositions {
  /** The writer's stable name (one per sink). */
  sink: string;
  /** Next offset to read per topic partition, after this commit. */
  positions: Array<{ topic: string; partition: number; offset: number }>;
  /**
   * The positions this batch started from (null: none stored yet). The commit fails with
   * LAKE_COMMIT_CONFLICT when the manifest holds others, fencing a second, stale instance.
   */
  previous?: Array<{ topic: string; partition: number; offset: number | null }>;
}

export interface CommitOptions {
  /** Recorded in the snapshot summary (`sink:orders`, `warehouse`, …). */
  writer?: string;
  message?: string;
  /** Create the table from the files' schema when it does not exist. */
  createTable?: boolean | { partitionBy?: PartitionField[] };
  /** Add new columns / widen types found in the files instead of rejecting them. */
  evolveSchema?: boolean;
  /** Stored atomically with the files (see `lake.sinkPositions`). */
  sink?: SinkPositions;
}

export interface OverwriteOptions extends CommitOptions {
  /** Replace only these partitions (delete+insert by partition); default: the whole table. */
  partitions?: PartitionValues[];
}

export interface CommitResult {
  snapshot: Snapshot;
  files: DataFile[];
}

export interface CompactOptions {
  /** One table (`raw.orders`); default every table. */
  table?: TableName;
  /** Output files aim at this size (default 128 MiB). */
  targetFileBytes?: number;
  /** Files below this size are merged (default: targetFileBytes / 2). */
  smallFileBytes?: number;
  /** A partition is compacted only when it has at least this many small files (default 2). */
  minInputFiles?: number;
  onProgress?: (p: CompactProgress) => void;
  signal?: AbortSignal;
}

export interface CompactProgress {
  table: string;
  partition: PartitionValues;
  /** Merge groups finished / planned in this run. */
  done: number;
  total: number;
  inputFiles: number;
  outputFiles: number;
}

export interface CompactResult {
  /** One snapshot per compacted table. */
  snapshots: Snapshot[];
  tables: Array<{ table: string; inputFiles: number; outputFiles: number; rows: number; bytesBefore: number; bytesAfter: number }>;
}

export interface ExpireOptions {
  /** Snapshots older than this are expired (default: the lake's snapshotRetentionMs). The current snapshot is always kept. */
  olderThanMs?: number;
  /** Keep at least this many most recent snapshots (default 1). */
  keepLast?: number;
  /** Unreferenced files are deleted once they have been unreferenced this long (default: lake's fileGraceMs). */
  fileGraceMs?: number;
  now?: number;
  /** Called as unreferenced files are deleted (first with done 0), for progress bars. */
  onProgress?: (p: ExpireProgress) => void;
}

export interface ExpireProgress {
  /** Files deleted / due for deletion in this run. */
  done: number;
  total: number;
  deletedBytes: number;
}

export interface ExpireResult {
  expiredSnapshots: number;
  /** Files no retained snapshot references, now scheduled for deletion. */
  scheduledFiles: number;
  /** Files physically deleted in this run (scheduled earlier than the grace period, or abandoned by crashed writers). */
  deletedFiles: number;
  deletedBytes: number;
}

export interface RetentionResult {
  /** Snapshots created (one per table that lost data). */
  snapshots: Snapshot[];
  removedFiles: number;
  removedRows: number;
}
