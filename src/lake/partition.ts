/**
 * Hive-style partitions: specs, values derived from event time or columns, and their paths
 * (`dt=2024-05-01/hr=07`). Pure: no I/O.
 *
 * Partition columns are virtual (in the path and the manifest, not inside the files). A value
 * must be a valid path segment; anything else is rejected with LAKE_PARTITION_INVALID rather
 * than escaped, so every engine reads the same folder name back. A null identity value is
 * written as Hive's `__HIVE_DEFAULT_PARTITION__`.
 */
import { LakeError } from './errors.ts';
import { checkPartitionFieldName } from './names.ts';
import type { Column, PartitionField, PartitionTransform, PartitionValues } from './types.ts';

export const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';
const SEGMENT = /^[A-Za-z0-9_.\-]{1,200}$/;
const TRANSFORMS: readonly PartitionTransform[] = ['identity', 'year', 'month', 'day', 'hour'];

/** Checks a partition spec against the table's columns. */
export function normalizePartitionSpec(fields: readonly PartitionField[] | undefined, columns: readonly Column[]): PartitionField[] {
  if (fields === undefined) return [];
  if (!Array.isArray(fields)) throw new LakeError('LAKE_PARTITION_INVALID', 'partitionBy: expected an array of { name, transform, source? }');
  const names = new Set<string>();
  const byLower = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  return fields.map((f, i) => {
    if (typeof f !== 'object' || f === null) throw new LakeError('LAKE_PARTITION_INVALID', `partitionBy[${i}]: expected { name, transform, source? }`);
    const name = checkPartitionFieldName(f.name);
    if (names.has(name)) throw new LakeError('LAKE_PARTITION_INVALID', `partitionBy: field ${JSON.stringify(name)} appears twice`);
    names.add(name);
    if (!TRANSFORMS.includes(f.transform)) {
      throw new LakeError('LAKE_PARTITION_INVALID', `partitionBy.${name}: unknown transform ${JSON.stringify(f.transform)}; use one of ${TRANSFORMS.join(', ')}`);
    }
    if (byLower.has(name)) {
      throw new LakeError('LAKE_PARTITION_INVALID', `partitionBy.${name}: a data column has the same name; partition columns are virtual (taken from the path)`);
    }
    if (f.source !== undefined) {
      const col = byLower.get(f.source.toLowerCase());
      if (!col) throw new LakeError('LAKE_PARTITION_INVALID', `partitionBy.${name}: source column ${JSON.stringify(f.source)} is not in the table`);
      if (f.transform !== 'identity' && col.type !== 'timestamp' && col.type !== 'date') {
        throw new LakeError('LAKE_PARTITION_INVALID', `partitionBy.${name}: transform ${f.transform} needs a timestamp or date column, ${JSON.stringify(col.name)} is ${col.type}`);
      }
      return { name, transform: f.transform, source: col.name };
    }
    return { name, transform: f.transform };
  });
}

