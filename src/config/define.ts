import type { TributaryConfig } from './types.ts';

/**
 * Declares a project's configuration with full type checking; returns it unchanged.
 * `tributary up` validates it again at start-up and names any bad field.
 *
 * @example
 * ```ts
 * // tributary.config.ts
 * import { defineConfig } from 'tributary';
 * export default defineConfig({
 *   http: { port: 8080 },
 *   topics: { 'shop.orders': { partitions: 6 } },
 *   generators: [{ kind: 'shop', ratePerSecond: 50 }],
 * });
 * ```
 */
export function defineConfig<T extends TributaryConfig>(config: T): T {
  return config;
}
