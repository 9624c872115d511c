/**
 * `defineDag`: a DAG as typed TypeScript.
 *
 * The definition callback runs once, synchronously, and records tasks and edges; `defineDag` then
 * resolves groups into task-level edges, checks everything (ids, unknown dependencies, cycles,
 * schedule, policies) and returns an immutable `Dag`. Every error names the DAG and the tasks
 * involved, so a DAG file that would never run is rejected when it is loaded, not at 3 a.m.
 *
 * Data between tasks: a task's return value (small, JSON) is its output; a downstream task that
 * names it in `inputs` receives it, typed. `map` fans a task out over a list produced upstream
 * (one task instance per item, decided at run time) and its output is the list of results.
 *
 * @example
 * ```ts
 * export default defineDag({ id: 'orders_daily', schedule: '0 1 * * *', timezone: 'Asia/Seoul', params: { top: 10 } }, (dag) => {
 *   const stores = dag.task('stores', async () => ['s1', 's2']);
 *   const totals = dag.map('total', { over: stores }, async (ctx, store) => ({ store, total: 42 }));
 *   dag.task('report', { inputs: { totals }, retries: 3 }, async (ctx, { totals }) => totals.slice(0, ctx.params.top));
 * });
 * ```
 */
import { z } from 'zod';
import { problemsFromIssues, suggest } from '../../util/schema.ts';
import { FlowError } from '../errors.ts';
import { parseTime, timetable, type Timetable } from '../schedule/timetable.ts';
import type {
  AnyTaskFn,
  BuiltinTrigger,
  DagOptions,
  DagShape,
  ParamsOf,
  ParamsSpec,
  PokeResult,
  SensorTiming,
  TaskContext,
  TaskDef,
  TaskKind,
  TaskOptions,
  TaskPolicy,
  TriggerRule,
} from './types.ts';

export const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}$/;

export const DEFAULT_POLICY: TaskPolicy = {
  retries: 0,
  retryDelayMs: 1000,
  retryBackoff: 2,
  maxRetryDelayMs: 600_000,
  retryJitter: 0.2,
  timeoutMs: null,
  pool: 'default',
  priority: 1,
  triggerRule: 'all_success',
};

export const DEFAULT_SENSOR: Required<SensorTiming> = { pokeIntervalMs: 30_000, maxWaitMs: 24 * 3600_000, softFail: false };

const TRIGGER_RULES: readonly TriggerRule[] = ['all_success', 'all_done', 'one_success', 'one_failed', 'none_failed', 'all_failed'];

// ---------------------------------------------------------------------------------------------
// Handles

interface BuildState {
  dagId: string;
  sealed: boolean;
  nodes: Map<string, NodeRecord>;
  edges: Array<{ from: DepRef; to: string }>;
}

type DepRef = { node: string } | { name: string; owner: string };

interface NodeRecord {
  id: string;
  type: 'task' | 'group';
  /** Enclosing group id or null. */
  parent: string | null;
  task?: Omit<TaskDef, 'upstream'>;
}

/** Something other tasks can depend on: a task or a group. */
export interface DagNode {
  readonly id: string;
  /** Makes `next` wait for this; returns `next` so chains read left to right: `a.then(b).then(c)`. */
  then<N extends DagNode | readonly DagNode[]>(next: N): N;
  /** Makes this wait for each of `deps` (nodes, or ids as strings). */
  after(...deps: Array<DagNode | string | readonly (DagNode | string)[]>): this;
}

const STATE = Symbol('tributary.dag.state');

class NodeHandle implements DagNode {
  /** @internal */ readonly [STATE]: BuildState;
  constructor(
    state: BuildState,
    readonly id: string,
  ) {
    this[STATE] = state;
  }
  then<N extends DagNode | readonly DagNode[]>(next: N): N {
    const list = (Array.isArray(next) ? next : [next]) as DagNode[];
    for (const n of list) addEdge(this[STATE], this, n.id, `${this.id}.then(…)`);
    return next;
  }
  after(...deps: Array<DagNode | string | readonly (DagNode | string)[]>): this {
    for (const d of deps.flat()) addEdge(this[STATE], d as DagNode | string, this.id, `${this.id}.after(…)`);
    return this;
  }
}

