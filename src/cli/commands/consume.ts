/**
 * `tributary consume <topic…>`: prints records through a consumer instance of the HTTP API.
 *
 * With `--group` the instance joins the group and, before exiting, the command commits exactly
 * what it printed (explicit offsets, so a poll interrupted by Ctrl-C does not commit records
 * that never reached the screen). Without a group it reads every partition directly.
 */
import { Command } from 'commander';
import { enc, type ApiClient } from '../client.ts';
import { CliError, type CliIo } from '../io.ts';
import { client, clientOptions, intArg, type ClientFlags } from '../options.ts';

interface ConsumeFlags extends ClientFlags {
  group?: string;
  fromBeginning?: boolean;
  maxMessages?: number;
  timeoutMs?: number;
  printKey?: boolean;
  keySeparator: string;
  partition?: number;
  offset?: number;
  base64?: boolean;
}

interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

/** The longest single poll; the instance's idle timeout on the server is far longer. */
const MAX_POLL_MS = 5000;

export function consumeCommand(io: CliIo): Command {
  return clientOptions(
    new Command('consume')
      .description('print records of one or more topics')
      .argument('<topics...>', 'topics to read')
      .option('-g, --group <id>', 'consume as a member of this group and commit what was printed')
      .option('--from-beginning', 'start at the oldest record when the group has no committed offset (default: only new records)')
      .option('-n, --max-messages <n>', 'exit after printing this many records', intArg(1))
      .option('--timeout-ms <ms>', 'exit after this long without a new record', intArg(0))
      .option('--print-key', 'print the key before the value')
      .option('--key-separator <sep>', 'between key and value with --print-key', '\t')
      .option('-p, --partition <n>', 'read only this partition (without --group)', intArg(0))
      .option('-o, --offset <n>', 'start at this offset of --partition', intArg(0))
      .option('--base64', 'keys and values as base64 (for binary data)'),
  )
    .addHelpText('after', '\n--json prints one object per line: {topic, partition, offset, timestamp, key, value, headers}.')
    .action(async (topics: string[], flags: ConsumeFlags) => {
      if (flags.offset !== undefined && flags.partition === undefined) {
        throw new CliError('--offset needs --partition', { exitCode: 2 });
      }
      if (flags.partition !== undefined && topics.length !== 1) {
        throw new CliError('--partition works with exactly one topic', { exitCode: 2 });
      }
      const api = client(flags, io);
      const spec =
        flags.partition !== undefined
          ? {
              partitions: [{ topic: topics[0]!, partition: flags.partition, ...(flags.offset !== undefined ? { offset: flags.offset } : {}) }],
              fromBeginning: flags.fromBeginning ?? false,
              ...(flags.group !== undefined ? { group: flags.group } : {}),
            }
          : { topics, fromBeginning: flags.fromBeginning ?? false, ...(flags.group !== undefined ? { group: flags.group } : {}) };
      const { id } = await api.post<{ id: string }>('/api/consumers', spec);
      await consumeLoop(api, id, flags, io);
    });
}

async function consumeLoop(api: ApiClient, id: string, flags: ConsumeFlags, io: CliIo): Promise<void> {
  const printed = new Map<string, { topic: string; partition: number; offset: number }>();
  let count = 0;
  let stopped = false;
  let abort: AbortController | null = null;
  const stop = () => {
    stopped = true;
    abort?.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let failure: unknown = null;
  try {
    let deadline = flags.timeoutMs !== undefined ? Date.now() + flags.timeoutMs : Infinity;
    while (!stopped && (flags.maxMessages === undefined || count < flags.maxMessages)) {
      const wait = Math.min(MAX_POLL_MS, deadline - Date.now());
      if (wait < 0) break;
      const max = Math.min(500, flags.maxMessages === undefined ? 500 : flags.maxMessages - count);
      abort = new AbortController();
      let res: { records: JsonRecord[] };
      try {
        res = await api.get(`/api/consumers/${enc(id)}/records?timeoutMs=${Math.floor(wait)}&maxRecords=${max}${flags.base64 ? '&base64=true' : ''}`, {
          signal: abort.signal,
        });
      } catch (err) {
        if (stopped) break;
        throw err;
      }
      let out = '';
      for (const r of res.records) {
        if (flags.maxMessages !== undefined && count >= flags.maxMessages) break;
        if (flags.json) out += JSON.stringify(r) + '\n';
        else if (flags.printKey) out += `${r.key ?? 'null'}${flags.keySeparator}${r.value ?? 'null'}\n`;
        else out += `${r.value ?? 'null'}\n`;
        printed.set(`${r.topic}\u0000${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
        count++;
      }
      if (out) io.stdout(out);
      if (res.records.length > 0 && flags.timeoutMs !== undefined) deadline = Date.now() + flags.timeoutMs;
      if (wait === 0) break;
    }
  } catch (err) {
    failure = err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  // Commit what was printed, then leave the group; report the first failure.
  try {
    if (flags.group !== undefined && printed.size > 0) {
      await api.post(`/api/consumers/${enc(id)}/commit`, { offsets: [...printed.values()] });
    }
  } catch (err) {
    failure ??= new CliError(`printed ${count} records but could not commit their offsets: ${(err as Error).message}`);
  }
  await api.delete(`/api/consumers/${enc(id)}`).catch(() => {});
  if (failure) throw failure;
  io.stderr(`consumed ${count} record${count === 1 ? '' : 's'}\n`);
}
