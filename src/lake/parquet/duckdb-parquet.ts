/**
 * The lake's own in-memory DuckDB, used only to write and inspect Parquet files: JSON lines →
 * Parquet (the sink), file schema and statistics (commits of files written elsewhere), and
 * merging files (compaction). It never opens a database file, so it does not compete with the
 * warehouse's DuckDB for ownership. Extensions are never installed or auto-loaded (offline:
 * parquet, json and icu are built in).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LakeError } from '../errors.ts';
import { quoteIdent, quoteLiteral } from '../names.ts';
import { duckdbType, fromDuckdbType } from '../schema/column-types.ts';
import type { Column, ColumnStats, ColumnType } from '../types.ts';

export interface ParquetFileInfo {
  rows: number;
  bytes: number;
  columns: Array<{ name: string; type: ColumnType | null; duckType: string }>;
  stats: Record<string, ColumnStats>;
}

export interface DuckDBParquetOptions {
  /** DuckDB worker threads (default: DuckDB's own default, the core count). */
  threads?: number;
  /** e.g. `2GB` (default: DuckDB's, 80 % of RAM). */
  memoryLimit?: string;
  /** Rows per Parquet row group (default 122 880, DuckDB's). */
  rowGroupSize?: number;
  /** Parquet compression (default zstd). */
  compression?: 'zstd' | 'snappy' | 'gzip' | 'uncompressed';
}

export class DuckDBParquet {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly opts: DuckDBParquetOptions,
  ) {}

  static async create(opts: DuckDBParquetOptions = {}): Promise<DuckDBParquet> {
    const config: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    };
    if (opts.threads !== undefined) config['threads'] = String(opts.threads);
    if (opts.memoryLimit !== undefined) config['memory_limit'] = opts.memoryLimit;
    const instance = await DuckDBInstance.create(':memory:', config);
    return new DuckDBParquet(instance, opts);
  }

  private async withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.instance.connect();
    try {
      return await fn(c);
    } finally {
      c.closeSync();
    }
  }

  private copyOptions(): string {
    const parts = [`FORMAT parquet`, `COMPRESSION ${this.opts.compression ?? 'zstd'}`, `RETURN_STATS`];
    if (this.opts.rowGroupSize) parts.push(`ROW_GROUP_SIZE ${this.opts.rowGroupSize}`);
    return parts.join(', ');
  }

  /**
   * Writes JSON lines (one object per line) as a Parquet file with exactly `columns` (extra
   * fields are ignored; missing ones are null). Returns the row count and statistics.
   */
  async writeJsonLines(ndjsonPath: string, columns: readonly Column[], outPath: string): Promise<ParquetFileInfo> {
    const spec = columns.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(duckdbType(c.type))}`).join(', ');
    const select = columns.map((c) => quoteIdent(c.name)).join(', ');
    const sql =
      `COPY (SELECT ${select} FROM read_json(${quoteLiteral(ndjsonPath)}, format = 'newline_delimited', columns = {${spec}}, ` +
      `maximum_object_size = 134217728)) TO ${quoteLiteral(outPath)} (${this.copyOptions()})`;
    return this.copy(sql, columns);
  }

  /**
   * Writes JSON lines tagged with a partition index (`partColumn`, an integer) as one Parquet
   * file per index under `outDir` (DuckDB `PARTITION_BY`; the index is not stored in the files).
   * Returns each file with its index, row count and statistics.
   */
  async writeJsonLinesPartitioned(
    ndjsonPath: string,
    columns: readonly Column[],
    partColumn: string,
    outDir: string,
  ): Promise<Array<{ path: string; part: number; info: ParquetFileInfo }>> {
    const spec = [`${quoteLiteral(partColumn)}: 'INTEGER'`, ...columns.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(duckdbType(c.type))}`)].join(', ');
    const select = [quoteIdent(partColumn), ...columns.map((c) => quoteIdent(c.name))].join(', ');
    const sql =
      `COPY (SELECT ${select} FROM read_json(${quoteLiteral(ndjsonPath)}, format = 'newline_delimited', columns = {${spec}}, ` +
      `maximum_object_size = 134217728)) TO ${quoteLiteral(outDir)} (${this.copyOptions()}, PARTITION_BY (${quoteIdent(partColumn)}), FILENAME_PATTERN 'part-{uuid}')`;
    return this.withConnection(async (c) => {
      let rows: Record<string, unknown>[];
      try {
        rows = (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
      } catch (err) {
        throw new LakeError('LAKE_DATA_INVALID', `DuckDB could not write the Parquet files: ${(err as Error).message}`, { cause: err });
      }
      return rows.map((r) => {
        const keys = r['partition_keys'] as Array<{ key: string; value: string }> | null;
        const part = Number(keys?.find((k) => k.key === partColumn)?.value);
        if (!Number.isInteger(part)) throw new LakeError('LAKE_STORE_ERROR', `DuckDB wrote ${String(r['filename'])} without its partition index`);
        return {
          path: String(r['filename']),
          part,
          info: {
            rows: Number(r['count']),
            bytes: Number(r['file_size_bytes']),
            columns: columns.map((col) => ({ name: col.name, type: col.type, duckType: duckdbType(col.type) })),
            stats: statsFromCopy(r['column_statistics'], columns),
          },
        };
      });
    });
  }

  /** Merges Parquet files into one, read as `columns` (older files: missing columns null, narrower types cast up). */
  async merge(inputs: readonly string[], columns: readonly Column[], outPath: string): Promise<ParquetFileInfo> {
    const select = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${duckdbType(c.type)}) AS ${quoteIdent(c.name)}`).join(', ');
    const sql =
      `COPY (SELECT ${select} FROM ${readParquetSql(inputs, columns)}) TO ${quoteLiteral(outPath)} (${this.copyOptions()})`;
    return this.copy(sql, columns);
  }

  private async copy(sql: string, columns: readonly Column[]): Promise<ParquetFileInfo> {
    return this.withConnection(async (c) => {
      let rows: Record<string, unknown>[];
      try {
        rows = (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
      } catch (err) {
        throw new LakeError('LAKE_DATA_INVALID', `DuckDB could not write the Parquet file: ${(err as Error).message}`, { cause: err });
      }
      const r = rows[0];
      if (!r) throw new LakeError('LAKE_STORE_ERROR', 'DuckDB wrote no Parquet file');
      return {
        rows: Number(r['count']),
        bytes: Number(r['file_size_bytes']),
        columns: columns.map((col) => ({ name: col.name, type: col.type, duckType: duckdbType(col.type) })),
        stats: statsFromCopy(r['column_statistics'], columns),
      };
    });
  }

  /** Schema, row count and statistics of any Parquet file (from its footer). */
  async inspect(path: string): Promise<ParquetFileInfo> {
    return this.withConnection(async (c) => {
      try {
        const p = quoteLiteral(path);
        const described = (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${p})`)).getRowObjectsJson() as Array<Record<string, string>>;
        const columns = described.map((d) => ({ name: String(d['column_name']), duckType: String(d['column_type']), type: fromDuckdbType(String(d['column_type'])) }));
        const meta = (await c.runAndReadAll(`SELECT num_rows, file_size_bytes FROM parquet_file_metadata(${p})`)).getRowObjectsJson()[0] as Record<string, unknown>;
        const stats: Record<string, ColumnStats> = {};
        const top = new Set(columns.map((col) => col.name));
        const rows = (
          await c.runAndReadAll(
            `SELECT path_in_schema AS name, row_group_id, stats_min_value AS mn, stats_max_value AS mx, stats_null_count AS nulls, num_values AS n FROM parquet_metadata(${p}) ORDER BY row_group_id`,
          )
        ).getRowObjectsJson() as Array<Record<string, unknown>>;
        const typeOf = new Map(columns.map((col) => [col.name, col.type]));
        for (const r of rows) {
          const name = String(r['name']);
          if (!top.has(name)) continue; // nested leaves have no column-level min/max here
          const t = typeOf.get(name) ?? null;
          const mn = (r['mn'] as string | null) ?? null;
          const mx = (r['mx'] as string | null) ?? null;
          const s = (stats[name] ??= { min: null, max: null, nullCount: 0, valueCount: 0 });
          s.valueCount += Number(r['n'] ?? 0);
          s.nullCount = s.nullCount === null || r['nulls'] === null ? null : s.nullCount + Number(r['nulls']);
          if (mn !== null && (s.min === null || compareStat(t, mn, s.min) < 0)) s.min = mn;
          if (mx !== null && (s.max === null || compareStat(t, mx, s.max) > 0)) s.max = mx;
        }
        return { rows: Number(meta['num_rows']), bytes: Number(meta['file_size_bytes']), columns, stats };
      } catch (err) {
        throw new LakeError('LAKE_DATA_INVALID', `${path} is not a readable Parquet file: ${(err as Error).message}`, { cause: err });
      }
    });
  }

  /** Runs a query and returns rows as JSON values (tests, verification). */
  async query(sql: string): Promise<Array<Record<string, unknown>>> {
    return this.withConnection(async (c) => (await c.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>);
  }

  close(): void {
    this.instance.closeSync();
  }
}

