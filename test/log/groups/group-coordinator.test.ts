import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Log } from '../../../src/log/log.ts';
import { GroupCoordinator, GroupErrorCode, type JoinGroupRequest } from '../../../src/log/groups/group-coordinator.ts';
import { decodeAssignment, encodeAssignment, encodeSubscription, decodeSubscription } from '../../../src/log/groups/consumer-protocol.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

async function withCoordinator(fn: (c: GroupCoordinator, log: Log) => Promise<void>, initialRebalanceDelayMs = 0): Promise<void> {
  const { dir, cleanup } = tempDir();
  const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  const c = await GroupCoordinator.open(log, { initialRebalanceDelayMs });
  try {
    await log.createTopic('t', { partitions: 4 });
    await fn(c, log);
  } finally {
    c.close();
    await log.close();
    cleanup();
  }
}

function joinReq(memberId: string, extra: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    memberId,
    clientId: 'c',
    clientHost: 'h',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 2_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription({ topics: ['t'] }) }],
    ...extra,
  };
}

test('consumer protocol subscription and assignment round-trip', () => {
  const s = decodeSubscription(encodeSubscription({ topics: ['a', 'b'], ownedPartitions: [{ topic: 'a', partition: 2 }], generationId: 7 }));
  assert.deepEqual(s.topics, ['a', 'b']);
  assert.deepEqual(s.ownedPartitions, [{ topic: 'a', partition: 2 }]);
  assert.equal(s.generationId, 7);
  const a = decodeAssignment(encodeAssignment({ partitions: [{ topic: 'a', partition: 1 }, { topic: 'b', partition: 0 }, { topic: 'a', partition: 0 }] }));
  assert.deepEqual(a.partitions, [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 1 }, { topic: 'b', partition: 0 }]);
});

test('two members join one generation; the leader assigns; followers get theirs', async () => {
  await withCoordinator(async (c) => {
    const first = await c.join(joinReq('', { requireKnownMemberId: true }));
    assert.equal(first.errorCode, GroupErrorCode.MEMBER_ID_REQUIRED);
    const [a, b] = await Promise.all([c.join(joinReq(first.memberId)), c.join(joinReq(''))]);
    assert.equal(a.errorCode, 0);
    assert.equal(b.errorCode, 0);
    assert.equal(a.generationId, b.generationId);
    assert.equal(a.protocolName, 'range');
    const leader = a.leader === a.memberId ? a : b;
    const follower = leader === a ? b : a;
    assert.equal(leader.members.length, 2);
    assert.equal(follower.members.length, 0);
    const syncFollower = c.sync({ groupId: 'g', generationId: follower.generationId, memberId: follower.memberId, assignments: [] });
    const assignments = [
      { memberId: leader.memberId, assignment: encodeAssignment({ partitions: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }] }) },
      { memberId: follower.memberId, assignment: encodeAssignment({ partitions: [{ topic: 't', partition: 2 }, { topic: 't', partition: 3 }] }) },
    ];
    const syncLeader = await c.sync({ groupId: 'g', generationId: leader.generationId, memberId: leader.memberId, assignments });
    assert.equal(syncLeader.errorCode, 0);
    const fs = await syncFollower;
    assert.deepEqual(decodeAssignment(syncLeader.assignment).partitions.map((p) => p.partition), [0, 1]);
    assert.deepEqual(decodeAssignment(fs.assignment).partitions.map((p) => p.partition), [2, 3]);
    assert.equal(c.describeGroup('g')!.state, 'Stable');
    assert.equal(c.heartbeat({ groupId: 'g', memberId: follower.memberId, generationId: follower.generationId }), 0);
    assert.equal(c.heartbeat({ groupId: 'g', memberId: follower.memberId, generationId: follower.generationId - 1 }), GroupErrorCode.ILLEGAL_GENERATION);
    assert.equal(c.heartbeat({ groupId: 'g', memberId: 'nobody', generationId: 1 }), GroupErrorCode.UNKNOWN_MEMBER_ID);

    // A leave triggers a rebalance: the remaining member hears it by heartbeat and rejoins alone.
    assert.deepEqual(c.leave('g', [{ memberId: follower.memberId }]), [0]);
    assert.equal(c.heartbeat({ groupId: 'g', memberId: leader.memberId, generationId: leader.generationId }), GroupErrorCode.REBALANCE_IN_PROGRESS);
    const again = await c.join(joinReq(leader.memberId));
    assert.equal(again.generationId, leader.generationId + 1);
    assert.equal(again.members.length, 1);
  }, 200);
});

