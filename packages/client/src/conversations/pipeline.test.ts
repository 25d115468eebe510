import { addMembers, createGroup, generateKeyPackage } from '@parley/crypto';
import { ErrorCode, groupIdText, toBase64Url, type LogEntry, type MailboxEntry } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { testContext, testUser } from './context.testkit.js';
import { Pipeline } from './pipeline.js';

const alice = testUser('alice');
const bob = testUser('bob');
const groupId = new Uint8Array(16).fill(6);
const group = groupIdText(groupId);

async function setup() {
  const test = testContext(alice, {
    'directory.lookup': () => alice.lookup,
    // Bob is no contact of Alice's: a Welcome of his that does not open makes her client leave his group.
    'contacts.list': () => ({ contacts: [], blocked: [] }),
    'group.leave': () => ({}),
  });
  const { state } = await createGroup(alice.member, groupId);
  await test.store.apply({ conversation: { groupId: group, kind: 'group', title: 'team', state, processedSeq: 0, active: true, createdAt: 0, lastActivityAt: 0 } });
  const hooks = { departed: async () => undefined, added: async () => undefined, keyPackageUsed: async () => undefined };
  return { ...test, state, pipeline: new Pipeline(test.ctx, hooks) };
}

const garbage = (seq: number): LogEntry => ({ groupId, seq, kind: 'message', epoch: 1, sender: bob.device, sentAt: 0, payload: new Uint8Array([0, 1, seq]) });

describe('Pipeline: each entry on its own', () => {
  it('acknowledges an entry that does not decrypt, reports it as an error of its conversation, and goes on with the next', async () => {
    const { pipeline, store, events, state } = await setup();
    expect(await pipeline.logEntry(garbage(1))).toBe('processed');
    expect(await pipeline.logEntry(garbage(2))).toBe('processed');
    expect(await pipeline.logEntry(garbage(2))).toBe('duplicate');
    expect(events).toEqual([
      { kind: 'error', conversation: group, code: ErrorCode.UNREADABLE_ENTRY, message: expect.stringMatching(/^entry 1 from bob\/bob-device-1 did not decrypt or verify/) },
      { kind: 'error', conversation: group, code: ErrorCode.UNREADABLE_ENTRY, message: expect.stringMatching(/^entry 2 from/) },
    ]);
    const conversation = await store.getConversation(group);
    expect(conversation?.processedSeq).toBe(2);
    expect(conversation?.state).toEqual(state); // a failed entry changes no group state
    expect(await store.listMessages(group)).toEqual([]);
  });

  it('passes over an entry of a group it does not hold, and one of a group it left', async () => {
    const { pipeline, store, events } = await setup();
    expect(await pipeline.logEntry({ ...garbage(1), groupId: new Uint8Array(16).fill(1) })).toBe('unknown');
    const conversation = await store.getConversation(group);
    if (conversation) await store.apply({ conversation: { ...conversation, active: false } });
    expect(await pipeline.logEntry(garbage(1))).toBe('inactive');
    expect(events).toEqual([]);
  });

  it('reports a Welcome or a history chunk that does not open, without stopping', async () => {
    const { pipeline, events, requester } = await setup();
    const welcome: MailboxEntry = { id: 1, kind: 'welcome', groupId: new Uint8Array(16).fill(2), seq: 1, sender: bob.device, sentAt: 0, payload: new Uint8Array([9, 9]) };
    const chunk: MailboxEntry = { id: 2, kind: 'transfer', groupId: new Uint8Array(16).fill(3), seq: 0, sender: { username: 'alice', deviceId: 'alice-device-2' }, sentAt: 0, payload: new Uint8Array([1]) };
    await pipeline.mailboxEntry(welcome);
    await pipeline.mailboxEntry(chunk);
    await pipeline.mailboxEntry({ ...chunk, id: 3, sender: bob.device });
    expect(events.map((event) => (event.kind === 'error' ? [event.conversation, event.code, event.message] : event.kind))).toEqual([
      [groupIdText(welcome.groupId), ErrorCode.UNREADABLE_ENTRY, expect.stringMatching(/^a Welcome from bob is not an MLS message/)],
      [undefined, ErrorCode.UNREADABLE_ENTRY, 'history chunk 0 from device alice-device-2 came from a device this account does not have'],
      [undefined, ErrorCode.UNREADABLE_ENTRY, 'history chunk 0 from device bob-device-1 came from bob, not from a device of this account'],
    ]);
    // Bob's group is left; nothing cached: the account's entry is looked up, then once more for the sibling it does not list.
    expect(requester.ops()).toEqual(['contacts.list', 'group.leave', 'directory.lookup', 'directory.lookup']);
  });
});