/** A task; `T` is its output type (what downstream `inputs` receive). */
export class TaskHandle<T> extends NodeHandle {
  declare readonly __output: T;
}

export class GroupHandle extends NodeHandle {}

function checkOpen(state: BuildState, what: string): void {
  if (state.sealed) {
    throw new FlowError('DAG_INVALID', `dag ${state.dagId}: ${what} after the definition callback returned: add tasks and dependencies inside defineDag(…, (dag) => { … })`);
  }
}

function addEdge(state: BuildState, from: DagNode | string, to: string, where: string): void {
  checkOpen(state, where);
  if (typeof from === 'string') {
    state.edges.push({ from: { name: from, owner: to }, to });
    return;
  }
  if (!(from instanceof NodeHandle) || from[STATE] !== state) {
    const id = (from as { id?: unknown })?.id;
    throw new FlowError(
      'DAG_UNKNOWN_DEPENDENCY',
      `dag ${state.dagId}: task ${JSON.stringify(to)} depends on ${typeof id === 'string' ? JSON.stringify(id) : 'a value'} that is not a task or group of this DAG`,
      { tasks: [to] },
    );
  }
  state.edges.push({ from: { node: from.id }, to });
}

// ---------------------------------------------------------------------------------------------
// Builder

type Dep = DagNode | string;
type InputMap = Record<string, TaskHandle<unknown>>;
type InputValues<I> = { [K in keyof I]: I[K] extends TaskHandle<infer T> ? T : never };

interface CommonOptions extends TaskOptions {
  /** Tasks or groups (or their ids) this task waits for without receiving their output. */
  after?: Dep | readonly Dep[];
  description?: string;
}

export interface TaskSpec<I extends InputMap> extends CommonOptions {
  /** Upstream tasks whose outputs this task receives (and waits for). */
  inputs?: I;
}

export interface MapSpec<T, I extends InputMap> extends TaskSpec<I> {
  /** The upstream task whose output (a list) is mapped over: one task instance per item. */
  over: TaskHandle<readonly T[]>;
}

export interface PokeSensorSpec<V, I extends InputMap> extends TaskSpec<I>, SensorTiming {
  /** Checks once; false = not yet (the worker slot is released until the next poke). */
  poke: (ctx: TaskContext<never>, inputs: InputValues<I>) => PokeResult<V> | Promise<PokeResult<V>>;
}

/** A built-in sensor (see `sensors`): checked by the engine itself, never holding a worker slot. */
export interface BuiltinSensorSpec extends SensorTiming {
  readonly builtin: BuiltinTrigger;
}

export class DagBuilder<P> {
  /** @internal */ readonly [STATE]: BuildState;
  constructor(
    state: BuildState,
    private readonly groupPath: string | null,
    private readonly defaults: TaskOptions,
  ) {
    this[STATE] = state;
  }

  private fullId(id: string, what: string): string {
    const state = this[STATE];
    checkOpen(state, `${what} ${JSON.stringify(id)}`);
    if (typeof id !== 'string' || !ID_PATTERN.test(id) || id.includes('.')) {
      throw new FlowError(
        'DAG_INVALID',
        `dag ${state.dagId}: invalid ${what} id ${JSON.stringify(id)}: use 1–250 letters, digits, _ and - (dots separate groups)`,
        { tasks: typeof id === 'string' ? [id] : [] },
      );
    }
    const full = this.groupPath ? `${this.groupPath}.${id}` : id;
    if (state.nodes.has(full)) {
      throw new FlowError('DAG_DUPLICATE', `dag ${state.dagId}: two tasks or groups are named ${JSON.stringify(full)}: ids must be unique`, { tasks: [full] });
    }
    return full;
  }

