/** @module The checks every ClientStore passes (see conformance.ts). */
import type { ClientStore, KeyPackageSecret } from './client-store.js';
import { bytes, conversation, message, rejects, same, withStore, type Check } from './check-support.js';
import { timelockStoreChecks } from './timelock-store-checks.js';

export const clientStoreChecks: Check<ClientStore>[] = [
  {
    name: 'starts empty',
    run: (create) =>
      withStore(create, async (store) => {
        same(await store.listConversations(), [], 'conversations');
        same(await store.getConversation('g1'), undefined, 'a missing conversation');
        same(await store.listMessages('g1'), [], 'messages');
        same(await store.countUnread('g1'), 0, 'unread');
        same(await store.getKeyPackage('ref'), undefined, 'a missing KeyPackage');
        same(await store.getPinnedIdentity('alice'), undefined, 'a missing identity');
      }),
  },
  {
    name: 'saves a conversation and replaces it on the next update',
    run: (create) =>
      withStore(create, async (store) => {
        const direct = conversation('g1', { kind: 'direct', title: 'bob', peer: 'bob' });
        await store.apply({ conversation: direct });
        same(await store.getConversation('g1'), direct, 'saved conversation');
        const moved = { ...direct, state: bytes(9, 9), processedSeq: 7, active: false, lastActivityAt: direct.lastActivityAt + 5 };
        await store.apply({ conversation: moved });
        same(await store.getConversation('g1'), moved, 'updated conversation');
        await store.apply({ conversation: conversation('g2') });
        const ids = (await store.listConversations()).map((c) => c.groupId).sort();
        same(ids, ['g1', 'g2'], 'listed conversations');
      }),
  },
  {
    name: 'keeps who a message request is from until it is accepted',
    run: (create) =>
      withStore(create, async (store) => {
        const request = conversation('g1', { kind: 'direct', title: 'mallory', peer: 'mallory', requestFrom: 'mallory' });
        await store.apply({ conversation: request });
        same(await store.getConversation('g1'), request, 'a pending request');
        const { requestFrom: _accepted, ...accepted } = request;
        await store.apply({ conversation: accepted });
        same(await store.getConversation('g1'), accepted, 'the request once accepted');
        same((await store.listConversations())[0]?.requestFrom, undefined, 'listed once accepted');
      }),
  },
  {
    name: 'stores only the bytes of a view, and hands out copies',
    run: (create) =>
      withStore(create, async (store) => {
        const buffer = bytes(0, 1, 2, 3, 4, 5, 6, 7);
        await store.apply({ conversation: conversation('g1', { state: buffer.subarray(2, 5) }) });
        const first = await store.getConversation('g1');
        same(first?.state, bytes(2, 3, 4), 'state of a view');
        first?.state.fill(0);
        same((await store.getConversation('g1'))?.state, bytes(2, 3, 4), 'state after mutating a returned copy');
      }),
  },
  {
    name: 'keeps one message per group and sequence number, in sequence order',
    run: (create) =>
      withStore(create, async (store) => {
        const c = conversation('g1');
        await store.apply({ conversation: { ...c, processedSeq: 5 }, message: message('g1', 5) });
        await store.apply({ conversation: { ...c, processedSeq: 3 }, message: message('g1', 3) });
        await store.apply({ conversation: { ...c, processedSeq: 5 }, message: message('g1', 5, { text: 'a replay' }) });
        await store.apply({ conversation: conversation('g2', { processedSeq: 4 }), message: message('g2', 4) });
        same(await store.listMessages('g1'), [message('g1', 3), message('g1', 5)], 'messages of g1');
        same(await store.listMessages('g2'), [message('g2', 4)], 'messages of g2');
      }),
  },
  {
    name: 'counts unread messages and marks them read up to a sequence number',
    run: (create) =>
      withStore(create, async (store) => {
        const c = conversation('g1');
        for (const seq of [1, 2, 3]) await store.apply({ conversation: { ...c, processedSeq: seq }, message: message('g1', seq) });
        await store.apply({ conversation: { ...c, processedSeq: 4 }, message: message('g1', 4, { sender: 'alice', read: true }) });
        await store.apply({ conversation: conversation('g2', { processedSeq: 1 }), message: message('g2', 1) });
        same(await store.countUnread('g1'), 3, 'unread in g1');
        same((await store.listMessages('g1', { unreadOnly: true })).map((m) => m.seq), [1, 2, 3], 'unread messages');
        await store.markRead('g1', 2);
        same(await store.countUnread('g1'), 1, 'unread after markRead(2)');
        same((await store.listMessages('g1')).map((m) => m.read), [true, true, false, true], 'read flags');
        same(await store.countUnread('g2'), 1, 'unread in another group');
      }),
  },
  {
    name: 'keeps KeyPackage secrets; joining uses up a one-time one but never the last resort',
    run: (create) =>
      withStore(create, async (store) => {
        const secrets: KeyPackageSecret[] = [
          { ref: 'kp-1', privateState: bytes(1), lastResort: false },
          { ref: 'kp-2', privateState: bytes(2), lastResort: false },
          { ref: 'kp-last', privateState: bytes(3), lastResort: true },
        ];
        await store.putKeyPackages(secrets);
        same(await store.getKeyPackage('kp-1'), secrets[0], 'one-time secret');
        same(await store.getKeyPackage('kp-last'), secrets[2], 'last-resort secret');
        await store.apply({ conversation: conversation('g1'), consumedKeyPackage: 'kp-1' });
        await store.apply({ conversation: conversation('g2'), consumedKeyPackage: 'kp-last' });
        await store.apply({ conversation: conversation('g3'), consumedKeyPackage: 'kp-unknown' });
        same(await store.getKeyPackage('kp-1'), undefined, 'used one-time secret');
        same(await store.getKeyPackage('kp-2'), secrets[1], 'unused secret');
        same(await store.getKeyPackage('kp-last'), secrets[2], 'used last-resort secret');
        await store.putKeyPackages([{ ref: 'kp-last', privateState: bytes(4), lastResort: true }]);
        same((await store.getKeyPackage('kp-last'))?.privateState, bytes(4), 'replaced last-resort secret');
      }),
  },
  {
    name: 'pins identity keys',
    run: (create) =>
      withStore(create, async (store) => {
        await store.pinIdentity('alice', bytes(1, 2));
        same(await store.getPinnedIdentity('alice'), bytes(1, 2), 'pinned key');
        await store.pinIdentity('alice', bytes(3));
        same(await store.getPinnedIdentity('alice'), bytes(3), 're-pinned key');
        same(await store.getPinnedIdentity('bob'), undefined, 'another user');
      }),
  },
  {
    name: 'marks a pinned identity key verified, keeps the mark when the key is pinned again, and clears it',
    run: (create) =>
      withStore(create, async (store) => {
        await store.pinIdentity('alice', bytes(1, 2));
        same(await store.getVerifiedIdentity('alice'), undefined, 'verified key before verifying');
        await store.setVerifiedIdentity('alice', bytes(1, 2));
        same(await store.getVerifiedIdentity('alice'), bytes(1, 2), 'verified key');
        await store.pinIdentity('alice', bytes(3));
        same(await store.getPinnedIdentity('alice'), bytes(3), 'pinned key after a change');
        same(await store.getVerifiedIdentity('alice'), bytes(1, 2), 'verified key after the pinned key changed');
        await store.setVerifiedIdentity('alice', undefined);
        same(await store.getVerifiedIdentity('alice'), undefined, 'verified key after clearing');
        same(await store.getPinnedIdentity('alice'), bytes(3), 'pinned key after clearing the verified one');
      }),
  },
  {
    name: 'imports history from another device without touching what it has',
    run: (create) =>
      withStore(create, async (store) => {
        await store.apply({ conversation: conversation('g1', { processedSeq: 2 }), message: message('g1', 2, { text: 'mine' }) });
        await store.importHistory([message('g1', 1, { read: true }), message('g1', 2, { text: 'theirs' }), message('g1', 3), message('g2', 1)]);
        same(await store.listMessages('g1'), [message('g1', 1, { read: true }), message('g1', 2, { text: 'mine' }), message('g1', 3)], 'history of g1');
        same(await store.listMessages('g2'), [message('g2', 1)], 'history of g2');
        same(await store.countUnread('g1'), 2, 'unread after the import');
        await store.importHistory([]);
      }),
  },
  {
    name: 'caches derived data by key, replaces and forgets it, and hands out copies',
    run: (create) =>
      withStore(create, async (store) => {
        same(await store.getCached('directory/alice'), undefined, 'a missing cache entry');
        const value = bytes(0, 1, 2, 3, 4);
        await store.putCached('directory/alice', value.subarray(1, 4));
        await store.putCached('groups', bytes(9));
        same(await store.getCached('directory/alice'), bytes(1, 2, 3), 'cached bytes of a view');
        (await store.getCached('directory/alice'))?.fill(0);
        same(await store.getCached('directory/alice'), bytes(1, 2, 3), 'cached bytes after mutating a returned copy');
        await store.putCached('directory/alice', bytes(7));
        same(await store.getCached('directory/alice'), bytes(7), 'replaced cache entry');
        await store.putCached('directory/alice', undefined);
        same(await store.getCached('directory/alice'), undefined, 'forgotten cache entry');
        same(await store.getCached('groups'), bytes(9), 'another cache entry');
      }),
  },
  {
    name: 'keeps the newest verified key-log tree head, replaces it, and keeps it after reopening',
    run: async (create) => {
      const head = (size: number) => ({ size, rootHash: bytes(size, 2, 3), timestamp: 1000 + size, signature: bytes(4, 5, size) });
      await withStore(create, async (store) => {
        same(await store.getTreeHead(), undefined, 'no tree head at first');
        await store.putTreeHead(head(3));
        await store.putTreeHead(head(8));
      });
      await withStore(create, async (store) => same(await store.getTreeHead(), head(8), 'the tree head after reopening'));
    },
  },
  {
    name: 'keeps what it saved after being closed and opened again',
    run: async (create) => {
      await withStore(create, async (store) => {
        await store.apply({ conversation: conversation('g1', { processedSeq: 1 }), message: message('g1', 1) });
        await store.putKeyPackages([{ ref: 'kp', privateState: bytes(5), lastResort: false }]);
        await store.putCached('groups', bytes(6));
      });
      await withStore(create, async (store) => {
        same((await store.getConversation('g1'))?.processedSeq, 1, 'conversation after reopening');
        same((await store.listMessages('g1')).length, 1, 'messages after reopening');
        same((await store.getKeyPackage('kp'))?.privateState, bytes(5), 'secret after reopening');
        same(await store.getCached('groups'), bytes(6), 'cache entry after reopening');
      });
    },
  },
  {
    name: 'applies an update entirely or not at all',
    persistentOnly: true,
    run: (create) =>
      withStore(create, async (store) => {
        const before = conversation('g1', { processedSeq: 1 });
        await store.apply({ conversation: before, message: message('g1', 1) });
        // A message that cannot be stored: the conversation's new state must not be kept either.
        const broken = { ...message('g1', 2), text: (() => 'not storable') as unknown as string };
        await rejects(store.apply({ conversation: { ...before, state: bytes(7), processedSeq: 2 }, message: broken }), 'an update with an unstorable message');
        same(await store.getConversation('g1'), before, 'conversation after a failed update');
        same((await store.listMessages('g1')).map((m) => m.seq), [1], 'messages after a failed update');
      }),
  },
  ...timelockStoreChecks,
];
