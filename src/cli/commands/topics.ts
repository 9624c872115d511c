import { Command } from 'commander';
import { topicConfigFromStrings } from '../../log/index.ts';
import type { TopicConfig, TopicDescription } from '../../log/types.ts';
import { enc } from '../client.ts';
import { bytes, json, table } from '../format.ts';
import { CliError, type CliIo } from '../io.ts';
import { client, clientOptions, collect, intArg, type ClientFlags } from '../options.ts';

/**
 * Parses `--config k=v` pairs. Keys are Kafka's names (`retention.ms`) or TopicConfig's
 * (`retentionMs`); `-1`, `null` or `none` mean "no limit" where a limit is optional.
 */
export function parseTopicConfigPairs(pairs: string[]): Partial<TopicConfig> {
  const entries: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--config ${JSON.stringify(pair)}: expected key=value, e.g. retention.ms=86400000`, { exitCode: 2 });
    entries[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  try {
    return topicConfigFromStrings(entries);
  } catch (err) {
    throw new CliError(`--config: ${(err as Error).message}`, { exitCode: 2 });
  }
}

type TopicView = TopicDescription & { partitionCount: number; sizeBytes: number; records: number };
type TopicSummary = { name: string; internal: boolean; partitions: number; sizeBytes: number; records: number; config: TopicConfig };

function describeText(t: TopicView): string {
  let out = `topic ${t.name}${t.internal ? ' (internal)' : ''}: ${t.partitionCount} partition${t.partitionCount === 1 ? '' : 's'}, ${t.records} records, ${bytes(t.sizeBytes)}\n\n`;
  out += table(
    ['PARTITION', 'START', 'END', 'HIGH-WATERMARK', 'SIZE', 'SEGMENTS'],
    t.partitions.map((p) => [p.partition, p.logStartOffset, p.logEndOffset, p.highWatermark, bytes(p.sizeBytes), p.segments]),
  );
  out += '\nconfig:\n';
  for (const [k, v] of Object.entries(t.config)) out += `  ${k} = ${v === null ? 'none' : String(v)}\n`;
  return out;
}

export function topicsCommand(io: CliIo): Command {
  const topics = new Command('topics').description('create, list, describe and delete topics');

  topics.addCommand(
    clientOptions(
      new Command('create')
        .description('create a topic')
        .argument('<name>', 'topic name (letters, digits, . _ -)')
        .option('-p, --partitions <n>', 'number of partitions (default: the broker default)', intArg(1))
        .option('--config <key=value>', 'topic setting, repeatable: retention.ms, retention.bytes, segment.bytes, segment.ms, max.message.bytes, cleanup.policy, delete.retention.ms, min.compaction.lag.ms, ack.policy, flush.interval.ms', collect),
    ).action(async (name: string, flags: ClientFlags & { partitions?: number; config?: string[] }) => {
      const config = parseTopicConfigPairs(flags.config ?? []);
      const body = { name, ...(flags.partitions !== undefined ? { partitions: flags.partitions } : {}), config };
      const t = await client(flags, io).post<TopicView>('/api/topics', body);
      io.stdout(flags.json ? json(t) : `created topic ${t.name} with ${t.partitionCount} partition${t.partitionCount === 1 ? '' : 's'}\n`);
    }),
  );

  topics.addCommand(
    clientOptions(
      new Command('list').description('list topics').option('--internal', 'include internal topics (__…)'),
    ).action(async (flags: ClientFlags & { internal?: boolean }) => {
      const res = await client(flags, io).get<{ topics: TopicSummary[] }>(`/api/topics${flags.internal ? '?internal=true' : ''}`);
      if (flags.json) return io.stdout(json(res.topics));
      if (res.topics.length === 0) return io.stdout('no topics\n');
      io.stdout(table(['NAME', 'PARTITIONS', 'RECORDS', 'SIZE'], res.topics.map((t) => [t.name, t.partitions, t.records, bytes(t.sizeBytes)])));
    }),
  );

  topics.addCommand(
    clientOptions(
      new Command('describe').description('show partitions, offsets, sizes and settings of a topic').argument('<name>', 'topic name'),
    ).action(async (name: string, flags: ClientFlags) => {
      const t = await client(flags, io).get<TopicView>(`/api/topics/${enc(name)}`);
      io.stdout(flags.json ? json(t) : describeText(t));
    }),
  );

  topics.addCommand(
    clientOptions(new Command('delete').description('delete a topic and its data').argument('<name>', 'topic name')).action(
      async (name: string, flags: ClientFlags) => {
        const res = await client(flags, io).delete<{ deleted: string }>(`/api/topics/${enc(name)}`);
        io.stdout(flags.json ? json(res) : `deleted topic ${name}\n`);
      },
    ),
  );

  return topics;
}
