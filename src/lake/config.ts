/**
 * The `lake` section of `tributary.config.ts`: where the lake lives (folder, S3, PostgreSQL
 * manifest), zone retention, and the sinks that land topics in tables. Validated by one zod
 * schema (paths in errors: `lake.sinks[0].table: …`) and resolved to absolute paths and defaults.
 */
import path from 'node:path';
import { z } from 'zod';
import { bool, got, num, nullableNum, obj, oneOf, str } from '../util/schema.ts';
import { PRIMITIVE_TYPES, ZONES, type ColumnSpec, type ColumnType, type Zone } from './types.ts';
import { isColumnType } from './schema/column-types.ts';

export interface LakeZoneConfig {
  /** Data older than this (by partition time, else commit time) is removed by the maintenance loop; null keeps it forever (default). */
  retentionMs?: number | null;
}

export interface LakeS3Config {
  bucket: string;
  /** Key prefix inside the bucket, e.g. `lake/`. */
  prefix?: string;
  region?: string;
  /** S3-compatible endpoint (MinIO, …), e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Local cache of downloaded files for DuckDB (default 10 GiB). */
  cacheMaxBytes?: number;
}

export interface LakeSinkConfig {
  /** Stable name under which its positions are stored (default `<zone>.<table>`). */
  name?: string;
  topics: string[];
  /** Table name (`orders`) or `zone.table`. */
  table: string;
  /** Default `raw`. */
  zone?: Zone;
  /** `hour` (dt=…/hr=…, default), `day` (dt=…) or `none`. */
  partitionBy?: 'hour' | 'day' | 'none';
  /** `timestamp` (the record timestamp, default) or `{ field }`: a JSON field with an ISO-8601 time or epoch ms. */
  eventTime?: 'timestamp' | { field: string };
  /** `infer` (default) or the declared columns; records that do not fit go to the dead-letter topic. */
  schema?: 'infer' | ColumnSpec[];
  /** Roll a file at this many bytes of JSON (default 64 MiB). */
  rollBytes?: number;
  /** Roll at most this long after the first record (default 60 s). */
  rollMs?: number;
  /** Default `<name>.dlq`. */
  deadLetterTopic?: string;
  /** Add `_topic`, `_partition`, `_offset`, `_timestamp` columns. */
  metadataColumns?: boolean;
}

/**
 * @example
 * ```ts
 * lake: {
 *   zones: { raw: { retentionMs: 30 * 24 * 3600_000 } },
 *   sinks: [{ topics: ['shop.orders'], table: 'orders', zone: 'raw', partitionBy: 'hour', eventTime: { field: 'eventTime' } }],
 * }
 * ```
 */
export interface LakeConfig {
  /** Folder of the lake (data files, staging, S3 cache, SQLite manifest); relative to the config file (default `<dataDir>/lake`). */
  root?: string;
  zones?: Partial<Record<Zone, LakeZoneConfig>>;
  /** How long old snapshots stay readable by time travel (default 7 days). */
  snapshotRetentionMs?: number;
  /** Keep the manifest in PostgreSQL instead of `<root>/_manifest.sqlite`. */
  manifest?: { postgres?: string; schema?: string };
  /** Keep data files in S3 instead of under `root`. */
  s3?: LakeS3Config;
  sinks?: LakeSinkConfig[];
  /** Retention and snapshot expiry run this often (default 10 min; null: only on demand). */
  maintenanceIntervalMs?: number | null;
}

const columnType = z.custom<ColumnType>((v) => isColumnType(v), {
  error: (iss) => `unknown column type${got(iss.input)}; use one of ${PRIMITIVE_TYPES.join(', ')}, decimal(p,s)`,
});

const zoneSchema = obj({ retentionMs: nullableNum({ int: true, min: 1 }).optional() });

