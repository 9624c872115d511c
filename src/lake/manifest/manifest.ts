/**
 * The manifest: the lake's catalog and the only truth about which files make up which snapshot.
 *
 * Design note. Every change is one write transaction that (1) reads the current snapshot id,
 * (2) checks its preconditions against the live rows — the table exists, the files' columns fit
 * the schema (or evolve it), compaction inputs are still live, a sink's previous positions are
 * the stored ones — and (3) inserts snapshot `current + 1` with the rows it adds and ends the
 * rows it removes. Write transactions are serialized by the store, so snapshot ids are dense
 * and a reader that resolved snapshot `s` sees exactly the rows visible at `s`, however many
 * commits follow. Data files are made durable in the object store before their commit (see
 * `lake.ts`); files being written are registered first in `lake_pending_file`, so a crashed
 * writer's leftovers are found and removed without listing the store.
 */
import { randomUUID } from 'node:crypto';
import { LakeError } from '../errors.ts';
import { formatTableName } from '../names.ts';
import { partitionKey } from '../partition.ts';
import { applySchemaChange, fileSchemaProblems, isEmptyChange, planSchemaEvolution, type SchemaChange } from '../schema/evolution.ts';
import type {
  AsOf,
  Column,
  ColumnSpec,
  ColumnStats,
  ColumnType,
  DataFile,
  PartitionField,
  PartitionInfo,
  PartitionValues,
  SinkPositions,
  Snapshot,
  SnapshotKind,
  SnapshotSummary,
  TableInfo,
  TableRef,
  Zone,
} from '../types.ts';
import { DDL, FORMAT_VERSION } from './ddl.ts';
import type { ManifestStore, ManifestTx, Row } from './store.ts';

/** A data file already durable in the store, about to be committed. */
export interface NewDataFile {
  key: string;
  rows: number;
  bytes: number;
  partition: PartitionValues;
  /** By column name as in the file. */
  stats: Record<string, ColumnStats>;
  /** The file's columns with their lake types (null: a type the lake cannot store). */
  columns: Array<{ name: string; type: ColumnType | null; duckType?: string }>;
}

export type RemoveSpec = { all: true } | { partitionKeys: string[] } | { fileIds: number[] };

export interface CommitPlan {
  table: TableRef;
  kind: Extract<SnapshotKind, 'append' | 'overwrite' | 'compact' | 'retention' | 'evolve_schema'>;
  add: NewDataFile[];
  remove?: RemoveSpec;
  /** Create the table when missing (columns default to the files' columns). */
  createTable?: { columns?: ColumnSpec[]; partitionBy?: PartitionField[] };
  /** Evolve the schema to fit the files' columns instead of rejecting them. */
  evolveSchema?: boolean;
  /** An explicit schema change (lake.evolveSchema). */
  schema?: ColumnSpec[];
  sink?: SinkPositions;
  writer?: string;
  message?: string;
}

export interface CommitOutcome {
  snapshot: Snapshot;
  files: DataFile[];
  table: TableInfo;
}

interface TableRow extends Row {
  table_id: number;
  table_uuid: string;
  zone: string;
  table_name: string;
  path: string;
  partition_spec: string;
  begin_snapshot: number;
  end_snapshot: number | null;
  created_at: number;
}

interface FileRow extends Row {
  data_file_id: number;
  table_id: number;
  begin_snapshot: number;
  end_snapshot: number | null;
  path: string;
  record_count: number;
  file_size_bytes: number;
  partition_key: string;
  partition_values: string;
}

const VISIBLE = (alias: string) => `${alias}.begin_snapshot <= ? AND (${alias}.end_snapshot IS NULL OR ${alias}.end_snapshot > ?)`;

function snapshotFromRow(r: Row): Snapshot {
  return {
    id: Number(r['snapshot_id']),
    time: Number(r['snapshot_time']),
    kind: r['kind'] as SnapshotKind,
    table: (r['table_name'] as string | null) ?? null,
    summary: JSON.parse(String(r['summary'])) as SnapshotSummary,
  };
}

export class Manifest {
  private constructor(readonly store: ManifestStore) {}

  /** Opens (and on first use creates) the manifest in a store. */
  static async open(store: ManifestStore): Promise<Manifest> {
    const m = new Manifest(store);
    await store.transaction(
      async (tx) => {
        for (const stmt of DDL) await tx.run(stmt);
        const version = await tx.query<{ value: string }>(`SELECT value FROM lake_meta WHERE key = 'format_version'`);
        if (version.length === 0) {
          await tx.run(`INSERT INTO lake_meta (key, value) VALUES ('format_version', ?)`, [FORMAT_VERSION]);
          for (const name of ['table_id', 'column_id', 'data_file_id']) {
            await tx.run(`INSERT INTO lake_counter (name, value) VALUES (?, 1)`, [name]);
          }
          await tx.run(`INSERT INTO lake_snapshot (snapshot_id, snapshot_time, kind, table_id, table_name, summary) VALUES (0, ?, 'init', NULL, NULL, ?)`, [
            Date.now(),
            JSON.stringify(emptySummary()),
          ]);
        } else if (version[0]!.value !== FORMAT_VERSION) {
          throw new LakeError(
            'LAKE_MANIFEST_ERROR',
            `the lake manifest ${store.description} has format version ${version[0]!.value}; this Tributary reads version ${FORMAT_VERSION}`,
          );
        }
      },
      { write: true },
    );
    return m;
  }

