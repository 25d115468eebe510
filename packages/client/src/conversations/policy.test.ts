import { groupIdText, type GroupSummary, type LogEntry } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { testContext, testUser } from './context.testkit.js';
import { commitAllowed } from './policy.js';

const alice = testUser('alice');
const bob = testUser('bob');
const carol = testUser('carol');
const groupId = new Uint8Array(16).fill(8);
const group = groupIdText(groupId);
const summary = (members: { username: string; deviceId: string }[], admins = ['alice']): GroupSummary => ({ groupId, kind: 'group', epoch: 1, createdBy: 'alice', admins, members, lastSeq: 1 });

describe('commitAllowed: clients check the admin rules too', () => {
  const commitBy = (sender: { username: string; deviceId: string }): LogEntry => ({ groupId, seq: 5, kind: 'commit', epoch: 1, sender, sentAt: 0, payload: new Uint8Array([1]) });

  it('trusts the cached summary when it says the committer is an admin', async () => {
    const { ctx, requester } = testContext(alice, { 'group.get': () => summary([alice.device, bob.device], ['alice', 'bob']) });
    await ctx.groups.get(group);
    requester.calls.length = 0;
    expect(await commitAllowed(ctx, commitBy(bob.device), { added: [{ identity: carol.member.identity }], removed: [], external: false })).toBe(true);
    expect(requester.calls).toEqual([]);
  });

  it('asks once more when the cache says no (a promotion since), and refuses a non-admin after that one look', async () => {
    let current = summary([alice.device, bob.device]);
    const { ctx, requester } = testContext(alice, { 'group.get': () => current });
    await ctx.groups.get(group);
    current = summary([alice.device, bob.device], ['alice', 'bob']);
    expect(await commitAllowed(ctx, commitBy(bob.device), { added: [{ identity: carol.member.identity }], removed: [], external: false })).toBe(true);
    // Carol is still routed: removing her is for admins, and bob is none (any more).
    current = summary([alice.device, bob.device, carol.device]);
    await ctx.groups.get(group, { refresh: true });
    requester.calls.length = 0;
    expect(await commitAllowed(ctx, commitBy(bob.device), { added: [], removed: [{ identity: carol.member.identity }], external: false })).toBe(false);
    expect(requester.ops()).toEqual(['group.get']);
  });

  it("lets anyone finish removing a device the server no longer routes, and anyone change only their own devices", async () => {
    const { ctx, requester } = testContext(alice, { 'group.get': () => summary([alice.device, bob.device]) });
    expect(await commitAllowed(ctx, commitBy(bob.device), { added: [], removed: [{ identity: carol.member.identity }], external: false })).toBe(true);
    requester.calls.length = 0;
    const ownDevice = testUser('bob', 'bob-device-2');
    expect(await commitAllowed(ctx, commitBy(bob.device), { added: [{ identity: ownDevice.member.identity }], removed: [], external: false })).toBe(true);
    expect(await commitAllowed(ctx, commitBy(bob.device), { added: [], removed: [{ identity: alice.member.identity }], external: true })).toBe(false);
    expect(requester.calls).toEqual([]);
  });
});
