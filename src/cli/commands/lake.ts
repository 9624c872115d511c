/**
 * `tributary lake tables|describe|snapshots|compact|expire`: the lake of a running
 * `tributary up`, over `/api/lake`. `compact` and `expire` read the server's progress lines and
 * show a progress bar on stderr (`expire`: on a terminal only).
 */
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { CompactProgress, CompactResult, ExpireProgress, PartitionInfo, Snapshot, TableInfo } from '../../lake/types.ts';
import { enc, serverUrl } from '../client.ts';
import { bytes, json, table } from '../format.ts';
import { CliError, type CliIo } from '../io.ts';
import { client, clientOptions, intArg, type ClientFlags } from '../options.ts';

type AsOfFlags = { snapshot?: number; time?: string };

function asOfQuery(flags: AsOfFlags): string {
  const q = new URLSearchParams();
  if (flags.snapshot !== undefined) q.set('snapshot', String(flags.snapshot));
  if (flags.time !== undefined) q.set('time', flags.time);
  return q.size ? `?${q}` : '';
}

function asOfOptions(cmd: Command): Command {
  return cmd.option('--snapshot <id>', 'read as of this snapshot id (time travel)', intArg(0)).option('--time <when>', 'read as of this time (ISO-8601 or epoch ms)');
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A minimal stream for cli-progress that writes through the CLI's io (tests capture it). */
function barStream(io: CliIo): NodeJS.WriteStream {
  return { write: (s: string) => (io.stderr(s), true), isTTY: io.isTTY, columns: 80, on: () => undefined, removeListener: () => undefined } as unknown as NodeJS.WriteStream;
}

type ExpireAnswer = {
  expiredSnapshots: number;
  scheduledFiles: number;
  deletedFiles: number;
  deletedBytes: number;
  retention: { removedFiles: number; removedRows: number } | null;
};

/** POSTs `body` asking for JSON lines; yields each {progress} / {result} line, throws a CliError for {error} or a failed request. */
async function* postLines<P, R>(url: string, body: unknown): AsyncGenerator<{ progress?: P; result?: R }> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' } });
  } catch (err) {
    throw new CliError(`cannot reach ${url} (${(err as Error).message}): is \`tributary up\` running? (--server / TRIBUTARY_SERVER)`, { code: 'SERVER_UNREACHABLE' });
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let message = text;
    let code: string | undefined;
    try {
      ({ message, code } = (JSON.parse(text) as { error: { message: string; code?: string } }).error);
    } catch {
      // not JSON
    }
    throw new CliError(message || `POST ${url} answered ${res.status}`, code ? { code } : {});
  }
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { progress?: P; result?: R; error?: { code: string; message: string } };
      if (msg.error) throw new CliError(msg.error.message, { code: msg.error.code });
      yield msg;
    }
  }
}

