/**
 * Schema evolution, planned without I/O: which changes a table accepts (add nullable columns,
 * widen int32 → int64, float32 → float64, decimal precision up, relax NOT NULL) and the error,
 * naming the column, for every other one. Columns are never dropped or renamed: a column missing
 * from a newer schema stays in the table (older files keep it, newer ones read as null).
 */
import { LakeError } from '../errors.ts';
import { checkColumnName } from '../names.ts';
import type { Column, ColumnSpec, ColumnType } from '../types.ts';
import { canWiden, parseColumnType } from './column-types.ts';

const WIDENINGS = 'int32 → int64, float32 → float64, decimal(p,s) → decimal(p′≥p,s)';

export interface SchemaChange {
  add: Column[];
  widen: Array<{ name: string; from: ColumnType; to: ColumnType }>;
  /** Columns whose NOT NULL is dropped. */
  relax: string[];
}

export function isEmptyChange(c: SchemaChange): boolean {
  return c.add.length === 0 && c.widen.length === 0 && c.relax.length === 0;
}

/** Validates a list of declared columns (names, types, duplicates ignoring case) and fills in defaults. */
export function normalizeColumns(specs: readonly ColumnSpec[], reserved: readonly string[] = []): Array<Required<ColumnSpec>> {
  if (!Array.isArray(specs)) throw new LakeError('LAKE_SCHEMA_INVALID', 'columns: expected an array of { name, type, nullable? }');
  const seen = new Map<string, string>();
  const reservedLower = new Set(reserved.map((r) => r.toLowerCase()));
  return specs.map((spec, i) => {
    if (typeof spec !== 'object' || spec === null) throw new LakeError('LAKE_SCHEMA_INVALID', `columns[${i}]: expected { name, type, nullable? }`);
    const name = checkColumnName(spec.name);
    const lower = name.toLowerCase();
    const prev = seen.get(lower);
    if (prev !== undefined) {
      throw new LakeError('LAKE_SCHEMA_INVALID', `column ${JSON.stringify(name)} is declared twice${prev !== name ? ` (as ${JSON.stringify(prev)}; names are case-insensitive)` : ''}`);
    }
    if (reservedLower.has(lower)) {
      throw new LakeError('LAKE_SCHEMA_INVALID', `column ${JSON.stringify(name)} has the name of a partition field: rename one of them`);
    }
    seen.set(lower, name);
    const type = parseColumnType(spec.type, name);
    if (spec.nullable !== undefined && typeof spec.nullable !== 'boolean') {
      throw new LakeError('LAKE_SCHEMA_INVALID', `column ${JSON.stringify(name)}: nullable must be true or false`);
    }
    return { name, type, nullable: spec.nullable ?? true };
  });
}

/**
 * What it takes to go from `current` to a schema that also holds every column of `wanted`.
 * `nextId` numbers the added columns.
 *
 * @example
 * planSchemaEvolution([{ id: 1, name: 'n', type: 'int32', nullable: true }], [{ name: 'n', type: 'int64' }, { name: 'note', type: 'string' }], 2);
 * // { add: [{ id: 2, name: 'note', type: 'string', nullable: true }], widen: [{ name: 'n', from: 'int32', to: 'int64' }], relax: [] }
 */
export function planSchemaEvolution(
  current: readonly Column[],
  wanted: readonly ColumnSpec[],
  nextId: number,
  opts: { tableHasRows?: boolean; reserved?: readonly string[] } = {},
): SchemaChange {
  const specs = normalizeColumns(wanted, opts.reserved);
  const byLower = new Map(current.map((c) => [c.name.toLowerCase(), c]));
  const change: SchemaChange = { add: [], widen: [], relax: [] };
  let id = nextId;
  for (const spec of specs) {
    const existing = byLower.get(spec.name.toLowerCase());
    if (!existing) {
      if (!spec.nullable && opts.tableHasRows !== false) {
        throw new LakeError(
          'LAKE_SCHEMA_INCOMPATIBLE',
          `column ${JSON.stringify(spec.name)}: a column added to a table that has rows must be nullable (the existing rows have no value)`,
        );
      }
      change.add.push({ id: id++, name: spec.name, type: spec.type, nullable: spec.nullable });
      continue;
    }
    if (existing.name !== spec.name) {
      throw new LakeError(
        'LAKE_SCHEMA_INCOMPATIBLE',
        `column ${JSON.stringify(spec.name)}: the table has it as ${JSON.stringify(existing.name)}; names are case-insensitive and columns cannot be renamed`,
      );
    }
    if (existing.type !== spec.type) {
      if (!canWiden(existing.type, spec.type)) {
        const narrowing = canWiden(spec.type, existing.type);
        throw new LakeError(
          'LAKE_SCHEMA_INCOMPATIBLE',
          `column ${JSON.stringify(spec.name)}: cannot change ${existing.type} to ${spec.type}` +
            (narrowing ? ' (that narrows the type: existing values may not fit)' : '') +
            `; allowed changes are ${WIDENINGS}`,
        );
      }
      change.widen.push({ name: existing.name, from: existing.type, to: spec.type });
    }
    if (existing.nullable !== spec.nullable) {
      if (!spec.nullable) {
        throw new LakeError(
          'LAKE_SCHEMA_INCOMPATIBLE',
          `column ${JSON.stringify(spec.name)}: cannot make a nullable column NOT NULL (existing rows may hold nulls)`,
        );
      }
      change.relax.push(existing.name);
    }
  }
  return change;
}

/** The columns after a change (ids kept; widened types and relaxed nullability applied; additions last). */
export function applySchemaChange(current: readonly Column[], change: SchemaChange): Column[] {
  const widened = new Map(change.widen.map((w) => [w.name, w.to]));
  const relaxed = new Set(change.relax);
  return [
    ...current.map((c) => ({ ...c, type: widened.get(c.name) ?? c.type, nullable: relaxed.has(c.name) ? true : c.nullable })),
    ...change.add,
  ];
}

/**
 * Checks that a data file's columns can be read as the table's: every file column is a table
 * column whose type it widens to, and every NOT NULL table column is in the file. Returns the
 * problems (empty when it fits).
 */
export function fileSchemaProblems(table: readonly Column[], file: ReadonlyArray<{ name: string; type: ColumnType | null; duckType?: string }>): string[] {
  const problems: string[] = [];
  const byLower = new Map(table.map((c) => [c.name.toLowerCase(), c]));
  const inFile = new Set<string>();
  for (const f of file) {
    inFile.add(f.name.toLowerCase());
    const col = byLower.get(f.name.toLowerCase());
    if (f.type === null) {
      problems.push(`column ${JSON.stringify(f.name)} has type ${f.duckType ?? 'unknown'}, which the lake cannot store (cast it to a supported type)`);
      continue;
    }
    if (!col) {
      problems.push(`column ${JSON.stringify(f.name)} (${f.type}) is not in the table`);
      continue;
    }
    if (!canWiden(f.type, col.type)) {
      problems.push(`column ${JSON.stringify(f.name)} is ${f.type} in the file but ${col.type} in the table`);
    }
  }
  for (const c of table) {
    if (!c.nullable && !inFile.has(c.name.toLowerCase())) problems.push(`NOT NULL column ${JSON.stringify(c.name)} is missing from the file`);
  }
  return problems;
}