  private addTask<T>(
    id: string,
    kind: TaskKind,
    spec: TaskSpec<InputMap> & SensorTiming,
    fn: AnyTaskFn | null,
    extra: { over?: TaskHandle<unknown>; trigger?: BuiltinTrigger; sensor?: boolean } = {},
  ): TaskHandle<T> {
    const state = this[STATE];
    const full = this.fullId(id, 'task');
    if (fn !== null && typeof fn !== 'function') {
      throw new FlowError('DAG_INVALID', `dag ${state.dagId}: task ${JSON.stringify(full)}: expected a function, got ${typeof fn}`, { tasks: [full] });
    }
    const policy = resolvePolicy(state.dagId, full, { ...this.defaults, ...pickPolicy(spec) });
    const inputs: Record<string, string> = {};
    const handle = new TaskHandle<T>(state, full);
    for (const [name, dep] of Object.entries(spec.inputs ?? {})) {
      if (!(dep instanceof TaskHandle)) {
        throw new FlowError('DAG_UNKNOWN_DEPENDENCY', `dag ${state.dagId}: task ${JSON.stringify(full)}: input ${JSON.stringify(name)} is not a task of this DAG (pass the handle dag.task(…) returned)`, { tasks: [full] });
      }
      addEdge(state, dep, full, `${full} inputs`);
      inputs[name] = dep.id;
    }
    if (extra.over) addEdge(state, extra.over, full, `${full} over`);
    const after = spec.after === undefined ? [] : Array.isArray(spec.after) ? spec.after : [spec.after];
    for (const dep of after as Dep[]) addEdge(state, dep, full, `${full} after`);
    state.nodes.set(full, {
      id: full,
      type: 'task',
      parent: this.groupPath,
      task: {
        id: full,
        kind,
        host: extra.trigger ? (extra.trigger.kind === 'topic-offset' ? 'host-bus' : 'host') : 'worker',
        inputs,
        over: extra.over ? extra.over.id : null,
        policy,
        sensor: extra.sensor ? resolveSensor(state.dagId, full, spec) : null,
        trigger: extra.trigger ?? null,
        group: this.groupPath,
        description: spec.description ?? null,
        fn,
      },
    });
    return handle;
  }

  /**
   * A task. Its return value (JSON, small) is its output.
   * @example
   * ```ts
   * const a = dag.task('extract', async (ctx) => ({ rows: 10 }));
   * dag.task('load', { inputs: { a }, retries: 2, timeoutMs: 60_000 }, async (ctx, { a }) => a.rows);
   * ```
   */
  task<R>(id: string, fn: (ctx: TaskContext<P>) => R): TaskHandle<Awaited<R>>;
  task<I extends InputMap, R>(id: string, spec: TaskSpec<I>, fn: (ctx: TaskContext<P>, inputs: InputValues<I>) => R): TaskHandle<Awaited<R>>;
  task(id: string, a: unknown, b?: unknown): TaskHandle<unknown> {
    const [spec, fn] = typeof a === 'function' ? [{}, a] : [(a ?? {}) as TaskSpec<InputMap>, b];
    return this.addTask(id, 'task', spec, fn as AnyTaskFn);
  }

  /**
   * Dynamic fan-out: one task instance per item of `over`'s output, decided at run time.
   * The handle's output is the list of results, in item order.
   * @example
   * ```ts
   * const files = dag.task('list', async () => ['a.csv', 'b.csv']);
   * const sizes = dag.map('size', { over: files }, async (ctx, file) => file.length);
   * dag.task('sum', { inputs: { sizes } }, (ctx, { sizes }) => sizes.reduce((x, y) => x + y, 0));
   * ```
   */
  map<T, I extends InputMap, R>(
    id: string,
    spec: MapSpec<T, I>,
    fn: (ctx: TaskContext<P>, item: T, inputs: InputValues<I>) => R,
  ): TaskHandle<Awaited<R>[]> {
    if (!spec || !(spec.over instanceof TaskHandle)) {
      throw new FlowError('DAG_INVALID', `dag ${this[STATE].dagId}: map ${JSON.stringify(id)}: "over" must be a task handle whose output is a list`, { tasks: [id] });
    }
    return this.addTask(id, 'map', spec, fn as AnyTaskFn, { over: spec.over });
  }

