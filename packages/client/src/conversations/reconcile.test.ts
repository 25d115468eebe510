import { addMembers, createGroup, generateKeyPackage, groupMetadata } from '@parley/crypto';
import { groupIdText, type GroupSummary, type RequestOf } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { credentialOwner } from '../trust/mls-credentials.js';
import { testContext, testUser } from './context.testkit.js';
import type { GroupLog } from './inbox.js';
import { noteDeparture, settleDepartures } from './reconcile.js';

const alice = testUser('alice');
const carol = testUser('carol');
const groupId = new Uint8Array(16).fill(8);
const group = groupIdText(groupId);
const summary = (members: { username: string; deviceId: string }[]): GroupSummary => ({ groupId, kind: 'group', epoch: 1, createdBy: 'alice', admins: ['alice'], members, lastSeq: 1 });
const noLog: GroupLog = { catchUp: async () => undefined, accepted: () => undefined };

describe('departures: a member who announced leaving is removed before anything more is sent', () => {
  it('waits while the server still routes them, then commits their removal once, and forgets the departure', async () => {
    let routed = summary([alice.device, carol.device]);
    const commits: RequestOf<'group.commit'>[] = [];
    const { ctx, requester, store } = testContext(alice, {
      'group.get': () => routed,
      'group.commit': (body) => (commits.push(body), { seq: 3, epoch: 2 }),
      'directory.lookup': ({ username }) => (username === 'alice' ? alice.lookup : carol.lookup),
    });
    const created = await createGroup(alice.member, groupId);
    const withCarol = await addMembers(created.state, alice.member, [(await generateKeyPackage(carol.member)).keyPackage], ctx.authentication.validate);
    await store.apply({ conversation: { groupId: group, kind: 'group', title: 'team', state: withCarol.pendingState, processedSeq: 1, active: true, createdAt: 0, lastActivityAt: 0 } });
    requester.calls.length = 0;

    await noteDeparture(ctx, group, 'carol');
    await settleDepartures(ctx, noLog, group);
    expect(requester.ops()).toEqual(['group.get']); // her leave request is not through yet: nothing to commit

    routed = summary([alice.device]);
    await settleDepartures(ctx, noLog, group);
    // This account's devices come from the directory (cached from here on): no sibling is missing.
    expect(requester.ops()).toEqual(['group.get', 'group.get', 'directory.lookup', 'group.commit']);
    expect(commits[0]).toMatchObject({ groupId, epoch: 1, add: [], remove: [] }); // unrouted already: a tree change only
    const members = groupMetadata((await store.getConversation(group))?.state ?? new Uint8Array()).members;
    expect(members.map((leaf) => credentialOwner(leaf.identity)?.username)).toEqual(['alice']);

    await settleDepartures(ctx, noLog, group);
    expect(requester.ops()).toHaveLength(4);
  });
});
