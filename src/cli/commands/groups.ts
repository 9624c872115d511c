import { Command } from 'commander';
import type { GroupDescription, GroupSummary } from '../../bus/types.ts';
import { enc } from '../client.ts';
import { json, table } from '../format.ts';
import type { CliIo } from '../io.ts';
import { client, clientOptions, type ClientFlags } from '../options.ts';

function describeText(g: GroupDescription & { totalLag?: number }): string {
  const owner = new Map<string, string>();
  for (const m of g.memberDetails) for (const tp of m.assignment) owner.set(`${tp.topic}/${tp.partition}`, m.clientId || m.memberId);
  let out = `group ${g.groupId}: ${g.state}, ${g.members} member${g.members === 1 ? '' : 's'}`;
  if (g.protocol) out += `, protocol ${g.protocol}`;
  out += `, generation ${g.generationId}\n\n`;
  if (g.offsets.length === 0) {
    out += 'no committed offsets\n';
  } else {
    out += table(
      ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'OWNER'],
      g.offsets.map((o) => [o.topic, o.partition, o.committedOffset, o.logEndOffset, o.lag, owner.get(`${o.topic}/${o.partition}`)]),
    );
    const total = g.totalLag ?? g.offsets.reduce((s, o) => s + (o.lag ?? 0), 0);
    out += `\ntotal lag: ${total}\n`;
  }
  return out;
}

export function groupsCommand(io: CliIo): Command {
  const groups = new Command('groups').description('list consumer groups and show their members, offsets and lag');

  groups.addCommand(
    clientOptions(new Command('list').description('list consumer groups')).action(async (flags: ClientFlags) => {
      const res = await client(flags, io).get<{ groups: GroupSummary[] }>('/api/groups');
      if (flags.json) return io.stdout(json(res.groups));
      if (res.groups.length === 0) return io.stdout('no groups\n');
      io.stdout(table(['GROUP', 'STATE', 'MEMBERS', 'TYPE'], res.groups.map((g) => [g.groupId, g.state, g.members, g.protocolType])));
    }),
  );

  groups.addCommand(
    clientOptions(
      new Command('describe').description('members, assignment, committed offsets and lag per partition').argument('<group>', 'group id'),
    ).action(async (group: string, flags: ClientFlags) => {
      const g = await client(flags, io).get<GroupDescription & { totalLag: number }>(`/api/groups/${enc(group)}`);
      io.stdout(flags.json ? json(g) : describeText(g));
    }),
  );

  return groups;
}