  /**
   * A sensor: waits for a condition without holding a worker slot between checks.
   * Either `poke` (your check, run on a worker every `pokeIntervalMs`) or a built-in from `sensors`.
   * @example
   * ```ts
   * dag.sensor('orders_landed', sensors.topicOffset({ topic: 'shop.orders', offset: 1000 }), { pokeIntervalMs: 5000 });
   * dag.sensor('api_ready', { poke: async () => (await fetch(url)).ok, pokeIntervalMs: 60_000 });
   * ```
   */
  sensor<V = null, I extends InputMap = Record<never, never>>(id: string, spec: PokeSensorSpec<V, I>): TaskHandle<V | null>;
  sensor(id: string, spec: BuiltinSensorSpec, opts?: CommonOptions & SensorTiming): TaskHandle<unknown>;
  sensor(id: string, spec: PokeSensorSpec<unknown, InputMap> | BuiltinSensorSpec, opts: CommonOptions & SensorTiming = {}): TaskHandle<unknown> {
    if (spec && typeof spec === 'object' && 'builtin' in spec) {
      const merged = { ...spec, ...opts } as TaskSpec<InputMap> & SensorTiming;
      return this.addTask(id, 'sensor', merged, null, { trigger: spec.builtin, sensor: true });
    }
    if (!spec || typeof (spec as PokeSensorSpec<unknown, InputMap>).poke !== 'function') {
      throw new FlowError('DAG_INVALID', `dag ${this[STATE].dagId}: sensor ${JSON.stringify(id)}: expected { poke: (ctx) => boolean } or a built-in from sensors.*`, { tasks: [id] });
    }
    return this.addTask(id, 'sensor', spec, (spec as PokeSensorSpec<unknown, InputMap>).poke as AnyTaskFn, { sensor: true });
  }

  /**
   * A group of tasks with a common id prefix (`group.task`). Depending on a group means depending
   * on its last tasks; a group depending on something makes its first tasks wait.
   * @example
   * ```ts
   * const clean = dag.group('clean', (g) => { g.task('dedupe', …).then(g.task('validate', …)); });
   * extract.then(clean).then(load);
   * ```
   */
  group(id: string, build: (g: DagBuilder<P>) => void, defaults: TaskOptions = {}): GroupHandle {
    const state = this[STATE];
    const full = this.fullId(id, 'group');
    state.nodes.set(full, { id: full, type: 'group', parent: this.groupPath });
    const result = build(new DagBuilder<P>(state, full, { ...this.defaults, ...defaults })) as unknown;
    if (result instanceof Promise) {
      throw new FlowError('DAG_INVALID', `dag ${state.dagId}: group ${JSON.stringify(full)}: the group callback must be synchronous (no async/await)`);
    }
    return new GroupHandle(state, full);
  }

  /** `chain(a, [b, c], d)`: a before b and c, both before d. */
  chain(...steps: Array<DagNode | readonly DagNode[]>): void {
    for (let i = 1; i < steps.length; i++) {
      const prev = steps[i - 1]!;
      const next = steps[i]!;
      for (const p of (Array.isArray(prev) ? prev : [prev]) as DagNode[]) p.then(next as DagNode);
    }
  }
}

function pickPolicy(spec: TaskOptions): TaskOptions {
  const out: TaskOptions = {};
  for (const k of Object.keys(DEFAULT_POLICY) as Array<keyof TaskPolicy>) {
    if (spec[k] !== undefined) (out as Record<string, unknown>)[k] = spec[k];
  }
  return out;
}

function badPolicy(dagId: string, task: string, field: string, expected: string, got: unknown): FlowError {
  return new FlowError('DAG_INVALID', `dag ${dagId}: task ${JSON.stringify(task)}: ${field}: expected ${expected}, got ${JSON.stringify(got)}`, { tasks: [task] });
}

