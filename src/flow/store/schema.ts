/**
 * The flow metadata schema, for SQLite and PostgreSQL. Times are epoch milliseconds (BIGINT);
 * attempt start/end are fractional milliseconds (sub-millisecond hand-off latencies are
 * measured from them). Outputs, params and DAG shapes are JSON text.
 *
 * Idempotency lives here: a run's `interval_key` (set for scheduled, backfill and dataset runs,
 * and manual runs of an explicit interval) is unique per DAG, so the same interval can never get
 * two runs, whichever scheduler, backfill or retry tries to create it.
 */
import type { Dialect } from './sql.ts';

export const SCHEMA_VERSION = 1;

export function schemaSql(dialect: Dialect): string {
  const id = dialect === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
  const big = 'BIGINT';
  const dbl = dialect === 'postgres' ? 'DOUBLE PRECISION' : 'REAL';
  return `
CREATE TABLE IF NOT EXISTS flow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS flow_dag (
  dag_id TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0,
  first_seen_at ${big} NOT NULL,
  info TEXT NOT NULL,
  updated_at ${big} NOT NULL,
  dataset_cursor ${big} NOT NULL DEFAULT 0,
  last_scheduled_start ${big},
  last_scheduled_end ${big},
  last_dataset_end ${big}
);

CREATE TABLE IF NOT EXISTS flow_run (
  id ${id},
  dag_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  interval_start ${big} NOT NULL,
  interval_end ${big} NOT NULL,
  interval_key TEXT,
  params TEXT NOT NULL,
  backfill_id ${big},
  note TEXT,
  created_at ${big} NOT NULL,
  started_at ${big},
  ended_at ${big},
  UNIQUE (dag_id, run_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS flow_run_interval ON flow_run (dag_id, interval_key);
CREATE INDEX IF NOT EXISTS flow_run_state ON flow_run (state, dag_id);
CREATE INDEX IF NOT EXISTS flow_run_dag ON flow_run (dag_id, id);

CREATE TABLE IF NOT EXISTS flow_task (
  run_id ${big} NOT NULL,
  task_id TEXT NOT NULL,
  map_index INTEGER NOT NULL,
  dag_id TEXT NOT NULL,
  state TEXT NOT NULL,
  pool TEXT NOT NULL,
  priority INTEGER NOT NULL,
  host TEXT NOT NULL,
  try_number INTEGER NOT NULL DEFAULT 0,
  try_base INTEGER NOT NULL DEFAULT 0,
  lost_count INTEGER NOT NULL DEFAULT 0,
  resume_poke INTEGER NOT NULL DEFAULT 0,
  next_try_at ${big},
  lease_expires_at ${big},
  worker_id TEXT,
  queued_at ${dbl},
  first_started_at ${big},
  started_at ${dbl},
  ended_at ${dbl},
  output TEXT,
  output_length INTEGER,
  error TEXT,
  updated_at ${big} NOT NULL,
  PRIMARY KEY (run_id, task_id, map_index)
);
CREATE INDEX IF NOT EXISTS flow_task_state ON flow_task (state, priority, run_id);

CREATE TABLE IF NOT EXISTS flow_attempt (
  run_id ${big} NOT NULL,
  task_id TEXT NOT NULL,
  map_index INTEGER NOT NULL,
  try_number INTEGER NOT NULL,
  worker_id TEXT,
  started_at ${dbl},
  ended_at ${dbl},
  outcome TEXT,
  error TEXT,
  pokes INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (run_id, task_id, map_index, try_number)
);

CREATE TABLE IF NOT EXISTS flow_log (
  id ${id},
  run_id ${big} NOT NULL,
  task_id TEXT NOT NULL,
  map_index INTEGER NOT NULL,
  try_number INTEGER NOT NULL,
  at ${dbl} NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flow_log_attempt ON flow_log (run_id, task_id, map_index, try_number, id);

CREATE TABLE IF NOT EXISTS flow_lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at ${big} NOT NULL);

CREATE TABLE IF NOT EXISTS flow_worker (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  slots INTEGER NOT NULL,
  started_at ${big} NOT NULL,
  heartbeat_at ${big} NOT NULL,
  stopped_at ${big}
);

CREATE TABLE IF NOT EXISTS flow_dataset_event (
  id ${id},
  dataset TEXT NOT NULL,
  at ${big} NOT NULL,
  info TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flow_dataset_event_name ON flow_dataset_event (dataset, id);

CREATE TABLE IF NOT EXISTS flow_backfill (
  id ${id},
  dag_id TEXT NOT NULL,
  from_at ${big} NOT NULL,
  to_at ${big} NOT NULL,
  total INTEGER NOT NULL,
  options TEXT NOT NULL,
  created_at ${big} NOT NULL
);
`;
}
