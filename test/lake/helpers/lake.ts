/** Opening lakes on both manifest backends, and writing Parquet files with the lake's DuckDB. */
import path from 'node:path';
import { openLake, type Lake, type LakeOptions } from '../../../src/lake/index.ts';
import { tempDirUntilExit } from '../../helpers/temp-dir.ts';
import { postgresUrl, uniqueSchema } from './postgres.ts';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** A fresh lake in a temp folder, its manifest in SQLite or in a fresh PostgreSQL schema. */
export async function freshLake(backend: Backend, opts: Partial<LakeOptions> = {}): Promise<Lake> {
  const root = path.join(await tempDirUntilExit('tributary-lake-'), 'lake');
  return openLake({ root, ...(await manifestFor(backend)), ...opts });
}

export async function manifestFor(backend: Backend): Promise<Pick<LakeOptions, 'manifest'>> {
  if (backend === 'sqlite') return {};
  return { manifest: { postgres: await postgresUrl(), schema: uniqueSchema() } };
}

/** Writes `SELECT …` as a Parquet file in the lake's staging folder and returns its path. */
export async function parquet(lake: Lake, select: string): Promise<string> {
  const file = lake.stagingPath();
  await lake.duck.query(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  return file;
}

/** Runs SQL over a table's current (or `asOf`) snapshot; `t` names the table in `sql`. */
export async function sqlOver(lake: Lake, table: string, sql: string, asOf?: { snapshot: number } | { time: number }): Promise<Array<Record<string, unknown>>> {
  const { scanSql } = await import('../../../src/lake/index.ts');
  const scan = await lake.scan(table, asOf ? { asOf } : {});
  return lake.duck.query(sql.replace(/\bt\b/, `(${scanSql(scan)}) t`));
}

export async function count(lake: Lake, table: string, asOf?: { snapshot: number } | { time: number }): Promise<number> {
  const rows = await sqlOver(lake, table, 'SELECT count(*) AS n FROM t', asOf);
  return Number(rows[0]!['n']);
}
