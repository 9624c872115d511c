/**
 * The lake: Hive-partitioned Parquet tables in zones (`raw`, `clean`, `curated`) with a
 * transactional manifest (SQLite or PostgreSQL) — snapshots, time travel, schema evolution,
 * compaction, expiry — on the local file system or S3; and the lake sink (topics → table,
 * exactly once).
 *
 * For the warehouse, the reading path is:
 * ```ts
 * const scan = await lake.scan('raw.orders', { asOf: { snapshot: 12 } });   // or { time: Date }
 * await duckdb.run(`CREATE OR REPLACE VIEW raw.orders AS ${scanSql(scan)}`);
 * lake.onCommit(({ table }) => refresh(table));
 * ```
 * and the writing path (models materialized in `curated`):
 * ```ts
 * const file = lake.stagingPath();
 * await duckdb.run(`COPY (SELECT …) TO '${file}' (FORMAT parquet)`);
 * await lake.overwrite('curated.daily_sales', [{ localPath: file }], { createTable: true, evolveSchema: true, writer: 'warehouse' });
 * ```
 */
export { openLake, Lake, type LakeOptions, type CommitListener, type WrittenFile } from './lake.ts';
export { LakeError, type LakeErrorCode } from './errors.ts';
export { scanSql } from './scan-sql.ts';
export { parseTableName, formatTableName, quoteIdent, quoteLiteral } from './names.ts';
export { duckdbType, fromDuckdbType, canWiden, isColumnType } from './schema/column-types.ts';
export { planSchemaEvolution } from './schema/evolution.ts';
export { timePartitioning, partitionPath, partitionColumnDuckType, HIVE_NULL } from './partition.ts';
export type { ObjectStore } from './store/object-store.ts';
export type { S3StoreOptions } from './store/s3-store.ts';
export type { ManifestStore, ManifestTx } from './manifest/store.ts';
export { LakeSink, type LakeSinkOptions, type LakeSinkStatus } from './sink/lake-sink.ts';
export { createLakePart, type LakePart } from './part.ts';
export * from './types.ts';
