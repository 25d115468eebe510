import { createGroup } from '@parley/crypto';
import { equalBytes, ErrorCode, groupIdText } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { refusal } from '../connection/fake-requester.testkit.js';
import { testContext, testUser } from './context.testkit.js';
import { Messenger } from './messenger.js';
import type { SealedText } from './sending.js';

const alice = testUser('alice');
const bob = testUser('bob');
const groupId = new Uint8Array(16).fill(5);

/** Alice's messenger with a direct conversation with bob, his directory entry cached, and a scripted server. */
async function setup(options: { staleOnce?: boolean; loseReplyOnce?: boolean } = {}) {
  let stale = options.staleOnce ?? false;
  let loseReply = options.loseReplyOnce ?? false;
  let seq = 10;
  /** What the scripted server stored, by sequence number: a resend of stored bytes gets their number back. */
  const stored = new Map<number, Uint8Array>();
  const test = testContext(alice, {
    'directory.lookup': () => bob.lookup,
    'sync.fetch': () => ({ mailbox: [], entries: [], gaps: [], more: false }),
    'group.send': ({ message }) => {
      const already = [...stored].find(([, bytes]) => equalBytes(bytes, message));
      if (already) return { seq: already[0] };
      if (stale) {
        stale = false;
        throw refusal(ErrorCode.STALE_EPOCH, 'the group moved on', { epoch: 1 });
      }
      stored.set(++seq, message);
      if (loseReply) {
        loseReply = false;
        throw refusal(ErrorCode.CONNECTION_FAILED, 'the connection dropped before the reply');
      }
      return { seq };
    },
  });
  const { state } = await createGroup(alice.member, groupId);
  await test.store.apply({ conversation: { groupId: groupIdText(groupId), kind: 'direct', title: 'bob', peer: 'bob', state, processedSeq: 10, active: true, createdAt: 0, lastActivityAt: 0 } });
  await test.ctx.directory.entry('bob');
  test.requester.calls.length = 0;
  const messenger = new Messenger({ request: test.ctx.request, store: test.store, self: alice.device, member: alice.member, directory: test.ctx.directory });
  return { ...test, messenger, stored };
}

describe('Messenger: what sending into an existing conversation costs', () => {
  it('a one-shot send catches that conversation up, then sends: two requests, none about anyone’s keys', async () => {
    const { messenger, requester } = await setup();
    const sent = await messenger.sendDirect('bob', 'hi bob');
    expect(sent).toMatchObject({ conversation: 'bob', sender: 'alice', text: 'hi bob', seq: 11 });
    expect(requester.calls.map((call) => [call.op, call.op === 'sync.fetch' ? call.body : undefined])).toEqual([
      ['sync.fetch', { range: { groupId, fromSeq: 11 } }],
      ['group.send', undefined],
    ]);
  });

  it('a live messenger, kept current by pushes, only sends', async () => {
    const { messenger, requester } = await setup();
    messenger.onEvent(() => undefined);
    await messenger.sendDirect('bob', 'hi');
    await messenger.sendDirect('bob', 'again');
    expect(requester.ops()).toEqual(['group.send', 'group.send']);
  });

  it('refuses before anything is sent when the cached key of the peer is not the pinned one', async () => {
    const { messenger, requester, store } = await setup();
    await store.pinIdentity('bob', new Uint8Array(32).fill(9));
    await expect(messenger.sendDirect('bob', 'must not leave')).rejects.toMatchObject({ code: 'IDENTITY_KEY_CHANGED' });
    expect(requester.calls).toEqual([]);
    expect(await store.listMessages(groupIdText(groupId))).toEqual([]);
  });

  it('on STALE_EPOCH catches the conversation up and encrypts again', async () => {
    const { messenger, requester, store } = await setup({ staleOnce: true });
    await messenger.sendDirect('bob', 'second try');
    expect(requester.ops()).toEqual(['sync.fetch', 'group.send', 'sync.fetch', 'group.send']);
    expect((await store.listMessages(groupIdText(groupId))).map((m) => [m.seq, m.text])).toEqual([[11, 'second try']]);
  });

  it('refuses to write to yourself, and an empty message, without a request', async () => {
    const { messenger, requester } = await setup();
    await expect(messenger.sendDirect('alice', 'me')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    messenger.onEvent(() => undefined);
    await expect(messenger.sendDirect('bob', '')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(requester.calls).toEqual([]);
  });
});

describe('Messenger: a resend after a lost reply (an outbox)', () => {
  it('hears the ciphertext before it leaves, and sending it again is stored once', async () => {
    const { messenger, store, stored, requester } = await setup({ loseReplyOnce: true });
    messenger.onEvent(() => undefined);
    const kept: SealedText[] = [];
    const onSealed = async (sealed: SealedText) => void kept.push(sealed);
    await expect(messenger.sendDirect('bob', 'only once', { onSealed })).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ groupId: groupIdText(groupId), epoch: 0 });
    expect(equalBytes(kept[0]?.message ?? new Uint8Array(), stored.get(11) ?? new Uint8Array(1))).toBe(true);

    const resent = await messenger.sendDirect('bob', 'only once', { sealed: kept[0] as SealedText, onSealed });
    expect(resent).toMatchObject({ seq: 11, text: 'only once', sentAt: kept[0]?.sentAt });
    // Only the resend asks the server to look for a copy it stored already.
    expect(requester.calls.filter((call) => call.op === 'group.send').map((call) => (call.body as { resend?: boolean }).resend)).toEqual([undefined, true]);
    expect(kept).toHaveLength(1);
    expect(stored.size).toBe(1);
    expect((await store.listMessages(groupIdText(groupId))).map((m) => [m.seq, m.text])).toEqual([[11, 'only once']]);
  });

  it('encrypts afresh when the server never stored the resent bytes and the epoch moved on', async () => {
    const { messenger, store, stored } = await setup({ staleOnce: true });
    messenger.onEvent(() => undefined);
    const neverStored: SealedText = { groupId: groupIdText(groupId), epoch: 0, message: new Uint8Array([1, 2, 3]), sentAt: 5 };
    const kept: SealedText[] = [];
    const sent = await messenger.sendDirect('bob', 'fresh', { sealed: neverStored, onSealed: async (sealed) => void kept.push(sealed) });
    expect(sent.seq).toBe(11);
    expect(kept).toHaveLength(1);
    expect(equalBytes(kept[0]?.message ?? new Uint8Array(), stored.get(11) ?? new Uint8Array(1))).toBe(true);
    expect((await store.listMessages(groupIdText(groupId))).map((m) => [m.seq, m.text])).toEqual([[11, 'fresh']]);
  });
});