  close(): Promise<void> {
    return this.store.close();
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  read<T>(fn: (tx: ManifestTx) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  async currentSnapshot(tx?: ManifestTx): Promise<Snapshot> {
    const run = async (t: ManifestTx) => {
      const rows = await t.query(`SELECT * FROM lake_snapshot WHERE snapshot_id = (SELECT MAX(snapshot_id) FROM lake_snapshot)`);
      return snapshotFromRow(rows[0]!);
    };
    return tx ? run(tx) : this.read(run);
  }

  /** The snapshot a reader asked for (the current one by default); expired or unknown ones are errors. */
  async resolveSnapshot(tx: ManifestTx, asOf?: AsOf): Promise<Snapshot> {
    if (asOf === undefined) return this.currentSnapshot(tx);
    const bounds = (await tx.query<{ lo: number; hi: number }>(`SELECT MIN(snapshot_id) AS lo, MAX(snapshot_id) AS hi FROM lake_snapshot`))[0]!;
    if ('snapshot' in asOf) {
      const id = asOf.snapshot;
      if (!Number.isSafeInteger(id) || id < 0) throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', `snapshot id must be a whole number ≥ 0, got ${String(id)}`);
      const rows = await tx.query(`SELECT * FROM lake_snapshot WHERE snapshot_id = ?`, [id]);
      if (rows.length > 0) return snapshotFromRow(rows[0]!);
      if (id < Number(bounds.lo)) {
        throw new LakeError('LAKE_SNAPSHOT_EXPIRED', `snapshot ${id} has been expired; the oldest kept snapshot is ${bounds.lo}`);
      }
      throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', `no snapshot ${id}; the current snapshot is ${bounds.hi}`);
    }
    const t = asOf.time instanceof Date ? asOf.time.getTime() : asOf.time;
    if (!Number.isFinite(t)) throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', `time travel needs a valid time, got ${String(asOf.time)}`);
    const rows = await tx.query(
      `SELECT * FROM lake_snapshot WHERE snapshot_id = (SELECT MAX(snapshot_id) FROM lake_snapshot WHERE snapshot_time <= ?)`,
      [t],
    );
    if (rows.length > 0) return snapshotFromRow(rows[0]!);
    const first = snapshotFromRow((await tx.query(`SELECT * FROM lake_snapshot WHERE snapshot_id = ?`, [bounds.lo]))[0]!);
    if (Number(bounds.lo) > 0) {
      throw new LakeError(
        'LAKE_SNAPSHOT_EXPIRED',
        `no kept snapshot at or before ${new Date(t).toISOString()}: snapshots up to ${Number(bounds.lo) - 1} have been expired; the oldest kept one is from ${new Date(first.time).toISOString()}`,
      );
    }
    throw new LakeError('LAKE_SNAPSHOT_UNKNOWN', `no snapshot at or before ${new Date(t).toISOString()}: the lake's first snapshot is from ${new Date(first.time).toISOString()}`);
  }

  async snapshots(opts: { table?: TableRef; limit?: number; beforeId?: number } = {}): Promise<Snapshot[]> {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 10_000);
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.table) {
      where.push('table_name = ?');
      params.push(formatTableName(opts.table));
    }
    if (opts.beforeId !== undefined) {
      where.push('snapshot_id < ?');
      params.push(opts.beforeId);
    }
    const rows = await this.read((tx) =>
      tx.query(`SELECT * FROM lake_snapshot ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY snapshot_id DESC LIMIT ${limit}`, params),
    );
    return rows.map(snapshotFromRow);
  }

  private async tableRow(tx: ManifestTx, ref: TableRef, snapshot: number): Promise<TableRow | null> {
    const rows = await tx.query<TableRow>(`SELECT * FROM lake_table t WHERE zone = ? AND table_name = ? AND ${VISIBLE('t')}`, [
      ref.zone,
      ref.name,
      snapshot,
      snapshot,
    ]);
    return rows[0] ?? null;
  }

  private async columnsAt(tx: ManifestTx, tableId: number, snapshot: number): Promise<Column[]> {
    const rows = await tx.query(`SELECT * FROM lake_column c WHERE table_id = ? AND ${VISIBLE('c')} ORDER BY column_order`, [tableId, snapshot, snapshot]);
    return rows.map((r) => ({
      id: Number(r['column_id']),
      name: String(r['column_name']),
      type: r['column_type'] as ColumnType,
      nullable: Number(r['nullable']) === 1,
    }));
  }

