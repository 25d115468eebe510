import { createGroup, groupMetadata } from '@parley/crypto';
import { groupIdText, type GroupSummary, type RequestOf } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { ConversationRecord } from '../store/client-store.js';
import { testContext, testUser } from './context.testkit.js';
import type { GroupLog } from './inbox.js';
import { addUsers } from './membership.js';
import { reconcileGroup } from './reconcile.js';
import { acceptRequest, blockUser, declineRequest, findRequest, pendingRequests, settleRequests } from './requests.js';
import { sendContent } from './sending.js';

const bob = testUser('bob');
const groupId = new Uint8Array(16).fill(5);
const group = groupIdText(groupId);
const summary: GroupSummary = {
  groupId,
  kind: 'group',
  epoch: 0,
  createdBy: 'mallory',
  admins: ['mallory'],
  members: [
    { username: 'mallory', deviceId: 'mallory-1' },
    { username: 'bob', deviceId: bob.device.deviceId },
    { username: 'carol', deviceId: 'carol-1' },
  ],
  lastSeq: 1,
};
const noLog: GroupLog = { catchUp: async () => undefined, accepted: () => undefined };

async function request(overrides: Partial<ConversationRecord> = {}): Promise<ConversationRecord> {
  const { state } = await createGroup(bob.member, groupId);
  return { groupId: group, kind: 'group', title: 'prizes', state, processedSeq: 1, active: true, createdAt: 1, lastActivityAt: 1, requestFrom: 'mallory', ...overrides };
}

describe('message requests: what the client decides', () => {
  it('sends nothing into a pending request: no message, no commit, no reconcile', async () => {
    const { ctx, requester, store } = testContext(bob, {});
    const pending = await request();
    await store.apply({ conversation: pending });
    await expect(sendContent(ctx, noLog, pending, { t: 'text', text: 'hi', sentAt: 1 })).rejects.toMatchObject({ code: 'REQUEST_PENDING', message: /parley accept mallory/ });
    await expect(addUsers(ctx, noLog, pending, ['carol'])).rejects.toMatchObject({ code: 'REQUEST_PENDING' });
    await reconcileGroup(ctx, noLog, summary, bob.entry);
    // Nothing was asked of the server at all, and the group state did not move.
    expect(requester.ops()).toEqual([]);
    expect(groupMetadata((await store.getConversation(group))?.state ?? new Uint8Array()).epoch).toBe(0n);
  });

  it('accept makes the requester and the members contacts, asking only for those not contacts yet', async () => {
    const added: string[] = [];
    const { ctx, requester, store } = testContext(bob, {
      'group.get': () => summary,
      'contacts.list': () => ({ contacts: ['carol'], blocked: [] }),
      'contacts.add': ({ username }: RequestOf<'contacts.add'>) => (added.push(username), {}),
    });
    await store.apply({ conversation: await request() });
    expect((await pendingRequests(store)).map((r) => [r.from, r.conversation.title, r.messages])).toEqual([['mallory', 'prizes', 0]]);
    const accepted = await acceptRequest(ctx, 'mallory');
    expect(accepted.requestFrom).toBeUndefined();
    expect(added).toEqual(['mallory']);
    expect(requester.ops()).toEqual(['group.get', 'contacts.list', 'contacts.add']);
    expect(await pendingRequests(store)).toEqual([]);
    // The contacts are kept locally: the next Welcome from mallory needs no request to be trusted.
    expect(await ctx.contacts.isContact('mallory')).toBe(true);
    expect(requester.ops()).toHaveLength(3);
  });

  it('decline leaves without a word; block declines every pending request of that user', async () => {
    const left: RequestOf<'group.leave'>[] = [];
    const { ctx, requester, store } = testContext(bob, {
      'group.leave': (body) => (left.push(body), {}),
      'contacts.block': () => ({}),
      'contacts.list': () => ({ contacts: [], blocked: ['mallory'] }),
    });
    await store.apply({ conversation: await request() });
    const declined = await declineRequest(ctx, await findRequest(store, 'prizes'));
    expect(declined).toMatchObject({ active: false, requestFrom: 'mallory' });
    expect(left).toEqual([{ groupId }]);
    expect(await pendingRequests(store)).toEqual([]);

    const other = new Uint8Array(16).fill(6);
    await store.apply({ conversation: { ...(await request()), groupId: groupIdText(other), kind: 'direct', title: 'mallory', peer: 'mallory' } });
    expect((await blockUser(ctx, 'mallory')).map((c) => c.groupId)).toEqual([groupIdText(other)]);
    expect(requester.ops()).toEqual(['group.leave', 'contacts.block', 'contacts.list', 'group.leave']);
    expect(ctx.contacts.hidden.has('mallory')).toBe(true);
  });

  it('a request another device of mine accepted is accepted here at the next sync; none pending asks nothing', async () => {
    let contacts: string[] = [];
    const { ctx, requester, store } = testContext(bob, { 'contacts.list': () => ({ contacts, blocked: [] }) });
    await settleRequests(ctx);
    expect(requester.ops()).toEqual([]);
    await store.apply({ conversation: await request() });
    await settleRequests(ctx);
    expect((await store.getConversation(group))?.requestFrom).toBe('mallory');
    contacts = ['mallory'];
    await settleRequests(ctx);
    expect((await store.getConversation(group))?.requestFrom).toBeUndefined();
    expect(requester.ops()).toEqual(['contacts.list', 'contacts.list']);
  });

  it("declines at the next sync a request from someone I block (a Welcome queued before the block)", async () => {
    const { ctx, requester, store } = testContext(bob, { 'contacts.list': () => ({ contacts: [], blocked: ['mallory'] }), 'group.leave': () => ({}) });
    await store.apply({ conversation: await request() });
    await settleRequests(ctx);
    expect(requester.ops()).toEqual(['contacts.list', 'group.leave']);
    expect(await store.getConversation(group)).toMatchObject({ active: false, requestFrom: 'mallory' });
    expect(await pendingRequests(store)).toEqual([]);
  });

  it('names a request by its requester, group id or title, and says when it is ambiguous or unknown', async () => {
    const { store } = testContext(bob, {});
    await store.apply({ conversation: await request() });
    await store.apply({ conversation: { ...(await request()), groupId: 'other', title: 'more prizes' } });
    await expect(findRequest(store, 'mallory')).rejects.toMatchObject({ code: 'BAD_INPUT', message: /several requests match mallory/ });
    expect((await findRequest(store, 'more prizes')).groupId).toBe('other');
    expect((await findRequest(store, group)).title).toBe('prizes');
    await expect(findRequest(store, 'nobody')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
