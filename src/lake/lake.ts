/**
 * The lake: tables of Hive-partitioned Parquet files in an object store, committed through the
 * manifest.
 *
 * Design note — the commit protocol (what makes a commit atomic and crash-safe):
 *   1. the writer produces each Parquet file locally (DuckDB, into `stagingPath()`);
 *   2. the lake registers the files' final keys as pending in the manifest (so a crash
 *      anywhere after this leaves garbage the lake can find without listing the store);
 *   3. each file is made durable in the store under its final key (fs: fdatasync, rename,
 *      fsync the folder; S3: acknowledged PUT) — `ObjectStore.putFile`;
 *   4. one manifest transaction adds the files and the next snapshot (and, for sinks, the
 *      topic positions the files cover), and clears their pending rows.
 * A reader resolves a snapshot to its file list in one read transaction, so it sees the old
 * snapshot or the new one, never a mix; and no committed snapshot can reference a file that
 * is not durable, because step 4 starts only after step 3 completed for every file.
 * Deleting is the mirror image: commits only end a file's visibility; `expire` forgets rows no
 * kept snapshot sees and queues their files; the files are deleted after a grace period.
 */
import { randomUUID } from 'node:crypto';
import * as nodeFs from 'node:fs';
import path from 'node:path';
import type { FileSystem } from '../log/fs/file-system.ts';
import { NodeFileSystem } from '../log/fs/node-file-system.ts';
import { planCompaction } from './compaction/plan.ts';
import { LakeError } from './errors.ts';
import { Manifest, type CommitPlan, type NewDataFile, type RemoveSpec } from './manifest/manifest.ts';
import { PostgresManifestStore } from './manifest/postgres-store.ts';
import { SqliteManifestStore } from './manifest/sqlite-store.ts';
import type { ManifestStore } from './manifest/store.ts';
import { formatTableName, parseTableName } from './names.ts';
import { DuckDBParquet, type DuckDBParquetOptions, type ParquetFileInfo } from './parquet/duckdb-parquet.ts';
import { checkPartitionValues, normalizePartitionSpec, partitionKey, partitionPath, partitionTimeRange } from './partition.ts';
import { fileSchemaProblems, normalizeColumns } from './schema/evolution.ts';
import { FsObjectStore } from './store/fs-store.ts';
import type { ObjectStore } from './store/object-store.ts';
import { S3ObjectStore, type S3StoreOptions } from './store/s3-store.ts';
import {
  ZONES,
  type AsOf,
  type ColumnSpec,
  type CommitOptions,
  type CommitResult,
  type CompactOptions,
  type CompactResult,
  type DataFile,
  type ExpireOptions,
  type ExpireResult,
  type OverwriteOptions,
  type PartitionField,
  type PartitionInfo,
  type PartitionValues,
  type RetentionResult,
  type Snapshot,
  type StagedFile,
  type TableInfo,
  type TableName,
  type TableRef,
  type TableScan,
  type Zone,
} from './types.ts';

export interface LakeOptions {
  /**
   * Local folder of the lake: data files (with the fs store), the staging folder, the S3 cache
   * and (by default) the SQLite manifest `_manifest.sqlite`. Folders starting with `_` are
   * ignored by Spark/Hive readers.
   */
  root: string;
  /** The file system for data files (default: the real one). Tests pass the power-loss simulation. */
  fs?: FileSystem;
  /** Manifest location: a SQLite file (default `<root>/_manifest.sqlite`) or PostgreSQL. */
  manifest?: { sqlite?: string; postgres?: string; schema?: string } | ManifestStore;
  /** Keep data files in S3 instead of under `root`. */
  s3?: Omit<S3StoreOptions, 'cacheDir'> & { cacheDir?: string };
  /** Per-zone data retention: files whose partition time (or, unpartitioned, commit time) is older are removed by `applyRetention`. */
  zones?: Partial<Record<Zone, { retentionMs?: number | null }>>;
  /** `expire` keeps snapshots younger than this (time travel window; default 7 days). */
  snapshotRetentionMs?: number;
  /** Unreferenced files are deleted this long after they became unreferenced (default 10 min: readers may still be scanning them). */
  fileGraceMs?: number;
  /** Files of writers that crashed are collected once pending this long (default 1 h). */
  pendingGraceMs?: number;
  duckdb?: DuckDBParquetOptions;
  /** Concurrent uploads/moves of one commit (default 4). */
  putConcurrency?: number;
}

