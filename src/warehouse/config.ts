/**
 * The `warehouse` section of `tributary.config.ts`: where the SQL models are and which DuckDB
 * database file the gateway owns. Validated by zod (paths in errors: `warehouse.modelsDir: …`)
 * and resolved to absolute paths.
 */
import path from 'node:path';
import { obj, str } from '../util/schema.ts';

/**
 * @example
 * ```ts
 * warehouse: { modelsDir: './models', database: './.tributary/warehouse/warehouse.duckdb' }
 * ```
 */
export interface WarehouseConfig {
  /** Folder of the SQL models (`<name>.sql`, `*.yml`, `<name>.test.sql`); relative to the config file (default `./models`). */
  modelsDir?: string;
  /** The DuckDB database file the gateway owns; relative to the config file (default `<dataDir>/warehouse/warehouse.duckdb`; `:memory:` keeps nothing on disk). */
  database?: string;
}

export const warehouseConfigSchema = obj({
  modelsDir: str('a directory path').optional(),
  database: str('a file path or ":memory:"').optional(),
});

export interface ResolvedWarehouseConfig {
  /** Absolute. */
  modelsDir: string;
  /** Absolute, or `:memory:`. */
  database: string;
}

export function resolveWarehouseConfig(w: WarehouseConfig | undefined, dirs: { fileDir: string; dataDir: string }): ResolvedWarehouseConfig {
  const c = w ?? {};
  return {
    modelsDir: path.resolve(dirs.fileDir, c.modelsDir ?? 'models'),
    database:
      c.database === ':memory:' ? ':memory:' : c.database !== undefined ? path.resolve(dirs.fileDir, c.database) : path.join(dirs.dataDir, 'warehouse', 'warehouse.duckdb'),
  };
}
