/**
 * The `flow` section of `tributary.config.ts`: where DAG files live, where the metadata is kept
 * (SQLite in the data directory, or PostgreSQL for several schedulers and workers), how tasks run.
 */
import path from 'node:path';
import { z } from 'zod';
import { bool, got, num, obj, oneOf, str } from '../util/schema.ts';

export interface FlowConfig {
  /** Run workflows (default true). */
  enabled?: boolean;
  /** Folder of DAG files, relative to the config file (default `dags`). */
  dagsDir?: string;
  /** Metadata store: SQLite in `<dataDir>/flow/flow.db` (default), or PostgreSQL for scale-out. */
  metadata?: { postgres?: string };
  /** Task slots of the worker inside `tributary up` (0: none — run `tributary worker`s instead; default 4). */
  workers?: number;
  /** `process` (default): tasks run in child processes; `inline`: in the server process (trusted code only). */
  mode?: 'process' | 'inline';
  /** Concurrency pools: name → slots (a task takes a slot of its `pool`; "default" has 128 unless set). */
  pools?: Record<string, number>;
  /** A worker that stops renewing for this long loses its tasks to others (default 30000). */
  taskLeaseMs?: number;
}

export interface ResolvedFlowConfig {
  enabled: boolean;
  /** Absolute. */
  dagsDir: string;
  metadata: { postgres: string | null };
  workers: number;
  mode: 'process' | 'inline';
  pools: Record<string, number>;
  taskLeaseMs: number;
}

const postgresUrl = z
  .string({ error: (iss) => `expected a PostgreSQL URL like postgres://user@host:5432/db${got(iss.input)}` })
  .regex(/^postgres(ql)?:\/\/.+/, { error: (iss) => `expected a PostgreSQL URL like postgres://user@host:5432/db${got(iss.input)}` });

/**
 * @example
 * ```ts
 * flow: { dagsDir: 'dags', workers: 4, pools: { warehouse: 2 }, metadata: { postgres: process.env.FLOW_PG_URL } }
 * ```
 */
export const flowConfigSchema = obj({
  enabled: bool().optional(),
  dagsDir: str('a directory path').optional(),
  metadata: obj({ postgres: postgresUrl.optional() }).optional(),
  workers: num({ int: true, min: 0, max: 1024 }).optional(),
  mode: oneOf(['process', 'inline']).optional(),
  pools: z
    .record(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, { error: (iss) => `invalid pool name${got(iss.input)}: use letters, digits, _ . -` }), num({ int: true, min: 1 }), {
      error: (iss) => `expected an object of pool name → slots${got(iss.input)}`,
    })
    .optional(),
  taskLeaseMs: num({ int: true, min: 100 }).optional(),
});

export function resolveFlowConfig(flow: FlowConfig | undefined, dirs: { fileDir: string }): ResolvedFlowConfig {
  const f = flow ?? {};
  return {
    enabled: f.enabled ?? true,
    dagsDir: path.resolve(dirs.fileDir, f.dagsDir ?? 'dags'),
    metadata: { postgres: f.metadata?.postgres ?? null },
    workers: f.workers ?? 4,
    mode: f.mode ?? 'process',
    pools: f.pools ?? {},
    taskLeaseMs: f.taskLeaseMs ?? 30_000,
  };
}
