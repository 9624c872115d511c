/**
 * The warehouse: one SQL gateway over DuckDB through which every query runs (lake tables as
 * `zone.table` views, time travel, streaming results, cancellation, positioned errors), and
 * marts as SQL models (`ref()`/`source()`, materializations view/table/incremental, tests)
 * whose tables are committed back to the lake's `curated` zone.
 *
 * @example
 * ```ts
 * const gateway = await SqlGateway.open({ lake });
 * const cursor = await gateway.query('SELECT query, count(*) AS n FROM raw.searches GROUP BY ALL ORDER BY n DESC LIMIT 10');
 * for await (const rows of cursor.batches()) console.log(rows);
 * const runner = new ModelRunner({ gateway, lake, modelsDir: './models', governance });
 * const { ok, results } = await runner.build({ select: ['+top_products'] });
 * ```
 */
export { SqlGateway, QueryCursor, type GatewayOptions, type QueryOptions, type ColumnInfo, type RunningQuery, type GatewaySession } from './gateway/gateway.ts';
export { ArrowEncoder } from './gateway/arrow.ts';
export { WarehouseError, type WarehouseErrorCode, type SqlPosition } from './errors.ts';
export { findLakeRefs, rewriteAsOf, parseTime, type LakeRef } from './sql/lake-refs.ts';
export { tokenize, type Token } from './sql/tokens.ts';
export { parseDuckdbError, locateError, caretContext, positionAt } from './sql/positions.ts';
export { SourceMap, applyEdits, wrap } from './sql/source-map.ts';
export { parseTemplate, renderTemplate, type ParsedTemplate, type RenderContext } from './models/template.ts';
export { buildDag, selectModels, type Dag, type DagModel } from './models/dag.ts';
export { parseProject, loadProject, compileModel, compileTests, type Project, type ModelDef, type CompiledTest, type ProjectFile } from './models/project.ts';
export { resolveModelConfig, parsePropertiesFile, type ModelConfig, type TestSpec, MATERIALIZATIONS, INCREMENTAL_STRATEGIES } from './models/spec.ts';
export { planOutput } from './models/output.ts';
export { ModelRunner, type BuildOptions, type ModelResult, type TestResult, type BuildEvent } from './models/runner.ts';
export { createWarehousePart, type WarehousePart } from './part.ts';
export { warehouseConfigSchema, resolveWarehouseConfig, type WarehouseConfig, type ResolvedWarehouseConfig } from './config.ts';