function resolvePolicy(dagId: string, task: string, o: TaskOptions): TaskPolicy {
  const p = { ...DEFAULT_POLICY, ...o };
  const int = (field: keyof TaskPolicy, min: number) => {
    const v = p[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw badPolicy(dagId, task, field, `a whole number ≥ ${min}`, v);
  };
  int('retries', 0);
  int('retryDelayMs', 0);
  int('maxRetryDelayMs', 0);
  if (typeof p.retryBackoff !== 'number' || !(p.retryBackoff >= 1)) throw badPolicy(dagId, task, 'retryBackoff', 'a number ≥ 1', p.retryBackoff);
  if (typeof p.retryJitter !== 'number' || !(p.retryJitter >= 0 && p.retryJitter <= 1)) throw badPolicy(dagId, task, 'retryJitter', 'a number from 0 to 1', p.retryJitter);
  if (p.timeoutMs !== null && (typeof p.timeoutMs !== 'number' || !Number.isInteger(p.timeoutMs) || p.timeoutMs < 1)) {
    throw badPolicy(dagId, task, 'timeoutMs', 'a whole number of milliseconds ≥ 1 or null', p.timeoutMs);
  }
  if (typeof p.pool !== 'string' || !ID_PATTERN.test(p.pool)) throw badPolicy(dagId, task, 'pool', 'a pool name', p.pool);
  if (typeof p.priority !== 'number' || !Number.isInteger(p.priority)) throw badPolicy(dagId, task, 'priority', 'a whole number', p.priority);
  if (!TRIGGER_RULES.includes(p.triggerRule)) throw badPolicy(dagId, task, 'triggerRule', `one of ${TRIGGER_RULES.join(', ')}`, p.triggerRule);
  return p;
}

function resolveSensor(dagId: string, task: string, s: SensorTiming): Required<SensorTiming> {
  const r = {
    pokeIntervalMs: s.pokeIntervalMs ?? DEFAULT_SENSOR.pokeIntervalMs,
    maxWaitMs: s.maxWaitMs ?? DEFAULT_SENSOR.maxWaitMs,
    softFail: s.softFail ?? DEFAULT_SENSOR.softFail,
  };
  if (!Number.isInteger(r.pokeIntervalMs) || r.pokeIntervalMs < 1) throw badPolicy(dagId, task, 'pokeIntervalMs', 'a whole number ≥ 1', r.pokeIntervalMs);
  if (!Number.isInteger(r.maxWaitMs) || r.maxWaitMs < 1) throw badPolicy(dagId, task, 'maxWaitMs', 'a whole number ≥ 1', r.maxWaitMs);
  return r;
}

// ---------------------------------------------------------------------------------------------
// The built DAG

export interface ResolvedDagOptions {
  id: string;
  timezone: string;
  start: number | null;
  end: number | null;
  catchup: boolean;
  maxActiveRuns: number;
  maxActiveTasks: number;
  tags: string[];
  description: string | null;
}

export interface Dag<P = Record<string, unknown>> {
  readonly kind: 'tributary.dag';
  readonly id: string;
  readonly options: ResolvedDagOptions;
  readonly timetable: Timetable;
  /** Tasks by id, in a topological order. */
  readonly tasks: ReadonlyMap<string, TaskDef>;
  /** Group ids. */
  readonly groups: readonly string[];
  /** Parameter defaults (for display; `resolveParams` validates). */
  readonly paramDefaults: Record<string, unknown>;
  /** The file it was loaded from (set by the loader; needed to run tasks in worker processes). */
  file: string | null;
  /** Validates and completes a run's parameters; throws PARAMS_INVALID naming every bad one. */
  resolveParams(given: unknown): P;
  /** Every task downstream of `taskId` (transitively), not including it. */
  downstreamOf(taskId: string): string[];
  shape(): DagShape;
  /** Phantom: the params type. */
  readonly __params?: P;
}

export function isDag(value: unknown): value is Dag {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tributary.dag';
}

/**
 * Defines a DAG. Throws FlowError (DAG_INVALID, DAG_CYCLE, DAG_UNKNOWN_DEPENDENCY, DAG_DUPLICATE,
 * SCHEDULE_INVALID) naming the tasks involved when the definition cannot run.
 *
 * @example
 * ```ts
 * export default defineDag({ id: 'hello', schedule: '@daily', timezone: 'Europe/Berlin' }, (dag) => {
 *   const a = dag.task('a', () => 1);
 *   const b = dag.task('b', { inputs: { a } }, (ctx, { a }) => a + 1);
 * });
 * ```
 */
export function defineDag<S extends ParamsSpec = Record<string, unknown>>(
  options: DagOptions<S>,
  build: (dag: DagBuilder<ParamsOf<S>>) => void,
): Dag<ParamsOf<S>> {
  if (!options || typeof options !== 'object') throw new FlowError('DAG_INVALID', 'defineDag: expected an options object like { id: "my_dag", schedule: "@daily" }');
  const id = options.id;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new FlowError('DAG_INVALID', `defineDag: invalid DAG id ${JSON.stringify(id)}: use 1–250 letters, digits, _ . -`);
  }
  const where = `dag ${id}`;
  const known = ['id', 'schedule', 'timezone', 'start', 'end', 'catchup', 'maxActiveRuns', 'maxActiveTasks', 'tags', 'description', 'params', 'defaults'];
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) {
      const hint = suggest(k, known);
      throw new FlowError('DAG_INVALID', `${where}: unknown option ${JSON.stringify(k)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}; known: ${known.join(', ')}`);
    }
  }
  const timezone = options.timezone ?? 'UTC';
  const tt = timetable(options.schedule, timezone, `${where}: schedule`);
  const positive = (field: 'maxActiveRuns' | 'maxActiveTasks', dflt: number) => {
    const v = options[field] ?? dflt;
    if (!Number.isInteger(v) || v < 1) throw new FlowError('DAG_INVALID', `${where}: ${field}: expected a whole number ≥ 1, got ${JSON.stringify(v)}`);
    return v;
  };
  if (options.tags !== undefined && (!Array.isArray(options.tags) || options.tags.some((t) => typeof t !== 'string'))) {
    throw new FlowError('DAG_INVALID', `${where}: tags: expected a list of strings`);
  }
  if (options.catchup !== undefined && typeof options.catchup !== 'boolean') {
    throw new FlowError('DAG_INVALID', `${where}: catchup: expected true or false, got ${JSON.stringify(options.catchup)}`);
  }
  const resolved: ResolvedDagOptions = {
    id,
    timezone,
    start: options.start === undefined ? null : parseTime(options.start, `${where}: start`),
    end: options.end === undefined ? null : parseTime(options.end, `${where}: end`),
    catchup: options.catchup ?? false,
    maxActiveRuns: positive('maxActiveRuns', 16),
    maxActiveTasks: positive('maxActiveTasks', 16),
    tags: options.tags ?? [],
    description: options.description ?? null,
  };
  if (options.defaults !== undefined) resolvePolicy(id, '(defaults)', options.defaults);
  const params = paramsResolver(id, options.params);

  const state: BuildState = { dagId: id, sealed: false, nodes: new Map(), edges: [] };
  if (typeof build !== 'function') throw new FlowError('DAG_INVALID', `${where}: expected a definition callback (dag) => { … } as the second argument`);
  const result = build(new DagBuilder<ParamsOf<S>>(state, null, options.defaults ?? {})) as unknown;
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new FlowError('DAG_INVALID', `${where}: the definition callback must be synchronous (no async/await): compute data inside tasks`);
  }
  state.sealed = true;

  const tasks = finalize(state);
  if (tasks.size === 0) throw new FlowError('DAG_INVALID', `${where}: the DAG has no tasks`);
  const groups = [...state.nodes.values()].filter((n) => n.type === 'group').map((n) => n.id);

  const downstreamMemo = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const t of tasks.values()) for (const u of t.upstream) (children.get(u) ?? children.set(u, []).get(u)!).push(t.id);

  const dag: Dag<ParamsOf<S>> = {
    kind: 'tributary.dag',
    id,
    options: resolved,
    timetable: tt,
    tasks,
    groups,
    paramDefaults: params.defaults,
    file: null,
    resolveParams: params.resolve as (given: unknown) => ParamsOf<S>,
    downstreamOf(taskId: string): string[] {
      let memo = downstreamMemo.get(taskId);
      if (!memo) {
        const seen = new Set<string>();
        const stack = [...(children.get(taskId) ?? [])];
        while (stack.length) {
          const t = stack.pop()!;
          if (seen.has(t)) continue;
          seen.add(t);
          stack.push(...(children.get(t) ?? []));
        }
        memo = [...tasks.keys()].filter((t) => seen.has(t));
        downstreamMemo.set(taskId, memo);
      }
      return memo;
    },
    shape(): DagShape {
      return {
        id,
        maxActiveRuns: resolved.maxActiveRuns,
        maxActiveTasks: resolved.maxActiveTasks,
        tasks: [...tasks.values()].map((t) => ({
          id: t.id,
          kind: t.kind,
          host: t.host,
          upstream: t.upstream,
          inputs: t.inputs,
          over: t.over,
          policy: t.policy,
          sensor: t.sensor,
          group: t.group,
          description: t.description,
        })),
      };
    },
  };
  return dag;
}