  private async schemaVersionAt(tx: ManifestTx, tableId: number, snapshot: number): Promise<number> {
    const rows = await tx.query<{ v: number | null }>(`SELECT MAX(schema_version) AS v FROM lake_schema_version WHERE table_id = ? AND begin_snapshot <= ?`, [
      tableId,
      snapshot,
    ]);
    return Number(rows[0]?.v ?? 1);
  }

  private async tableInfo(tx: ManifestTx, row: TableRow, snapshot: number): Promise<TableInfo> {
    const [columns, version, totals] = [
      await this.columnsAt(tx, row.table_id, snapshot),
      await this.schemaVersionAt(tx, row.table_id, snapshot),
      (
        await tx.query<{ files: number; rows: number | null; bytes: number | null }>(
          `SELECT COUNT(*) AS files, SUM(record_count) AS rows, SUM(file_size_bytes) AS bytes FROM lake_data_file f WHERE table_id = ? AND ${VISIBLE('f')}`,
          [row.table_id, snapshot, snapshot],
        )
      )[0]!,
    ];
    return {
      id: Number(row.table_id),
      uuid: row.table_uuid,
      zone: row.zone as Zone,
      name: row.table_name,
      fullName: `${row.zone}.${row.table_name}`,
      path: row.path,
      schema: { version, columns },
      partitionBy: JSON.parse(row.partition_spec) as PartitionField[],
      createdAt: Number(row.created_at),
      createdSnapshot: Number(row.begin_snapshot),
      files: Number(totals.files),
      rows: Number(totals.rows ?? 0),
      bytes: Number(totals.bytes ?? 0),
    };
  }

  async table(tx: ManifestTx, ref: TableRef, snapshot: Snapshot): Promise<TableInfo> {
    const row = await this.tableRow(tx, ref, snapshot.id);
    if (!row) throw await this.unknownTable(tx, ref, snapshot);
    return this.tableInfo(tx, row, snapshot.id);
  }

  async tableIfExists(tx: ManifestTx, ref: TableRef, snapshot: Snapshot): Promise<TableInfo | null> {
    const row = await this.tableRow(tx, ref, snapshot.id);
    return row ? this.tableInfo(tx, row, snapshot.id) : null;
  }

  private async unknownTable(tx: ManifestTx, ref: TableRef, snapshot: Snapshot): Promise<LakeError> {
    const current = await this.currentSnapshot(tx);
    const names = (await this.tables(tx, current, ref.zone)).map((t) => t.fullName);
    const at = snapshot.id === current.id ? '' : ` at snapshot ${snapshot.id}`;
    return new LakeError(
      'LAKE_TABLE_UNKNOWN',
      `no table ${formatTableName(ref)}${at}` + (names.length ? `; tables in ${ref.zone}: ${names.slice(0, 20).join(', ')}` : `; zone ${ref.zone} has no tables`),
    );
  }

  async tables(tx: ManifestTx, snapshot: Snapshot, zone?: Zone): Promise<TableInfo[]> {
    const rows = await tx.query<TableRow>(
      `SELECT * FROM lake_table t WHERE ${VISIBLE('t')} ${zone ? 'AND zone = ?' : ''} ORDER BY zone, table_name`,
      zone ? [snapshot.id, snapshot.id, zone] : [snapshot.id, snapshot.id],
    );
    const out: TableInfo[] = [];
    for (const r of rows) out.push(await this.tableInfo(tx, r, snapshot.id));
    return out;
  }

  /** The table's files at a snapshot, in commit order, with partition values and statistics. */
  async files(tx: ManifestTx, table: TableInfo, snapshot: Snapshot, opts: { partitionKey?: string } = {}): Promise<DataFile[]> {
    const params: unknown[] = [table.id, snapshot.id, snapshot.id];
    let extra = '';
    if (opts.partitionKey !== undefined) {
      extra = ' AND f.partition_key = ?';
      params.push(opts.partitionKey);
    }
    const rows = await tx.query<FileRow>(`SELECT * FROM lake_data_file f WHERE table_id = ? AND ${VISIBLE('f')}${extra} ORDER BY data_file_id`, params);
    const names = new Map(table.schema.columns.map((c) => [c.id, c.name]));
    // Columns the table had at the time a file was written may be gone from `table.schema` only if dropped — never, today.
    const stats = await tx.query(
      `SELECT s.data_file_id, s.column_id, s.value_count, s.null_count, s.min_value, s.max_value
         FROM lake_file_column_stats s JOIN lake_data_file f ON f.data_file_id = s.data_file_id
        WHERE f.table_id = ? AND ${VISIBLE('f')}${extra}`,
      params,
    );
    const byFile = new Map<number, Record<string, ColumnStats>>();
    for (const s of stats) {
      const name = names.get(Number(s['column_id']));
      if (name === undefined) continue;
      const id = Number(s['data_file_id']);
      let m = byFile.get(id);
      if (!m) byFile.set(id, (m = {}));
      m[name] = {
        min: (s['min_value'] as string | null) ?? null,
        max: (s['max_value'] as string | null) ?? null,
        nullCount: s['null_count'] === null ? null : Number(s['null_count']),
        valueCount: Number(s['value_count']),
      };
    }
    return rows.map((r) => ({
      id: Number(r.data_file_id),
      key: r.path,
      rows: Number(r.record_count),
      bytes: Number(r.file_size_bytes),
      partition: JSON.parse(r.partition_values) as PartitionValues,
      stats: byFile.get(Number(r.data_file_id)) ?? {},
      snapshotId: Number(r.begin_snapshot),
    }));
  }

