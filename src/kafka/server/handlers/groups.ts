/** FindCoordinator and the classic group APIs, forwarded to the log's group coordinator. */
import type { Message } from '../../protocol/codec.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode } from '../kafka-errors.ts';

export function findCoordinator(broker: BrokerContext, req: RequestContext, body: Message): Message {
  const node = { nodeId: broker.nodeId, host: broker.advertised.host, port: broker.advertised.port };
  if (req.header.apiVersion < 4) {
    const key = body.key as string;
    const ok = allowed(broker, req, 'describe', 'group', key);
    return { throttleTimeMs: 0, errorCode: ok ? ErrorCode.NONE : ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, ...node };
  }
  return {
    throttleTimeMs: 0,
    coordinators: (body.coordinatorKeys as string[]).map((key) => {
      const ok = allowed(broker, req, 'describe', 'group', key);
      return { key, ...node, errorCode: ok ? ErrorCode.NONE : ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null };
    }),
  };
}

export async function joinGroup(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const version = req.header.apiVersion;
  const groupId = body.groupId as string;
  if (!allowed(broker, req, 'read', 'group', groupId)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null, protocolName: version >= 7 ? null : '', leader: '', memberId: body.memberId, members: [] };
  }
  const sessionTimeoutMs = body.sessionTimeoutMs as number;
  const r = await broker.groups.join({
    groupId,
    memberId: body.memberId as string,
    groupInstanceId: (body.groupInstanceId as string | null) ?? null,
    clientId: req.header.clientId ?? '',
    clientHost: `/${req.clientHost}`,
    sessionTimeoutMs,
    rebalanceTimeoutMs: version >= 1 ? (body.rebalanceTimeoutMs as number) : sessionTimeoutMs,
    protocolType: body.protocolType as string,
    protocols: body.protocols as Array<{ name: string; metadata: Buffer }>,
    requireKnownMemberId: version >= 4,
  });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    protocolName: r.protocolName ?? (version >= 7 ? null : ''),
    leader: r.leader,
    skipAssignment: false,
    memberId: r.memberId,
    members: r.members,
  };
}

export async function syncGroup(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const r = await broker.groups.sync({
    groupId: body.groupId as string,
    generationId: body.generationId as number,
    memberId: body.memberId as string,
    groupInstanceId: (body.groupInstanceId as string | null) ?? null,
    assignments: body.assignments as Array<{ memberId: string; assignment: Buffer }>,
  });
  return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
}

export function heartbeat(broker: BrokerContext, _req: RequestContext, body: Message): Message {
  const errorCode = broker.groups.heartbeat({
    groupId: body.groupId as string,
    memberId: body.memberId as string,
    generationId: body.generationId as number,
    groupInstanceId: (body.groupInstanceId as string | null) ?? null,
  });
  return { throttleTimeMs: 0, errorCode };
}

export function leaveGroup(broker: BrokerContext, req: RequestContext, body: Message): Message {
  const groupId = body.groupId as string;
  if (req.header.apiVersion < 3) {
    const [code] = broker.groups.leave(groupId, [{ memberId: body.memberId as string }]);
    return { throttleTimeMs: 0, errorCode: code, members: [] };
  }
  const members = body.members as Array<{ memberId: string; groupInstanceId: string | null }>;
  const codes = broker.groups.leave(groupId, members);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    members: members.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: codes[i] })),
  };
}

export function describeGroups(broker: BrokerContext, req: RequestContext, body: Message): Message {
  return {
    throttleTimeMs: 0,
    groups: (body.groups as string[]).map((groupId) => {
      if (!allowed(broker, req, 'describe', 'group', groupId)) {
        return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId, groupState: '', protocolType: '', protocolData: '', members: [] };
      }
      const g = broker.groups.describeGroup(groupId);
      if (!g) return { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        groupState: g.state,
        protocolType: g.protocolType,
        protocolData: g.protocol,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: m.metadata,
          memberAssignment: m.assignment,
        })),
      };
    }),
  };
}

export function listGroups(broker: BrokerContext, req: RequestContext, body: Message): Message {
  const states = new Set(((body.statesFilter as string[]) ?? []).map((s) => s.toLowerCase()));
  const types = new Set(((body.typesFilter as string[]) ?? []).map((s) => s.toLowerCase()));
  const groups = broker.groups
    .listGroups()
    .filter((g) => allowed(broker, req, 'describe', 'group', g.groupId))
    .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
    .filter(() => types.size === 0 || types.has('classic'))
    .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: 'classic' }));
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
}

export async function deleteGroups(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const results = [];
  for (const groupId of body.groupsNames as string[]) {
    if (!allowed(broker, req, 'delete', 'group', groupId)) {
      results.push({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
      continue;
    }
    results.push({ groupId, errorCode: await broker.groups.deleteGroup(groupId) });
  }
  return { throttleTimeMs: 0, results };
}
