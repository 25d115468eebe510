import { createGroup } from '@parley/crypto';
import { ErrorCode, groupIdText, type LogEntry, type MailboxEntry } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { testContext, testUser } from './context.testkit.js';
import { Pipeline } from './pipeline.js';

const alice = testUser('alice');
const bob = testUser('bob');
const groupId = new Uint8Array(16).fill(6);
const group = groupIdText(groupId);

async function setup() {
  const test = testContext(alice, { 'directory.lookup': () => alice.entry });
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
    // Nothing cached: the account's entry is looked up, then once more for the sibling it does not list.
    expect(requester.ops()).toEqual(['directory.lookup', 'directory.lookup']);
  });
});
