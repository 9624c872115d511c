/**
 * `tributary connectors …`: manage connectors of a running server over its REST API
 * (list, create, get, config, status, pause, resume, stop, restart, delete, offsets, plugins, validate).
 *
 * A config is given as JSON: `--config '{"connector":"file-source",…}'`, `--file conn.json`
 * (`-` reads stdin), and/or `--set key=value` pairs (values parsed as JSON when they parse,
 * dotted keys for nested settings: `--set errors.tolerance=all`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { enc } from '../client.ts';
import { json, table } from '../format.ts';
import { CliError, type CliIo } from '../io.ts';
import { client, clientOptions, collect, intArg, type ClientFlags } from '../options.ts';

interface ConfigFlags extends ClientFlags {
  config?: string;
  file?: string;
  set?: string[];
}

interface Status {
  name: string;
  type: string;
  connector: { state: string; workerId: string; trace?: string };
  tasks: Array<{ id: number; state: string; workerId: string; trace?: string }>;
}

interface Info {
  name: string;
  type: string;
  config: Record<string, unknown>;
  tasks: Array<{ connector: string; task: number }>;
  origin: string;
}

async function readStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

/** Builds a config from --config, --file and --set; null when none was given. */
export async function configFromFlags(flags: ConfigFlags, io: CliIo): Promise<Record<string, unknown> | null> {
  let config: Record<string, unknown> | null = null;
  const parse = (text: string, where: string) => {
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
      return v as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`${where}: not a JSON object (${(err as Error).message})`, { exitCode: 2 });
    }
  };
  if (flags.file !== undefined) {
    const text = flags.file === '-' ? await readStdin(io) : readText(path.resolve(io.cwd, flags.file));
    config = parse(text, `--file ${flags.file}`);
    // Kafka Connect's files hold { name, config }: take the config.
    if (typeof config['config'] === 'object' && config['config'] !== null && !('connector' in config)) config = config['config'] as Record<string, unknown>;
  }
  if (flags.config !== undefined) config = { ...(config ?? {}), ...parse(flags.config, '--config') };
  for (const pair of flags.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--set ${JSON.stringify(pair)}: expected key=value, e.g. tasksMax=2`, { exitCode: 2 });
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // plain text
    }
    config ??= {};
    setPath(config, pair.slice(0, eq).trim(), value);
  }
  return config;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, { exitCode: 2 });
  }
}

function configOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <json>', 'the connector config as a JSON object')
    .option('-f, --file <path>', 'read the config from a JSON file (- for stdin); { name, config } files work too')
    .option('--set <key=value>', 'one setting (repeatable; dotted keys for nested ones, values parsed as JSON)', collect);
}

function statusText(s: Status): string {
  let out = `connector ${s.name} (${s.type}): ${s.connector.state}${s.connector.trace ? ` — ${s.connector.trace}` : ''}\n`;
  if (s.tasks.length) out += '\n' + table(['TASK', 'STATE', 'WORKER', 'ERROR'], s.tasks.map((t) => [t.id, t.state, t.workerId, t.trace ?? '']));
  return out;
}

export function connectorsCommand(io: CliIo): Command {
  const cmd = new Command('connectors').description('create, inspect and control connectors (sources and sinks) of a running server');
  const api = (flags: ClientFlags) => client(flags, io);

  cmd.addCommand(
    clientOptions(new Command('list').description('list connectors with their state')).action(async (flags: ClientFlags) => {
      const res = await api(flags).get<Record<string, { status: Status }>>('/api/connectors?expand=status');
      const rows = Object.entries(res);
      if (flags.json) return io.stdout(json(rows.map(([, v]) => v.status)));
      if (rows.length === 0) return io.stdout('no connectors\n');
      io.stdout(
        table(
          ['NAME', 'TYPE', 'STATE', 'TASKS', 'ERROR'],
          rows.map(([n, v]) => [n, v.status.type, v.status.connector.state, `${v.status.tasks.filter((t) => t.state === 'RUNNING').length}/${v.status.tasks.length} running`, v.status.connector.trace ?? v.status.tasks.find((t) => t.trace)?.trace ?? '']),
        ),
      );
    }),
  );

  cmd.addCommand(
    configOptions(clientOptions(new Command('create').description('create a connector').argument('<name>', 'connector name'))).action(async (name: string, flags: ConfigFlags) => {
      const config = await configFromFlags(flags, io);
      if (!config) throw new CliError('give the config with --config, --file or --set (e.g. --set connector=file-source)', { exitCode: 2 });
      const info = await api(flags).post<Info>('/api/connectors', { name, config });
      io.stdout(flags.json ? json(info) : `created connector ${info.name} (${info.type}, ${info.tasks.length} task${info.tasks.length === 1 ? '' : 's'})\n`);
    }),
  );

  cmd.addCommand(
    clientOptions(new Command('get').description('show a connector: type, config, tasks').argument('<name>', 'connector name')).action(async (name: string, flags: ClientFlags) => {
      const info = await api(flags).get<Info>(`/api/connectors/${enc(name)}`);
      if (flags.json) return io.stdout(json(info));
      io.stdout(`connector ${info.name} (${info.type}, from the ${info.origin === 'api' ? 'API' : 'config file'}), tasks: ${info.tasks.map((t) => t.task).join(', ') || 'none'}\n\nconfig:\n`);
      for (const [k, v] of Object.entries(info.config)) io.stdout(`  ${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
    }),
  );

  cmd.addCommand(
    configOptions(
      clientOptions(new Command('config').description('show a connector config, or replace it (--config/--file/--set; the tasks restart)').argument('<name>', 'connector name')),
    )
      .option('--merge', 'with --set: change only the given settings, keep the others')
      .action(async (name: string, flags: ConfigFlags & { merge?: boolean }) => {
        let config = await configFromFlags(flags, io);
        const c = api(flags);
        if (!config) {
          const current = await c.get<Record<string, unknown>>(`/api/connectors/${enc(name)}/config`);
          return io.stdout(json(current));
        }
        if (flags.merge) {
          const current = await c.get<Record<string, unknown>>(`/api/connectors/${enc(name)}/config`);
          const merged = structuredClone(current);
          for (const pair of flags.set ?? []) {
            const eq = pair.indexOf('=');
            let v: unknown = pair.slice(eq + 1);
            try {
              v = JSON.parse(v as string);
            } catch {
              // text
            }
            setPath(merged, pair.slice(0, eq).trim(), v);
          }
          config = { ...merged, ...(flags.config || flags.file ? config : {}) };
        }
        const info = await c.request<Info>('PUT', `/api/connectors/${enc(name)}/config`, config);
        io.stdout(flags.json ? json(info) : `updated connector ${info.name}; its tasks restarted\n`);
      }),
  );

  cmd.addCommand(
    clientOptions(new Command('status').description('state of a connector and its tasks, with errors').argument('<name>', 'connector name')).action(async (name: string, flags: ClientFlags) => {
      const s = await api(flags).get<Status>(`/api/connectors/${enc(name)}/status`);
      io.stdout(flags.json ? json(s) : statusText(s));
    }),
  );

  for (const [verb, what] of [
    ['pause', 'pause a connector (its tasks stop reading and writing)'],
    ['resume', 'resume a paused or stopped connector'],
    ['stop', 'stop a connector’s tasks but keep it (needed before resetting offsets)'],
  ] as const) {
    cmd.addCommand(
      clientOptions(new Command(verb).description(what).argument('<name>', 'connector name')).action(async (name: string, flags: ClientFlags) => {
        const s = await api(flags).request<Status>('PUT', `/api/connectors/${enc(name)}/${verb}`);
        io.stdout(flags.json ? json(s) : statusText(s));
      }),
    );
  }

  cmd.addCommand(
    clientOptions(
      new Command('restart')
        .description('restart a connector gracefully (offsets kept, work split again), or one task')
        .argument('<name>', 'connector name')
        .option('--only-failed', 'restart only failed tasks')
        .option('--task <id>', 'restart only this task', intArg(0)),
    ).action(async (name: string, flags: ClientFlags & { onlyFailed?: boolean; task?: number }) => {
      const c = api(flags);
      if (flags.task !== undefined) {
        await c.post(`/api/connectors/${enc(name)}/tasks/${flags.task}/restart`);
        return io.stdout(flags.json ? json({ restarted: { connector: name, task: flags.task } }) : `restarted task ${flags.task} of ${name}\n`);
      }
      const s = await c.post<Status>(`/api/connectors/${enc(name)}/restart${flags.onlyFailed ? '?onlyFailed=true' : ''}`);
      io.stdout(flags.json ? json(s) : statusText(s));
    }),
  );

  cmd.addCommand(
    clientOptions(new Command('delete').description('delete a connector (its stored offsets are kept)').argument('<name>', 'connector name')).action(async (name: string, flags: ClientFlags) => {
      await api(flags).delete(`/api/connectors/${enc(name)}`);
      io.stdout(flags.json ? json({ deleted: name }) : `deleted connector ${name}\n`);
    }),
  );

  cmd.addCommand(
    clientOptions(
      new Command('offsets').description('show a connector’s offsets, or reset them (--reset; stop it first)').argument('<name>', 'connector name').option('--reset', 'forget the offsets: the connector starts over'),
    ).action(async (name: string, flags: ClientFlags & { reset?: boolean }) => {
      const c = api(flags);
      if (flags.reset) {
        const res = await c.delete<{ message: string }>(`/api/connectors/${enc(name)}/offsets`);
        return io.stdout(flags.json ? json(res) : `${res.message}\n`);
      }
      const res = await c.get<{ offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> }> }>(`/api/connectors/${enc(name)}/offsets`);
      if (flags.json) return io.stdout(json(res));
      if (res.offsets.length === 0) return io.stdout('no offsets stored\n');
      io.stdout(table(['PARTITION', 'OFFSET'], res.offsets.map((o) => [JSON.stringify(o.partition), JSON.stringify(o.offset)])));
    }),
  );

  cmd.addCommand(
    clientOptions(new Command('plugins').description('list installed connector plugins')).action(async (flags: ClientFlags) => {
      const res = await api(flags).get<Array<{ name: string; type: string; description: string; fields: string[] }>>('/api/connector-plugins');
      io.stdout(flags.json ? json(res) : table(['PLUGIN', 'TYPE', 'DESCRIPTION'], res.map((p) => [p.name, p.type, p.description])));
    }),
  );

  cmd.addCommand(
    configOptions(clientOptions(new Command('validate').description('check a config for a plugin without creating anything').argument('<plugin>', 'plugin name (see `connectors plugins`)'))).action(
      async (plugin: string, flags: ConfigFlags) => {
        const config = (await configFromFlags(flags, io)) ?? {};
        const res = await api(flags).request<{ plugin: string; errorCount: number; problems: Array<{ path: string; message: string }> }>(
          'PUT',
          `/api/connector-plugins/${enc(plugin)}/config/validate`,
          config,
        );
        if (flags.json) io.stdout(json(res));
        else if (res.errorCount === 0) io.stdout(`the config is valid for ${plugin}\n`);
        else io.stdout(`${res.errorCount} problem${res.errorCount === 1 ? '' : 's'}:\n${res.problems.map((p) => `  ${p.path || '(config)'}: ${p.message}\n`).join('')}`);
        if (res.errorCount > 0) throw new CliError(`the config is not valid for ${plugin}`, { exitCode: 1 });
      },
    ),
  );

  return cmd;
}