  async partitions(tx: ManifestTx, table: TableInfo, snapshot: Snapshot): Promise<PartitionInfo[]> {
    const rows = await tx.query(
      `SELECT partition_values, COUNT(*) AS files, SUM(record_count) AS rows, SUM(file_size_bytes) AS bytes
         FROM lake_data_file f WHERE table_id = ? AND ${VISIBLE('f')}
        GROUP BY partition_key, partition_values ORDER BY partition_key`,
      [table.id, snapshot.id, snapshot.id],
    );
    return rows.map((r) => ({
      partition: JSON.parse(String(r['partition_values'])) as PartitionValues,
      files: Number(r['files']),
      rows: Number(r['rows'] ?? 0),
      bytes: Number(r['bytes'] ?? 0),
    }));
  }

  /** Where an exactly-once writer resumes: the next offset per topic partition, as of its last commit. */
  async sinkPositions(sink: string): Promise<Array<{ topic: string; partition: number; offset: number; snapshotId: number }>> {
    const rows = await this.read((tx) =>
      tx.query(`SELECT topic, partition_id, next_offset, snapshot_id FROM lake_sink_offset WHERE sink = ? ORDER BY topic, partition_id`, [sink]),
    );
    return rows.map((r) => ({ topic: String(r['topic']), partition: Number(r['partition_id']), offset: Number(r['next_offset']), snapshotId: Number(r['snapshot_id']) }));
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** Records keys about to be written, so a crash before their commit leaves findable garbage. */
  async registerPending(keys: readonly string[], writer: string, now = Date.now()): Promise<void> {
    if (keys.length === 0) return;
    await this.store.transaction(
      async (tx) => {
        for (const key of keys) {
          await tx.run(`INSERT INTO lake_pending_file (path, writer, created_at) VALUES (?, ?, ?) ON CONFLICT (path) DO NOTHING`, [key, writer, now]);
        }
      },
      { write: true },
    );
  }

  /**
   * Moves pending files of a writer (all of them, or those older than `olderThan`) to the
   * deletion queue; returns their keys. Use when the writer is known to be gone.
   */
  async abandonPending(opts: { writer?: string; olderThan?: number }, now = Date.now()): Promise<string[]> {
    return this.store.transaction(
      async (tx) => {
        const where: string[] = [];
        const params: unknown[] = [];
        if (opts.writer !== undefined) {
          where.push('writer = ?');
          params.push(opts.writer);
        }
        if (opts.olderThan !== undefined) {
          where.push('created_at < ?');
          params.push(opts.olderThan);
        }
        const rows = await tx.query<{ path: string }>(`SELECT path FROM lake_pending_file ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`, params);
        for (const r of rows) {
          await tx.run(`DELETE FROM lake_pending_file WHERE path = ?`, [r.path]);
          await tx.run(`INSERT INTO lake_file_deletion (path, scheduled_at, file_size_bytes) VALUES (?, ?, NULL) ON CONFLICT (path) DO NOTHING`, [r.path, now]);
        }
        return rows.map((r) => r.path);
      },
      { write: true },
    );
  }

  /** Forgets pending keys whose files were removed. */
  async dropPending(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.store.transaction(
      async (tx) => {
        for (const k of keys) await tx.run(`DELETE FROM lake_pending_file WHERE path = ?`, [k]);
      },
      { write: true },
    );
  }

  async createTable(
    ref: TableRef,
    spec: { columns: Column[]; partitionBy: PartitionField[]; path: string },
    opts: { ifNotExists?: boolean; writer?: string } = {},
  ): Promise<{ table: TableInfo; snapshot: Snapshot | null }> {
    return this.store.transaction(
      async (tx) => {
        const current = await this.currentSnapshot(tx);
        const existing = await this.tableRow(tx, ref, current.id);
        if (existing) {
          if (opts.ifNotExists) return { table: await this.tableInfo(tx, existing, current.id), snapshot: null };
          throw new LakeError('LAKE_TABLE_EXISTS', `table ${formatTableName(ref)} already exists`);
        }
        const snapshot = await this.newSnapshot(tx, current, 'create_table', ref, { ...emptySummary(), ...(opts.writer ? { writer: opts.writer } : {}) });
        const row = await this.insertTable(tx, ref, spec, snapshot);
        return { table: await this.tableInfo(tx, row, snapshot.id), snapshot };
      },
      { write: true },
    );
  }

  async dropTable(ref: TableRef, opts: { writer?: string } = {}): Promise<Snapshot> {
    return this.store.transaction(
      async (tx) => {
        const current = await this.currentSnapshot(tx);
        const row = await this.tableRow(tx, ref, current.id);
        if (!row) throw await this.unknownTable(tx, ref, current);
        const info = await this.tableInfo(tx, row, current.id);
        const snapshot = await this.newSnapshot(tx, current, 'drop_table', ref, {
          ...emptySummary(),
          removedFiles: info.files,
          removedRows: info.rows,
          ...(opts.writer ? { writer: opts.writer } : {}),
        });
        await tx.run(`UPDATE lake_table SET end_snapshot = ? WHERE table_id = ?`, [snapshot.id, row.table_id]);
        await tx.run(`UPDATE lake_column SET end_snapshot = ? WHERE table_id = ? AND end_snapshot IS NULL`, [snapshot.id, row.table_id]);
        await tx.run(`UPDATE lake_data_file SET end_snapshot = ? WHERE table_id = ? AND end_snapshot IS NULL`, [snapshot.id, row.table_id]);
        return snapshot;
      },
      { write: true },
    );
  }

  private async insertTable(
    tx: ManifestTx,
    ref: TableRef,
    spec: { columns: Column[]; partitionBy: PartitionField[]; path: string },
    snapshot: Snapshot,
  ): Promise<TableRow> {
    const [tableId] = await this.nextIds(tx, 'table_id', 1);
    const columnIds = await this.nextIds(tx, 'column_id', spec.columns.length);
    const row: TableRow = {
      table_id: tableId!,
      table_uuid: randomUUID(),
      zone: ref.zone,
      table_name: ref.name,
      path: spec.path,
      partition_spec: JSON.stringify(spec.partitionBy),
      begin_snapshot: snapshot.id,
      end_snapshot: null,
      created_at: snapshot.time,
    };
    await tx.run(
      `INSERT INTO lake_table (table_id, table_uuid, zone, table_name, path, partition_spec, begin_snapshot, end_snapshot, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
      [row.table_id, row.table_uuid, row.zone, row.table_name, row.path, row.partition_spec, row.begin_snapshot, row.created_at],
    );
    await tx.run(`INSERT INTO lake_schema_version (table_id, schema_version, begin_snapshot) VALUES (?, 1, ?)`, [row.table_id, snapshot.id]);
    for (const [i, c] of spec.columns.entries()) {
      await this.insertColumn(tx, row.table_id, { ...c, id: columnIds[i]! }, i, snapshot.id);
    }
    return row;
  }

  private async insertColumn(tx: ManifestTx, tableId: number, c: Column, order: number, snapshot: number): Promise<void> {
    await tx.run(
      `INSERT INTO lake_column (table_id, column_id, begin_snapshot, end_snapshot, column_order, column_name, column_type, nullable) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)`,
      [tableId, c.id, snapshot, order, c.name, c.type, c.nullable ? 1 : 0],
    );
  }

  private async nextIds(tx: ManifestTx, name: string, count: number): Promise<number[]> {
    if (count === 0) return [];
    const rows = await tx.query<{ value: number }>(`UPDATE lake_counter SET value = value + ? WHERE name = ? RETURNING value`, [count, name]);
    const end = Number(rows[0]!.value);
    return Array.from({ length: count }, (_, i) => end - count + i);
  }

  private async newSnapshot(tx: ManifestTx, current: Snapshot, kind: SnapshotKind, ref: TableRef | null, summary: SnapshotSummary, now = Date.now()): Promise<Snapshot> {
    // Snapshot times never go backwards, even if the clock does: time travel by time stays well-defined.
    const snapshot: Snapshot = { id: current.id + 1, time: Math.max(now, current.time), kind, table: ref ? formatTableName(ref) : null, summary };
    await tx.run(`INSERT INTO lake_snapshot (snapshot_id, snapshot_time, kind, table_id, table_name, summary) VALUES (?, ?, ?, NULL, ?, ?)`, [
      snapshot.id,
      snapshot.time,
      kind,
      snapshot.table,
      JSON.stringify(summary),
    ]);
    return snapshot;
  }

  /** Applies a commit plan in one transaction (see the design note). */
  async commit(plan: CommitPlan, spec?: { path: string; columnsFromFiles?: Column[] }): Promise<CommitOutcome> {
    return this.store.transaction(
      async (tx) => {
        const current = await this.currentSnapshot(tx);
        let row = await this.tableRow(tx, plan.table, current.id);
        let created = false;
        let snapshot: Snapshot | null = null;
        const summary: SnapshotSummary = {
          ...emptySummary(),
          addedFiles: plan.add.length,
          addedRows: plan.add.reduce((s, f) => s + f.rows, 0),
          ...(plan.writer ? { writer: plan.writer } : {}),
          ...(plan.message ? { message: plan.message } : {}),
        };
        if (!row) {
          if (!plan.createTable || !spec) throw await this.unknownTable(tx, plan.table, current);
          snapshot = await this.newSnapshot(tx, current, plan.kind, plan.table, summary);
          row = await this.insertTable(
            tx,
            plan.table,
            { columns: spec.columnsFromFiles ?? [], partitionBy: plan.createTable.partitionBy ?? [], path: spec.path },
            snapshot,
          );
          created = true;
        }
        let table = await this.tableInfo(tx, row, current.id);
        if (created) table = await this.tableInfo(tx, row, snapshot!.id);
        const tableName = formatTableName(plan.table);

        // Schema: explicit change, or what the files need.
        let change: SchemaChange = { add: [], widen: [], relax: [] };
        const reserved = table.partitionBy.map((p) => p.name);
        const nextColumnId = async (n: number) => (await this.nextIds(tx, 'column_id', n))[0] ?? 0;
        if (plan.schema) {
          const probe = planSchemaEvolution(table.schema.columns, plan.schema, 0, { tableHasRows: table.rows > 0, reserved });
          if (probe.add.length) {
            const first = await nextColumnId(probe.add.length);
            probe.add.forEach((c, i) => (c.id = first + i));
          }
          change = probe;
        }
        for (const [i, f] of plan.add.entries()) {
          const cols = applySchemaChange(table.schema.columns, change);
          const problems = fileSchemaProblems(cols, f.columns);
          if (problems.length === 0) continue;
          if (!plan.evolveSchema) {
            throw new LakeError(
              'LAKE_DATA_INVALID',
              `file ${i + 1} of ${plan.add.length} does not fit ${tableName}: ${problems.join('; ')}` +
                (problems.some((p) => p.includes('not in the table') || p.includes(' but ')) ? ' (commit with evolveSchema to add or widen columns)' : ''),
            );
          }
          const byLower = new Map(cols.map((c) => [c.name.toLowerCase(), c]));
          const wanted: ColumnSpec[] = [];
          for (const fc of f.columns) {
            if (fc.type === null) {
              throw new LakeError('LAKE_SCHEMA_INCOMPATIBLE', `column ${JSON.stringify(fc.name)} has type ${fc.duckType ?? 'unknown'}, which the lake cannot store (cast it to a supported type)`);
            }
            const have = byLower.get(fc.name.toLowerCase());
            if (!have) wanted.push({ name: fc.name, type: fc.type, nullable: true });
            else if (have.type !== fc.type && !isWidening(fc.type, have.type)) wanted.push({ name: have.name, type: fc.type, nullable: have.nullable });
          }
          const more = planSchemaEvolution(cols, wanted, 0, { tableHasRows: true, reserved });
          if (more.add.length) {
            const first = await nextColumnId(more.add.length);
            more.add.forEach((c, k) => (c.id = first + k));
          }
          change = { add: [...change.add, ...more.add], widen: mergeWidenings(change.widen, more.widen), relax: [...change.relax, ...more.relax] };
          const after = fileSchemaProblems(applySchemaChange(table.schema.columns, change), f.columns);
          if (after.length) throw new LakeError('LAKE_SCHEMA_INCOMPATIBLE', `file ${i + 1} does not fit ${tableName}: ${after.join('; ')}`);
        }

        // Removals.
        let removed: FileRow[] = [];
        if (plan.remove) {
          const live = await tx.query<FileRow>(`SELECT * FROM lake_data_file WHERE table_id = ? AND end_snapshot IS NULL`, [table.id]);
          if ('all' in plan.remove) removed = live;
          else if ('partitionKeys' in plan.remove) {
            const keys = new Set(plan.remove.partitionKeys);
            removed = live.filter((f) => keys.has(f.partition_key));
          } else {
            const byId = new Map(live.map((f) => [Number(f.data_file_id), f]));
            for (const id of plan.remove.fileIds) {
              const f = byId.get(id);
              if (!f) {
                throw new LakeError('LAKE_COMMIT_CONFLICT', `file ${id} of ${tableName} was removed by another commit meanwhile; plan again`);
              }
              removed.push(f);
            }
          }
        }
        summary.removedFiles = removed.length;
        summary.removedRows = removed.reduce((s, f) => s + Number(f.record_count), 0);

        // Sink positions: the previous ones must be what is stored (fences a second, stale instance).
        if (plan.sink) await this.checkSinkPrevious(tx, plan.sink);

        if (!snapshot) {
          snapshot = await this.newSnapshot(tx, current, plan.kind, plan.table, summary);
        } else {
          await tx.run(`UPDATE lake_snapshot SET summary = ? WHERE snapshot_id = ?`, [JSON.stringify(summary), snapshot.id]);
        }

        if (!isEmptyChange(change)) await this.applyChange(tx, table, change, snapshot.id);
        const columns = applySchemaChange(table.schema.columns, change);
        const schemaVersion = isEmptyChange(change) ? table.schema.version : table.schema.version + 1;

        for (const f of removed) {
          await tx.run(`UPDATE lake_data_file SET end_snapshot = ? WHERE data_file_id = ?`, [snapshot.id, f.data_file_id]);
        }
        const ids = await this.nextIds(tx, 'data_file_id', plan.add.length);
        const colByLower = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
        const added: DataFile[] = [];
        for (const [i, f] of plan.add.entries()) {
          const id = ids[i]!;
          const pkey = partitionKey(f.partition);
          await tx.run(
            `INSERT INTO lake_data_file (data_file_id, table_id, begin_snapshot, end_snapshot, path, record_count, file_size_bytes, partition_key, partition_values, schema_version)
             VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)`,
            [id, table.id, snapshot.id, f.key, f.rows, f.bytes, pkey, JSON.stringify(f.partition), schemaVersion],
          );
          for (const [k, p] of table.partitionBy.entries()) {
            await tx.run(
              `INSERT INTO lake_file_partition_value (data_file_id, table_id, partition_key_index, partition_name, partition_value) VALUES (?, ?, ?, ?, ?)`,
              [id, table.id, k, p.name, f.partition[p.name] ?? ''],
            );
          }
          const stats: Record<string, ColumnStats> = {};
          for (const [name, s] of Object.entries(f.stats)) {
            const col = colByLower.get(name.toLowerCase());
            if (!col) continue;
            stats[col.name] = s;
            await tx.run(
              `INSERT INTO lake_file_column_stats (data_file_id, table_id, column_id, value_count, null_count, min_value, max_value) VALUES (?, ?, ?, ?, ?, ?, ?)`,
              [id, table.id, col.id, s.valueCount, s.nullCount, s.min, s.max],
            );
          }
          await tx.run(`DELETE FROM lake_pending_file WHERE path = ?`, [f.key]);
          added.push({ id, key: f.key, rows: f.rows, bytes: f.bytes, partition: f.partition, stats, snapshotId: snapshot.id });
        }

        if (plan.sink) {
          for (const p of plan.sink.positions) {
            await tx.run(
              `INSERT INTO lake_sink_offset (sink, topic, partition_id, next_offset, snapshot_id) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (sink, topic, partition_id) DO UPDATE SET next_offset = excluded.next_offset, snapshot_id = excluded.snapshot_id`,
              [plan.sink.sink, p.topic, p.partition, p.offset, snapshot.id],
            );
          }
        }
        return { snapshot, files: added, table: await this.tableInfo(tx, row, snapshot.id) };
      },
      { write: true },
    );
  }

  /** Stores sink positions without files (every record of the batch was dead-lettered or skipped). */
  async saveSinkPositions(sink: SinkPositions): Promise<void> {
    await this.store.transaction(
      async (tx) => {
        await this.checkSinkPrevious(tx, sink);
        const current = await this.currentSnapshot(tx);
        for (const p of sink.positions) {
          await tx.run(
            `INSERT INTO lake_sink_offset (sink, topic, partition_id, next_offset, snapshot_id) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (sink, topic, partition_id) DO UPDATE SET next_offset = excluded.next_offset, snapshot_id = excluded.snapshot_id`,
            [sink.sink, p.topic, p.partition, p.offset, current.id],
          );
        }
      },
      { write: true },
    );
  }

  private async checkSinkPrevious(tx: ManifestTx, sink: SinkPositions): Promise<void> {
    if (!sink.previous) return;
    const rows = await tx.query(`SELECT topic, partition_id, next_offset FROM lake_sink_offset WHERE sink = ?`, [sink.sink]);
    const stored = new Map(rows.map((r) => [`${String(r['topic'])}\u0000${Number(r['partition_id'])}`, Number(r['next_offset'])]));
    for (const p of sink.previous) {
      const have = stored.get(`${p.topic}\u0000${p.partition}`);
      if ((have ?? null) !== (p.offset ?? null)) {
        throw new LakeError(
          'LAKE_COMMIT_CONFLICT',
          `sink ${sink.sink}: ${p.topic}[${p.partition}] is at ${have ?? 'nothing'} in the manifest, not ${p.offset ?? 'nothing'} — another instance of the sink committed meanwhile; restart from the manifest`,
        );
      }
    }
  }

  private async applyChange(tx: ManifestTx, table: TableInfo, change: SchemaChange, snapshot: number): Promise<void> {
    const current = table.schema.columns;
    const widened = new Map(change.widen.map((w) => [w.name, w.to]));
    const relaxed = new Set(change.relax);
    for (const [order, c] of current.entries()) {
      if (!widened.has(c.name) && !relaxed.has(c.name)) continue;
      await tx.run(`UPDATE lake_column SET end_snapshot = ? WHERE table_id = ? AND column_id = ? AND end_snapshot IS NULL`, [snapshot, table.id, c.id]);
      await this.insertColumn(tx, table.id, { ...c, type: widened.get(c.name) ?? c.type, nullable: relaxed.has(c.name) ? true : c.nullable }, order, snapshot);
    }
    for (const [i, c] of change.add.entries()) await this.insertColumn(tx, table.id, c, current.length + i, snapshot);
    await tx.run(`INSERT INTO lake_schema_version (table_id, schema_version, begin_snapshot) VALUES (?, ?, ?)`, [table.id, table.schema.version + 1, snapshot]);
  }

  // -------------------------------------------------------------------------------------------
  // Expiry and garbage

  /**
   * Expires snapshots older than `olderThan` (keeping the newest `keepLast`), forgets the rows
   * no kept snapshot can see, and schedules their files for deletion. Returns counts.
   */
  async expire(opts: { olderThan: number; keepLast: number; now: number }): Promise<{ expiredSnapshots: number; scheduledFiles: number }> {
    return this.store.transaction(
      async (tx) => {
        const keep = Math.max(1, opts.keepLast);
        const recent = await tx.query<{ snapshot_id: number }>(`SELECT snapshot_id FROM lake_snapshot ORDER BY snapshot_id DESC LIMIT ${keep}`);
        const keepFromCount = Number(recent[recent.length - 1]!.snapshot_id);
        const byTime = await tx.query<{ id: number | null }>(`SELECT MIN(snapshot_id) AS id FROM lake_snapshot WHERE snapshot_time >= ?`, [opts.olderThan]);
        const keepFromTime = byTime[0]?.id === null || byTime[0]?.id === undefined ? Infinity : Number(byTime[0].id);
        const boundary = Math.min(keepFromCount, keepFromTime);
        const expired = await tx.run(`DELETE FROM lake_snapshot WHERE snapshot_id < ?`, [boundary]);
        const gone = await tx.query<{ data_file_id: number; path: string; file_size_bytes: number }>(
          `SELECT data_file_id, path, file_size_bytes FROM lake_data_file WHERE end_snapshot IS NOT NULL AND end_snapshot <= ?`,
          [boundary],
        );
        for (const f of gone) {
          await tx.run(`INSERT INTO lake_file_deletion (path, scheduled_at, file_size_bytes) VALUES (?, ?, ?) ON CONFLICT (path) DO NOTHING`, [
            f.path,
            opts.now,
            f.file_size_bytes,
          ]);
          await tx.run(`DELETE FROM lake_file_column_stats WHERE data_file_id = ?`, [f.data_file_id]);
          await tx.run(`DELETE FROM lake_file_partition_value WHERE data_file_id = ?`, [f.data_file_id]);
          await tx.run(`DELETE FROM lake_data_file WHERE data_file_id = ?`, [f.data_file_id]);
        }
        await tx.run(`DELETE FROM lake_column WHERE end_snapshot IS NOT NULL AND end_snapshot <= ?`, [boundary]);
        const droppedTables = await tx.query<{ table_id: number }>(`SELECT table_id FROM lake_table WHERE end_snapshot IS NOT NULL AND end_snapshot <= ?`, [boundary]);
        for (const t of droppedTables) {
          await tx.run(`DELETE FROM lake_schema_version WHERE table_id = ?`, [t.table_id]);
          await tx.run(`DELETE FROM lake_table WHERE table_id = ?`, [t.table_id]);
        }
        return { expiredSnapshots: expired.changes, scheduledFiles: gone.length };
      },
      { write: true },
    );
  }

  /** Files scheduled for deletion at or before `before`. */
  async deletionsDue(before: number): Promise<Array<{ key: string; bytes: number | null }>> {
    const rows = await this.read((tx) => tx.query(`SELECT path, file_size_bytes FROM lake_file_deletion WHERE scheduled_at <= ? ORDER BY path`, [before]));
    return rows.map((r) => ({ key: String(r['path']), bytes: r['file_size_bytes'] === null ? null : Number(r['file_size_bytes']) }));
  }

  async forgetDeleted(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.store.transaction(
      async (tx) => {
        for (const k of keys) await tx.run(`DELETE FROM lake_file_deletion WHERE path = ?`, [k]);
      },
      { write: true },
    );
  }

  /** Every key the manifest still references (live or time-travel reachable) — for verification. */
  async referencedKeys(): Promise<Map<string, { bytes: number; rows: number }>> {
    const rows = await this.read((tx) => tx.query(`SELECT path, file_size_bytes, record_count FROM lake_data_file`));
    return new Map(rows.map((r) => [String(r['path']), { bytes: Number(r['file_size_bytes']), rows: Number(r['record_count']) }]));
  }
}

function isWidening(from: ColumnType, to: ColumnType): boolean {
  return fileSchemaProblems([{ id: 0, name: 'x', type: to, nullable: true }], [{ name: 'x', type: from }]).length === 0;
}

function mergeWidenings(a: SchemaChange['widen'], b: SchemaChange['widen']): SchemaChange['widen'] {
  const m = new Map(a.map((w) => [w.name, w]));
  for (const w of b) {
    const prev = m.get(w.name);
    m.set(w.name, prev ? { name: w.name, from: prev.from, to: w.to } : w);
  }
  return [...m.values()];
}

export function emptySummary(): SnapshotSummary {
  return { addedFiles: 0, removedFiles: 0, addedRows: 0, removedRows: 0 };
}
