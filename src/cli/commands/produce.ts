/**
 * `tributary produce <topic>`: stdin lines → records, batched into HTTP requests.
 *
 * Batches go out one at a time, in order (so records of one key keep their order), when full
 * (`--batch-size` lines or 1 MiB) or after `--linger-ms` without a new line (so typing lines by
 * hand sends them at once). The command exits 0 only when every line is acknowledged; on the
 * first failure it stops reading and says how many records were acknowledged before it.
 */
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { enc, type ApiClient } from '../client.ts';
import { json } from '../format.ts';
import { CliError, type CliIo } from '../io.ts';
import { client, clientOptions, collect, intArg, type ClientFlags } from '../options.ts';

interface ProduceFlags extends ClientFlags {
  keySeparator?: string;
  partition?: number;
  header?: string[];
  batchSize: number;
  lingerMs: number;
}

interface OutRecord {
  key?: string;
  value: string;
  partition?: number;
  headers?: Array<{ key: string; value: string }>;
}

const MAX_BATCH_BYTES = 1024 * 1024;

function parseHeaders(pairs: string[]): Array<{ key: string; value: string }> {
  return pairs.map((p) => {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CliError(`--header ${JSON.stringify(p)}: expected name=value`, { exitCode: 2 });
    return { key: p.slice(0, eq), value: p.slice(eq + 1) };
  });
}

class BatchSender {
  acked = 0;
  sent = 0;
  error: Error | null = null;
  readonly partitions = new Map<number, number>();
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly topic: string,
  ) {}

  /** Queues a batch; resolves when at most one more batch is waiting (backpressure on stdin). */
  async enqueue(records: OutRecord[], firstLine: number): Promise<void> {
    if (records.length === 0 || this.error) return;
    this.inFlight++;
    this.sent += records.length;
    this.tail = this.tail.then(async () => {
      if (this.error) return;
      try {
        const res = await this.api.post<{ offsets: Array<{ partition: number; offset: number }> }>(
          `/api/topics/${enc(this.topic)}/records`,
          { records },
        );
        this.acked += res.offsets.length;
        for (const o of res.offsets) this.partitions.set(o.partition, (this.partitions.get(o.partition) ?? 0) + 1);
      } catch (err) {
        const e = err as Error;
        this.error = new CliError(
          `records from line ${firstLine} on were not acknowledged (${this.acked} earlier records were): ${e.message}`,
          { code: (e as CliError).code, cause: e },
        );
      } finally {
        this.inFlight--;
      }
    });
    if (this.inFlight > 1) await this.tail;
  }

  drain(): Promise<void> {
    return this.tail;
  }
}

export function produceCommand(io: CliIo): Command {
  return clientOptions(
    new Command('produce')
      .description('send stdin lines as records to a topic (one record per line)')
      .argument('<topic>', 'topic to write to')
      .option('-K, --key-separator <sep>', 'split each line at the first <sep> into key and value (a line without it is an error)')
      .option('-p, --partition <n>', 'write every record to this partition (default: by key hash)', intArg(0))
      .option('-H, --header <name=value>', 'header for every record, repeatable', collect)
      .option('--batch-size <n>', 'records per request', intArg(1, 100_000), 500)
      .option('--linger-ms <ms>', 'send a partial batch after this long without a new line', intArg(0, 60_000), 50),
  )
    .addHelpText('after', '\nEmpty lines are skipped. Exits 0 once every record is acknowledged.')
    .action(async (topic: string, flags: ProduceFlags) => {
      const api = client(flags, io);
      const headers = parseHeaders(flags.header ?? []);
      const sender = new BatchSender(api, topic);
      const sep = flags.keySeparator;
      let batch: OutRecord[] = [];
      let batchBytes = 0;
      let batchFirstLine = 1;
      let lineNo = 0;
      let timer: NodeJS.Timeout | null = null;
      let parseError: CliError | null = null;

      const flush = async () => {
        if (timer) clearTimeout(timer);
        timer = null;
        const b = batch;
        batch = [];
        batchBytes = 0;
        await sender.enqueue(b, batchFirstLine);
      };

      const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
      for await (const line of rl) {
        lineNo++;
        if (sender.error) break;
        if (line === '') continue;
        const rec: OutRecord = { value: line };
        if (sep !== undefined) {
          const at = line.indexOf(sep);
          if (at < 0) {
            parseError = new CliError(`line ${lineNo} has no key separator ${JSON.stringify(sep)}: ${JSON.stringify(line.slice(0, 60))}`);
            break;
          }
          rec.key = line.slice(0, at);
          rec.value = line.slice(at + sep.length);
        }
        if (flags.partition !== undefined) rec.partition = flags.partition;
        if (headers.length) rec.headers = headers;
        if (batch.length === 0) batchFirstLine = lineNo;
        batch.push(rec);
        batchBytes += Buffer.byteLength(line) + 64;
        if (batch.length >= flags.batchSize || batchBytes >= MAX_BATCH_BYTES) {
          await flush();
        } else if (!timer) {
          timer = setTimeout(() => void flush(), flags.lingerMs);
        }
      }
      rl.close();
      // Lines before a bad one are still sent, so the message can say exactly what got in.
      await flush();
      await sender.drain();
      if (sender.error) throw sender.error;
      if (parseError) {
        throw new CliError(`${parseError.message} (the ${sender.acked} records before it were acknowledged)`);
      }
      const summary = { topic, records: sender.acked, partitions: Object.fromEntries([...sender.partitions].sort((a, b) => a[0] - b[0])) };
      if (flags.json) io.stdout(json(summary));
      else io.stderr(`produced ${sender.acked} record${sender.acked === 1 ? '' : 's'} to ${topic}\n`);
    });
}
