/**
 * The stream apps of one running Tributary: starts a runner per app, and answers what the HTTP
 * API and `tributary streams` ask — the list, a description (topology, tasks, lag, store sizes),
 * and interactive queries of stores by key or key range.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/types.ts';
import { buildTopology, settingsOf, type StreamAppDefinition } from './app.ts';
import type { StreamAppSettings } from './config.ts';
import { StreamsError, errorMessage } from './errors.ts';
import { StreamAppRunner, type AppState } from './runtime/runner.ts';
import { KeyValueStore, WindowedStore, keyId } from './state/stores.ts';
import { describeTopology, type TopologyDescription } from './topology.ts';

export interface AppSummary {
  id: string;
  description: string | null;
  file: string | null;
  state: AppState | 'failed' | 'disabled';
  detail: string;
  processingGuarantee: string | null;
  tasks: number;
  stores: number;
  processed: number;
  deadLettered: number;
  late: number;
  lastError: { code: string; message: string; at: string } | null;
}

export interface AppDescription extends AppSummary {
  topology: TopologyDescription | null;
  taskDetails: Array<{ id: string; partition: number; inputs: string[]; watermark: number | null; processed: number; stores: Array<{ name: string; entries: number; approximateBytes: number }> }>;
  lag: Array<{ topic: string; partition: number; committedOffset: number | null; logEndOffset: number; lag: number | null }>;
  totalLag: number;
  partitions: { topics: Record<string, number>; tasks: Record<number, number> };
}

interface Entry {
  id: string;
  file: string | null;
  def: StreamAppDefinition | null;
  runner: StreamAppRunner | null;
  error: string | null;
  disabled: boolean;
}

export interface StreamsServiceOptions {
  bus: Bus;
  logger?: Logger;
  registry?: Registry;
  /** Folder for local snapshots (one subfolder per app). */
  stateDir: string | null;
  settings?: Record<string, StreamAppSettings>;
}

export class StreamsService {
  private readonly apps = new Map<string, Entry>();

  constructor(private readonly opts: StreamsServiceOptions) {}

  /** Registers an app (started by `start()`); a definition that does not build is kept with its error. */
  add(def: StreamAppDefinition | null, file: string | null, loadError: string | null = null): void {
    const id = def?.id ?? `(${file ?? 'unknown'})`;
    if (this.apps.has(id)) {
      this.opts.logger?.error({ app: id, file }, 'two stream apps share one id; the second is ignored');
      this.apps.set(`${id} (${file})`, { id: `${id} (${file})`, file, def: null, runner: null, error: `app id ${id} is already used by ${this.apps.get(id)!.file}`, disabled: false });
      return;
    }
    const settings = this.opts.settings?.[id] ?? {};
    const entry: Entry = { id, file, def, runner: null, error: loadError, disabled: settings.enabled === false };
    if (def && !entry.disabled) {
      try {
        const topology = buildTopology(def);
        entry.runner = new StreamAppRunner(this.opts.bus, topology, {
          ...settingsOf(def),
          ...stripEnabled(settings),
          stateDir: this.opts.stateDir,
          ...(this.opts.logger ? { logger: this.opts.logger.child({ streamApp: id }) } : {}),
          ...(this.opts.registry ? { registry: this.opts.registry } : {}),
        });
      } catch (err) {
        entry.error = errorMessage(err);
      }
    }
    if (entry.error) this.opts.logger?.error({ app: id, file, err: entry.error }, 'stream app cannot run');
    this.apps.set(id, entry);
  }

