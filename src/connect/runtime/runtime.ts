/**
 * The connector runtime (Kafka Connect's worker): connectors, their tasks, their state.
 *
 * Design note.
 * - A connector has a *target state* (RUNNING, PAUSED, STOPPED) that users set and that is
 *   persisted with its config in the compacted topic `_connect-configs`, so connectors created
 *   over the API come back after a restart in the state they were left in. Connectors declared
 *   in `tributary.config.ts` are (re)applied from the file at every start.
 * - Its *status* is what is true now: the connector is RUNNING/PAUSED/STOPPED/FAILED (a config
 *   that no longer validates, a plugin that could not split its work) and each task is
 *   RUNNING/PAUSED/FAILED with the error as `trace`.
 * - Every operation on one connector (create, reconfigure, pause, restart, delete) runs after
 *   the previous one finished (a per-connector queue), so a restart never races a delete.
 * - Restarting stops the tasks gracefully — a source stores the offsets of what is durable, a
 *   sink commits what it flushed and leaves its group — then asks the plugin to split the work
 *   again (the task count may have changed) and starts the new tasks: the group rebalances the
 *   partitions over them, and nothing is lost or read twice beyond the at-least-once window.
 * - Source offsets live in `_connect-offsets`; sink offsets are the group's committed offsets
 *   (and, for exactly-once sinks, the plugin's own).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, BusProducer } from '../../bus/types.ts';
import type { Governance, Principal } from '../../govern/index.ts';
import { counter } from '../../monitor/metrics.ts';
import type { Problem } from '../../util/schema.ts';
import { checkConnectorConfig, configForDisplay, formatProblems, parseConnectorConfig, type PluginRegistry, type ValidatedConfig } from '../config.ts';
import { ConnectError, errorMessage } from '../errors.ts';
import { compileTransforms } from '../transforms/index.ts';
import type { CommonConfig, ConnectorPlugin, JsonObject } from '../types.ts';
import { createConverter } from './converters.ts';
import { clearPositions, recoverOffsets } from './exactly-once.ts';
import { OffsetStore } from './offsets.ts';
import { SinkTaskRunner, sinkGroupId } from './sink-runner.ts';
import { SourceTaskRunner } from './source-runner.ts';
import type { ConnectMetrics, TaskEnv, TaskRunner, TaskState } from './task-runner.ts';
import { TopicStore } from './topic-store.ts';

export type TargetState = 'RUNNING' | 'PAUSED' | 'STOPPED';
export type ConnectorState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED';

export interface ConnectorStatus {
  name: string;
  type: 'source' | 'sink' | 'unknown';
  connector: { state: ConnectorState; workerId: string; trace?: string };
  tasks: Array<{ id: number; state: TaskState; workerId: string; trace?: string }>;
}

export interface ConnectorInfo {
  name: string;
  type: 'source' | 'sink' | 'unknown';
  config: Record<string, unknown>;
  tasks: Array<{ connector: string; task: number }>;
  /** Where the connector was declared: the config file, or the API. */
  origin: 'config-file' | 'api';
}

interface StoredConnector {
  config: Record<string, unknown> | null;
  target: TargetState;
  origin: 'config-file' | 'api';
}

interface Entry {
  name: string;
  raw: Record<string, unknown>;
  origin: 'config-file' | 'api';
  target: TargetState;
  validated: ValidatedConfig | null;
  state: ConnectorState;
  trace: string | null;
  tasks: TaskRunner[];
  queue: Promise<unknown>;
}

export interface ConnectRuntimeOptions {
  bus: Bus;
  governance: Governance;
  logger: Logger;
  plugins: ConnectorPlugin[];
  registry?: Registry;
  workerId?: string;
  /** Compacted topic of source offsets (default `_connect-offsets`). */
  offsetsTopic?: string;
  /** Compacted topic of connector configs and target states (default `_connect-configs`). */
  configsTopic?: string;
  /** How often source offsets are stored (default 1000 ms). */
  offsetFlushIntervalMs?: number;
  principal?: Principal;
}

