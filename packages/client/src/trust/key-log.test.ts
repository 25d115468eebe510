import { consistencyProof, directoryEntryDigest, inclusionProof, leafHash, nodeHash, rangeHash, signTreeHead, type SubtreeHashes } from '@parley/crypto';
import { encodeKeyLogLeaf, ErrorCode, ParleyError, type DirectoryEntry, type ResponseOf } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { fakeRequester } from '../connection/fake-requester.testkit.js';
import { MemoryClientStore } from '../store/memory-client-store.js';
import { KeyLog } from './key-log.js';
import { testServerKey, testUser } from './test-user.testkit.js';

const alice = testUser('alice');
const bob = testUser('bob');

/** A server's log in miniature: leaves appended, proofs and signed heads made as the real server makes them. */
class TestLog {
  readonly hashes: Uint8Array[] = [];
  private readonly tree: SubtreeHashes = {
    perfect: (level, index) => (level === 0 ? (this.hashes[index] as Uint8Array) : nodeHash(this.tree.perfect(level - 1, 2 * index), this.tree.perfect(level - 1, 2 * index + 1))),
  };

  append(entry: DirectoryEntry): number {
    const leaf = encodeKeyLogLeaf({ v: 1, username: entry.username, event: 'registered', key: entry.identityKey, at: this.hashes.length, entry: directoryEntryDigest(entry) });
    this.hashes.push(leafHash(leaf));
    this.leaves.push(leaf);
    return this.hashes.length - 1;
  }
  readonly leaves: Uint8Array[] = [];

  answer(entry: DirectoryEntry, index: number, size = this.hashes.length, privateKey = testServerKey.privateKey): ResponseOf<'directory.lookup'> {
    const head = signTreeHead(privateKey, { size, rootHash: rangeHash(this.tree, 0, size), timestamp: 1_700_000_000_000 + size });
    return { ...entry, proof: { leaf: this.leaves[index] as Uint8Array, index, path: inclusionProof(this.tree, index, size), head } };
  }

  consistency(from: number, to: number): Uint8Array[] {
    if (from < 1 || from > to || to > this.hashes.length) throw new ParleyError(ErrorCode.BAD_REQUEST, 'no such proof');
    return consistencyProof(this.tree, from, to);
  }
}

function setup(log: TestLog, answer: (username: string) => ResponseOf<'directory.lookup'>) {
  const requester = fakeRequester({
    'directory.lookup': ({ username }) => answer(username),
    'transparency.consistency': ({ from, to }) => ({ proof: log.consistency(from, to) }),
  });
  const store = new MemoryClientStore();
  return { requester, store, keyLog: new KeyLog(requester.request, store, testServerKey.publicKey) };
}

describe('KeyLog', () => {
  it('accepts entries the log vouches for, and checks each new head extends the last one seen', async () => {
    const log = new TestLog();
    const aliceAt = log.append(alice.entry);
    const { requester, store, keyLog } = setup(log, (username) => (username === 'alice' ? log.answer(alice.entry, aliceAt) : log.answer(bob.entry, bobAt)));
    expect(await keyLog.lookup('alice')).toEqual(alice.entry);
    expect((await store.getTreeHead())?.size).toBe(1);
    for (let i = 0; i < 5; i++) log.append(testUser(`user-${i}`).entry);
    const bobAt = log.append(bob.entry);
    expect(await keyLog.lookup('bob')).toEqual(bob.entry);
    expect((await store.getTreeHead())?.size).toBe(7);
    expect(requester.ops()).toEqual(['directory.lookup', 'directory.lookup', 'transparency.consistency']);
  });

  it('refuses a key swapped without a log entry, a leaf for another user, a bad proof and a foreign signature', async () => {
    const log = new TestLog();
    const at = log.append(alice.entry);
    log.append(bob.entry);
    const cases: [string, ResponseOf<'directory.lookup'>][] = [
      ['a swapped identity key', { ...log.answer(alice.entry, at), identityKey: bob.entry.identityKey }],
      ['an extra device', { ...log.answer(alice.entry, at), devices: [...alice.entry.devices, bob.certificate] }],
      ['a leaf for another user', { ...log.answer(bob.entry, 1), username: 'alice' }],
      ['a broken path', (() => { const answer = log.answer(alice.entry, at); return { ...answer, proof: { ...answer.proof, path: [new Uint8Array(32)] } }; })()],
      ['another signer', log.answer(alice.entry, at, 2, testUser('mallory').identity.privateKey)],
    ];
    for (const [, answer] of cases) {
      const { store, keyLog } = setup(log, () => answer);
      await expect(keyLog.lookup('alice')).rejects.toMatchObject({ code: 'TRANSPARENCY_PROOF_INVALID' });
      expect(await store.getTreeHead()).toBeUndefined();
    }
  });

  it('refuses a forked or rewound log: same size and another root, or no consistency with the head seen', async () => {
    const honest = new TestLog();
    honest.append(alice.entry);
    honest.append(bob.entry);
    const fork = new TestLog();
    fork.append(alice.entry);
    fork.append({ ...bob.entry, identityKey: alice.entry.identityKey });
    fork.append(testUser('carol').entry);

    let serve: ResponseOf<'directory.lookup'> = honest.answer(alice.entry, 0);
    const { store, keyLog } = setup(fork, () => serve);
    await keyLog.lookup('alice');
    // Another tree of the same size, then a larger tree that does not extend the one seen.
    const sameSize = new TestLog();
    sameSize.append(alice.entry);
    sameSize.append(testUser('dave').entry);
    serve = sameSize.answer(alice.entry, 0);
    await expect(keyLog.lookup('alice')).rejects.toMatchObject({ code: 'TRANSPARENCY_FORKED' });
    serve = fork.answer(alice.entry, 0);
    await expect(keyLog.lookup('alice')).rejects.toMatchObject({ code: 'TRANSPARENCY_FORKED' });
    expect((await store.getTreeHead())?.rootHash).toEqual(honest.answer(alice.entry, 0).proof.head.rootHash);
  });
});
