/**
 * Consumer-group coordinator: Kafka's classic group protocol (JoinGroup / SyncGroup /
 * Heartbeat / LeaveGroup / OffsetCommit / OffsetFetch), shared by in-process consumers and
 * Kafka clients. Assignment is client-side: the leader member computes it and hands it back
 * in SyncGroup, so eager and cooperative clients both work unchanged.
 *
 * Group states:
 *   Empty ──join──► PreparingRebalance ──all joined / rebalance timeout──► CompletingRebalance
 *     ▲                 ▲   (members that did not rejoin are removed)            │ leader's sync
 *     └─ last member ───┴──── join of a new member, leave, session expiry ◄── Stable ◄─┘
 * Membership lives in memory (members rejoin after a restart, as after a coordinator
 * failover); committed offsets are durable in the offset store. Static members
 * (`groupInstanceId`) keep their assignment across restarts within the session timeout.
 * Errors are Kafka's error codes, so the Kafka server forwards them unchanged.
 */
import { randomUUID } from 'node:crypto';
import type { Log } from '../log.ts';
import { OffsetStore, type CommittedOffset, type OffsetCommitEntry } from './offset-store.ts';

export const GroupErrorCode = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  COORDINATOR_NOT_AVAILABLE: 15,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82,
} as const;

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface ProtocolMetadata {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  memberId: string;
  groupInstanceId?: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolMetadata[];
  /** KIP-394: a new member first gets MEMBER_ID_REQUIRED with its id, then joins with it. */
  requireKnownMemberId?: boolean;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}

export interface GroupDescriptionRaw {
  groupId: string;
  state: GroupState;
  protocolType: string;
  protocol: string;
  generationId: number;
  members: MemberDescription[];
}

export interface CoordinatorOptions {
  /** Delay before the first rebalance of an empty group, so members starting together land in one generation. */
  initialRebalanceDelayMs?: number;
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  clock?: () => number;
}

interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolMetadata[];
  assignment: Buffer;
  lastHeartbeat: number;
  joinWaiter: ((r: JoinGroupResult) => void) | null;
  syncWaiter: ((r: SyncGroupResult) => void) | null;
}

interface Group {
  id: string;
  state: GroupState;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: Map<string, Member>;
  staticMembers: Map<string, string>;
  pendingMembers: Map<string, number>;
  rebalanceTimer: NodeJS.Timeout | null;
  rebalanceDeadline: number;
  initialDelayUntil: number;
}