/** Resolves groups into task-level edges, checks dependencies and cycles; returns tasks in topological order. */
function finalize(state: BuildState): Map<string, TaskDef> {
  const { dagId, nodes } = state;
  const isWithin = (node: string, group: string) => {
    for (let n: NodeRecord | undefined = nodes.get(node); n; n = n.parent ? nodes.get(n.parent) : undefined) {
      if (n.parent === group) return true;
    }
    return false;
  };
  const groupTasks = (group: string) => [...nodes.values()].filter((n) => n.type === 'task' && isWithin(n.id, group)).map((n) => n.id);

  // Resolve string references first: they may point at tasks declared later.
  const edges = state.edges.map((e) => {
    if ('node' in e.from) return { from: e.from.node, to: e.to };
    const name = e.from.name;
    if (!nodes.has(name)) {
      const hint = suggest(name, [...nodes.keys()]);
      throw new FlowError(
        'DAG_UNKNOWN_DEPENDENCY',
        `dag ${dagId}: task ${JSON.stringify(e.from.owner)} depends on ${JSON.stringify(name)}, which is not a task or group of this DAG${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`,
        { tasks: [e.from.owner, name] },
      );
    }
    return { from: name, to: e.to };
  });

  for (const e of edges) {
    if (e.from === e.to) throw new FlowError('DAG_CYCLE', `dag ${dagId}: ${JSON.stringify(e.from)} depends on itself`, { tasks: [e.from] });
    const f = nodes.get(e.from)!;
    const t = nodes.get(e.to)!;
    if (t.type === 'group' && isWithin(e.from, e.to)) {
      throw new FlowError('DAG_CYCLE', `dag ${dagId}: ${JSON.stringify(e.from)} is inside group ${JSON.stringify(e.to)} and cannot come before it`, { tasks: [e.from, e.to] });
    }
    if (f.type === 'group' && isWithin(e.to, e.from)) {
      throw new FlowError('DAG_CYCLE', `dag ${dagId}: ${JSON.stringify(e.to)} is inside group ${JSON.stringify(e.from)} and cannot come after it`, { tasks: [e.from, e.to] });
    }
  }
  for (const n of nodes.values()) {
    if (n.type === 'group' && groupTasks(n.id).length === 0) {
      throw new FlowError('DAG_INVALID', `dag ${dagId}: group ${JSON.stringify(n.id)} has no tasks`, { tasks: [n.id] });
    }
  }

  // Roots/leaves of a group are computed on the task-level edges inside it; those edges only
  // involve strictly nested groups, so the recursion ends.
  const memo = new Map<string, string[]>();
  const expand = (node: string, side: 'from' | 'to'): string[] => {
    const n = nodes.get(node)!;
    if (n.type === 'task') return [node];
    const key = `${side}:${node}`;
    let r = memo.get(key);
    if (!r) {
      const members = new Set(groupTasks(node));
      const inner = edges.filter((e) => (members.has(e.from) || isWithin(e.from, node)) && (members.has(e.to) || isWithin(e.to, node)));
      const hasIn = new Set<string>();
      const hasOut = new Set<string>();
      for (const e of inner) {
        for (const f of expand(e.from, 'from')) hasOut.add(f);
        for (const t of expand(e.to, 'to')) hasIn.add(t);
      }
      // 'from' side = the group's last tasks (leaves); 'to' side = its first tasks (roots).
      r = [...members].filter((m) => (side === 'from' ? !hasOut.has(m) : !hasIn.has(m)));
      memo.set(key, r);
    }
    return r;
  };

  const upstream = new Map<string, Set<string>>();
  for (const n of nodes.values()) if (n.type === 'task') upstream.set(n.id, new Set());
  for (const e of edges) {
    for (const f of expand(e.from, 'from')) for (const t of expand(e.to, 'to')) upstream.get(t)!.add(f);
  }

  // Kahn's algorithm; what remains lies on or behind a cycle.
  const indegree = new Map([...upstream].map(([k, v]) => [k, v.size]));
  const down = new Map<string, string[]>();
  for (const [t, ups] of upstream) for (const u of ups) (down.get(u) ?? down.set(u, []).get(u)!).push(t);
  const declared = [...upstream.keys()];
  const ready = declared.filter((t) => indegree.get(t) === 0);
  const order: string[] = [];
  while (ready.length) {
    const t = ready.shift()!;
    order.push(t);
    for (const d of down.get(t) ?? []) {
      indegree.set(d, indegree.get(d)! - 1);
      if (indegree.get(d) === 0) ready.push(d);
    }
  }
  if (order.length < declared.length) {
    const cycle = findCycle(declared.filter((t) => indegree.get(t)! > 0), upstream);
    throw new FlowError('DAG_CYCLE', `dag ${dagId}: dependency cycle ${cycle.join(' → ')}: a task cannot (indirectly) wait for itself`, { tasks: cycle.slice(0, -1) });
  }

  const out = new Map<string, TaskDef>();
  for (const id of order) {
    const rec = nodes.get(id)!.task!;
    if (rec.over) {
      const src = nodes.get(rec.over);
      if (!src || src.type !== 'task') throw new FlowError('DAG_INVALID', `dag ${dagId}: map ${JSON.stringify(id)}: "over" must be a task`, { tasks: [id] });
    }
    out.set(id, { ...rec, upstream: [...upstream.get(id)!].sort() });
  }
  return out;
}