export const lakeSinkSchema = obj({
  name: str('a sink name').optional(),
  topics: z.array(str('a topic name'), { error: (iss) => `expected a list of topic names${got(iss.input)}` }).min(1, { error: 'expected at least one topic' }),
  table: z.string({ error: (iss) => `expected a table name${got(iss.input)}` }).regex(/^(?:(?:raw|clean|curated)\.)?[a-z_][a-z0-9_]{0,127}$/, {
    error: (iss) => `invalid table name${got(iss.input)}: use a-z 0-9 _ (starting with a letter or _), optionally prefixed by a zone (raw., clean., curated.)`,
  }),
  zone: oneOf(ZONES).optional(),
  partitionBy: oneOf(['hour', 'day', 'none'] as const).optional(),
  eventTime: z
    .union([z.literal('timestamp'), obj({ field: str('a JSON field name') })], {
      error: (iss) => `expected "timestamp" or { field: "<JSON field>" }${got(iss.input)}`,
    })
    .optional(),
  schema: z
    .union([z.literal('infer'), z.array(obj({ name: str('a column name'), type: columnType, nullable: bool().optional() }))], {
      error: (iss) => `expected "infer" or a list of { name, type, nullable? }${got(iss.input)}`,
    })
    .optional(),
  rollBytes: num({ int: true, min: 1024 }).optional(),
  rollMs: num({ int: true, min: 10 }).optional(),
  deadLetterTopic: str('a topic name').optional(),
  metadataColumns: bool().optional(),
});

export const lakeConfigSchema = obj({
  root: str('a directory path').optional(),
  zones: obj({ raw: zoneSchema.optional(), clean: zoneSchema.optional(), curated: zoneSchema.optional() }).optional(),
  snapshotRetentionMs: num({ int: true, min: 1 }).optional(),
  manifest: obj({
    postgres: str('a PostgreSQL URL like postgres://user@host:5432/db').optional(),
    schema: z.string({ error: (iss) => `expected a schema name${got(iss.input)}` }).regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'use a-z 0-9 _ (at most 63)' }).optional(),
  }).optional(),
  s3: obj({
    bucket: str('a bucket name'),
    prefix: z.string({ error: (iss) => `expected a key prefix${got(iss.input)}` }).optional(),
    region: str('a region').optional(),
    endpoint: str('a URL like http://127.0.0.1:9000').optional(),
    forcePathStyle: bool().optional(),
    accessKeyId: str('an access key id').optional(),
    secretAccessKey: str('a secret access key').optional(),
    cacheMaxBytes: num({ int: true, min: 1 }).optional(),
  }).optional(),
  sinks: z.array(lakeSinkSchema, { error: (iss) => `expected a list of sinks${got(iss.input)}` }).optional(),
  maintenanceIntervalMs: nullableNum({ int: true, min: 1000 }).optional(),
});

export interface ResolvedLakeConfig {
  /** Absolute. */
  root: string;
  zones: Record<Zone, { retentionMs: number | null }>;
  snapshotRetentionMs: number;
  manifest: { postgres: string | null; schema: string };
  s3: LakeS3Config | null;
  sinks: LakeSinkConfig[];
  maintenanceIntervalMs: number | null;
}

/** Fills in defaults; `root` is resolved against the config file's folder, else `<dataDir>/lake`. */
export function resolveLakeConfig(lake: LakeConfig | undefined, dirs: { fileDir: string; dataDir: string }): ResolvedLakeConfig {
  const l = lake ?? {};
  return {
    root: l.root !== undefined ? path.resolve(dirs.fileDir, l.root) : path.join(dirs.dataDir, 'lake'),
    zones: Object.fromEntries(ZONES.map((z) => [z, { retentionMs: l.zones?.[z]?.retentionMs ?? null }])) as Record<Zone, { retentionMs: number | null }>,
    snapshotRetentionMs: l.snapshotRetentionMs ?? 7 * 24 * 3600_000,
    manifest: { postgres: l.manifest?.postgres ?? null, schema: l.manifest?.schema ?? 'tributary_lake' },
    s3: l.s3 ?? null,
    sinks: l.sinks ?? [],
    maintenanceIntervalMs: l.maintenanceIntervalMs === undefined ? 10 * 60_000 : l.maintenanceIntervalMs,
  };
}