describe('Pipeline: Welcomes', () => {
  const carol = testUser('carol');

  /** Bob's device with a last-resort KeyPackage, and two groups of Alice's that add it. */
  async function lastResortWelcomes() {
    const test = testContext(bob, {
      'directory.lookup': ({ username }) => (username === 'alice' ? alice.lookup : bob.lookup),
      'group.get': ({ groupId: id }) => ({ groupId: id, kind: 'group', epoch: 1, createdBy: 'alice', admins: ['alice'], members: [alice.device, bob.device], lastSeq: 1 }),
      // Alice is Bob's contact, so her Welcomes are plain joins, not message requests.
      'contacts.list': () => ({ contacts: ['alice'], blocked: [] }),
      'group.leave': () => ({}),
    });
    const lastResort = await generateKeyPackage(bob.member, { lastResort: true });
    await test.store.putKeyPackages([{ ref: toBase64Url(lastResort.keyPackageRef), privateState: lastResort.privateState, lastResort: true }]);
    const used: string[] = [];
    const hooks = { departed: async () => undefined, added: async () => undefined, keyPackageUsed: async (kind: string) => void used.push(kind) };
    const welcomes = await Promise.all(
      [7, 8].map(async (fill, index) => {
        const id = new Uint8Array(16).fill(fill);
        const { state } = await createGroup(alice.member, id);
        const { welcome } = await addMembers(state, alice.member, [lastResort.keyPackage], async () => true);
        return { id: index + 1, kind: 'welcome', groupId: id, seq: 1, sender: alice.device, sentAt: 0, payload: welcome } satisfies MailboxEntry;
      }),
    );
    return { ...test, used, welcomes, pipeline: new Pipeline(test.ctx, hooks) };
  }

  it('keeps the last-resort secret after a Welcome used it, and says which kind was used', async () => {
    const { pipeline, events, used, welcomes, store } = await lastResortWelcomes();
    for (const welcome of welcomes) await pipeline.mailboxEntry(welcome);
    expect(events.filter((event) => event.kind === 'error')).toEqual([]);
    expect(used).toEqual(['last-resort', 'last-resort']);
    expect((await store.listConversations()).map((c) => c.active)).toEqual([true, true]);
  });

  it('refuses a Welcome into another group than the one it was queued for', async () => {
    const { pipeline, events, welcomes, store } = await lastResortWelcomes();
    const [first, second] = welcomes;
    if (!first || !second) throw new Error('two Welcomes expected');
    await pipeline.mailboxEntry({ ...first, payload: second.payload });
    expect(events).toEqual([{ kind: 'error', conversation: groupIdText(first.groupId), code: ErrorCode.UNREADABLE_ENTRY, message: 'a Welcome from alice is for another group than the one it came for' }]);
    expect(await store.listConversations()).toEqual([]);
  });

  it('refuses a Welcome whose tree holds a credential the directory does not vouch for', async () => {
    const { pipeline, events, store, requester } = await lastResortWelcomes();
    const kp = await generateKeyPackage(bob.member);
    await store.putKeyPackages([{ ref: toBase64Url(kp.keyPackageRef), privateState: kp.privateState, lastResort: false }]);
    const id = new Uint8Array(16).fill(9);
    const { state } = await createGroup(carol.member, id);
    const { welcome } = await addMembers(state, carol.member, [kp.keyPackage], async () => true);
    await pipeline.mailboxEntry({ id: 9, kind: 'welcome', groupId: id, seq: 1, sender: carol.device, sentAt: 0, payload: welcome });
    expect(events).toEqual([{ kind: 'error', conversation: groupIdText(id), code: ErrorCode.UNREADABLE_ENTRY, message: expect.stringMatching(/^a Welcome from carol did not open or verify: .*credential was rejected/) }]);
    // Carol is a stranger: Bob's client leaves her group, so she keeps no routing to him.
    expect(requester.calls.filter((call) => call.op === 'group.leave')).toEqual([{ op: 'group.leave', body: { groupId: id } }]);
  });
});
