/**
 * The manifest's tables (one DDL for SQLite and PostgreSQL), modelled on the DuckLake spec:
 * snapshots; tables and columns with begin/end snapshots (so every schema version stays
 * readable); data files with row counts, sizes, partition values and per-column statistics;
 * plus what an exactly-once writer and the garbage collector need — sink positions committed
 * with the files, files being written (so a crashed writer's leftovers are found without
 * listing the store), and files scheduled for deletion.
 *
 * Visibility: a row with `begin_snapshot = b` and `end_snapshot = e` exists in the snapshots
 * `b ≤ s < e` (`e` null: still live).
 */
export const FORMAT_VERSION = '1';

export const DDL: string[] = [
  `CREATE TABLE IF NOT EXISTS lake_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS lake_counter (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS lake_snapshot (
    snapshot_id BIGINT PRIMARY KEY,
    snapshot_time BIGINT NOT NULL,
    kind TEXT NOT NULL,
    table_id BIGINT,
    table_name TEXT,
    summary TEXT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS lake_snapshot_time ON lake_snapshot (snapshot_time)`,
  `CREATE TABLE IF NOT EXISTS lake_table (
    table_id BIGINT PRIMARY KEY,
    table_uuid TEXT NOT NULL,
    zone TEXT NOT NULL,
    table_name TEXT NOT NULL,
    path TEXT NOT NULL,
    partition_spec TEXT NOT NULL,
    begin_snapshot BIGINT NOT NULL,
    end_snapshot BIGINT,
    created_at BIGINT NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS lake_table_name ON lake_table (zone, table_name)`,
  `CREATE TABLE IF NOT EXISTS lake_schema_version (
    table_id BIGINT NOT NULL,
    schema_version INTEGER NOT NULL,
    begin_snapshot BIGINT NOT NULL,
    PRIMARY KEY (table_id, schema_version)
  )`,
  `CREATE TABLE IF NOT EXISTS lake_column (
    table_id BIGINT NOT NULL,
    column_id BIGINT NOT NULL,
    begin_snapshot BIGINT NOT NULL,
    end_snapshot BIGINT,
    column_order INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    column_type TEXT NOT NULL,
    nullable INTEGER NOT NULL,
    PRIMARY KEY (table_id, column_id, begin_snapshot)
  )`,
  `CREATE TABLE IF NOT EXISTS lake_data_file (
    data_file_id BIGINT PRIMARY KEY,
    table_id BIGINT NOT NULL,
    begin_snapshot BIGINT NOT NULL,
    end_snapshot BIGINT,
    path TEXT NOT NULL,
    record_count BIGINT NOT NULL,
    file_size_bytes BIGINT NOT NULL,
    partition_key TEXT NOT NULL,
    partition_values TEXT NOT NULL,
    schema_version INTEGER NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS lake_data_file_table ON lake_data_file (table_id, end_snapshot)`,
  `CREATE TABLE IF NOT EXISTS lake_file_partition_value (
    data_file_id BIGINT NOT NULL,
    table_id BIGINT NOT NULL,
    partition_key_index INTEGER NOT NULL,
    partition_name TEXT NOT NULL,
    partition_value TEXT NOT NULL,
    PRIMARY KEY (data_file_id, partition_key_index)
  )`,
  `CREATE TABLE IF NOT EXISTS lake_file_column_stats (
    data_file_id BIGINT NOT NULL,
    table_id BIGINT NOT NULL,
    column_id BIGINT NOT NULL,
    value_count BIGINT NOT NULL,
    null_count BIGINT,
    min_value TEXT,
    max_value TEXT,
    PRIMARY KEY (data_file_id, column_id)
  )`,
  `CREATE TABLE IF NOT EXISTS lake_sink_offset (
    sink TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition_id INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    snapshot_id BIGINT NOT NULL,
    PRIMARY KEY (sink, topic, partition_id)
  )`,
  `CREATE TABLE IF NOT EXISTS lake_pending_file (
    path TEXT PRIMARY KEY,
    writer TEXT NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS lake_file_deletion (
    path TEXT PRIMARY KEY,
    scheduled_at BIGINT NOT NULL,
    file_size_bytes BIGINT
  )`,
];
