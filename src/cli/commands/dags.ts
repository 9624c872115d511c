/**
 * `tributary dags …` (workflows over the HTTP API of a running `tributary up`), and the two
 * scale-out processes `tributary scheduler` and `tributary worker` (PostgreSQL metadata).
 */
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { ApiClient, enc } from '../client.ts';
import { json, table } from '../format.ts';
import { CliError, type CliIo } from '../io.ts';
import { client, clientOptions, collect, intArg, type ClientFlags } from '../options.ts';

interface DagSummary {
  dagId: string;
  loaded: boolean;
  paused: boolean;
  schedule: string;
  timezone: string;
  tags: string[];
  tasks: number;
  nextRunAt: string | null;
  lastRun: { runId: string; state: string } | null;
}
interface RunSummary {
  id: number;
  runId: string;
  kind: string;
  state: string;
  intervalStart: string;
  intervalEnd: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
}
interface TaskView {
  taskId: string;
  mapIndex: number;
  state: string;
  tryNumber: number;
  durationMs: number | null;
  error: string | null;
  output: unknown;
  items?: Record<string, number>;
  nextTryAt: string | null;
}
interface Backfill {
  id: number;
  total: number;
  created: number;
  skipped: number;
  done: number;
  complete: boolean;
  states: Record<string, number>;
}
interface TestResult {
  state: string;
  runId: string;
  tasks: Record<string, { state: string; output: unknown; error: string | null; attempts: number; log: string; items?: unknown[] }>;
}

const short = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/:00\.000Z$/, 'Z').replace(/\.\d+Z$/, 'Z') : '-');
const ms = (d: number | null) => (d === null ? '-' : d < 1000 ? `${d.toFixed(d < 10 ? 1 : 0)} ms` : `${(d / 1000).toFixed(1)} s`);

function preview(v: unknown, max = 60): string {
  if (v === null || v === undefined) return '-';
  const s = JSON.stringify(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** `--params '{"a":1}'` and repeatable `--param a=1` (values parsed as JSON when they parse, else strings). */
function parseParams(flags: { params?: string; param?: string[] }): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  if (flags.params !== undefined) {
    try {
      out = JSON.parse(flags.params) as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`--params: not valid JSON (${(err as Error).message}); e.g. --params '{"limit": 5}'`, { exitCode: 2 });
    }
    if (!out || typeof out !== 'object' || Array.isArray(out)) throw new CliError('--params: expected a JSON object, e.g. {"limit": 5}', { exitCode: 2 });
  }
  for (const p of flags.param ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CliError(`--param ${JSON.stringify(p)}: expected name=value`, { exitCode: 2 });
    const raw = p.slice(eq + 1);
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      // a plain string
    }
    (out ??= {})[p.slice(0, eq)] = v;
  }
  return out;
}

function taskTable(tasks: TaskView[]): string {
  return table(
    ['TASK', 'STATE', 'TRIES', 'DURATION', 'OUTPUT / ERROR'],
    tasks.map((t) => [
      t.mapIndex >= 0 ? `  [${t.mapIndex}]` : t.taskId,
      t.items ? `${t.state} (${Object.entries(t.items).map(([s, n]) => `${n} ${s}`).join(', ')})` : t.state,
      t.tryNumber,
      ms(t.durationMs),
      t.error ? t.error.split('\n')[0]!.slice(0, 80) : t.state === 'up_for_retry' ? `retry at ${short(t.nextTryAt)}` : preview(t.output),
    ]),
  );
}

function barStream(io: CliIo): NodeJS.WriteStream {
  return { write: (s: string) => (io.stderr(s), true), isTTY: io.isTTY, columns: 80, on: () => undefined, removeListener: () => undefined } as unknown as NodeJS.WriteStream;
}

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** Reads a server-sent event stream: calls `on(event, data)` per event. */
async function readSse(api: ApiClient, path: string, on: (event: string, data: string) => void, signal?: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(api.baseUrl + path, { headers: { accept: 'text/event-stream' }, ...(signal ? { signal } : {}) });
  } catch (err) {
    throw new CliError(`cannot reach ${api.baseUrl} (${(err as Error).message}): is \`tributary up\` running? (--server / TRIBUTARY_SERVER)`, { code: 'SERVER_UNREACHABLE' });
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let message = text;
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      // not JSON
    }
    throw new CliError(message || `GET ${path} answered ${res.status}`);
  }
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) on(event, data.join('\n'));
    }
  }
}