export type CommitListener = (event: { snapshot: Snapshot; table: string }) => void;

const DEFAULT_SNAPSHOT_RETENTION_MS = 7 * 24 * 3600_000;

/**
 * Opens a lake.
 *
 * @example
 * ```ts
 * const lake = await openLake({ root: './.tributary/lake' });
 * await lake.createTable('raw.orders', { columns: [{ name: 'id', type: 'int64' }, { name: 'ts', type: 'timestamp' }],
 *   partitionBy: [{ name: 'dt', transform: 'day', source: 'ts' }] });
 * const file = lake.stagingPath();            // let DuckDB COPY … TO file (FORMAT parquet)
 * await lake.append('raw.orders', [{ localPath: file, partition: { dt: '2024-05-01' } }]);
 * const scan = await lake.scan('raw.orders', { asOf: { snapshot: 2 } });
 * ```
 */
export async function openLake(opts: LakeOptions): Promise<Lake> {
  return Lake.open(opts);
}

export class Lake {
  readonly root: string;
  readonly stagingDir: string;
  readonly zones: Record<Zone, { retentionMs: number | null }>;
  private closed = false;
  private readonly listeners = new Set<CommitListener>();

  private constructor(
    readonly manifest: Manifest,
    readonly store: ObjectStore,
    readonly duck: DuckDBParquet,
    private readonly opts: LakeOptions,
  ) {
    this.root = path.resolve(opts.root);
    this.stagingDir = path.join(this.root, '_staging');
    this.zones = Object.fromEntries(ZONES.map((z) => [z, { retentionMs: opts.zones?.[z]?.retentionMs ?? null }])) as Record<Zone, { retentionMs: number | null }>;
  }

  static async open(opts: LakeOptions): Promise<Lake> {
    const root = path.resolve(opts.root);
    nodeFs.mkdirSync(path.join(root, '_staging'), { recursive: true });
    for (const name of nodeFs.readdirSync(path.join(root, '_staging'))) {
      // Files DuckDB was writing when the process died: never committed, never pending (their keys were not assigned).
      nodeFs.rmSync(path.join(root, '_staging', name), { force: true, recursive: true });
    }
    const fs = opts.fs ?? new NodeFileSystem();
    let store: ObjectStore;
    if (opts.s3) {
      store = new S3ObjectStore({ ...opts.s3, cacheDir: opts.s3.cacheDir ?? path.join(root, '_cache') });
    } else {
      store = new FsObjectStore({ root, fs, adoptLocalFiles: fs instanceof NodeFileSystem });
      if (!(fs instanceof NodeFileSystem)) (store as FsObjectStore).cleanStaging();
    }
    let manifestStore: ManifestStore;
    const m = opts.manifest;
    if (m && 'transaction' in m) manifestStore = m;
    else if (m?.postgres) {
      const pg = new PostgresManifestStore({ url: m.postgres, ...(m.schema ? { schema: m.schema } : {}) });
      await pg.init();
      manifestStore = pg;
    } else manifestStore = new SqliteManifestStore(m?.sqlite ?? path.join(root, '_manifest.sqlite'));
    let manifest: Manifest;
    try {
      manifest = await Manifest.open(manifestStore);
    } catch (err) {
      await manifestStore.close().catch(() => {});
      throw err;
    }
    const duck = await DuckDBParquet.create(opts.duckdb);
    return new Lake(manifest, store, duck, opts);
  }

  private check(): void {
    if (this.closed) throw new LakeError('LAKE_CLOSED', 'the lake is closed');
  }