export function lakeCommand(io: CliIo): Command {
  const lake = new Command('lake').description('the data lake: tables, snapshots, compaction and expiry');

  lake.addCommand(
    clientOptions(asOfOptions(new Command('tables').description('list tables with their files, rows and size').option('--zone <zone>', 'only raw, clean or curated'))).action(
      async (flags: ClientFlags & AsOfFlags & { zone?: string }) => {
        const q = new URLSearchParams(asOfQuery(flags).slice(1));
        if (flags.zone) q.set('zone', flags.zone);
        const res = await client(flags, io).get<{ snapshot: Snapshot; tables: TableInfo[] }>(`/api/lake/tables${q.size ? `?${q}` : ''}`);
        if (flags.json) return io.stdout(json(res));
        if (res.tables.length === 0) return io.stdout(`no tables (snapshot ${res.snapshot.id})\n`);
        io.stdout(
          table(
            ['TABLE', 'COLUMNS', 'PARTITIONED BY', 'FILES', 'ROWS', 'SIZE'],
            res.tables.map((t) => [t.fullName, t.schema.columns.length, t.partitionBy.map((p) => p.name).join(', ') || '-', t.files, t.rows, bytes(t.bytes)]),
          ) + `\nsnapshot ${res.snapshot.id} (${when(res.snapshot.time)})\n`,
        );
      },
    ),
  );

  lake.addCommand(
    clientOptions(asOfOptions(new Command('describe').description('schema and partitions of a table').argument('<table>', 'zone.table, e.g. raw.orders'))).action(
      async (name: string, flags: ClientFlags & AsOfFlags) => {
        const api = client(flags, io);
        const t = await api.get<TableInfo>(`/api/lake/tables/${enc(name)}${asOfQuery(flags)}`);
        const { partitions } = await api.get<{ partitions: PartitionInfo[] }>(`/api/lake/tables/${enc(name)}/partitions${asOfQuery(flags)}`);
        if (flags.json) return io.stdout(json({ ...t, partitions }));
        let out = `table ${t.fullName}: ${t.files} files, ${t.rows} rows, ${bytes(t.bytes)}; schema version ${t.schema.version}\n\n`;
        out += table(['COLUMN', 'TYPE', 'NULLABLE'], t.schema.columns.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no']));
        if (t.partitionBy.length) {
          out += `\npartitioned by ${t.partitionBy.map((p) => `${p.name} (${p.transform}${p.source ? ` of ${p.source}` : ''})`).join(', ')}\n\n`;
          out += partitions.length
            ? table(['PARTITION', 'FILES', 'ROWS', 'SIZE'], partitions.map((p) => [Object.entries(p.partition).map(([k, v]) => `${k}=${v}`).join('/'), p.files, p.rows, bytes(p.bytes)]))
            : 'no partitions\n';
        }
        io.stdout(out);
      },
    ),
  );

  lake.addCommand(
    clientOptions(
      new Command('snapshots')
        .description('snapshots, newest first')
        .option('--table <table>', 'only commits to this table (zone.table)')
        .option('--limit <n>', 'how many (default 20)', intArg(1, 10_000)),
    ).action(async (flags: ClientFlags & { table?: string; limit?: number }) => {
      const q = new URLSearchParams({ limit: String(flags.limit ?? 20) });
      if (flags.table) q.set('table', flags.table);
      const res = await client(flags, io).get<{ snapshots: Snapshot[] }>(`/api/lake/snapshots?${q}`);
      if (flags.json) return io.stdout(json(res.snapshots));
      io.stdout(
        table(
          ['SNAPSHOT', 'TIME', 'KIND', 'TABLE', '+FILES', '-FILES', '+ROWS', '-ROWS', 'WRITER'],
          res.snapshots.map((s) => [s.id, when(s.time), s.kind, s.table, s.summary.addedFiles, s.summary.removedFiles, s.summary.addedRows, s.summary.removedRows, s.summary.writer]),
        ),
      );
    }),
  );

  lake.addCommand(
    clientOptions(
      new Command('compact')
        .description('merge small files per partition into larger ones (a new snapshot per table)')
        .option('--table <table>', 'only this table (zone.table); default every table')
        .option('--target-file-bytes <n>', 'size of merged files (default 128 MiB)', intArg(1024))
        .option('--min-input-files <n>', 'merge a partition only with at least this many small files (default 2)', intArg(2)),
    ).action(async (flags: ClientFlags & { table?: string; targetFileBytes?: number; minInputFiles?: number }) => {
      const url = `${serverUrl(flags.server, io.env)}/api/lake/compact`;
      const body = {
        ...(flags.table ? { table: flags.table } : {}),
        ...(flags.targetFileBytes ? { targetFileBytes: flags.targetFileBytes } : {}),
        ...(flags.minInputFiles ? { minInputFiles: flags.minInputFiles } : {}),
      };
      const bar = flags.json
        ? null
        : new cliProgress.SingleBar(
            { stream: barStream(io), format: 'compacting {table} |{bar}| {value}/{total} merges', noTTYOutput: true, notTTYSchedule: 1000, hideCursor: false },
            cliProgress.Presets.shades_classic,
          );
      let started = false;
      let result: CompactResult | null = null;
      let currentTable = '';
      try {
        for await (const msg of postLines<CompactProgress, CompactResult>(url, body)) {
          if (msg.progress && bar) {
            const p = msg.progress;
            if (!started || p.table !== currentTable) {
              if (started) bar.stop();
              bar.start(p.total, 0, { table: p.table });
              started = true;
              currentTable = p.table;
            }
            bar.update(p.done, { table: p.table });
          } else if (msg.result) result = msg.result;
        }
      } finally {
        if (started) bar?.stop();
      }
      if (!result) throw new CliError('the server ended the compaction without a result: check its log');
      if (flags.json) return io.stdout(json(result));
      if (result.tables.length === 0) return io.stdout('nothing to compact: no partition has enough small files\n');
      io.stdout(
        table(
          ['TABLE', 'FILES BEFORE', 'FILES AFTER', 'ROWS', 'SIZE BEFORE', 'SIZE AFTER', 'SNAPSHOT'],
          result.tables.map((t, i) => [t.table, t.inputFiles, t.outputFiles, t.rows, bytes(t.bytesBefore), bytes(t.bytesAfter), result!.snapshots[i]?.id]),
        ),
      );
    }),
  );

  lake.addCommand(
    clientOptions(
      new Command('expire')
        .description('apply zone retention, expire old snapshots and delete files no kept snapshot references')
        .option('--older-than-ms <ms>', 'expire snapshots older than this (default: the lake setting, 7 days)', intArg(0))
        .option('--keep-last <n>', 'always keep this many newest snapshots (default 1)', intArg(1))
        .option('--file-grace-ms <ms>', 'delete unreferenced files only after this long (default 10 min)', intArg(0))
        .option('--no-retention', 'skip zone retention'),
    ).action(async (flags: ClientFlags & { olderThanMs?: number; keepLast?: number; fileGraceMs?: number; retention?: boolean }) => {
      const body = {
        ...(flags.olderThanMs !== undefined ? { olderThanMs: flags.olderThanMs } : {}),
        ...(flags.keepLast !== undefined ? { keepLast: flags.keepLast } : {}),
        ...(flags.fileGraceMs !== undefined ? { fileGraceMs: flags.fileGraceMs } : {}),
        ...(flags.retention === false ? { retention: false } : {}),
      };
      // A progress bar on a terminal only: piped output (scripts, CI logs) stays the one result line.
      const bar =
        flags.json || !io.isTTY
          ? null
          : new cliProgress.SingleBar(
              { stream: barStream(io), format: 'expiring |{bar}| {value}/{total} files deleted ({size})', hideCursor: false },
              cliProgress.Presets.shades_classic,
            );
      let started = false;
      let res: ExpireAnswer | null = null;
      try {
        for await (const msg of postLines<ExpireProgress, ExpireAnswer>(`${serverUrl(flags.server, io.env)}/api/lake/expire`, body)) {
          if (msg.progress && bar) {
            if (!started) bar.start(msg.progress.total, 0, { size: bytes(0) });
            started = true;
            bar.update(msg.progress.done, { size: bytes(msg.progress.deletedBytes) });
          } else if (msg.result) res = msg.result;
        }
      } finally {
        if (started) bar?.stop();
      }
      if (!res) throw new CliError('the server ended the expiry without a result: check its log');
      if (flags.json) return io.stdout(json(res));
      const r = res.retention ? `retention removed ${res.retention.removedFiles} files (${res.retention.removedRows} rows); ` : '';
      io.stdout(`${r}expired ${res.expiredSnapshots} snapshots; ${res.scheduledFiles} files scheduled for deletion; deleted ${res.deletedFiles} files (${bytes(res.deletedBytes)})\n`);
    }),
  );

  return lake;
}
