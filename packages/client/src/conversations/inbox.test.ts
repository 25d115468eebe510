import { groupIdText, type LogEntry, type MailboxEntry, type RequestOf, type ResponseOf } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { ConversationRecord } from '../store/client-store.js';
import { testContext, testUser } from './context.testkit.js';
import { markBroken } from './broken-groups.js';
import { Inbox, type EntryProcessor } from './inbox.js';

const alice = testUser('alice');
const bob = testUser('bob');
const groupId = new Uint8Array(16).fill(3);
const group = groupIdText(groupId);

const entry = (seq: number): LogEntry => ({ groupId, seq, kind: 'message', epoch: 1, sender: bob.device, sentAt: 0, payload: new Uint8Array([seq]) });
const fetched = (entries: LogEntry[], more = false): ResponseOf<'sync.fetch'> => ({ mailbox: [], entries, gaps: [], more });

/** An inbox over a scripted server, with a processor that only moves the conversation's cursor. */
async function setup(processedSeq: number, fetchAnswer: (body: RequestOf<'sync.fetch'>) => ResponseOf<'sync.fetch'> = () => fetched([])) {
  const { ctx, requester, store } = testContext(alice, { 'sync.fetch': fetchAnswer, 'sync.ack': () => ({}) });
  const conversation: ConversationRecord = { groupId: group, kind: 'direct', title: 'bob', peer: 'bob', state: new Uint8Array(1), processedSeq, active: true, createdAt: 0, lastActivityAt: 0 };
  await store.apply({ conversation });
  const processed: number[] = [];
  const mailbox: number[] = [];
  const processor: EntryProcessor = {
    async logEntry(logEntry) {
      const current = await store.getConversation(groupIdText(logEntry.groupId));
      if (!current) return 'unknown';
      if (logEntry.seq <= current.processedSeq) return 'duplicate';
      processed.push(logEntry.seq);
      await store.apply({ conversation: { ...current, processedSeq: logEntry.seq } });
      return 'processed';
    },
    async mailboxEntry(mailboxEntry) {
      mailbox.push(mailboxEntry.id);
    },
  };
  const cursor = async () => (await store.getConversation(group))?.processedSeq;
  return { inbox: new Inbox(ctx, processor), requester, processed, mailbox, cursor, ctx };
}