test('a member that stops heartbeating is removed after its session timeout', async () => {
  await withCoordinator(async (c) => {
    const a = await c.join(joinReq('', { sessionTimeoutMs: 1000 }));
    await c.sync({ groupId: 'g', generationId: a.generationId, memberId: a.memberId, assignments: [] });
    const b = c.join(joinReq('', { sessionTimeoutMs: 1000 }));
    // a keeps silent: the rebalance completes without it after the rebalance timeout, and b is alone.
    const bj = await b;
    assert.equal(bj.members.length, 1);
    assert.equal(bj.leader, bj.memberId);
    assert.equal(c.heartbeat({ groupId: 'g', memberId: a.memberId, generationId: a.generationId }), GroupErrorCode.UNKNOWN_MEMBER_ID);
  });
});

test('a static member that restarts keeps its assignment without a rebalance', async () => {
  await withCoordinator(async (c) => {
    const [a, b] = await Promise.all([c.join(joinReq('', { groupInstanceId: 'inst-1' })), c.join(joinReq('', { groupInstanceId: 'inst-2' }))]);
    assert.equal(a.generationId, b.generationId);
    const leader = a.leader === a.memberId ? a : b;
    const other = leader === a ? b : a;
    const assignments = [
      { memberId: leader.memberId, assignment: encodeAssignment({ partitions: [{ topic: 't', partition: 0 }] }) },
      { memberId: other.memberId, assignment: encodeAssignment({ partitions: [{ topic: 't', partition: 1 }] }) },
    ];
    const otherInstance = other === a ? 'inst-1' : 'inst-2';
    const leaderInstance = other === a ? 'inst-2' : 'inst-1';
    const followerSync = c.sync({ groupId: 'g', generationId: other.generationId, memberId: other.memberId, groupInstanceId: otherInstance, assignments: [] });
    await c.sync({ groupId: 'g', generationId: leader.generationId, memberId: leader.memberId, groupInstanceId: leaderInstance, assignments });
    await followerSync;
    // The follower's process restarts: new member id, same instance id.
    const again = await c.join(joinReq('', { groupInstanceId: otherInstance }));
    assert.equal(again.errorCode, 0);
    assert.notEqual(again.memberId, other.memberId);
    assert.equal(again.generationId, other.generationId, 'no new generation');
    const sync = await c.sync({ groupId: 'g', generationId: again.generationId, memberId: again.memberId, groupInstanceId: otherInstance, assignments: [] });
    assert.deepEqual(decodeAssignment(sync.assignment).partitions, [{ topic: 't', partition: 1 }], 'the old assignment is handed back');
    assert.equal(c.heartbeat({ groupId: 'g', memberId: leader.memberId, generationId: leader.generationId, groupInstanceId: leaderInstance }), 0, 'the leader saw no rebalance');
    assert.equal(
      c.heartbeat({ groupId: 'g', memberId: other.memberId, generationId: other.generationId, groupInstanceId: otherInstance }),
      GroupErrorCode.FENCED_INSTANCE_ID,
      'the old incarnation is fenced',
    );
  }, 200);
});

test('offset commits check generation and membership, and survive a restart', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    let c = await GroupCoordinator.open(log);
    await log.createTopic('t', { partitions: 2 });
    const a = await c.join(joinReq(''));
    await c.sync({ groupId: 'g', generationId: a.generationId, memberId: a.memberId, assignments: [] });
    const entries = [{ topic: 't', partition: 0, offset: 5 }, { topic: 't', partition: 9, offset: 1 }];
    assert.deepEqual(await c.commitOffsets({ groupId: 'g', generationId: a.generationId, memberId: a.memberId, entries }), [0, GroupErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.deepEqual(await c.commitOffsets({ groupId: 'g', generationId: a.generationId + 1, memberId: a.memberId, entries: entries.slice(0, 1) }), [GroupErrorCode.ILLEGAL_GENERATION]);
    assert.deepEqual(await c.commitOffsets({ groupId: 'g', generationId: a.generationId, memberId: 'x', entries: entries.slice(0, 1) }), [GroupErrorCode.UNKNOWN_MEMBER_ID]);
    assert.deepEqual(await c.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', entries: entries.slice(0, 1) }), [GroupErrorCode.UNKNOWN_MEMBER_ID], 'no admin commits into an active group');
    assert.deepEqual(await c.commitOffsets({ groupId: 'other', generationId: -1, memberId: '', entries: [{ topic: 't', partition: 1, offset: 3 }] }), [0]);
    c.close();
    await log.close();
    log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    c = await GroupCoordinator.open(log);
    assert.equal(c.fetchOffset('g', 't', 0)?.offset, 5);
    assert.equal(c.fetchOffset('other', 't', 1)?.offset, 3);
    assert.deepEqual(c.listGroups().map((g) => g.groupId), ['g', 'other']);
    assert.equal(await c.deleteGroup('other'), 0);
    assert.equal(c.fetchOffset('other', 't', 1), undefined);
    c.close();
    await log.close();
  } finally {
    cleanup();
  }
});

test('members with no common protocol are rejected', async () => {
  await withCoordinator(async (c) => {
    const a = c.join(joinReq(''));
    const b = await c.join(joinReq('', { protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }));
    assert.equal(b.errorCode, GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await a).errorCode, 0);
  });
});
