import { Command } from 'commander';
import type { AppDescription, AppSummary } from '../../streams/service.ts';
import { enc } from '../client.ts';
import { bytes, json, table } from '../format.ts';
import type { CliIo } from '../io.ts';
import { client, clientOptions, type ClientFlags } from '../options.ts';

function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function describeText(d: AppDescription): string {
  let out = `stream app ${d.id}: ${d.state}${d.detail ? ` (${d.detail})` : ''}\n`;
  if (d.description) out += `${d.description}\n`;
  out += `guarantee ${d.processingGuarantee ?? '-'}, ${d.tasks} task${d.tasks === 1 ? '' : 's'} here, processed ${d.processed}, dead-lettered ${d.deadLettered}, late ${d.late}, total lag ${d.totalLag}\n`;
  if (d.lastError) out += `last error: [${d.lastError.code}] ${d.lastError.message}\n`;
  if (d.topology) {
    out += '\ntopology:\n';
    for (const s of d.topology.subtopologies) {
      out += `  sub-topology ${s.id}: reads ${s.sourceTopics.join(', ')}${s.sinkTopics.length ? ` → writes ${s.sinkTopics.join(', ')}` : ''}\n`;
      for (const n of s.nodes) {
        out += `    ${n.name} [${n.kind}]${n.detail ? ` ${n.detail}` : ''}${n.stores.length ? ` stores: ${n.stores.join(', ')}` : ''}${n.children.length ? ` → ${n.children.join(', ')}` : ''}\n`;
      }
    }
    if (d.topology.stores.length) {
      out += '\nstores:\n';
      out += table(['STORE', 'KIND', 'CHANGELOG', 'WHAT'], d.topology.stores.map((s) => [s.name, s.kind, s.changelogTopic, s.detail])).replace(/^/gm, '  ');
    }
  }
  if (d.taskDetails.length) {
    out += '\ntasks:\n';
    out += table(
      ['TASK', 'INPUTS', 'WATERMARK', 'PROCESSED', 'STATE'],
      d.taskDetails.map((t) => [t.id, t.inputs.join(','), time(t.watermark), t.processed, t.stores.map((s) => `${s.name}=${s.entries} (${bytes(s.approximateBytes)})`).join(' ') || '-']),
    ).replace(/^/gm, '  ');
  }
  if (d.lag.length) {
    out += '\nlag:\n';
    out += table(['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG'], d.lag.map((o) => [o.topic, o.partition, o.committedOffset, o.logEndOffset, o.lag])).replace(/^/gm, '  ');
  }
  return out;
}

export function streamsCommand(io: CliIo): Command {
  const streams = new Command('streams').description('stream apps: their topology, tasks, lag and state');

  streams.addCommand(
    clientOptions(new Command('list').description('list the stream apps of the server')).action(async (flags: ClientFlags) => {
      const res = await client(flags, io).get<{ apps: AppSummary[] }>('/api/streams');
      if (flags.json) return io.stdout(json(res.apps));
      if (res.apps.length === 0) return io.stdout('no stream apps (put them in the streams/ folder of the project)\n');
      io.stdout(
        table(
          ['APP', 'STATE', 'GUARANTEE', 'TASKS', 'STORES', 'PROCESSED', 'DEAD-LETTERED', 'LATE'],
          res.apps.map((a) => [a.id, a.state, a.processingGuarantee, a.tasks, a.stores, a.processed, a.deadLettered, a.late]),
        ),
      );
      for (const a of res.apps) if (a.state === 'failed' || a.state === 'error' || a.state === 'waiting') io.stdout(`${a.id}: ${a.detail}\n`);
    }),
  );

  streams.addCommand(
    clientOptions(new Command('describe').description('topology, tasks, watermarks, store sizes and lag of an app').argument('<app>', 'app id')).action(async (app: string, flags: ClientFlags) => {
      const d = await client(flags, io).get<AppDescription>(`/api/streams/${enc(app)}`);
      io.stdout(flags.json ? json(d) : describeText(d));
    }),
  );

  return streams;
}
