import { createGroup } from '@parley/crypto';
import { ErrorCode, groupIdText } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { refusal } from '../connection/fake-requester.testkit.js';
import { testContext, testUser } from './context.testkit.js';
import { Messenger } from './messenger.js';

const alice = testUser('alice');
const bob = testUser('bob');
const groupId = new Uint8Array(16).fill(5);

/** Alice's messenger with a direct conversation with bob, his directory entry cached, and a scripted server. */
async function setup(options: { staleOnce?: boolean } = {}) {
  let stale = options.staleOnce ?? false;
  let seq = 10;
  const test = testContext(alice, {
    'directory.lookup': () => bob.entry,
    'sync.fetch': () => ({ mailbox: [], entries: [], gaps: [], more: false }),
    'group.send': () => {
      if (stale) {
        stale = false;
        throw refusal(ErrorCode.STALE_EPOCH, 'the group moved on', { epoch: 1 });
      }
      return { seq: ++seq };
    },
  });
  const { state } = await createGroup(alice.member, groupId);
  await test.store.apply({ conversation: { groupId: groupIdText(groupId), kind: 'direct', title: 'bob', peer: 'bob', state, processedSeq: 10, active: true, createdAt: 0, lastActivityAt: 0 } });
  await test.ctx.directory.entry('bob');
  test.requester.calls.length = 0;
  const messenger = new Messenger({ request: test.ctx.request, store: test.store, self: alice.device, member: alice.member, directory: test.ctx.directory });
  return { ...test, messenger };
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