  start(): void {
    for (const e of this.apps.values()) e.runner?.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apps.values()].map((e) => e.runner?.stop()));
  }

  runner(id: string): StreamAppRunner | null {
    return this.apps.get(id)?.runner ?? null;
  }

  private entry(id: string): Entry {
    const e = this.apps.get(id);
    if (!e) throw new StreamsError('APP_NOT_FOUND', `no stream app ${JSON.stringify(id)}; known: ${[...this.apps.keys()].join(', ') || 'none'} (see tributary streams list)`);
    return e;
  }

  private summary(e: Entry): AppSummary {
    const r = e.runner;
    return {
      id: e.id,
      description: e.def?.description ?? null,
      file: e.file,
      state: e.disabled ? 'disabled' : r ? r.state : 'failed',
      detail: e.error ?? r?.detail ?? '',
      processingGuarantee: r?.processingGuarantee ?? null,
      tasks: r?.taskList().length ?? 0,
      stores: r?.topology.stores.size ?? 0,
      processed: r?.totals.processed ?? 0,
      deadLettered: r?.totals.deadLettered ?? 0,
      late: r?.totals.late ?? 0,
      lastError: r?.lastError ?? (e.error ? { code: 'APP_INVALID', message: e.error, at: '' } : null),
    };
  }

  list(): AppSummary[] {
    return [...this.apps.values()].map((e) => this.summary(e));
  }

  /** Ready unless an app failed to load. */
  healthy(): boolean {
    return [...this.apps.values()].every((e) => e.disabled || (e.runner && e.runner.state !== 'failed'));
  }

  async describe(id: string): Promise<AppDescription> {
    const e = this.entry(id);
    const r = e.runner;
    let lag: AppDescription['lag'] = [];
    if (r) {
      try {
        lag = (await this.opts.bus.admin().describeGroup(e.id)).offsets.map((o) => ({ topic: o.topic, partition: o.partition, committedOffset: o.committedOffset, logEndOffset: o.logEndOffset, lag: o.lag }));
      } catch {
        lag = []; // no commits yet
      }
    }
    return {
      ...this.summary(e),
      topology: r ? describeTopology(r.topology) : null,
      taskDetails: (r?.taskList() ?? []).map((t) => ({
        id: t.id,
        partition: t.partition,
        inputs: t.inputs().map((i) => `${i.topic}-${i.partition}`),
        watermark: Number.isFinite(t.watermark) ? t.watermark : null,
        processed: t.counts.processed,
        stores: [...t.stores.values()].map((s) => ({ name: s.name, entries: s.size, approximateBytes: s.approximateBytes() })),
      })),
      lag,
      totalLag: lag.reduce((n, o) => n + (o.lag ?? 0), 0),
      partitions: r?.partitionInfo() ?? { topics: {}, tasks: {} },
    };
  }

  /**
   * Interactive query of a store on this instance. `key` (a string; JSON text for non-string
   * keys) returns its value (windowed stores: its windows, optionally within `from`/`to` of
   * window start); without `key`, entries in key order between `from` and `to` (kv stores).
   */
  query(id: string, storeName: string, q: { key?: string; from?: string; to?: string; limit?: number }): unknown {
    const e = this.entry(id);
    const r = e.runner;
    if (!r) throw new StreamsError('STORE_NOT_AVAILABLE', `app ${id} is not running: ${e.error ?? 'disabled'}`);
    const spec = r.topology.stores.get(storeName);
    if (!spec) throw new StreamsError('STORE_NOT_FOUND', `app ${id} has no store ${JSON.stringify(storeName)}; its stores: ${[...r.topology.stores.keys()].join(', ')}`);
    const tasks = r.taskList().filter((t) => t.stores.has(storeName));
    const hosted = tasks.map((t) => t.partition).sort((a, b) => a - b);
    const limit = q.limit ?? 100;
    const keyCandidates = (raw: string): unknown[] => {
      const c: unknown[] = [raw];
      try {
        const j = JSON.parse(raw) as unknown;
        if (typeof j !== 'string') c.push(j);
      } catch {
        // plain string key
      }
      return c;
    };
    if (spec.kind === 'kv') {
      if (q.key !== undefined) {
        for (const k of keyCandidates(q.key)) {
          for (const t of tasks) {
            const s = t.stores.get(storeName) as KeyValueStore;
            const v = s.get(k);
            if (v !== undefined) return { store: storeName, key: k, value: v, partition: t.partition };
          }
        }
        throw new StreamsError('STORE_NOT_FOUND', `store ${storeName} of app ${id} has no key ${JSON.stringify(q.key)} in the partitions hosted here (${hosted.join(', ') || 'none'})`);
      }
      const from = q.from !== undefined ? keyId(q.from) : null;
      const to = q.to !== undefined ? keyId(q.to) : null;
      const entries = tasks
        .flatMap((t) => (t.stores.get(storeName) as KeyValueStore).range(from, to, limit).map((x) => ({ key: x.key, value: x.value, partition: t.partition })))
        .sort((a, b) => (keyId(a.key) < keyId(b.key) ? -1 : keyId(a.key) > keyId(b.key) ? 1 : 0))
        .slice(0, limit);
      return { store: storeName, kind: 'kv', partitions: hosted, entries };
    }
    const fromT = q.from !== undefined ? Number(q.from) : -Infinity;
    const toT = q.to !== undefined ? Number(q.to) : Infinity;
    if (Number.isNaN(fromT) || Number.isNaN(toT)) throw new StreamsError('BAD_QUERY', 'from/to of a windowed store are window start times in ms since the epoch');
    const windows: Array<{ key: unknown; start: number; end: number; value: unknown; partition: number }> = [];
    for (const t of tasks) {
      const s = t.stores.get(storeName) as WindowedStore;
      const list = q.key !== undefined ? keyCandidates(q.key).flatMap((k) => s.byKey(k)) : [...s.entries()];
      for (const w of list) if (w.start >= fromT && w.start <= toT) windows.push({ key: w.key, start: w.start, end: w.end, value: w.value, partition: t.partition });
    }
    windows.sort((a, b) => a.start - b.start || (keyId(a.key) < keyId(b.key) ? -1 : 1));
    return { store: storeName, kind: 'windowed', partitions: hosted, windows: windows.slice(0, limit) };
  }
}

function stripEnabled(s: StreamAppSettings): Omit<StreamAppSettings, 'enabled'> {
  const { enabled: _e, ...rest } = s;
  return rest;
}