const EMPTY = Buffer.alloc(0);

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly clock: () => number;
  private readonly initialDelay: number;
  private readonly minSession: number;
  private readonly maxSession: number;
  private closed = false;

  private constructor(
    private readonly log: Log,
    readonly offsets: OffsetStore,
    opts: CoordinatorOptions,
  ) {
    this.clock = opts.clock ?? Date.now;
    this.initialDelay = opts.initialRebalanceDelayMs ?? 0;
    this.minSession = opts.minSessionTimeoutMs ?? 1000;
    this.maxSession = opts.maxSessionTimeoutMs ?? 1_800_000;
    this.sweeper = setInterval(() => this.expireSessions(), 250);
    this.sweeper.unref();
  }

  static async open(log: Log, opts: CoordinatorOptions = {}): Promise<GroupCoordinator> {
    return new GroupCoordinator(log, await OffsetStore.open(log), opts);
  }

  private group(id: string, create: boolean): Group | undefined {
    let g = this.groups.get(id);
    if (!g && create) {
      g = {
        id,
        state: 'Empty',
        generationId: 0,
        protocolType: null,
        protocolName: null,
        leaderId: null,
        members: new Map(),
        staticMembers: new Map(),
        pendingMembers: new Map(),
        rebalanceTimer: null,
        rebalanceDeadline: 0,
        initialDelayUntil: 0,
      };
      this.groups.set(id, g);
    }
    return g;
  }

  // ---- JoinGroup ------------------------------------------------------------------------

  join(req: JoinGroupRequest): Promise<JoinGroupResult> {
    const fail = (errorCode: number, memberId = req.memberId): Promise<JoinGroupResult> =>
      Promise.resolve({ errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] });
    if (this.closed) return fail(GroupErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!req.groupId) return fail(GroupErrorCode.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs < this.minSession || req.sessionTimeoutMs > this.maxSession) return fail(GroupErrorCode.INVALID_SESSION_TIMEOUT);
    if (req.protocols.length === 0 || !req.protocolType) return fail(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const g = this.group(req.groupId, true)!;
    if (g.members.size > 0 && (g.protocolType !== req.protocolType || !this.supportsCommonProtocol(g, req.protocols, req.memberId))) {
      return fail(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const now = this.clock();
    const instanceId = req.groupInstanceId ?? null;

    if (req.memberId === '') {
      const memberId = `${req.clientId || 'member'}-${randomUUID()}`;
      if (instanceId !== null && g.staticMembers.has(instanceId)) return this.replaceStaticMember(g, req, memberId);
      if (req.requireKnownMemberId && instanceId === null) {
        g.pendingMembers.set(memberId, now + req.sessionTimeoutMs);
        return fail(GroupErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
      return this.addMemberAndRebalance(g, req, memberId);
    }

    if (isFenced(g, instanceId, req.memberId)) return fail(GroupErrorCode.FENCED_INSTANCE_ID);
    const member = g.members.get(req.memberId);
    if (!member) {
      if (g.pendingMembers.delete(req.memberId)) return this.addMemberAndRebalance(g, req, req.memberId);
      return fail(GroupErrorCode.UNKNOWN_MEMBER_ID);
    }
    const changed = !sameProtocols(member.protocols, req.protocols);
    this.updateMember(member, req, now);
    return new Promise<JoinGroupResult>((resolve) => {
      switch (g.state) {
        case 'PreparingRebalance':
          this.setJoinWaiter(member, resolve);
          this.maybeCompleteJoin(g);
          return;
        case 'CompletingRebalance':
          if (!changed) return resolve(this.joinResult(g, member));
          this.setJoinWaiter(member, resolve);
          this.prepareRebalance(g);
          return;
        case 'Stable':
          if (!changed && member.memberId !== g.leaderId) return resolve(this.joinResult(g, member));
          this.setJoinWaiter(member, resolve);
          this.prepareRebalance(g);
          return;
        default:
          this.setJoinWaiter(member, resolve);
          this.prepareRebalance(g);
      }
    });
  }

  private setJoinWaiter(member: Member, resolve: (r: JoinGroupResult) => void): void {
    // A member that sends a second JoinGroup abandons its first one.
    member.joinWaiter?.({ errorCode: GroupErrorCode.REBALANCE_IN_PROGRESS, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: member.memberId, members: [] });
    member.joinWaiter = resolve;
  }

  private supportsCommonProtocol(g: Group, protocols: ProtocolMetadata[], ignoreMember: string): boolean {
    const names = new Set(protocols.map((p) => p.name));
    for (const m of g.members.values()) {
      if (m.memberId === ignoreMember) continue;
      for (const n of [...names]) if (!m.protocols.some((p) => p.name === n)) names.delete(n);
    }
    return names.size > 0;
  }

  private newMember(req: JoinGroupRequest, memberId: string, now: number): Member {
    return {
      memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY,
      lastHeartbeat: now,
      joinWaiter: null,
      syncWaiter: null,
    };
  }

  private updateMember(member: Member, req: JoinGroupRequest, now: number): void {
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    member.lastHeartbeat = now;
  }

  private addMemberAndRebalance(g: Group, req: JoinGroupRequest, memberId: string): Promise<JoinGroupResult> {
    const member = this.newMember(req, memberId, this.clock());
    g.members.set(memberId, member);
    if (member.groupInstanceId !== null) g.staticMembers.set(member.groupInstanceId, memberId);
    if (g.members.size === 1) g.protocolType = req.protocolType;
    return new Promise((resolve) => {
      member.joinWaiter = resolve;
      if (g.state === 'PreparingRebalance') this.maybeCompleteJoin(g);
      else this.prepareRebalance(g);
    });
  }

  /** A static member restarted (new member id, same instance id): fence the old id, keep the assignment. */
  private replaceStaticMember(g: Group, req: JoinGroupRequest, memberId: string): Promise<JoinGroupResult> {
    const oldId = g.staticMembers.get(req.groupInstanceId!)!;
    const old = g.members.get(oldId);
    const fenced = { errorCode: GroupErrorCode.FENCED_INSTANCE_ID, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: oldId, members: [] };
    old?.joinWaiter?.(fenced);
    old?.syncWaiter?.({ errorCode: GroupErrorCode.FENCED_INSTANCE_ID, protocolType: null, protocolName: null, assignment: EMPTY });
    const member = this.newMember(req, memberId, this.clock());
    member.assignment = old?.assignment ?? EMPTY;
    g.members.delete(oldId);
    g.members.set(memberId, member);
    g.staticMembers.set(req.groupInstanceId!, memberId);
    const wasLeader = g.leaderId === oldId;
    if (wasLeader) g.leaderId = memberId;
    const unchanged = old !== undefined && sameProtocols(old.protocols, req.protocols);
    return new Promise((resolve) => {
      if (g.state === 'Stable' && unchanged && !wasLeader) return resolve(this.joinResult(g, member));
      member.joinWaiter = resolve;
      if (g.state === 'PreparingRebalance') this.maybeCompleteJoin(g);
      else this.prepareRebalance(g);
    });
  }

  private prepareRebalance(g: Group): void {
    if (g.state === 'CompletingRebalance') {
      for (const m of g.members.values()) {
        m.syncWaiter?.({ errorCode: GroupErrorCode.REBALANCE_IN_PROGRESS, protocolType: null, protocolName: null, assignment: EMPTY });
        m.syncWaiter = null;
      }
    }
    const wasEmpty = g.state === 'Empty';
    g.state = 'PreparingRebalance';
    const now = this.clock();
    let timeout = 0;
    for (const m of g.members.values()) timeout = Math.max(timeout, m.rebalanceTimeoutMs);
    g.initialDelayUntil = wasEmpty && this.initialDelay > 0 ? now + Math.min(this.initialDelay, timeout) : 0;
    g.rebalanceDeadline = now + timeout;
    if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
    // Not unref'd: a member waiting for its JoinGroup answer must keep the process alive.
    g.rebalanceTimer = setTimeout(() => this.completeJoin(g), timeout);
    if (g.initialDelayUntil > 0) setTimeout(() => this.maybeCompleteJoin(g), g.initialDelayUntil - now);
    this.maybeCompleteJoin(g);
  }

  private maybeCompleteJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance') return;
    if (g.initialDelayUntil > this.clock()) return;
    for (const m of g.members.values()) if (!m.joinWaiter) return;
    this.completeJoin(g);
  }

  private completeJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance') return;
    if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
    g.rebalanceTimer = null;
    for (const m of [...g.members.values()]) if (!m.joinWaiter) this.removeMember(g, m);
    g.generationId++;
    if (g.members.size === 0) {
      this.becomeEmpty(g);
      return;
    }
    g.protocolName = this.selectProtocol(g);
    if (g.leaderId === null || !g.members.has(g.leaderId)) g.leaderId = g.members.keys().next().value!;
    g.state = 'CompletingRebalance';
    const now = this.clock();
    for (const m of g.members.values()) {
      const waiter = m.joinWaiter!;
      m.joinWaiter = null;
      m.lastHeartbeat = now;
      waiter(this.joinResult(g, m));
    }
  }

  private becomeEmpty(g: Group): void {
    g.state = 'Empty';
    g.protocolName = null;
    g.leaderId = null;
    // protocolType stays: an empty consumer group with offsets is still a "consumer" group.
  }

  private selectProtocol(g: Group): string {
    const members = [...g.members.values()];
    const candidates = members[0]!.protocols.map((p) => p.name).filter((n) => members.every((m) => m.protocols.some((p) => p.name === n)));
    const votes = new Map<string, number>();
    for (const m of members) {
      const pick = m.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(pick, (votes.get(pick) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  private joinResult(g: Group, m: Member): JoinGroupResult {
    const isLeader = m.memberId === g.leaderId;
    return {
      errorCode: GroupErrorCode.NONE,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? '',
      memberId: m.memberId,
      members: isLeader
        ? [...g.members.values()].map((x) => ({
            memberId: x.memberId,
            groupInstanceId: x.groupInstanceId,
            metadata: x.protocols.find((p) => p.name === g.protocolName)?.metadata ?? EMPTY,
          }))
        : [],
    };
  }

  private removeMember(g: Group, m: Member): void {
    g.members.delete(m.memberId);
    if (m.groupInstanceId !== null && g.staticMembers.get(m.groupInstanceId) === m.memberId) g.staticMembers.delete(m.groupInstanceId);
    m.syncWaiter?.({ errorCode: GroupErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: EMPTY });
    m.syncWaiter = null;
    if (g.leaderId === m.memberId) g.leaderId = null;
  }

  // ---- SyncGroup / Heartbeat / LeaveGroup -----------------------------------------------

  sync(req: SyncGroupRequest): Promise<SyncGroupResult> {
    const fail = (errorCode: number) => Promise.resolve({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    if (this.closed) return fail(GroupErrorCode.COORDINATOR_NOT_AVAILABLE);
    const g = this.group(req.groupId, false);
    if (g && isFenced(g, req.groupInstanceId, req.memberId)) return fail(GroupErrorCode.FENCED_INSTANCE_ID);
    const m = g?.members.get(req.memberId);
    if (!g || !m) return fail(GroupErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== g.generationId) return fail(GroupErrorCode.ILLEGAL_GENERATION);
    m.lastHeartbeat = this.clock();
    if (g.state === 'PreparingRebalance') return fail(GroupErrorCode.REBALANCE_IN_PROGRESS);
    const result = (member: Member): SyncGroupResult => ({
      errorCode: GroupErrorCode.NONE,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      assignment: member.assignment,
    });
    if (g.state === 'Stable') return Promise.resolve(result(m));
    return new Promise((resolve) => {
      m.syncWaiter = resolve;
      if (req.memberId !== g.leaderId) return;
      const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
      for (const member of g.members.values()) member.assignment = given.get(member.memberId) ?? EMPTY;
      g.state = 'Stable';
      for (const member of g.members.values()) {
        const w = member.syncWaiter;
        member.syncWaiter = null;
        w?.(result(member));
      }
    });
  }

  heartbeat(req: { groupId: string; memberId: string; generationId: number; groupInstanceId?: string | null }): number {
    if (this.closed) return GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    const g = this.group(req.groupId, false);
    if (g && isFenced(g, req.groupInstanceId, req.memberId)) return GroupErrorCode.FENCED_INSTANCE_ID;
    const m = g?.members.get(req.memberId);
    if (!g || !m) return GroupErrorCode.UNKNOWN_MEMBER_ID;
    m.lastHeartbeat = this.clock();
    if (g.state === 'PreparingRebalance') return GroupErrorCode.REBALANCE_IN_PROGRESS;
    if (req.generationId !== g.generationId) return GroupErrorCode.ILLEGAL_GENERATION;
    return GroupErrorCode.NONE;
  }

  leave(groupId: string, members: Array<{ memberId: string; groupInstanceId?: string | null }>): number[] {
    const g = this.group(groupId, false);
    const codes = members.map((req) => {
      if (!g) return GroupErrorCode.UNKNOWN_MEMBER_ID;
      let memberId = req.memberId;
      if (req.groupInstanceId) {
        const known = g.staticMembers.get(req.groupInstanceId);
        if (!known) return GroupErrorCode.UNKNOWN_MEMBER_ID;
        if (memberId && memberId !== known) return GroupErrorCode.FENCED_INSTANCE_ID;
        memberId = known;
      }
      const m = g.members.get(memberId);
      if (!m) return GroupErrorCode.UNKNOWN_MEMBER_ID;
      m.joinWaiter?.({ errorCode: GroupErrorCode.UNKNOWN_MEMBER_ID, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] });
      m.joinWaiter = null;
      this.removeMember(g, m);
      return GroupErrorCode.NONE;
    });
    if (g) this.afterMembershipLoss(g);
    return codes;
  }

  private afterMembershipLoss(g: Group): void {
    if (g.state === 'Stable' || g.state === 'CompletingRebalance') {
      if (g.members.size === 0) {
        g.generationId++;
        this.becomeEmpty(g);
      } else {
        this.prepareRebalance(g);
      }
    } else if (g.state === 'PreparingRebalance') {
      this.maybeCompleteJoin(g);
    }
  }

  private expireSessions(): void {
    const now = this.clock();
    for (const g of this.groups.values()) {
      for (const [id, deadline] of g.pendingMembers) if (deadline < now) g.pendingMembers.delete(id);
      let lost = false;
      for (const m of [...g.members.values()]) {
        if (m.joinWaiter) continue; // bounded by the rebalance timeout instead
        if (now - m.lastHeartbeat > m.sessionTimeoutMs) {
          this.removeMember(g, m);
          lost = true;
        }
      }
      if (lost) this.afterMembershipLoss(g);
    }
  }

  // ---- offsets --------------------------------------------------------------------------

  /** OffsetCommit: validates membership and generation, then waits until the commit is durable. */
  async commitOffsets(req: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupInstanceId?: string | null;
    entries: OffsetCommitEntry[];
  }): Promise<number[]> {
    const all = (code: number) => req.entries.map(() => code);
    if (this.closed) return all(GroupErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!req.groupId) return all(GroupErrorCode.INVALID_GROUP_ID);
    const g = this.group(req.groupId, false);
    if (req.generationId < 0) {
      // A commit outside group management (admin tools, assign()-style consumers).
      if (g && g.state !== 'Empty') return all(GroupErrorCode.UNKNOWN_MEMBER_ID);
    } else {
      if (!g) return all(GroupErrorCode.ILLEGAL_GENERATION);
      if (isFenced(g, req.groupInstanceId, req.memberId)) return all(GroupErrorCode.FENCED_INSTANCE_ID);
      if (g.state === 'CompletingRebalance') return all(GroupErrorCode.REBALANCE_IN_PROGRESS);
      const m = g.members.get(req.memberId);
      if (!m) return all(GroupErrorCode.UNKNOWN_MEMBER_ID);
      if (req.generationId !== g.generationId) return all(GroupErrorCode.ILLEGAL_GENERATION);
      m.lastHeartbeat = this.clock();
    }
    const codes = req.entries.map((e) => {
      if (!this.log.hasTopic(e.topic) || e.partition < 0 || e.partition >= this.log.partitionCount(e.topic)) return GroupErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return GroupErrorCode.NONE;
    });
    await this.offsets.commit(
      req.groupId,
      req.entries.filter((_, i) => codes[i] === GroupErrorCode.NONE),
      this.clock(),
    );
    return codes;
  }

  fetchOffset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId, topic, partition);
  }

  fetchAllOffsets(groupId: string) {
    return this.offsets.list(groupId);
  }

  // ---- admin ----------------------------------------------------------------------------

  listGroups(): Array<{ groupId: string; state: GroupState; protocolType: string; members: number }> {
    const ids = new Set<string>([...this.groups.keys(), ...this.offsets.groups()]);
    return [...ids].sort().map((id) => {
      const g = this.groups.get(id);
      return { groupId: id, state: g?.state ?? 'Empty', protocolType: g?.protocolType ?? 'consumer', members: g?.members.size ?? 0 };
    }).filter((x) => x.members > 0 || this.offsets.list(x.groupId).length > 0);
  }

  describeGroup(groupId: string): GroupDescriptionRaw | null {
    const g = this.groups.get(groupId);
    if (!g && this.offsets.list(groupId).length === 0) return null;
    return {
      groupId,
      state: g?.state ?? 'Empty',
      protocolType: g?.protocolType ?? '',
      protocol: g?.state === 'Stable' || g?.state === 'CompletingRebalance' ? (g.protocolName ?? '') : '',
      generationId: g?.generationId ?? 0,
      members: g
        ? [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            metadata: m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? m.protocols[0]?.metadata ?? EMPTY,
            assignment: m.assignment,
          }))
        : [],
    };
  }

  async deleteGroup(groupId: string): Promise<number> {
    const g = this.groups.get(groupId);
    if (g && g.members.size > 0) return GroupErrorCode.NON_EMPTY_GROUP;
    if (!g && this.offsets.list(groupId).length === 0) return GroupErrorCode.GROUP_ID_NOT_FOUND;
    await this.offsets.delete(groupId);
    this.groups.delete(groupId);
    return GroupErrorCode.NONE;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const g of this.groups.values()) {
      if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
      for (const m of g.members.values()) {
        m.joinWaiter?.({ errorCode: GroupErrorCode.COORDINATOR_NOT_AVAILABLE, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: m.memberId, members: [] });
        m.syncWaiter?.({ errorCode: GroupErrorCode.COORDINATOR_NOT_AVAILABLE, protocolType: null, protocolName: null, assignment: EMPTY });
      }
    }
  }
}

/** A static instance id now bound to another member id: this request comes from a replaced instance. */
function isFenced(g: Group, instanceId: string | null | undefined, memberId: string): boolean {
  if (!instanceId) return false;
  const current = g.staticMembers.get(instanceId);
  return current !== undefined && current !== memberId;
}

function sameProtocols(a: ProtocolMetadata[], b: ProtocolMetadata[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata));
}