function findCycle(candidates: string[], upstream: Map<string, Set<string>>): string[] {
  const inSet = new Set(candidates);
  const start = candidates[0]!;
  // Walk upstream edges inside the remaining set until a node repeats; that loop is a cycle.
  const path: string[] = [start];
  const index = new Map([[start, 0]]);
  let cur = start;
  for (;;) {
    const next = [...upstream.get(cur)!].find((u) => inSet.has(u))!;
    if (index.has(next)) {
      const loop = path.slice(index.get(next)!);
      // Upstream walk: reverse to read in execution order, and close the loop.
      const forward = [...loop].reverse();
      return [...forward, forward[0]!];
    }
    index.set(next, path.length);
    path.push(next);
    cur = next;
  }
}

// ---------------------------------------------------------------------------------------------
// Params

function isZod(v: unknown): v is z.ZodType {
  return typeof v === 'object' && v !== null && typeof (v as { safeParse?: unknown }).safeParse === 'function';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function paramsResolver(dagId: string, spec: ParamsSpec | undefined): { defaults: Record<string, unknown>; resolve: (given: unknown) => unknown } {
  const fail = (msg: string) => new FlowError('PARAMS_INVALID', `dag ${dagId}: params: ${msg}`);
  if (isZod(spec)) {
    const probe = spec.safeParse({});
    const defaults = probe.success && probe.data && typeof probe.data === 'object' ? (probe.data as Record<string, unknown>) : {};
    return {
      defaults,
      resolve(given) {
        const r = spec.safeParse(given ?? {});
        if (!r.success) {
          throw fail(problemsFromIssues(r.error.issues).map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; '));
        }
        return r.data;
      },
    };
  }
  if (spec !== undefined && (typeof spec !== 'object' || spec === null || Array.isArray(spec))) {
    throw new FlowError('DAG_INVALID', `dag ${dagId}: params: expected an object of defaults ({ limit: 10 }) or a zod object schema`);
  }
  const defaults = (spec ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(defaults)) {
    try {
      JSON.stringify(v);
    } catch {
      throw new FlowError('DAG_INVALID', `dag ${dagId}: params.${k}: defaults must be JSON values`);
    }
  }
  return {
    defaults,
    resolve(given) {
      if (given === undefined || given === null) return structuredClone(defaults);
      if (typeof given !== 'object' || Array.isArray(given)) throw fail(`expected an object, got ${typeName(given)}`);
      const problems: string[] = [];
      const out: Record<string, unknown> = structuredClone(defaults);
      for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
        if (!(k in defaults)) {
          const hint = suggest(k, Object.keys(defaults));
          problems.push(`unknown parameter ${JSON.stringify(k)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}; known: ${Object.keys(defaults).join(', ') || '(none)'}`);
          continue;
        }
        const d = defaults[k];
        if (d !== null && typeName(d) !== typeName(v)) {
          problems.push(`${k}: expected ${typeName(d)} (like the default ${JSON.stringify(d)}), got ${typeName(v)} ${JSON.stringify(v)}`);
          continue;
        }
        out[k] = v;
      }
      if (problems.length) throw fail(problems.join('; '));
      return out;
    },
  };
}

/** Zod, re-exported so DAG files can declare params schemas without another import. */
export { z };