export class ConnectRuntime {
  readonly plugins: PluginRegistry;
  readonly workerId: string;
  private readonly entries = new Map<string, Entry>();
  private offsets!: OffsetStore;
  private configs!: TopicStore<StoredConnector>;
  private producer!: BusProducer;
  private readonly metrics: ConnectMetrics | null;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: ConnectRuntimeOptions) {
    const map = new Map<string, ConnectorPlugin>();
    for (const p of opts.plugins) {
      if (map.has(p.name)) throw new ConnectError('CONNECTOR_CONFIG_INVALID', `two connector plugins are named "${p.name}"`);
      map.set(p.name, p);
    }
    this.plugins = map;
    this.workerId = opts.workerId ?? 'tributary:0';
    this.metrics = opts.registry
      ? {
          records: counter(opts.registry, { name: 'tributary_connect_records_total', help: 'Records moved by connectors (source: written to the log; sink: handed to the sink).', labelNames: ['connector', 'direction'] }),
          errors: counter(opts.registry, { name: 'tributary_connect_record_errors_total', help: 'Records that failed in a connector, by stage.', labelNames: ['connector', 'stage'] }),
          deadLettered: counter(opts.registry, { name: 'tributary_connect_dead_letter_records_total', help: 'Records written to a dead-letter topic.', labelNames: ['connector'] }),
          retries: counter(opts.registry, { name: 'tributary_connect_retries_total', help: 'Retries of failed connector operations.', labelNames: ['connector'] }),
        }
      : null;
  }

  private get principal(): Principal {
    return this.opts.principal ?? { name: 'Service:connect' };
  }

  /**
   * Starts the stored and declared connectors. The offsets and config topics are opened (and
   * created) only once there is a connector, so an instance without connectors adds no topics.
   */
  async start(declared: Record<string, Record<string, unknown>> = {}): Promise<void> {
    const { bus } = this.opts;
    this.producer = bus.producer({ lingerMs: 1 });
    this.started = true;

    // Declared connectors are checked first, so a bad config file fails start-up with every problem.
    const problems: string[] = [];
    const declaredValid = new Map<string, ValidatedConfig>();
    for (const [name, raw] of Object.entries(declared)) {
      try {
        declaredValid.set(name, await parseConnectorConfig(name, raw, this.plugins, { skipPluginChecks: true }));
      } catch (err) {
        problems.push(`connect.connectors.${name}: ${errorMessage(err).replace(`connector ${name}: `, '')}`);
      }
    }
    if (problems.length) throw new ConnectError('CONNECTOR_CONFIG_INVALID', problems.join('\n'));

    const configsTopic = this.opts.configsTopic ?? '_connect-configs';
    const haveStored = (await bus.admin().listTopics({ includeInternal: true })).some((t) => t.name === configsTopic);
    if (!haveStored && Object.keys(declared).length === 0) return;
    await this.ensureStores();

    for (const [name, stored] of this.configs.entries()) {
      if (declared[name] || stored.origin === 'config-file') continue;
      if (!stored.config) continue;
      this.entries.set(name, this.newEntry(name, stored.config, 'api', stored.target));
    }
    for (const [name, raw] of Object.entries(declared)) {
      const stored = this.configs.get(name);
      const target = stored?.target ?? 'RUNNING';
      this.entries.set(name, this.newEntry(name, raw, 'config-file', target));
      if (!stored || stored.origin !== 'config-file') await this.configs.put(name, { config: null, target, origin: 'config-file' });
    }
    for (const e of this.entries.values()) await this.enqueue(e, () => this.startConnector(e));
  }

  /** Stops every connector's tasks (storing offsets) and closes the stores' producer. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.entries.values()].map((e) => this.enqueue(e, () => this.stopTasks(e)).catch(() => {})));
    await this.producer?.close().catch(() => {});
  }

  private storesReady: Promise<void> | null = null;

  private ensureStores(): Promise<void> {
    const { bus, governance, logger } = this.opts;
    this.storesReady ??= (async () => {
      const offsetsStore = await TopicStore.open<JsonObject>({ bus, topic: this.opts.offsetsTopic ?? '_connect-offsets', governance, principal: this.principal, logger, producer: this.producer });
      this.offsets = new OffsetStore(offsetsStore);
      this.configs = await TopicStore.open<StoredConnector>({ bus, topic: this.opts.configsTopic ?? '_connect-configs', governance, principal: this.principal, logger, producer: this.producer });
    })().catch((err) => {
      this.storesReady = null;
      throw err;
    });
    return this.storesReady;
  }

  private newEntry(name: string, raw: Record<string, unknown>, origin: Entry['origin'], target: TargetState): Entry {
    return { name, raw, origin, target, validated: null, state: 'UNASSIGNED', trace: null, tasks: [], queue: Promise.resolve() };
  }

  private enqueue<T>(e: Entry, fn: () => Promise<T>): Promise<T> {
    const run = e.queue.then(fn, fn);
    e.queue = run.catch(() => {});
    return run;
  }

  private assertRunning(): void {
    if (!this.started || this.stopped) throw new ConnectError('RUNTIME_STOPPED', 'the connector runtime is not running');
  }

  private entry(name: string): Entry {
    this.assertRunning();
    const e = this.entries.get(name);
    if (!e) {
      const names = [...this.entries.keys()];
      throw new ConnectError('CONNECTOR_NOT_FOUND', `no connector named ${JSON.stringify(name)}${names.length ? ` (connectors: ${names.join(', ')})` : ' (there are none: create one with POST /api/connectors)'}`);
    }
    return e;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  private async startConnector(e: Entry): Promise<void> {
    e.trace = null;
    if (e.target === 'STOPPED') {
      e.state = 'STOPPED';
      return;
    }
    let taskConfigs: JsonObject[];
    try {
      e.validated = await parseConnectorConfig(e.name, e.raw, this.plugins);
      const { config, plugin } = e.validated;
      if (plugin.kind === 'source' && plugin.exactlyOnce) {
        await recoverOffsets({ bus: this.opts.bus, offsets: this.offsets, connector: e.name, logger: this.opts.logger });
        await clearPositions(this.offsets, e.name);
      }
      taskConfigs = plugin.taskConfigs
        ? await plugin.taskConfigs(config, config.tasksMax)
        : plugin.kind === 'sink'
          ? Array.from({ length: config.tasksMax }, () => ({})) // the consumer group spreads the partitions
          : [{}];
      if (taskConfigs.length === 0) taskConfigs = [{}];
      taskConfigs = taskConfigs.slice(0, config.tasksMax);
    } catch (err) {
      e.state = 'FAILED';
      e.trace = errorMessage(err);
      this.opts.logger.error({ connector: e.name, err: e.trace }, 'connector failed to start');
      return;
    }
    const { config, plugin } = e.validated;
    const chain = compileTransforms(config.transforms as never);
    const keyConverter = createConverter(config.keyConverter, { schemas: config.schemas });
    const valueConverter = createConverter(config.valueConverter, { schemas: config.schemas });
    e.tasks = taskConfigs.map((taskConfig, taskId) => {
      const env: TaskEnv = {
        connector: e.name,
        taskId,
        plugin,
        config,
        taskConfig,
        bus: this.opts.bus,
        producer: this.producer,
        offsets: this.offsets,
        governance: this.opts.governance,
        principal: { name: config.principal },
        logger: this.opts.logger,
        metrics: this.metrics,
        chain,
        keyConverter,
        valueConverter,
        offsetFlushIntervalMs: this.opts.offsetFlushIntervalMs ?? 1000,
      };
      return plugin.kind === 'source' ? new SourceTaskRunner(env) : new SinkTaskRunner(env);
    });
    for (const t of e.tasks) t.start(e.target === 'PAUSED');
    e.state = e.target === 'PAUSED' ? 'PAUSED' : 'RUNNING';
    this.opts.logger.info({ connector: e.name, plugin: plugin.name, tasks: e.tasks.length, state: e.state }, 'connector started');
  }

  private async stopTasks(e: Entry): Promise<void> {
    const tasks = e.tasks;
    e.tasks = [];
    await Promise.all(tasks.map((t) => t.stop().catch((err) => this.opts.logger.warn({ connector: e.name, err }, 'task did not stop cleanly'))));
  }

  private async persist(e: Entry): Promise<void> {
    await this.configs.put(e.name, { config: e.origin === 'api' ? configForDisplay(e.raw) : null, target: e.target, origin: e.origin });
  }

  // ---- the API ------------------------------------------------------------------------------

  list(): string[] {
    this.assertRunning();
    return [...this.entries.keys()].sort();
  }

  info(name: string): ConnectorInfo {
    const e = this.entry(name);
    return {
      name,
      type: e.validated?.plugin.kind ?? this.plugins.get(String(e.raw['connector']))?.kind ?? 'unknown',
      config: configForDisplay(e.raw),
      tasks: e.tasks.map((t) => ({ connector: name, task: t.id })),
      origin: e.origin,
    };
  }

  /** Each running task with its configuration: the connector's, plus what the plugin gave that task (Kafka Connect's GET …/tasks). */
  taskConfigs(name: string): Array<{ id: { connector: string; task: number }; config: Record<string, unknown> }> {
    const e = this.entry(name);
    const base = configForDisplay(e.raw);
    return e.tasks.map((t) => ({ id: { connector: name, task: t.id }, config: { ...base, ...configForDisplay(t.env.taskConfig), 'task.id': t.id } }));
  }

  config(name: string): Record<string, unknown> {
    return configForDisplay(this.entry(name).raw);
  }

  status(name: string): ConnectorStatus {
    const e = this.entry(name);
    const workerId = this.workerId;
    return {
      name,
      type: e.validated?.plugin.kind ?? this.plugins.get(String(e.raw['connector']))?.kind ?? 'unknown',
      connector: { state: e.state, workerId, ...(e.trace ? { trace: e.trace } : {}) },
      tasks: e.tasks.map((t) => ({ id: t.id, state: t.state, workerId, ...(t.trace ? { trace: t.trace } : {}) })),
    };
  }

  /** Creates a connector; CONNECTOR_EXISTS when the name is taken. */
  async create(name: string, raw: Record<string, unknown>): Promise<ConnectorInfo> {
    this.assertRunning();
    if (this.entries.has(name)) throw new ConnectError('CONNECTOR_EXISTS', `connector ${name} already exists: change it with PUT /api/connectors/${name}/config, or delete it first`);
    await parseConnectorConfig(name, raw, this.plugins);
    await this.ensureStores();
    if (this.entries.has(name)) throw new ConnectError('CONNECTOR_EXISTS', `connector ${name} already exists`);
    const e = this.newEntry(name, raw, 'api', 'RUNNING');
    this.entries.set(name, e);
    await this.enqueue(e, async () => {
      await this.persist(e);
      await this.startConnector(e);
    });
    return this.info(name);
  }

  /** Creates or reconfigures a connector (its tasks restart with the new config). */
  async putConfig(name: string, raw: Record<string, unknown>): Promise<{ created: boolean; info: ConnectorInfo }> {
    this.assertRunning();
    const existing = this.entries.get(name);
    if (!existing) return { created: true, info: await this.create(name, raw) };
    await parseConnectorConfig(name, raw, this.plugins);
    await this.enqueue(existing, async () => {
      await this.stopTasks(existing);
      existing.raw = raw;
      if (existing.origin === 'config-file') {
        this.opts.logger.warn({ connector: name }, 'connector declared in the config file was changed over the API; the file applies again at the next start');
      }
      existing.origin = 'api';
      await this.persist(existing);
      await this.startConnector(existing);
    });
    return { created: false, info: this.info(name) };
  }

  async pause(name: string): Promise<void> {
    const e = this.entry(name);
    await this.enqueue(e, async () => {
      if (e.target === 'STOPPED') throw new ConnectError('CONNECTOR_STATE_CONFLICT', `connector ${name} is stopped: resume it first`);
      e.target = 'PAUSED';
      await this.persist(e);
      for (const t of e.tasks) t.pause();
      if (e.state === 'RUNNING') e.state = 'PAUSED';
    });
  }

  async resume(name: string): Promise<void> {
    const e = this.entry(name);
    await this.enqueue(e, async () => {
      const wasStopped = e.target === 'STOPPED';
      e.target = 'RUNNING';
      await this.persist(e);
      if (wasStopped || e.state === 'FAILED' || e.tasks.length === 0) {
        await this.stopTasks(e);
        await this.startConnector(e);
        return;
      }
      for (const t of e.tasks) t.resume();
      if (e.state === 'PAUSED') e.state = 'RUNNING';
    });
  }

  /** Stops the tasks but keeps the connector (Kafka Connect's STOPPED); offsets can then be reset. */
  async stopConnector(name: string): Promise<void> {
    const e = this.entry(name);
    await this.enqueue(e, async () => {
      e.target = 'STOPPED';
      await this.persist(e);
      await this.stopTasks(e);
      e.state = 'STOPPED';
    });
  }

  /**
   * Restarts the connector: by default every task, gracefully (offsets stored, groups left),
   * then the work is split again. `onlyFailed` restarts only failed tasks (and the connector
   * when it failed).
   */
  async restart(name: string, opts: { includeTasks?: boolean; onlyFailed?: boolean } = {}): Promise<ConnectorStatus> {
    const e = this.entry(name);
    await this.enqueue(e, async () => {
      if (e.target === 'STOPPED') return;
      if (opts.onlyFailed && e.state !== 'FAILED') {
        if (opts.includeTasks !== false) {
          for (const t of e.tasks.filter((x) => x.state === 'FAILED')) await this.restartOne(e, t.id);
        }
        return;
      }
      await this.stopTasks(e);
      await this.startConnector(e);
    });
    return this.status(name);
  }

  async restartTask(name: string, taskId: number): Promise<void> {
    const e = this.entry(name);
    await this.enqueue(e, () => this.restartOne(e, taskId));
  }

  private async restartOne(e: Entry, taskId: number): Promise<void> {
    const t = e.tasks.find((x) => x.id === taskId);
    if (!t) throw new ConnectError('TASK_NOT_FOUND', `connector ${e.name} has no task ${taskId} (tasks: ${e.tasks.map((x) => x.id).join(', ') || 'none'})`);
    await t.stop();
    const fresh = t instanceof SourceTaskRunner ? new SourceTaskRunner(t.env) : new SinkTaskRunner(t.env);
    e.tasks = e.tasks.map((x) => (x === t ? fresh : x));
    fresh.start(e.target === 'PAUSED');
  }

  async delete(name: string): Promise<void> {
    const e = this.entry(name);
    await this.enqueue(e, async () => {
      await this.stopTasks(e);
      this.entries.delete(name);
      await this.configs.delete(name);
    });
  }

  /** Source: stored offsets per source partition. Sink: the group's committed offsets (and the plugin's own). */
  async getOffsets(name: string): Promise<{ offsets: Array<{ partition: JsonObject; offset: JsonObject }> }> {
    const e = this.entry(name);
    const kind = e.validated?.plugin.kind ?? this.plugins.get(String(e.raw['connector']))?.kind;
    if (kind === 'source') return { offsets: this.offsets.list(name) };
    const plugin = e.validated?.plugin;
    if (plugin?.listOffsets) return { offsets: await plugin.listOffsets(e.validated!.config, { connector: name }) };
    try {
      const g = await this.opts.bus.admin().describeGroup(sinkGroupId(name));
      return {
        offsets: g.offsets
          .filter((o) => o.committedOffset !== null)
          .map((o) => ({ partition: { topic: o.topic, partition: o.partition }, offset: { offset: o.committedOffset } })),
      };
    } catch (err) {
      if ((err as { code?: string }).code === 'GROUP_NOT_FOUND') return { offsets: [] };
      throw err;
    }
  }

  /** Forgets the connector's offsets (it starts over). The connector must be STOPPED. */
  async resetOffsets(name: string): Promise<void> {
    const e = this.entry(name);
    await this.enqueue(e, async () => {
      if (e.target !== 'STOPPED' || e.tasks.length > 0) {
        throw new ConnectError('CONNECTOR_STATE_CONFLICT', `connector ${name} must be stopped to reset its offsets: PUT /api/connectors/${name}/stop first`);
      }
      const validated = e.validated ?? (await parseConnectorConfig(name, e.raw, this.plugins, { skipPluginChecks: true }));
      if (validated.plugin.kind === 'source') {
        await this.offsets.deleteAll(name);
      } else {
        await this.resetGroup(name, validated.config);
      }
      await validated.plugin.resetOffsets?.(validated.config, { connector: name, logger: this.opts.logger });
    });
  }

  private async resetGroup(name: string, config: CommonConfig): Promise<void> {
    const { bus } = this.opts;
    let offsets: Array<{ topic: string; partition: number; offset: number }> = [];
    try {
      const g = await bus.admin().describeGroup(sinkGroupId(name));
      for (const o of g.offsets) {
        if (o.committedOffset === null) continue;
        const d = await bus.admin().describeTopic(o.topic);
        const p = d.partitions.find((x) => x.partition === o.partition);
        if (!p) continue;
        offsets.push({ topic: o.topic, partition: o.partition, offset: config['fromBeginning'] === false ? p.highWatermark : p.logStartOffset });
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'GROUP_NOT_FOUND') offsets = [];
      else throw err;
    }
    if (!offsets.length) return;
    const consumer = bus.consumer({ groupId: sinkGroupId(name) });
    try {
      await consumer.commit(offsets);
    } finally {
      await consumer.close();
    }
  }

  /** Checks a config for a plugin without creating anything. */
  async validate(pluginName: string, raw: Record<string, unknown>): Promise<{ plugin: string; errorCount: number; problems: Problem[] }> {
    const plugin = this.plugins.get(pluginName);
    if (!plugin) {
      throw new ConnectError('PLUGIN_NOT_FOUND', `no connector plugin named ${JSON.stringify(pluginName)}; installed: ${[...this.plugins.keys()].join(', ')}`);
    }
    const { problems } = await checkConnectorConfig({ ...raw, connector: pluginName }, this.plugins);
    return { plugin: pluginName, errorCount: problems.length, problems };
  }

  pluginList(): Array<{ name: string; type: 'source' | 'sink'; description: string; fields: string[] }> {
    return [...this.plugins.values()].map((p) => ({ name: p.name, type: p.kind, description: p.description, fields: Object.keys(p.fields) }));
  }

  /** For a status line: how many connectors are in each state. */
  summary(): string {
    const counts = new Map<string, number>();
    for (const e of this.entries.values()) counts.set(e.state, (counts.get(e.state) ?? 0) + 1);
    return [...counts].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(', ') || 'no connectors';
  }

  /** Connector state, for the HTTP ingest endpoint (null when there is no such connector). */
  stateOf(name: string): ConnectorState | null {
    return this.entries.get(name)?.state ?? null;
  }
}

export { formatProblems };
