/**
 * `tributary models list|build|test`: the SQL models of the project a running `tributary up`
 * serves (`/api/models`). `build` and `test` print each model or test as the server reports it
 * and exit 1 when any model failed or any test of severity error failed.
 */
import { Command } from 'commander';
import { json, table } from '../format.ts';
import { postForStream, serverUrl } from '../client.ts';
import { CliError, type CliIo } from '../io.ts';
import { client, clientOptions, collect, type ClientFlags } from '../options.ts';
import type { ModelResult, TestResult } from '../../warehouse/models/runner.ts';

interface SelectFlags extends ClientFlags {
  select?: string[];
  vars?: string;
}

function parseVars(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new CliError(`--vars: expected a JSON object like '{"days": 30}': ${(err as Error).message}`, { exitCode: 2 });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CliError(`--vars: expected a JSON object like '{"days": 30}'`, { exitCode: 2 });
  return v as Record<string, unknown>;
}

function selectOptions(cmd: Command): Command {
  return cmd
    .option('-s, --select <selector>', 'models to include, repeatable: name, +name (with upstream), name+ (with downstream), tag:x, path:marts/', collect)
    .option('--vars <json>', `values for var() in the models, e.g. '{"days": 30}'`);
}

/** POSTs and calls `onLine` for every JSON line of the streamed answer. */
async function streamLines(io: CliIo, flags: ClientFlags, path: string, body: unknown, onLine: (v: Record<string, unknown>) => void): Promise<void> {
  const stream = await postForStream(serverUrl(flags.server, io.env), path, body);
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line) onLine(JSON.parse(line) as Record<string, unknown>);
    }
  }
  if (buffered.trim()) onLine(JSON.parse(buffered) as Record<string, unknown>);
}

function modelLine(r: ModelResult, index: number, total: number): string {
  const kind = r.strategy ? `${r.materialized}, ${r.strategy}` : r.materialized;
  const head = `${String(index).padStart(String(total).length)}/${total} ${r.status === 'success' ? 'OK     ' : r.status === 'skipped' ? 'SKIP   ' : 'ERROR  '} ${r.relation} (${kind})`;
  if (r.status === 'success') return `${head}${r.rows !== null ? ` ${r.rows} rows` : ''}${r.snapshot !== null ? `, snapshot ${r.snapshot}` : ''} in ${r.ms} ms\n`;
  if (r.status === 'skipped') return `${head}: upstream model ${r.skippedBecause} failed\n`;
  return `${head}\n${(r.error?.message ?? '').replace(/^/gm, '    ')}\n`;
}

function testLine(r: TestResult): string {
  const tag = { pass: 'PASS ', warn: 'WARN ', fail: 'FAIL ', error: 'ERROR' }[r.status];
  let out = `${tag} ${r.test}${r.failures ? ` (${r.failures} failing row${r.failures === 1 ? '' : 's'})` : ''}\n`;
  if (r.status === 'error') out += `${(r.error?.message ?? '').replace(/^/gm, '    ')}\n`;
  if (r.samples.length) {
    const cols = Object.keys(r.samples[0]!);
    out += table(cols, r.samples.map((s) => cols.map((c) => (s[c] === null ? 'NULL' : typeof s[c] === 'object' ? JSON.stringify(s[c]) : String(s[c]))))).replace(/^(?=.)/gm, '    ');
  }
  return out;
}

export function modelsCommand(io: CliIo): Command {
  const models = new Command('models').description('SQL models (marts): list, build, test');

  models.addCommand(
    clientOptions(new Command('list').description('the models in build order, with materialization and dependencies')).action(async (flags: ClientFlags) => {
      const res = await client(flags, io).get<{ models: Array<{ name: string; relation: string; materialized: string; strategy: string | null; parents: string[]; tests: number; file: string }> }>('/api/models');
      if (flags.json) return io.stdout(json(res));
      if (res.models.length === 0) return io.stdout('no models\n');
      io.stdout(table(['MODEL', 'RELATION', 'MATERIALIZED', 'DEPENDS ON', 'TESTS', 'FILE'], res.models.map((m) => [m.name, m.relation, m.strategy ? `${m.materialized} (${m.strategy})` : m.materialized, m.parents.join(', ') || '-', m.tests, m.file])));
    }),
  );

  models.addCommand(
    clientOptions(selectOptions(new Command('build').description('build the models (views, tables and incremental tables in the lake)').option('--full-refresh', 'rebuild incremental models from scratch'))).action(
      async (flags: SelectFlags & { fullRefresh?: boolean }) => {
        const vars = parseVars(flags.vars);
        let result: { ok: boolean; results: ModelResult[] } | null = null;
        let done = 0;
        let totalModels = 0;
        await streamLines(io, flags, '/api/models/build', { ...(flags.select ? { select: flags.select } : {}), ...(vars ? { vars } : {}), ...(flags.fullRefresh ? { fullRefresh: true } : {}) }, (v) => {
          if (v['error']) throw new CliError((v['error'] as { message: string }).message, { code: (v['error'] as { code: string }).code });
          if (v['start']) totalModels = (v['start'] as { total: number }).total;
          if (v['model'] && !flags.json) io.stdout(modelLine(v['model'] as ModelResult, ++done, totalModels));
          if (v['result']) result = v['result'] as { ok: boolean; results: ModelResult[] };
        });
        if (!result) throw new CliError('the server ended the build without a result: see its log', { code: 'WAREHOUSE_QUERY_FAILED' });
        const r = result as { ok: boolean; results: ModelResult[] };
        if (flags.json) io.stdout(json(r));
        else if (r.results.length === 0) io.stdout('no models selected\n');
        const failed = r.results.filter((x) => x.status === 'error').length;
        const skipped = r.results.filter((x) => x.status === 'skipped').length;
        if (!flags.json) io.stderr(`${r.results.length - failed - skipped} built, ${failed} failed, ${skipped} skipped\n`);
        if (!r.ok) throw new CliError(`${failed} model${failed === 1 ? '' : 's'} failed${skipped ? `, ${skipped} skipped` : ''}`, { code: 'WAREHOUSE_MODEL_FAILED' });
      },
    ),
  );

  models.addCommand(
    clientOptions(selectOptions(new Command('test').description('run the model tests (unique, not_null, accepted_values, relationships, expression_is_true, SQL tests)'))).action(
      async (flags: SelectFlags) => {
        const vars = parseVars(flags.vars);
        let result: { ok: boolean; results: TestResult[] } | null = null;
        await streamLines(io, flags, '/api/models/test', { ...(flags.select ? { select: flags.select } : {}), ...(vars ? { vars } : {}) }, (v) => {
          if (v['error']) throw new CliError((v['error'] as { message: string }).message, { code: (v['error'] as { code: string }).code });
          if (v['test'] && !flags.json) io.stdout(testLine(v['test'] as TestResult));
          if (v['result']) result = v['result'] as { ok: boolean; results: TestResult[] };
        });
        if (!result) throw new CliError('the server ended the test run without a result: see its log', { code: 'WAREHOUSE_QUERY_FAILED' });
        const r = result as { ok: boolean; results: TestResult[] };
        if (flags.json) io.stdout(json(r));
        const count = (s: TestResult['status']) => r.results.filter((x) => x.status === s).length;
        if (!flags.json) io.stderr(`${count('pass')} passed, ${count('warn')} warned, ${count('fail')} failed, ${count('error')} errored\n`);
        if (!r.ok) throw new CliError(`${count('fail') + count('error')} test${count('fail') + count('error') === 1 ? '' : 's'} failed`, { code: 'WAREHOUSE_TEST_FAILED' });
      },
    ),
  );
  return models;
}
