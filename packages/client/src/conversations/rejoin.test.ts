import { createGroup } from '@parley/crypto';
import { ErrorCode, groupIdText, type GroupSummary } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { refusal } from '../connection/fake-requester.testkit.js';
import { brokenGroup, markBroken } from './broken-groups.js';
import { testContext, testUser } from './context.testkit.js';
import { rejoinLostGroups } from './rejoin.js';
import { sendContent } from './sending.js';

const alice = testUser('alice');
const carol = testUser('carol');
const groupId = new Uint8Array(16).fill(4);
const group = groupIdText(groupId);
const summary = (epoch: number): GroupSummary => ({ groupId, kind: 'group', epoch, createdBy: 'carol', admins: ['carol'], members: [carol.device, alice.device], lastSeq: 3 });
const noLog = { catchUp: async () => undefined, accepted: () => undefined };

/** Alice, routed to Carol's group without a state for it; `carolKnown` says whether the directory vouches for Carol. */
async function setup(options: { carolKnown: boolean; groupInfo?: () => Promise<never>; send?: () => { seq: number } | Promise<{ seq: number }> }) {
  const { groupInfo } = await createGroup(carol.member, groupId);
  return testContext(alice, {
    ...(options.send ? { 'group.send': options.send } : {}),
    'group.info': options.groupInfo ?? (() => ({ epoch: 0, groupInfo })),
    'group.rejoin': () => ({ seq: 4, epoch: 1 }),
    'group.get': () => summary(1),
    // Carol is Alice's contact: her group is no message request, so Alice may commit into it.
    'contacts.list': () => ({ contacts: ['carol'], blocked: [] }),
    'directory.lookup': ({ username }) => {
      if (username === 'alice') return alice.lookup;
      if (options.carolKnown) return carol.lookup;
      throw refusal(ErrorCode.UNKNOWN_USER, 'no user carol');
    },
  });
}

describe('rejoining a group this device cannot follow', () => {
  it('marks the group broken with its reason when the external join fails, and tries again only once its epoch moved', async () => {
    const { ctx, requester, events } = await setup({ carolKnown: false });
    expect(await rejoinLostGroups(ctx, [summary(0)])).toEqual([]);
    expect(events).toEqual([{ kind: 'error', conversation: group, code: ErrorCode.GROUP_BROKEN, message: expect.stringMatching(/^cannot follow or rejoin the group by carol: .*credential was rejected/) }]);
    expect(await brokenGroup(ctx, group)).toMatchObject({ epoch: 0, reason: expect.stringMatching(/credential was rejected/) });
    const asked = requester.calls.length;
    // Nothing changed in the group: nothing is asked, nothing reported again.
    await rejoinLostGroups(ctx, [summary(0)]);
    expect(requester.calls).toHaveLength(asked);
    expect(events).toHaveLength(1);
    // Someone committed: worth another try.
    await rejoinLostGroups(ctx, [summary(1)]);
    expect(requester.ops().slice(asked)).toContain('group.info');
  });

  it('joins, clears a mark from an earlier epoch, and starts after its own commit', async () => {
    const { ctx, store, events } = await setup({ carolKnown: true });
    await markBroken(ctx, group, { reason: 'an older problem', epoch: 0, at: 0 });
    expect(await rejoinLostGroups(ctx, [summary(1)])).toEqual([group]);
    expect(await store.getConversation(group)).toMatchObject({ active: true, processedSeq: 4, title: 'group by carol' });
    expect(await brokenGroup(ctx, group)).toBeUndefined();
    expect(events).toEqual([{ kind: 'changed', conversation: group }]);
  });

  it('lets a failure of the channel through, marking nothing', async () => {
    const { ctx } = await setup({ carolKnown: true, groupInfo: () => Promise.reject(refusal(ErrorCode.CONNECTION_FAILED, 'the server went away')) });
    await expect(rejoinLostGroups(ctx, [summary(1)])).rejects.toMatchObject({ code: ErrorCode.CONNECTION_FAILED });
    expect(await brokenGroup(ctx, group)).toBeUndefined();
  });

  it('refuses to send into a broken group at once, with GROUP_BROKEN and the reason', async () => {
    const { ctx, store, requester } = await setup({ carolKnown: true });
    const { state } = await createGroup(alice.member, groupId);
    const conversation = { groupId: group, kind: 'group' as const, title: 'team', state, processedSeq: 2, active: true, createdAt: 0, lastActivityAt: 0 };
    await store.apply({ conversation });
    await markBroken(ctx, group, { reason: 'a credential was rejected', epoch: 3, at: 0 });
    await expect(sendContent(ctx, noLog, conversation, { t: 'text', text: 'hello', sentAt: 0 })).rejects.toMatchObject({
      code: ErrorCode.GROUP_BROKEN,
      message: 'team is broken on this device (a credential was rejected); nothing can be sent to it until it can be rejoined',
    });
    expect(requester.calls).toEqual([]);
  });

  it('rejoins when STALE_EPOCH comes twice and nothing in the log moves this device on (a lost epoch), then sends', async () => {
    let sends = 0;
    const { ctx, store, requester } = await setup({
      carolKnown: true,
      send: () => {
        if (++sends <= 2) throw refusal(ErrorCode.STALE_EPOCH, 'the group is at epoch 3', { epoch: 3 });
        return { seq: 6 };
      },
    });
    const { state } = await createGroup(alice.member, groupId);
    const conversation = { groupId: group, kind: 'group' as const, title: 'team', state, processedSeq: 2, active: true, createdAt: 0, lastActivityAt: 0 };
    await store.apply({ conversation });
    const sent = await sendContent(ctx, noLog, conversation, { t: 'text', text: 'hello', sentAt: 0 });
    expect(sent.seq).toBe(6);
    // Stale twice with nothing to catch up on: not a race, a lost epoch.
    expect(requester.ops().filter((op) => op !== 'directory.lookup')).toEqual(['group.send', 'group.send', 'group.get', 'group.info', 'group.rejoin', 'group.send']);
    expect(await store.getConversation(group)).toMatchObject({ active: true, processedSeq: 4, title: 'team' });
  });

  it('says GROUP_BROKEN, not STALE_EPOCH, when that rejoin fails too', async () => {
    const { ctx, store } = await setup({ carolKnown: false, send: () => Promise.reject(refusal(ErrorCode.STALE_EPOCH, 'the group is at epoch 3', { epoch: 3 })) });
    const { state } = await createGroup(alice.member, groupId);
    const conversation = { groupId: group, kind: 'group' as const, title: 'team', state, processedSeq: 2, active: true, createdAt: 0, lastActivityAt: 0 };
    await store.apply({ conversation });
    await expect(sendContent(ctx, noLog, conversation, { t: 'text', text: 'hello', sentAt: 0 })).rejects.toMatchObject({ code: ErrorCode.GROUP_BROKEN });
  });
});
