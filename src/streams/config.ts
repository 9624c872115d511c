/**
 * The `streams` section of `tributary.config.ts`: where the project's stream apps live and
 * per-app settings. Validated by a zod schema (paths in errors: `streams.apps.ranking.commitIntervalMs: …`)
 * and resolved to an absolute folder.
 */
import path from 'node:path';
import { z } from 'zod';
import { bool, got, num, obj, oneOf, str } from '../util/schema.ts';

/** Settings of one stream app (any of them also fit in the app module's `defineStreamApp`). */
export interface StreamAppSettings {
  /** Run the app (default true). */
  enabled?: boolean;
  /** `exactly_once` (default on the embedded log) or `at_least_once` (always on an external cluster). */
  processingGuarantee?: 'exactly_once' | 'at_least_once';
  /** How often outputs, state and offsets are committed (default 100 ms). */
  commitIntervalMs?: number;
  /** A record that fails to deserialize or makes a user function throw: `dead-letter` (default) or `stop`. */
  onError?: 'dead-letter' | 'stop';
  /** Default `<app>-dlq`. */
  deadLetterTopic?: string;
  /** Wall-clock silence after which a partition stops holding the watermark back and windows close by the clock (default 5 s). */
  idleMs?: number;
  /** Event times further ahead of the clock are rejected to the dead-letter topic (default 1 day). */
  maxFutureMs?: number;
  /** Event times further behind the clock are rejected to the dead-letter topic (default: no limit, so history can be replayed). */
  maxPastMs?: number;
  /** How often state stores are snapshotted locally (default 10 s). */
  snapshotIntervalMs?: number;
}

/**
 * @example
 * ```ts
 * streams: { dir: './streams', apps: { 'search-ranking': { commitIntervalMs: 200 } } }
 * ```
 */
export interface StreamsConfig {
  /** Folder of the stream apps, relative to the config file (default `./streams`). */
  dir?: string;
  /** Per-app settings, by app id; they override the app module's own. */
  apps?: Record<string, StreamAppSettings>;
}

export interface ResolvedStreamsConfig {
  /** Absolute. */
  dir: string;
  apps: Record<string, StreamAppSettings>;
}

export const streamAppSettingsSchema = obj({
  enabled: bool().optional(),
  processingGuarantee: oneOf(['exactly_once', 'at_least_once'] as const).optional(),
  commitIntervalMs: num({ int: true, min: 1 }).optional(),
  onError: oneOf(['dead-letter', 'stop'] as const).optional(),
  deadLetterTopic: str('a topic name').optional(),
  idleMs: num({ int: true, min: 1 }).optional(),
  maxFutureMs: num({ int: true, min: 0 }).optional(),
  maxPastMs: num({ int: true, min: 0 }).optional(),
  snapshotIntervalMs: num({ int: true, min: 1 }).optional(),
});

export const streamsConfigSchema = obj({
  dir: str('a directory path').optional(),
  apps: z.record(z.string(), streamAppSettingsSchema, { error: (iss) => `expected an object of app id → settings${got(iss.input)}` }).optional(),
});

export function resolveStreamsConfig(streams: StreamsConfig | undefined, dirs: { fileDir: string }): ResolvedStreamsConfig {
  return { dir: path.resolve(dirs.fileDir, streams?.dir ?? './streams'), apps: streams?.apps ?? {} };
}
