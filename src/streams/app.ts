/**
 * A stream app: an id, a function that builds its topology, and its settings. A project keeps
 * each app in a module under `streams/` whose default export is `defineStreamApp({...})`;
 * `tributary up` runs them. From code, `runStreamApp(bus, app, opts)` runs one on any bus.
 *
 * @example
 * ```ts
 * // streams/page-counts.ts
 * import { defineStreamApp, TimeWindows } from 'tributary';
 * export default defineStreamApp({
 *   id: 'page-counts',
 *   build(b) {
 *     b.stream<string, { page: string }>('clicks')
 *       .groupBy((_k, v) => v.page, { name: 'by-page' })
 *       .windowedBy(TimeWindows.tumbling(60_000))
 *       .count({ name: 'counts', emit: 'final' })
 *       .toStream()
 *       .to('page-counts');
 *   },
 * });
 * ```
 */
import type { Bus } from '../bus/types.ts';
import type { StreamAppSettings } from './config.ts';
import { StreamsBuilder } from './dsl/builder.ts';
import { StreamsError, errorMessage } from './errors.ts';
import { StreamAppRunner, type RunnerOptions } from './runtime/runner.ts';
import type { Topology } from './topology.ts';

export interface StreamAppDefinition extends Omit<StreamAppSettings, 'enabled'> {
  /** The app id: consumer group, transactional ids and internal topic names derive from it. */
  id: string;
  description?: string;
  build(builder: StreamsBuilder): void;
}

const ID = /^[a-zA-Z0-9._-]{1,100}$/;

export function defineStreamApp(def: StreamAppDefinition): StreamAppDefinition {
  if (!def || typeof def !== 'object') throw new StreamsError('APP_INVALID', 'defineStreamApp() needs an object { id, build(builder) { … } }');
  if (typeof def.id !== 'string' || !ID.test(def.id)) throw new StreamsError('APP_INVALID', `stream app id ${JSON.stringify(def.id)}: use 1–100 of the characters a-z A-Z 0-9 . _ -`);
  if (typeof def.build !== 'function') throw new StreamsError('APP_INVALID', `stream app ${def.id}: build(builder) is missing`);
  return def;
}

/** Builds an app's topology; errors name the app. */
export function buildTopology(def: StreamAppDefinition): Topology {
  const b = new StreamsBuilder(def.id);
  try {
    def.build(b);
  } catch (err) {
    if (err instanceof StreamsError) throw err;
    throw new StreamsError('APP_INVALID', `stream app ${def.id}: build() threw: ${errorMessage(err)}`, { cause: err });
  }
  return b.build();
}

/**
 * Starts an app on a bus and resolves once its tasks run. `stateDir` holds local snapshots
 * (null: restore from changelogs only).
 *
 * @example
 * ```ts
 * const running = await runStreamApp(bus, app, { stateDir: './.tributary/streams' });
 * await running.stop();
 * ```
 */
export async function runStreamApp(bus: Bus, def: StreamAppDefinition, opts: Partial<RunnerOptions> & { settings?: StreamAppSettings; waitMs?: number } = {}): Promise<StreamAppRunner> {
  const topology = buildTopology(def);
  const runner = new StreamAppRunner(bus, topology, { ...settingsOf(def), ...opts.settings, stateDir: null, ...opts });
  runner.start();
  try {
    await runner.waitUntilRunning(opts.waitMs ?? 60_000);
  } catch (err) {
    await runner.stop();
    throw err;
  }
  return runner;
}

/** The runner settings an app definition carries. */
export function settingsOf(def: StreamAppDefinition): Partial<RunnerOptions> {
  const out: Partial<RunnerOptions> = {};
  if (def.processingGuarantee) out.processingGuarantee = def.processingGuarantee;
  if (def.commitIntervalMs !== undefined) out.commitIntervalMs = def.commitIntervalMs;
  if (def.onError) out.onError = def.onError;
  if (def.deadLetterTopic) out.deadLetterTopic = def.deadLetterTopic;
  if (def.idleMs !== undefined) out.idleMs = def.idleMs;
  if (def.maxFutureMs !== undefined) out.maxFutureMs = def.maxFutureMs;
  if (def.maxPastMs !== undefined) out.maxPastMs = def.maxPastMs;
  if (def.snapshotIntervalMs !== undefined) out.snapshotIntervalMs = def.snapshotIntervalMs;
  return out;
}