  /** Called after every commit of this process (the warehouse refreshes its views). */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(snapshot: Snapshot, table: string): void {
    for (const l of this.listeners) {
      try {
        l({ snapshot, table });
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** A fresh local path for a Parquet file about to be committed (DuckDB may write it directly). */
  stagingPath(ext = 'parquet'): string {
    return path.join(this.stagingDir, `${randomUUID()}.${ext}`);
  }

  // -------------------------------------------------------------------------------------------
  // Tables and schemas

  /**
   * Creates a table.
   * @example
   * await lake.createTable('raw.clicks', { columns: [{ name: 'url', type: 'string' }, { name: 'ts', type: 'timestamp' }],
   *   partitionBy: [{ name: 'dt', transform: 'day', source: 'ts' }, { name: 'hr', transform: 'hour', source: 'ts' }] });
   */
  async createTable(
    table: TableName,
    spec: { columns: ColumnSpec[]; partitionBy?: PartitionField[]; ifNotExists?: boolean; writer?: string },
  ): Promise<TableInfo> {
    this.check();
    const ref = parseTableName(table);
    const partitionNames = (spec.partitionBy ?? []).map((p) => p?.name);
    const columns = normalizeColumns(spec.columns, partitionNames).map((c, i) => ({ ...c, id: i + 1 }));
    const partitionBy = normalizePartitionSpec(spec.partitionBy, columns);
    const { table: info, snapshot } = await this.manifest.createTable(
      ref,
      { columns, partitionBy, path: `${ref.zone}/${ref.name}` },
      { ...(spec.ifNotExists ? { ifNotExists: true } : {}), ...(spec.writer ? { writer: spec.writer } : {}) },
    );
    if (snapshot) this.emit(snapshot, info.fullName);
    return info;
  }

  /**
   * Evolves a table's schema towards `columns`: adds the new ones (nullable), widens types
   * (int32 → int64, float32 → float64, decimal precision up), drops NOT NULL. Anything else is
   * rejected with LAKE_SCHEMA_INCOMPATIBLE naming the column. Columns not listed are kept.
   */
  async evolveSchema(table: TableName, columns: ColumnSpec[], opts: { writer?: string } = {}): Promise<TableInfo> {
    this.check();
    const ref = parseTableName(table);
    const out = await this.manifest.commit({ table: ref, kind: 'evolve_schema', add: [], schema: columns, ...(opts.writer ? { writer: opts.writer } : {}) });
    this.emit(out.snapshot, out.table.fullName);
    return out.table;
  }

  async dropTable(table: TableName, opts: { writer?: string } = {}): Promise<Snapshot> {
    this.check();
    const ref = parseTableName(table);
    const snapshot = await this.manifest.dropTable(ref, opts);
    this.emit(snapshot, formatTableName(ref));
    return snapshot;
  }

  // -------------------------------------------------------------------------------------------
  // Writing

  /**
   * Commits Parquet files (written locally, e.g. into `stagingPath()`) as new data of a table.
   * Their columns must fit the table (or pass `evolveSchema: true`); with `createTable` a
   * missing table is created from the files' columns. The local files are consumed.
   */
  append(table: TableName, files: StagedFile[], opts: CommitOptions = {}): Promise<CommitResult> {
    return this.commitStaged(table, files, 'append', undefined, opts);
  }

  /** Replaces the whole table, or only `opts.partitions`, with the files (one snapshot). */
  overwrite(table: TableName, files: StagedFile[], opts: OverwriteOptions = {}): Promise<CommitResult> {
    return this.commitStaged(table, files, 'overwrite', opts.partitions, opts);
  }

  private async commitStaged(
    table: TableName,
    files: StagedFile[],
    kind: 'append' | 'overwrite',
    partitions: PartitionValues[] | undefined,
    opts: CommitOptions,
  ): Promise<CommitResult> {
    this.check();
    const ref = parseTableName(table);
    if (!Array.isArray(files)) throw new LakeError('LAKE_DATA_INVALID', 'files: expected an array of { localPath, partition? }');
    const written: WrittenFile[] = [];
    for (const [i, f] of files.entries()) {
      if (!f || typeof f.localPath !== 'string') throw new LakeError('LAKE_DATA_INVALID', `files[${i}]: expected { localPath, partition? }`);
      if (!nodeFs.existsSync(f.localPath)) throw new LakeError('LAKE_DATA_INVALID', `files[${i}]: ${f.localPath} does not exist`);
      written.push({ localPath: f.localPath, partition: f.partition ?? {}, info: await this.duck.inspect(f.localPath) });
    }
    let remove: RemoveSpec | undefined;
    if (kind === 'overwrite') remove = partitions ? { partitionKeys: partitions.map((p) => partitionKey(p)) } : { all: true };
    return this.commitWritten(ref, written, { ...opts, kind, ...(remove ? { remove } : {}) });
  }

  /**
   * Commits files whose Parquet metadata is already known (the sink and compaction know it
   * from DuckDB's COPY). Runs the commit protocol of the design note.
   */
  async commitWritten(
    ref: TableRef,
    files: WrittenFile[],
    opts: CommitOptions & { kind: CommitPlan['kind']; remove?: RemoveSpec },
  ): Promise<CommitResult> {
    this.check();
    const current = await this.manifest.currentSnapshot();
    const existing = await this.manifest.read((tx) => this.manifest.tableIfExists(tx, ref, current));
    let partitionBy: PartitionField[];
    let columnsFromFiles: Array<{ id: number; name: string; type: NonNullable<ParquetFileInfo['columns'][number]['type']>; nullable: boolean }> | undefined;
    if (existing) {
      partitionBy = existing.partitionBy;
      if (!opts.evolveSchema) {
        // Fail before any upload; the commit transaction checks again against the schema it sees.
        for (const [i, f] of files.entries()) {
          const problems = fileSchemaProblems(existing.schema.columns, f.info.columns);
          if (problems.length) {
            throw new LakeError(
              'LAKE_DATA_INVALID',
              `file ${i + 1} of ${files.length} does not fit ${existing.fullName}: ${problems.join('; ')}` +
                (problems.some((p) => p.includes('not in the table') || p.includes(' but ')) ? ' (commit with evolveSchema to add or widen columns)' : ''),
            );
          }
        }
      }
    } else {
      if (!opts.createTable) {
        throw new LakeError('LAKE_TABLE_UNKNOWN', `no table ${formatTableName(ref)}: create it first, or commit with createTable`);
      }
      if (files.length === 0) throw new LakeError('LAKE_DATA_INVALID', `cannot create ${formatTableName(ref)} from no files: create it with columns instead`);
      const first = files[0]!.info.columns;
      const bad = first.find((c) => c.type === null);
      if (bad) throw new LakeError('LAKE_SCHEMA_INCOMPATIBLE', `column ${JSON.stringify(bad.name)} has type ${bad.duckType}, which the lake cannot store (cast it to a supported type)`);
      const specPartition = typeof opts.createTable === 'object' ? opts.createTable.partitionBy : undefined;
      const cols = normalizeColumns(first.map((c) => ({ name: c.name, type: c.type!, nullable: true })), (specPartition ?? []).map((p) => p.name));
      columnsFromFiles = cols.map((c, i) => ({ ...c, id: i + 1 }));
      partitionBy = normalizePartitionSpec(specPartition, columnsFromFiles);
    }
    const tablePath = existing?.path ?? `${ref.zone}/${ref.name}`;
    const keyed = files.map((f, i) => {
      const partition = checkPartitionValues(partitionBy, f.partition, `file ${i + 1}`);
      const dir = partitionPath(partitionBy, partition);
      return { ...f, partition, key: `${tablePath}/${dir ? `${dir}/` : ''}part-${randomUUID()}.parquet` };
    });
    const writer = opts.writer ?? 'lake';
    await this.manifest.registerPending(
      keyed.map((f) => f.key),
      writer,
    );
    const newFiles: NewDataFile[] = [];
    let next = 0;
    const concurrency = Math.max(1, this.opts.putConcurrency ?? 4);
    const worker = async () => {
      while (next < keyed.length) {
        const f = keyed[next++]!;
        const { bytes } = await this.store.putFile(f.localPath, f.key);
        newFiles.push({ key: f.key, rows: f.info.rows, bytes, partition: f.partition, stats: f.info.stats, columns: f.info.columns });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, keyed.length) }, worker));
    // Keep the commit's file order = the caller's order (readers see rows in commit order).
    const order = new Map(keyed.map((f, i) => [f.key, i]));
    newFiles.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
    const plan: CommitPlan = {
      table: ref,
      kind: opts.kind,
      add: newFiles,
      ...(opts.remove ? { remove: opts.remove } : {}),
      ...(opts.createTable ? { createTable: { partitionBy } } : {}),
      ...(opts.evolveSchema ? { evolveSchema: true } : {}),
      ...(opts.sink ? { sink: opts.sink } : {}),
      writer,
      ...(opts.message ? { message: opts.message } : {}),
    };
    let out;
    try {
      out = await this.manifest.commit(plan, { path: tablePath, ...(columnsFromFiles ? { columnsFromFiles } : {}) });
    } catch (err) {
      // Nothing references the files: remove them now (a failure here leaves them pending, collected by `expire`).
      await this.discard(keyed.map((f) => f.key)).catch(() => {});
      throw err;
    }
    this.emit(out.snapshot, out.table.fullName);
    return { snapshot: out.snapshot, files: out.files };
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /** The current snapshot, or the one `asOf` names. */
  async snapshot(asOf?: AsOf): Promise<Snapshot> {
    this.check();
    return this.manifest.read((tx) => this.manifest.resolveSnapshot(tx, asOf));
  }

  /** Newest first. */
  snapshots(opts: { table?: TableName; limit?: number; beforeId?: number } = {}): Promise<Snapshot[]> {
    this.check();
    const { table, ...rest } = opts;
    return this.manifest.snapshots({ ...rest, ...(table !== undefined ? { table: parseTableName(table) } : {}) });
  }

  async tables(opts: { zone?: Zone; asOf?: AsOf } = {}): Promise<TableInfo[]> {
    this.check();
    return this.manifest.read(async (tx) => this.manifest.tables(tx, await this.manifest.resolveSnapshot(tx, opts.asOf), opts.zone));
  }

  async table(table: TableName, opts: { asOf?: AsOf } = {}): Promise<TableInfo> {
    this.check();
    const ref = parseTableName(table);
    return this.manifest.read(async (tx) => this.manifest.table(tx, ref, await this.manifest.resolveSnapshot(tx, opts.asOf)));
  }

  async files(table: TableName, opts: { asOf?: AsOf; partition?: PartitionValues } = {}): Promise<DataFile[]> {
    this.check();
    const ref = parseTableName(table);
    return this.manifest.read(async (tx) => {
      const snapshot = await this.manifest.resolveSnapshot(tx, opts.asOf);
      const info = await this.manifest.table(tx, ref, snapshot);
      return this.manifest.files(tx, info, snapshot, opts.partition ? { partitionKey: partitionKey(opts.partition) } : {});
    });
  }

  async partitions(table: TableName, opts: { asOf?: AsOf } = {}): Promise<PartitionInfo[]> {
    this.check();
    const ref = parseTableName(table);
    return this.manifest.read(async (tx) => {
      const snapshot = await this.manifest.resolveSnapshot(tx, opts.asOf);
      return this.manifest.partitions(tx, await this.manifest.table(tx, ref, snapshot), snapshot);
    });
  }

  /**
   * Everything a reader needs for one table at one snapshot, resolved in one manifest read:
   * the schema then and the files with local paths (S3 objects are fetched into the cache).
   * Feed it to `scanSql` for DuckDB.
   */
  async scan(table: TableName, opts: { asOf?: AsOf } = {}): Promise<TableScan> {
    this.check();
    const ref = parseTableName(table);
    const { snapshot, info, files } = await this.manifest.read(async (tx) => {
      const snapshot = await this.manifest.resolveSnapshot(tx, opts.asOf);
      const info = await this.manifest.table(tx, ref, snapshot);
      return { snapshot, info, files: await this.manifest.files(tx, info, snapshot) };
    });
    const local = await mapLimit(files, 8, async (f) => ({ ...f, localPath: await this.store.localPath(f.key, f.bytes) }));
    return { snapshot, table: info, files: local };
  }

  /** Topic positions the sink `name` committed with its files (where it resumes). */
  sinkPositions(name: string): Promise<Array<{ topic: string; partition: number; offset: number; snapshotId: number }>> {
    this.check();
    return this.manifest.sinkPositions(name);
  }

  /**
   * Checks that every file the manifest references exists in the store with its recorded size.
   * Returns the problems (empty when all is well).
   */
  async verify(): Promise<Array<{ key: string; problem: string }>> {
    this.check();
    const problems: Array<{ key: string; problem: string }> = [];
    const refs = await this.manifest.referencedKeys();
    await mapLimit([...refs], 8, async ([key, f]) => {
      const size = await this.store.size(key);
      if (size === null) problems.push({ key, problem: 'missing' });
      else if (size !== f.bytes) problems.push({ key, problem: `has ${size} bytes, the manifest records ${f.bytes}` });
    });
    return problems;
  }

  // -------------------------------------------------------------------------------------------
  // Maintenance

  /**
   * Merges small files per partition into files of about `targetFileBytes` (one snapshot per
   * table; rows and query results are unchanged). A table written meanwhile is retried once.
   */
  async compact(opts: CompactOptions = {}): Promise<CompactResult> {
    this.check();
    const target = opts.targetFileBytes ?? 128 * 1024 * 1024;
    const tables = opts.table !== undefined ? [await this.table(opts.table)] : await this.tables();
    const result: CompactResult = { snapshots: [], tables: [] };
    for (const t of tables) {
      for (let attempt = 0; ; attempt++) {
        try {
          const out = await this.compactTable(t.fullName, { ...opts, targetFileBytes: target });
          if (out) {
            result.snapshots.push(out.snapshot);
            result.tables.push(out.summary);
          }
          break;
        } catch (err) {
          if (attempt === 0 && err instanceof LakeError && err.code === 'LAKE_COMMIT_CONFLICT') continue;
          throw err;
        }
      }
    }
    return result;
  }

  private async compactTable(
    name: string,
    opts: CompactOptions & { targetFileBytes: number },
  ): Promise<{ snapshot: Snapshot; summary: CompactResult['tables'][number] } | null> {
    const scan = await this.scan(name);
    const plan = planCompaction(scan.files, {
      targetFileBytes: opts.targetFileBytes,
      smallFileBytes: opts.smallFileBytes ?? Math.floor(opts.targetFileBytes / 2),
      minInputFiles: opts.minInputFiles ?? 2,
    });
    if (plan.length === 0) return null;
    const byId = new Map(scan.files.map((f) => [f.id, f]));
    const written: WrittenFile[] = [];
    let done = 0;
    try {
      for (const group of plan) {
        if (opts.signal?.aborted) throw new LakeError('LAKE_COMMIT_CONFLICT', `compaction of ${name} was cancelled before its commit; nothing changed`, { retriable: false });
        const inputs = group.fileIds.map((id) => byId.get(id)!);
        const out = this.stagingPath();
        const info = await this.duck.merge(
          inputs.map((f) => f.localPath),
          scan.table.schema.columns.filter((c) => inputs.some((f) => c.name in f.stats)),
          out,
        );
        const expected = inputs.reduce((s, f) => s + f.rows, 0);
        if (info.rows !== expected) {
          throw new LakeError('LAKE_STORE_ERROR', `compaction of ${name} read ${info.rows} rows from ${inputs.length} files that hold ${expected}`);
        }
        written.push({ localPath: out, partition: group.partition, info });
        done++;
        opts.onProgress?.({ table: name, partition: group.partition, done, total: plan.length, inputFiles: inputs.length, outputFiles: 1 });
      }
      const inputIds = plan.flatMap((g) => g.fileIds);
      const res = await this.commitWritten(parseTableName(name), written, {
        kind: 'compact',
        remove: { fileIds: inputIds },
        writer: 'compaction',
      });
      const inputs = inputIds.map((id) => byId.get(id)!);
      return {
        snapshot: res.snapshot,
        summary: {
          table: name,
          inputFiles: inputs.length,
          outputFiles: res.files.length,
          rows: inputs.reduce((s, f) => s + f.rows, 0),
          bytesBefore: inputs.reduce((s, f) => s + f.bytes, 0),
          bytesAfter: res.files.reduce((s, f) => s + f.bytes, 0),
        },
      };
    } finally {
      for (const w of written) nodeFs.rmSync(w.localPath, { force: true });
    }
  }

  /**
   * Removes data older than each zone's retention as one snapshot per table: files of
   * time partitions that ended before `now - retentionMs` (unpartitioned tables: files
   * committed before then).
   */
  async applyRetention(opts: { now?: number } = {}): Promise<RetentionResult> {
    this.check();
    const now = opts.now ?? Date.now();
    const result: RetentionResult = { snapshots: [], removedFiles: 0, removedRows: 0 };
    for (const zone of ZONES) {
      const ms = this.zones[zone].retentionMs;
      if (ms === null || ms === undefined) continue;
      const cutoff = now - ms;
      for (const t of await this.tables({ zone })) {
        const files = await this.files(t.fullName);
        const snapshotTimes = new Map<number, number>();
        const old: DataFile[] = [];
        for (const f of files) {
          const range = partitionTimeRange(t.partitionBy, f.partition);
          let end: number;
          if (range) end = range.end;
          else {
            if (!snapshotTimes.has(f.snapshotId)) snapshotTimes.set(f.snapshotId, (await this.snapshot({ snapshot: f.snapshotId }).catch(() => null))?.time ?? now);
            end = snapshotTimes.get(f.snapshotId)!;
          }
          if (end <= cutoff) old.push(f);
        }
        if (old.length === 0) continue;
        const res = await this.commitWritten(parseTableName(t.fullName), [], {
          kind: 'retention',
          remove: { fileIds: old.map((f) => f.id) },
          writer: 'retention',
          message: `zone ${zone} keeps ${ms} ms`,
        });
        result.snapshots.push(res.snapshot);
        result.removedFiles += old.length;
        result.removedRows += old.reduce((s, f) => s + f.rows, 0);
      }
    }
    return result;
  }

  /**
   * Expires old snapshots (time travel to them fails afterwards), schedules the files no kept
   * snapshot references, deletes files scheduled longer than the grace period ago, and
   * collects files of writers that crashed before committing.
   */
  async expire(opts: ExpireOptions = {}): Promise<ExpireResult> {
    this.check();
    const now = opts.now ?? Date.now();
    const olderThanMs = opts.olderThanMs ?? this.opts.snapshotRetentionMs ?? DEFAULT_SNAPSHOT_RETENTION_MS;
    const { expiredSnapshots, scheduledFiles } = await this.manifest.expire({ olderThan: now - olderThanMs, keepLast: opts.keepLast ?? 1, now });
    await this.manifest.abandonPending({ olderThan: now - (this.opts.pendingGraceMs ?? 3600_000) }, now);
    const grace = opts.fileGraceMs ?? this.opts.fileGraceMs ?? 10 * 60_000;
    const due = await this.manifest.deletionsDue(now - grace);
    const deleted: string[] = [];
    let deletedBytes = 0;
    opts.onProgress?.({ done: 0, total: due.length, deletedBytes: 0 });
    await mapLimit(due, 8, async (d) => {
      await this.store.delete(d.key);
      deleted.push(d.key);
      deletedBytes += d.bytes ?? 0;
      opts.onProgress?.({ done: deleted.length, total: due.length, deletedBytes });
    });
    await this.manifest.forgetDeleted(deleted);
    return { expiredSnapshots, scheduledFiles, deletedFiles: deleted.length, deletedBytes };
  }

  private async discard(keys: string[]): Promise<void> {
    for (const k of keys) await this.store.delete(k);
    await this.manifest.dropPending(keys);
  }

  /** Deletes files a crashed writer `writer` left pending (call when that writer is known not to run). */
  async abandonPending(writer: string): Promise<number> {
    this.check();
    const keys = await this.manifest.abandonPending({ writer });
    for (const k of keys) await this.store.delete(k);
    await this.manifest.forgetDeleted(keys);
    return keys.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.duck.close();
    await this.store.close();
    await this.manifest.close();
  }
}

/** A Parquet file on local disk whose metadata is known, ready for `commitWritten`. */
export interface WrittenFile {
  localPath: string;
  partition: PartitionValues;
  info: ParquetFileInfo;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
