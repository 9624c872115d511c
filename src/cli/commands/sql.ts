/**
 * `tributary sql "<query>"`: runs a query through the warehouse's SQL gateway of a running
 * `tributary up` (`POST /api/sql`) and prints the rows as they stream in: `--format table`
 * (default on a terminal), `jsonl` (default in a pipe), `json` or `csv`. `--as-of` reads the
 * lake as of a snapshot id or a time. Ctrl-C cancels the query on the server.
 */
import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import { postForStream, serverUrl } from '../client.ts';
import { json, table } from '../format.ts';
import { CliError, type CliIo } from '../io.ts';
import { clientOptions, type ClientFlags } from '../options.ts';

const FORMATS = ['table', 'jsonl', 'json', 'csv'] as const;
type Format = (typeof FORMATS)[number];
/** `--format table` prints at most this many rows (use jsonl or csv for more). */
const TABLE_ROWS = 1000;

interface SqlFlags extends ClientFlags {
  format?: Format;
  asOf?: string;
  file?: string;
}

type Column = { name: string; type: string };

function asOfBody(raw: string | undefined): { snapshot: number } | { time: string } | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (/^\d{1,12}$/.test(v)) return { snapshot: Number(v) };
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v) || /^\d{13}$/.test(v)) return { time: v };
  throw new CliError(`--as-of: expected a snapshot id (e.g. 12) or a time (e.g. 2024-05-01T07:00:00Z), got ${JSON.stringify(raw)}`, { exitCode: 2 });
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

async function readStdin(io: CliIo): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

export function sqlCommand(io: CliIo): Command {
  return clientOptions(
    new Command('sql')
      .description('run a SQL query over the lake (tables are zone.table: raw.orders, curated.top_products)')
      .argument('[query]', "the query; '-' or none reads it from stdin")
      .addOption(new Option('-f, --format <format>', 'output: table (terminal default), jsonl (pipe default), json, csv').choices(FORMATS))
      .option('--as-of <snapshot|time>', 'read every lake table as of this snapshot id or time (ISO-8601)')
      .option('--file <path>', 'read the query from a file'),
  )
    .addHelpText(
      'after',
      `
Examples:
  tributary sql "SELECT query, count(*) AS n FROM raw.searches GROUP BY ALL ORDER BY n DESC LIMIT 10"
  tributary sql --as-of 12 "SELECT count(*) FROM raw.orders"
  tributary sql "SELECT count(*) FROM raw.orders AT (VERSION => 12)"
  tributary sql --format csv "SELECT * FROM curated.monthly_order_stats" > stats.csv`,
    )
    .action(async (query: string | undefined, flags: SqlFlags) => {
      let sql = query;
      if (flags.file) {
        const { readFileSync } = await import('node:fs');
        try {
          sql = readFileSync(flags.file, 'utf8');
        } catch (err) {
          throw new CliError(`--file: cannot read ${flags.file}: ${(err as Error).message}`, { exitCode: 2 });
        }
      } else if (sql === undefined || sql === '-') sql = await readStdin(io);
      if (!sql || !sql.trim()) throw new CliError('no query: pass it as an argument, with --file, or on stdin', { exitCode: 2 });
      const format: Format = flags.json ? 'json' : (flags.format ?? (io.isTTY ? 'table' : 'jsonl'));
      const asOf = asOfBody(flags.asOf);
      const base = serverUrl(flags.server, io.env);
      const queryId = randomUUID();
      const abort = new AbortController();
      // Ctrl-C: closing the connection makes the server interrupt the query.
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        await run(io, base, { sql, format: 'ndjson', queryId, ...(asOf ? { asOf } : {}) }, format, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) throw new CliError('cancelled', { code: 'WAREHOUSE_QUERY_CANCELLED', exitCode: 130 });
        throw err;
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    });
}

async function run(io: CliIo, base: string, body: Record<string, unknown>, format: Format, signal: AbortSignal): Promise<void> {
  const stream = await postForStream(base, '/api/sql', body, signal);

  let columns: Column[] = [];
  const tableRows: string[][] = [];
  const jsonRows: Array<Record<string, unknown>> = [];
  let total = 0;
  let doneLine: { rows: number; ms: number } | null = null;
  const toObject = (row: unknown[]) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]]));

  const handle = (line: string) => {
    if (!line) return;
    const v = JSON.parse(line) as unknown;
    if (Array.isArray(v)) {
      total++;
      if (format === 'jsonl') io.stdout(JSON.stringify(toObject(v)) + '\n');
      else if (format === 'csv') io.stdout(v.map(csvField).join(',') + '\n');
      else if (format === 'json') jsonRows.push(toObject(v));
      else if (tableRows.length < TABLE_ROWS) tableRows.push(v.map(cell));
      return;
    }
    const o = v as { columns?: Column[]; done?: { rows: number; ms: number }; error?: { code: string; message: string } };
    if (o.columns) {
      columns = o.columns;
      if (format === 'csv') io.stdout(columns.map((c) => csvField(c.name)).join(',') + '\n');
    } else if (o.done) doneLine = o.done;
    else if (o.error) throw new CliError(o.error.message, { code: o.error.code });
  };

  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      handle(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  handle(buffered + decoder.decode());
  if (!doneLine) throw new CliError('the server closed the result early (the query may have been cancelled): run it again', { code: 'WAREHOUSE_QUERY_FAILED' });
  const done = doneLine as { rows: number; ms: number };
  if (format === 'json') io.stdout(json({ columns, rows: jsonRows, rowCount: total }));
  else if (format === 'table') {
    io.stdout(columns.length ? table(columns.map((c) => c.name), tableRows) : '');
    const more = total > tableRows.length ? ` (first ${tableRows.length} shown: use --format jsonl or csv for all)` : '';
    io.stderr(`${total} row${total === 1 ? '' : 's'}${more} in ${done.ms} ms\n`);
  }
}