/**
 * A DuckDB table expression reading Parquet files as the given columns: missing columns in
 * older files read as null, narrower types are cast by the caller. (Without Hive partition
 * columns: the lake's own readers add them from the manifest; see `scanSql`.)
 */
export function readParquetSql(paths: readonly string[], _columns: readonly Column[]): string {
  return `read_parquet([${paths.map(quoteLiteral).join(', ')}], union_by_name = true)`;
}

function compareStat(type: ColumnType | null, a: string, b: string): number {
  if (type === 'int32' || type === 'int64' || type === 'float32' || type === 'float64' || (type !== null && type.startsWith('decimal'))) {
    const x = Number(a);
    const y = Number(b);
    if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** RETURN_STATS gives `[{ key: '"col"', value: [{ key: 'min', value }, …] }]` (a MAP as JSON). */
function statsFromCopy(raw: unknown, columns: readonly Column[]): Record<string, ColumnStats> {
  const out: Record<string, ColumnStats> = {};
  if (!Array.isArray(raw)) return out;
  const byQuoted = new Map(columns.map((c) => [quoteIdent(c.name), c.name]));
  for (const entry of raw as Array<{ key: string; value: Array<{ key: string; value: string }> }>) {
    const name = byQuoted.get(entry.key);
    if (name === undefined) continue;
    const m = new Map((entry.value ?? []).map((kv) => [kv.key, kv.value]));
    out[name] = {
      min: m.get('min') ?? null,
      max: m.get('max') ?? null,
      nullCount: m.has('null_count') ? Number(m.get('null_count')) : null,
      valueCount: Number(m.get('num_values') ?? 0),
    };
  }
  return out;
}