describe('Inbox', () => {
  it('applies a pushed entry that is next in sequence without fetching, and acknowledges it', async () => {
    const { inbox, requester, processed } = await setup(4);
    expect(await inbox.pushed(entry(5))).toBe(true);
    expect(processed).toEqual([5]);
    expect(requester.calls).toEqual([{ op: 'sync.ack', body: { mailbox: [], cursors: [{ groupId, seq: 5 }] } }]);
  });

  it('fetches only the missing range before an entry that arrives after a hole, then applies all in order', async () => {
    // 6 was this device's own entry: the server never sends it back.
    const { inbox, requester, processed, cursor } = await setup(4, () => fetched([entry(5), entry(7)]));
    await inbox.pushed(entry(8));
    expect(processed).toEqual([5, 7, 8]);
    expect(requester.calls).toEqual([
      { op: 'sync.fetch', body: { range: { groupId, fromSeq: 5, toSeq: 7 } } },
      { op: 'sync.ack', body: { mailbox: [], cursors: [{ groupId, seq: 8 }] } },
    ]);
    expect(await cursor()).toBe(8);
  });

  it('follows `more` through a long hole, asking from where the last batch ended', async () => {
    const { inbox, requester, processed } = await setup(0, (body) => (body.range?.fromSeq === 1 ? fetched([entry(1), entry(2)], true) : fetched([entry(3), entry(4)])));
    await inbox.pushed(entry(5));
    expect(processed).toEqual([1, 2, 3, 4, 5]);
    expect(requester.calls.filter((call) => call.op === 'sync.fetch').map((call) => (call.body as RequestOf<'sync.fetch'>).range?.fromSeq)).toEqual([1, 3]);
  });

  it('counts its own accepted entries as seen: no fetch when only they lie between', async () => {
    const { inbox, requester, processed } = await setup(4);
    inbox.accepted(group, 5);
    inbox.accepted(group, 6);
    await inbox.pushed(entry(7));
    expect(processed).toEqual([7]);
    expect(requester.ops()).toEqual(['sync.ack']);
  });

  it('ignores a duplicate push, and hands back an entry of a group it does not hold', async () => {
    const { inbox, requester, processed } = await setup(4);
    expect(await inbox.pushed(entry(3))).toBe(true);
    expect(await inbox.pushed({ ...entry(9), groupId: new Uint8Array(16).fill(4) })).toBe(false);
    expect(processed).toEqual([]);
    expect(requester.calls).toEqual([]);
  });

  it('processes and acknowledges a pushed mailbox entry once, however often it comes', async () => {
    const { inbox, requester, mailbox } = await setup(0);
    const welcome: MailboxEntry = { id: 17, kind: 'welcome', groupId, seq: 1, sender: bob.device, sentAt: 0, payload: new Uint8Array([1]) };
    await inbox.pushedMailbox(welcome);
    await inbox.pushedMailbox(welcome);
    expect(mailbox).toEqual([17]);
    expect(requester.calls).toEqual([{ op: 'sync.ack', body: { mailbox: [17], cursors: [] } }]);
  });

  it('catches a conversation up from its next expected entry, acknowledging only when something came', async () => {
    let answer = fetched([]);
    const { inbox, requester, processed } = await setup(4, () => answer);
    inbox.accepted(group, 5);
    await inbox.catchUp(group);
    expect(requester.calls).toEqual([{ op: 'sync.fetch', body: { range: { groupId, fromSeq: 6 } } }]);
    answer = fetched([entry(6), entry(7)]);
    await inbox.catchUp(group);
    expect(processed).toEqual([6, 7]);
    expect(requester.calls.slice(1)).toEqual([
      { op: 'sync.fetch', body: { range: { groupId, fromSeq: 6 } } },
      { op: 'sync.ack', body: { mailbox: [], cursors: [{ groupId, seq: 7 }] } },
    ]);
  });

  it('fetches everything in batches: mailbox first, each batch acknowledged, until no more is waiting', async () => {
    const welcome: MailboxEntry = { id: 3, kind: 'welcome', groupId, seq: 1, sender: bob.device, sentAt: 0, payload: new Uint8Array([1]) };
    let batch = 0;
    const { inbox, requester, processed, mailbox } = await setup(0, () => (++batch === 1 ? { mailbox: [welcome], entries: [entry(1)], gaps: [], more: true } : fetched([entry(2)])));
    await inbox.fetchAll();
    expect([mailbox, processed]).toEqual([[3], [1, 2]]);
    expect(requester.calls.filter((call) => call.op === 'sync.ack').map((call) => call.body)).toEqual([
      { mailbox: [3], cursors: [{ groupId, seq: 1 }] },
      { mailbox: [], cursors: [{ groupId, seq: 2 }] },
    ]);
  });

  it('acknowledges a pushed message of a group it could not join (marked broken) without a full sync, but not a commit that moves it on', async () => {
    const { inbox, requester, ctx } = await setup(4);
    const stranger = new Uint8Array(16).fill(9);
    await markBroken(ctx, groupIdText(stranger), { reason: 'a credential was rejected', epoch: 1, at: 0 });
    expect(await inbox.pushed({ ...entry(3), groupId: stranger })).toBe(true);
    expect(requester.calls).toEqual([{ op: 'sync.ack', body: { mailbox: [], cursors: [{ groupId: stranger, seq: 3 }] } }]);
    // A commit may make the group joinable: only a full sync can tell.
    expect(await inbox.pushed({ ...entry(4), groupId: stranger, kind: 'commit' })).toBe(false);
    expect(await inbox.pushed({ ...entry(5), groupId: new Uint8Array(16).fill(10) })).toBe(false);
    expect(requester.calls).toHaveLength(1);
  });
});