export function dagsCommand(io: CliIo): Command {
  const dags = new Command('dags').description('workflows: list DAGs, trigger and backfill runs, see runs and task logs');

  dags.addCommand(
    clientOptions(new Command('list').description('list DAGs with their schedule, last run and next run')).action(async (flags: ClientFlags) => {
      const res = await client(flags, io).get<{ dags: DagSummary[]; importErrors: Array<{ file: string; message: string }> }>('/api/dags');
      if (flags.json) return io.stdout(json(res));
      if (res.dags.length === 0) io.stdout('no DAGs (put DAG files in the project\'s dags/ folder)\n');
      else
        io.stdout(
          table(
            ['DAG', 'SCHEDULE', 'PAUSED', 'TASKS', 'LAST RUN', 'STATE', 'NEXT RUN'],
            res.dags.map((d) => [d.dagId + (d.loaded ? '' : ' (not loaded)'), `${d.schedule}${d.timezone !== 'UTC' ? ` ${d.timezone}` : ''}`, d.paused ? 'yes' : 'no', d.tasks, d.lastRun?.runId ?? '-', d.lastRun?.state ?? '-', short(d.nextRunAt)]),
          ),
        );
      if (res.importErrors.length) {
        io.stdout(`\n${res.importErrors.length} DAG file${res.importErrors.length === 1 ? '' : 's'} failed to load:\n`);
        for (const e of res.importErrors) io.stdout(`  ${e.message}\n`);
      }
    }),
  );

  dags.addCommand(
    clientOptions(
      new Command('trigger')
        .description('start a run now (queued until fewer than maxActiveRuns run)')
        .argument('<dag>', 'DAG id')
        .option('--params <json>', 'run parameters as a JSON object')
        .option('-p, --param <name=value>', 'one run parameter (repeatable)', collect)
        .option('--logical-date <time>', 'run for the schedule interval starting at this tick (ISO 8601); one run per interval')
        .option('--interval-start <time>', 'explicit data interval start (with --interval-end)')
        .option('--interval-end <time>', 'explicit data interval end')
        .option('--note <text>', 'a note shown with the run')
        .option('--wait', 'wait until the run finishes; exit 1 if it failed'),
    ).action(async (dagId: string, flags: ClientFlags & { params?: string; param?: string[]; logicalDate?: string; intervalStart?: string; intervalEnd?: string; note?: string; wait?: boolean }) => {
      const api = client(flags, io);
      const params = parseParams(flags);
      const body = {
        ...(params ? { params } : {}),
        ...(flags.logicalDate ? { logicalDate: flags.logicalDate } : {}),
        ...(flags.intervalStart ? { intervalStart: flags.intervalStart } : {}),
        ...(flags.intervalEnd ? { intervalEnd: flags.intervalEnd } : {}),
        ...(flags.note ? { note: flags.note } : {}),
      };
      let run = await api.post<RunSummary>(`/api/dags/${enc(dagId)}/runs`, body);
      if (!flags.wait) return io.stdout(flags.json ? json(run) : `triggered ${dagId} run ${run.runId} (interval ${short(run.intervalStart)} – ${short(run.intervalEnd)})\n`);
      while (run.state === 'queued' || run.state === 'running') {
        await sleep(250);
        run = await api.get<RunSummary>(`/api/dags/${enc(dagId)}/runs/${enc(run.runId)}`);
      }
      io.stdout(flags.json ? json(run) : `${dagId} run ${run.runId}: ${run.state} in ${ms(run.durationMs)}\n`);
      if (run.state !== 'success') throw new CliError(`run ${run.runId} ${run.state}: see \`tributary dags runs ${dagId} ${run.runId}\``);
    }),
  );

  dags.addCommand(
    clientOptions(
      new Command('backfill')
        .description('run every schedule interval in [--from, --to) that has no run yet, showing progress')
        .argument('<dag>', 'DAG id')
        .requiredOption('--from <time>', 'first interval start (ISO 8601, e.g. 2026-01-01)')
        .requiredOption('--to <time>', 'end (exclusive)')
        .option('--rerun-failed', 'also re-run the failed tasks of failed runs in the range')
        .option('--params <json>', 'run parameters as a JSON object')
        .option('--no-wait', 'create the runs and return'),
    ).action(async (dagId: string, flags: ClientFlags & { from: string; to: string; rerunFailed?: boolean; params?: string; wait: boolean }) => {
      const api = client(flags, io);
      const params = parseParams(flags);
      const b = await api.post<Backfill>(`/api/dags/${enc(dagId)}/backfills`, { from: flags.from, to: flags.to, ...(flags.rerunFailed ? { rerunFailed: true } : {}), ...(params ? { params } : {}) });
      const head = `backfill ${b.id} of ${dagId}: ${b.total} interval${b.total === 1 ? '' : 's'}, ${b.created} new run${b.created === 1 ? '' : 's'}${b.skipped ? `, ${b.skipped} already had a run` : ''}\n`;
      if (!flags.wait) return io.stdout(flags.json ? json(b) : head);
      if (!flags.json) io.stderr(head);
      const bar = flags.json
        ? null
        : new cliProgress.SingleBar(
            { stream: barStream(io), format: `${dagId} |{bar}| {value}/{total} runs · {success} ok · {failed} failed · {running} running`, noTTYOutput: true, notTTYSchedule: 2000, hideCursor: false },
            cliProgress.Presets.shades_classic,
          );
      let s = b;
      bar?.start(s.total, s.done, { success: s.states['success'] ?? 0, failed: s.states['failed'] ?? 0, running: s.states['running'] ?? 0 });
      while (!s.complete) {
        await sleep(500);
        s = await api.get<Backfill>(`/api/dags/${enc(dagId)}/backfills/${b.id}`);
        bar?.update(s.done, { success: s.states['success'] ?? 0, failed: s.states['failed'] ?? 0, running: s.states['running'] ?? 0 });
      }
      bar?.stop();
      const failed = s.states['failed'] ?? 0;
      io.stdout(flags.json ? json({ ...s, created: b.created, skipped: b.skipped }) : `backfill ${b.id} complete: ${s.states['success'] ?? 0} succeeded, ${failed} failed\n`);
      if (failed > 0) throw new CliError(`${failed} run${failed === 1 ? '' : 's'} failed: see \`tributary dags runs ${dagId} --state failed\`, re-run with --rerun-failed`);
    }),
  );

  dags.addCommand(
    clientOptions(
      new Command('runs')
        .description('list runs of a DAG, or with a run id show its tasks')
        .argument('<dag>', 'DAG id')
        .argument('[run]', 'run id (e.g. scheduled__2026-01-01T00:00:00.000Z) or number')
        .option('--state <state>', 'only runs in this state (queued, running, success, failed)')
        .option('--limit <n>', 'at most this many runs (default 25)', intArg(1, 10_000))
        .option('--items', 'with a run: list every item of mapped tasks'),
    ).action(async (dagId: string, runRef: string | undefined, flags: ClientFlags & { state?: string; limit?: number; items?: boolean }) => {
      const api = client(flags, io);
      if (runRef) {
        const run = await api.get<RunSummary & { tasks: TaskView[] }>(`/api/dags/${enc(dagId)}/runs/${enc(runRef)}${flags.items ? '?items=true' : ''}`);
        if (flags.json) return io.stdout(json(run));
        io.stdout(`${dagId} run ${run.runId} (${run.kind}): ${run.state}; interval ${short(run.intervalStart)} – ${short(run.intervalEnd)}; ${ms(run.durationMs)}\n\n`);
        return io.stdout(taskTable(run.tasks));
      }
      const q = new URLSearchParams();
      if (flags.state) q.set('state', flags.state);
      if (flags.limit) q.set('limit', String(flags.limit));
      const res = await api.get<{ runs: RunSummary[] }>(`/api/dags/${enc(dagId)}/runs${q.size ? `?${q}` : ''}`);
      if (flags.json) return io.stdout(json(res.runs));
      if (res.runs.length === 0) return io.stdout(`no runs of ${dagId}${flags.state ? ` in state ${flags.state}` : ''}\n`);
      io.stdout(table(['RUN', 'KIND', 'STATE', 'INTERVAL START', 'INTERVAL END', 'DURATION'], res.runs.map((r) => [r.runId, r.kind, r.state, short(r.intervalStart), short(r.intervalEnd), ms(r.durationMs)])));
    }),
  );

  dags.addCommand(
    clientOptions(
      new Command('logs')
        .description("print a task attempt's log (default: the latest attempt); --follow streams it live")
        .argument('<dag>', 'DAG id')
        .argument('<run>', 'run id or number')
        .argument('<task>', 'task id')
        .option('--try <n>', 'attempt number (1 = first)', intArg(1))
        .option('--map-index <i>', 'item of a mapped task', intArg(0))
        .option('-f, --follow', 'keep printing new lines until the attempt ends'),
    ).action(async (dagId: string, runRef: string, taskId: string, flags: ClientFlags & { try?: number; mapIndex?: number; follow?: boolean }) => {
      const api = client(flags, io);
      const q = new URLSearchParams();
      if (flags.try) q.set('try', String(flags.try));
      if (flags.mapIndex !== undefined) q.set('mapIndex', String(flags.mapIndex));
      const base = `/api/dags/${enc(dagId)}/runs/${enc(runRef)}/tasks/${enc(taskId)}/logs`;
      if (flags.follow) {
        q.set('follow', 'true');
        let end: { tryNumber: number; state: string } | null = null;
        await readSse(api, `${base}?${q}`, (event, data) => {
          const d = JSON.parse(data) as { text?: string; tryNumber?: number; state?: string };
          if (event === 'log') io.stdout(flags.json ? JSON.stringify(d) + '\n' : (d.text ?? ''));
          else if (event === 'end') end = d as { tryNumber: number; state: string };
          else if (event === 'attempt' && !flags.json) io.stderr(`-- attempt ${d.tryNumber} (${d.state}) --\n`);
        });
        const e = end as { tryNumber: number; state: string } | null;
        if (e && !flags.json) io.stderr(`-- attempt ${e.tryNumber} ended: ${e.state} --\n`);
        return;
      }
      let after = 0;
      for (;;) {
        q.set('after', String(after));
        const page = await api.get<{ lines: Array<{ id: number; text: string; at: number }>; next: number; tryNumber: number; state: string; done: boolean }>(`${base}?${q}`);
        for (const l of page.lines) io.stdout(flags.json ? JSON.stringify(l) + '\n' : l.text);
        if (page.lines.length === 0) {
          if (!flags.json && after === 0) io.stderr(`(no log lines for attempt ${page.tryNumber}; task is ${page.state})\n`);
          break;
        }
        after = page.next;
      }
    }),
  );

  for (const [verb, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    dags.addCommand(
      clientOptions(new Command(verb).description(paused ? 'stop creating and starting runs (running ones finish)' : 'resume scheduling').argument('<dag>', 'DAG id')).action(
        async (dagId: string, flags: ClientFlags) => {
          const d = await client(flags, io).post<DagSummary>(`/api/dags/${enc(dagId)}/${verb}`);
          io.stdout(flags.json ? json(d) : `${dagId} ${d.paused ? 'paused' : 'unpaused'}\n`);
        },
      ),
    );
  }

  dags.addCommand(
    clientOptions(
      new Command('clear')
        .description('clear a task of a run (and everything downstream) so it runs again')
        .argument('<dag>', 'DAG id')
        .argument('<run>', 'run id or number')
        .argument('<task>', 'task id')
        .option('--no-downstream', 'only this task'),
    ).action(async (dagId: string, runRef: string, taskId: string, flags: ClientFlags & { downstream: boolean }) => {
      const res = await client(flags, io).post<{ cleared: string[]; run: RunSummary }>(`/api/dags/${enc(dagId)}/runs/${enc(runRef)}/tasks/${enc(taskId)}/clear`, { downstream: flags.downstream });
      io.stdout(flags.json ? json(res) : `cleared ${res.cleared.join(', ')} in ${res.run.runId}; the run is ${res.run.state}\n`);
    }),
  );

  dags.addCommand(
    clientOptions(
      new Command('mark')
        .description('set a task of a run to success or failed (a running attempt is stopped)')
        .argument('<dag>', 'DAG id')
        .argument('<run>', 'run id or number')
        .argument('<task>', 'task id')
        .addArgument(new Command().createArgument('<state>', 'success or failed').choices(['success', 'failed']))
        .option('--downstream', 'also everything downstream'),
    ).action(async (dagId: string, runRef: string, taskId: string, state: string, flags: ClientFlags & { downstream?: boolean }) => {
      const res = await client(flags, io).post<{ changed: string[]; run: RunSummary }>(`/api/dags/${enc(dagId)}/runs/${enc(runRef)}/tasks/${enc(taskId)}/mark`, { state, downstream: Boolean(flags.downstream) });
      io.stdout(flags.json ? json(res) : `marked ${res.changed.join(', ')} ${state} in ${res.run.runId}\n`);
    }),
  );

  dags.addCommand(
    clientOptions(
      new Command('test')
        .description('run a DAG once, now, in isolation (nothing is recorded) and print each task\'s state and output')
        .argument('<dag>', 'DAG id')
        .option('--interval-start <time>', 'data interval start (with --interval-end; default: the newest complete interval)')
        .option('--interval-end <time>', 'data interval end')
        .option('--params <json>', 'run parameters as a JSON object')
        .option('-p, --param <name=value>', 'one run parameter (repeatable)', collect)
        .option('--local', 'run here from --dags-dir instead of on the server')
        .option('--dags-dir <dir>', 'with --local: the folder of DAG files (default ./dags)')
        .option('--logs', 'print every task\'s log'),
    ).action(async (dagId: string, flags: ClientFlags & { intervalStart?: string; intervalEnd?: string; params?: string; param?: string[]; local?: boolean; dagsDir?: string; logs?: boolean }) => {
      const params = parseParams(flags);
      if ((flags.intervalStart === undefined) !== (flags.intervalEnd === undefined)) throw new CliError('give both --interval-start and --interval-end, or neither', { exitCode: 2 });
      let result: TestResult;
      if (flags.local) {
        const { loadDagsDir } = await import('../../flow/loader/load-dags.ts');
        const { runDag } = await import('../../flow/testing/run-dag.ts');
        const path = await import('node:path');
        const dir = path.resolve(io.cwd, flags.dagsDir ?? 'dags');
        const loaded = await loadDagsDir(dir);
        const dag = loaded.dags.find((d) => d.id === dagId);
        if (!dag) {
          const errs = loaded.errors.map((e) => `\n  ${e.message}`).join('');
          throw new CliError(`no DAG ${JSON.stringify(dagId)} in ${dir}${loaded.dags.length ? ` (found: ${loaded.dags.map((d) => d.id).join(', ')})` : ''}${errs ? `; files that failed to load:${errs}` : ''}`);
        }
        result = (await runDag(dag, { ...(params ? { params } : {}), ...(flags.intervalStart ? { interval: { start: flags.intervalStart, end: flags.intervalEnd! } } : {}) })) as unknown as TestResult;
      } else {
        result = await client(flags, io).post<TestResult>(`/api/dags/${enc(dagId)}/test`, {
          ...(params ? { params } : {}),
          ...(flags.intervalStart ? { intervalStart: flags.intervalStart, intervalEnd: flags.intervalEnd } : {}),
        });
      }
      if (flags.json) io.stdout(json(result));
      else {
        io.stdout(`${dagId} test run: ${result.state}\n\n`);
        io.stdout(
          table(
            ['TASK', 'STATE', 'TRIES', 'OUTPUT / ERROR'],
            Object.entries(result.tasks).map(([id, t]) => [id, t.items ? `${t.state} (${t.items.length} items)` : t.state, t.attempts, t.error ? t.error.split('\n')[0]!.slice(0, 100) : preview(t.output, 100)]),
          ),
        );
        if (flags.logs) for (const [id, t] of Object.entries(result.tasks)) if (t.log) io.stdout(`\n-- ${id} --\n${t.log}`);
      }
      if (result.state !== 'success') throw new CliError(`the test run failed: ${Object.entries(result.tasks).filter(([, t]) => t.state === 'failed').map(([id, t]) => `${id}: ${t.error}`).join('; ')}`);
    }),
  );

  return dags;
}

// ---------------------------------------------------------------------------------------------
// Scale-out processes

interface ProcessFlags {
  config?: string;
  postgres?: string;
  dagsDir?: string;
  taskLeaseMs?: number;
  logLevel?: string;
  json?: boolean;
}

function processOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file (default: env TRIBUTARY_CONFIG or ./tributary.config.ts)')
    .option('--postgres <url>', 'flow metadata database (default: env TRIBUTARY_FLOW_POSTGRES or flow.metadata.postgres)')
    .option('--dags-dir <dir>', 'folder of DAG files (default: flow.dagsDir or ./dags)')
    .option('--task-lease-ms <ms>', 'task lease (default: flow.taskLeaseMs or 30000)', intArg(100))
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--json', 'JSON logs');
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

async function runFlowProcess(io: CliIo, flags: ProcessFlags, role: 'scheduler' | 'worker', extra: { slots?: number; mode?: 'process' | 'inline' }): Promise<void> {
  const path = await import('node:path');
  const { resolveConfig } = await import('../../config/resolve.ts');
  const { createLogger } = await import('../logger.ts');
  const config = await resolveConfig({ ...(flags.config !== undefined ? { config: flags.config } : {}), ...(flags.logLevel ? { logLevel: flags.logLevel } : {}) }, io.env, io.cwd);
  const postgres = flags.postgres ?? io.env['TRIBUTARY_FLOW_POSTGRES'] ?? config.flow.metadata.postgres;
  if (!postgres) {
    throw new CliError(
      `tributary ${role} needs PostgreSQL metadata: set flow.metadata.postgres in the config, --postgres or TRIBUTARY_FLOW_POSTGRES (with the embedded SQLite metadata, \`tributary up\` runs the ${role} itself)`,
      { exitCode: 2 },
    );
  }
  const logger = createLogger({ level: config.logLevel, format: flags.json ? 'json' : process.stderr.isTTY ? 'pretty' : 'json', write: io.stderr });
  const { loadDagsDir } = await import('../../flow/loader/load-dags.ts');
  const { FlowEngine } = await import('../../flow/engine/engine.ts');
  const { DagRegistry } = await import('../../flow/engine/registry.ts');
  const { openFlowStore } = await import('../../flow/part.ts');
  const dagsDir = flags.dagsDir ? path.resolve(io.cwd, flags.dagsDir) : config.flow.dagsDir;
  const loaded = await loadDagsDir(dagsDir);
  for (const e of loaded.errors) logger.error({ file: e.file }, `flow: DAG file not loaded: ${e.message}`);
  const registry = new DagRegistry();
  registry.replace(loaded.dags, loaded.errors);
  const store = await openFlowStore({ postgres }, config.dataDir);
  let bus: import('../../bus/types.ts').Bus | null = null;
  if (config.broker.external) {
    const { openBus } = await import('../../bus/index.ts');
    bus = await openBus(config, { logger });
  }
  const mode = extra.mode ?? config.flow.mode;
  const slots = extra.slots ?? Math.max(1, config.flow.workers);
  let executor: import('../../flow/exec/types.ts').TaskExecutor | undefined;
  if (role === 'worker') {
    if (mode === 'process') {
      const { ProcessExecutor } = await import('../../flow/exec/process-pool.ts');
      executor = new ProcessExecutor({ size: slots, logger });
    } else {
      const { InlineExecutor } = await import('../../flow/exec/inline-executor.ts');
      executor = new InlineExecutor((id) => registry.get(id));
    }
  }
  const engine = new FlowEngine({
    store,
    registry,
    scheduler: role === 'scheduler',
    workerSlots: role === 'worker' ? slots : 0,
    ...(executor ? { executor } : {}),
    pools: config.flow.pools,
    taskLeaseMs: flags.taskLeaseMs ?? config.flow.taskLeaseMs,
    logger,
    bus,
  });
  const signal = untilSignal();
  await engine.start();
  if (role === 'worker' && executor?.warmUp) await executor.warmUp();
  io.stdout(
    role === 'worker'
      ? `tributary worker ready id=${engine.worker!.id} slots=${slots} mode=${mode} dags=${registry.dags.size}\n`
      : `tributary scheduler ready dags=${registry.dags.size}\n`,
  );
  const sig = await signal;
  logger.info({ signal: sig }, `${role} shutting down`);
  await engine.stop();
  await store.close();
  if (bus) await bus.close();
  logger.info(`${role} stopped`);
}

export function schedulerCommand(io: CliIo): Command {
  return processOptions(
    new Command('scheduler').description('run a flow scheduler against PostgreSQL metadata (several may run at once; see `tributary worker`)'),
  )
    .addHelpText('after', '\nPrints "tributary scheduler ready" once running; exits 0 after a clean shutdown on SIGTERM or SIGINT.')
    .action(async (flags: ProcessFlags) => runFlowProcess(io, flags, 'scheduler', {}));
}

export function workerCommand(io: CliIo): Command {
  return processOptions(
    new Command('worker')
      .description('run a flow worker: claims tasks from PostgreSQL metadata and runs them in child processes')
      .option('--slots <n>', 'tasks at once (default: flow.workers or 4)', intArg(1, 1024))
      .addOption(new Option('--mode <mode>', 'process (child processes, default) or inline').choices(['process', 'inline'])),
  )
    .addHelpText('after', '\nPrints "tributary worker ready id=<id> …" once running; on SIGTERM finishes (or hands back) its tasks and exits 0.')
    .action(async (flags: ProcessFlags & { slots?: number; mode?: 'process' | 'inline' }) =>
      runFlowProcess(io, flags, 'worker', { ...(flags.slots ? { slots: flags.slots } : {}), ...(flags.mode ? { mode: flags.mode } : {}) }),
    );
}
