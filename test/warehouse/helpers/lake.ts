/** A fresh lake in a temp folder and a gateway over it; Parquet written with the lake's DuckDB. */
import path from 'node:path';
import { openLake, type Lake, type StagedFile } from '../../../src/lake/index.ts';
import { Governance } from '../../../src/govern/index.ts';
import { SqlGateway, type GatewayOptions } from '../../../src/warehouse/index.ts';
import { tempDirUntilExit } from '../../helpers/temp-dir.ts';

export async function freshLake(): Promise<{ lake: Lake; dir: string }> {
  const dir = await tempDirUntilExit('tributary-wh-');
  return { lake: await openLake({ root: path.join(dir, 'lake') }), dir };
}

export async function freshGateway(opts: Partial<GatewayOptions> = {}): Promise<{ lake: Lake; gateway: SqlGateway; dir: string; governance: Governance }> {
  const { lake, dir } = await freshLake();
  const governance = opts.governance ?? new Governance();
  const gateway = await SqlGateway.open({ lake, governance, ...opts });
  return { lake, gateway, dir, governance };
}

/** `SELECT …` as a staged Parquet file (optionally for a partition). */
export async function staged(lake: Lake, select: string, partition?: Record<string, string>): Promise<StagedFile> {
  const file = lake.stagingPath();
  await lake.duck.query(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  return { localPath: file, ...(partition ? { partition } : {}) };
}