/** The usual event-time layouts: `hour` → dt=YYYY-MM-DD/hr=HH, `day` → dt=YYYY-MM-DD. */
export function timePartitioning(granularity: 'hour' | 'day' | 'none', source?: string): PartitionField[] {
  const src = source === undefined ? {} : { source };
  if (granularity === 'none') return [];
  if (granularity === 'day') return [{ name: 'dt', transform: 'day', ...src }];
  return [
    { name: 'dt', transform: 'day', ...src },
    { name: 'hr', transform: 'hour', ...src },
  ];
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** One partition value from an event time in ms (UTC). */
export function timeValue(transform: Exclude<PartitionTransform, 'identity'>, ms: number): string {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  if (!Number.isFinite(y) || y < 0 || y > 9999) throw new LakeError('LAKE_PARTITION_INVALID', `event time ${ms} is outside the years 0000–9999`);
  const year = String(y).padStart(4, '0');
  switch (transform) {
    case 'year':
      return year;
    case 'month':
      return `${year}-${pad2(d.getUTCMonth() + 1)}`;
    case 'day':
      return `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
    case 'hour':
      return pad2(d.getUTCHours());
  }
}

/**
 * Computes the partition values of event times, caching per hour (event streams stay in a few
 * hours at a time, so this is a lookup for almost every record).
 */
export class EventTimePartitioner {
  private cachedHour = NaN;
  private cached: PartitionValues | null = null;
  private cachedKey = '';
  constructor(private readonly fields: readonly PartitionField[]) {
    for (const f of fields) {
      if (f.transform === 'identity') throw new LakeError('LAKE_PARTITION_INVALID', `partition field ${f.name}: identity partitions need a column value, not an event time`);
    }
  }

  /** Values and their grouping key for an event time (ms); throws LAKE_PARTITION_INVALID for impossible times. */
  valuesFor(ms: number): { values: PartitionValues; key: string } {
    const hour = Math.floor(ms / 3_600_000);
    if (hour !== this.cachedHour || this.cached === null) {
      const values: PartitionValues = {};
      for (const f of this.fields) values[f.name] = timeValue(f.transform as Exclude<PartitionTransform, 'identity'>, ms);
      this.cached = values;
      this.cachedKey = partitionKey(values);
      this.cachedHour = hour;
    }
    return { values: this.cached, key: this.cachedKey };
  }
}

/** Checks one value as a path segment. */
export function checkPartitionValue(field: string, value: string): string {
  if (!SEGMENT.test(value) || value === '.' || value === '..') {
    throw new LakeError(
      'LAKE_PARTITION_INVALID',
      `partition ${field}=${JSON.stringify(value)} is not a valid path segment: use 1–200 of A-Z a-z 0-9 _ . - (and not "." or "..")`,
    );
  }
  return value;
}

/** An identity value from a column value. */
export function identityValue(field: string, value: unknown): string {
  if (value === null || value === undefined) return HIVE_NULL;
  if (typeof value === 'string') return checkPartitionValue(field, value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return checkPartitionValue(field, String(value));
  throw new LakeError('LAKE_PARTITION_INVALID', `partition ${field}: cannot partition by a ${typeof value} value`);
}

/** Checks that `values` has exactly the spec's fields, each a valid segment. */
export function checkPartitionValues(spec: readonly PartitionField[], values: PartitionValues | undefined, where: string): PartitionValues {
  const given = values ?? {};
  if (typeof given !== 'object' || given === null) throw new LakeError('LAKE_PARTITION_INVALID', `${where}: partition must be an object of field → value`);
  const out: PartitionValues = {};
  for (const f of spec) {
    const v = given[f.name];
    if (v === undefined) {
      throw new LakeError('LAKE_PARTITION_INVALID', `${where}: missing partition value for ${f.name} (the table is partitioned by ${spec.map((s) => s.name).join(', ')})`);
    }
    if (typeof v !== 'string') throw new LakeError('LAKE_PARTITION_INVALID', `${where}: partition value ${f.name} must be a string`);
    out[f.name] = checkPartitionValue(f.name, v);
  }
  for (const k of Object.keys(given)) {
    if (!spec.some((f) => f.name === k)) {
      throw new LakeError(
        'LAKE_PARTITION_INVALID',
        `${where}: ${JSON.stringify(k)} is not a partition field of the table${spec.length ? ` (fields: ${spec.map((s) => s.name).join(', ')})` : ' (it is not partitioned)'}`,
      );
    }
  }
  return out;
}

/** `dt=2024-05-01/hr=07` (empty for an unpartitioned table); values must already be checked. */
export function partitionPath(spec: readonly PartitionField[], values: PartitionValues): string {
  return spec.map((f) => `${f.name}=${values[f.name]}`).join('/');
}

/** A stable key for grouping by partition. */
export function partitionKey(values: PartitionValues): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${k}=${values[k]}`)
    .join('/');
}

/** The DuckDB type a partition column is read as (`hive_types`). */
export function partitionColumnDuckType(field: PartitionField, columns: readonly Column[]): string {
  switch (field.transform) {
    case 'day':
      return 'DATE';
    case 'hour':
    case 'year':
      return 'INTEGER';
    case 'month':
      return 'VARCHAR';
    case 'identity': {
      const src = field.source ? columns.find((c) => c.name === field.source) : undefined;
      if (src && (src.type === 'int32' || src.type === 'int64' || src.type === 'date' || src.type === 'boolean')) {
        return src.type === 'int32' ? 'INTEGER' : src.type === 'int64' ? 'BIGINT' : src.type === 'date' ? 'DATE' : 'BOOLEAN';
      }
      return 'VARCHAR';
    }
  }
}

/**
 * The event-time interval a partition covers, `[start, end)` in ms, or null when the spec has no
 * date field (`day`, `month` or `year`; `hour` narrows a day). Used by zone retention.
 */
export function partitionTimeRange(spec: readonly PartitionField[], values: PartitionValues): { start: number; end: number } | null {
  const day = spec.find((f) => f.transform === 'day');
  const month = spec.find((f) => f.transform === 'month');
  const year = spec.find((f) => f.transform === 'year');
  const hour = spec.find((f) => f.transform === 'hour');
  if (day) {
    const v = values[day.name];
    const start = v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
    if (!Number.isFinite(start)) return null;
    const h = hour ? Number(values[hour.name]) : NaN;
    if (hour && Number.isInteger(h) && h >= 0 && h < 24) return { start: start + h * 3_600_000, end: start + (h + 1) * 3_600_000 };
    return { start, end: start + 86_400_000 };
  }
  if (month) {
    const v = values[month.name];
    const m = v ? /^(\d{4})-(\d{2})$/.exec(v) : null;
    if (!m) return null;
    return { start: Date.UTC(Number(m[1]), Number(m[2]) - 1, 1), end: Date.UTC(Number(m[1]), Number(m[2]), 1) };
  }
  if (year) {
    const v = values[year.name];
    if (!v || !/^\d{4}$/.test(v)) return null;
    return { start: Date.UTC(Number(v), 0, 1), end: Date.UTC(Number(v) + 1, 0, 1) };
  }
  return null;
}
