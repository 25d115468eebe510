/** @module The checks every ClientStore passes for time-locked messages (DESIGN §8): locked and opened messages, pending releases, solver checkpoints. */
import type { ClientStore, MessageLock, PendingRelease, SolveCheckpoint, StoredMessage } from './client-store.js';
import { bytes, conversation, message, same, withStore, type Check } from './check-support.js';

function locked(groupId: string, seq: number, lockId: string, unlockAt: number): StoredMessage & { lock: MessageLock } {
  const { text: _text, ...rest } = message(groupId, seq);
  return { ...rest, lock: { lockId, unlockAt, sealed: bytes(seq, 7, 7) } };
}

const release = (lockId: string, groupId = 'g1'): PendingRelease => ({ lockId, groupId, unlockAt: 1_700_000_100_000, key: bytes(4, 2) });
const checkpoint = (lockId: string, done: number): SolveCheckpoint => ({ lockId, puzzleDigest: bytes(1, 1), done, value: bytes(done % 256, 3) });

async function save(store: ClientStore, ...messages: StoredMessage[]): Promise<void> {
  for (const m of messages) await store.apply({ conversation: conversation(m.groupId, { processedSeq: m.seq }), message: m });
}

export const timelockStoreChecks: Check<ClientStore>[] = [
  {
    name: 'keeps time-locked messages without text, lists them soonest first, and finds them by lock',
    run: (create) =>
      withStore(create, async (store) => {
        const late = locked('g1', 1, 'lock-late', 1_700_000_900_000);
        const soon = locked('g2', 2, 'lock-soon', 1_700_000_100_000);
        const mine = { ...message('g1', 3), lock: { lockId: 'lock-mine', unlockAt: 1_700_000_500_000 } };
        await save(store, late, soon, mine, message('g1', 4));
        same(await store.listLockedMessages(), [soon, late], 'locked messages');
        same(await store.listMessages('g1'), [late, mine, message('g1', 4)], 'messages of g1');
        same(await store.listMessagesByLock('lock-late'), [late], 'a locked message by its lock');
        same(await store.listMessagesByLock('lock-mine'), [mine], "the sender's own copy by its lock");
        same(await store.listMessagesByLock('lock-none'), [], 'an unknown lock');
        same(await store.countUnread('g1'), 3, 'locked messages count as unread');
      }),
  },
  {
    name: 'opens a locked message once: text in, sealed content, checkpoint and pending release out, unread again',
    run: (create) =>
      withStore(create, async (store) => {
        const sealed = { ...locked('g1', 1, 'lock-1', 1_700_000_100_000), read: true };
        await save(store, sealed, locked('g1', 2, 'lock-2', 1_700_000_200_000));
        await store.putSolveCheckpoint(checkpoint('lock-1', 10));
        await store.putPendingRelease(release('lock-1'));
        await store.putSolveCheckpoint(checkpoint('lock-2', 20));
        const { sealed: _sealed, ...lock } = sealed.lock;
        const opened = { ...sealed, text: 'at last', read: false, lock: { ...lock, unlockedBy: 'puzzle' } };
        same(await store.openLockedMessage('g1', 1, { text: 'at last', unlockedBy: 'puzzle' }), opened, 'the opened message');
        same(await store.openLockedMessage('g1', 1, { text: 'again', unlockedBy: 'server' }), undefined, 'opening it a second time');
        same(await store.openLockedMessage('g1', 9, { text: 'nothing', unlockedBy: 'server' }), undefined, 'opening an unknown message');
        same((await store.listMessages('g1'))[0], opened, 'the stored message after opening');
        same((await store.listLockedMessages()).map((m) => m.seq), [2], 'locked messages after opening one');
        same(await store.getSolveCheckpoint('lock-1'), undefined, "the opened lock's checkpoint");
        same(await store.getPendingRelease('lock-1'), undefined, "the opened lock's pending release");
        same(await store.getSolveCheckpoint('lock-2'), checkpoint('lock-2', 20), "another lock's checkpoint");
        same(await store.countUnread('g1'), 2, 'unread after opening a read message');
      }),
  },
  {
    name: 'keeps pending releases and solver checkpoints by lock, replacing them',
    run: (create) =>
      withStore(create, async (store) => {
        same(await store.getPendingRelease('lock-1'), undefined, 'a missing release');
        same(await store.getSolveCheckpoint('lock-1'), undefined, 'a missing checkpoint');
        await store.putPendingRelease(release('lock-1'));
        await store.putPendingRelease(release('lock-2', 'g2'));
        await store.putPendingRelease({ ...release('lock-1'), key: bytes(9) });
        same(await store.getPendingRelease('lock-1'), { ...release('lock-1'), key: bytes(9) }, 'a replaced release');
        same(await store.getPendingRelease('lock-2'), release('lock-2', 'g2'), 'another release');
        const view = bytes(0, 5, 6, 7).subarray(1);
        await store.putSolveCheckpoint({ ...checkpoint('lock-1', 5), value: view });
        same(await store.getSolveCheckpoint('lock-1'), { ...checkpoint('lock-1', 5), value: bytes(5, 6, 7) }, 'a checkpoint of a view');
        await store.putSolveCheckpoint(checkpoint('lock-1', 6));
        same(await store.getSolveCheckpoint('lock-1'), checkpoint('lock-1', 6), 'a replaced checkpoint');
      }),
  },
  {
    name: 'keeps locked messages, releases and checkpoints after being closed and opened again',
    run: async (create) => {
      await withStore(create, async (store) => {
        await save(store, locked('g1', 1, 'lock-1', 1_700_000_100_000), locked('g1', 2, 'lock-2', 1_700_000_200_000));
        await store.openLockedMessage('g1', 2, { text: 'opened', unlockedBy: 'server' });
        await store.putPendingRelease(release('lock-3'));
        await store.putSolveCheckpoint(checkpoint('lock-1', 7));
      });
      await withStore(create, async (store) => {
        same(await store.listLockedMessages(), [locked('g1', 1, 'lock-1', 1_700_000_100_000)], 'locked messages after reopening');
        same((await store.listMessagesByLock('lock-2')).map((m) => [m.text, m.lock?.unlockedBy]), [['opened', 'server']], 'an opened message after reopening');
        same(await store.getPendingRelease('lock-3'), release('lock-3'), 'a pending release after reopening');
        same(await store.getSolveCheckpoint('lock-1'), checkpoint('lock-1', 7), 'a checkpoint after reopening');
      });
    },
  },
];
