import { deviceCertificateMessage, sign } from '@parley/crypto';
import { encodeCbor, ErrorCode, type DirectoryEntry } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { fakeRequester, refusal } from '../connection/fake-requester.testkit.js';
import { MemoryClientStore } from '../store/memory-client-store.js';
import { AuthenticationService } from './authentication-service.js';
import { Directory } from './directory.js';
import { encodeCredential } from './mls-credentials.js';
import { lookupAnswer, testUser, withoutProof } from './test-user.testkit.js';

const bob = testUser('bob');

function setup(entries: DirectoryEntry[]) {
  let served = 0;
  const requester = fakeRequester({ 'directory.lookup': () => lookupAnswer(entries[Math.min(served++, entries.length - 1)] ?? bob.entry) });
  const store = new MemoryClientStore();
  const directory = new Directory(async (username) => withoutProof(await requester.request('directory.lookup', { username })), store);
  return { requester, store, directory, authentication: new AuthenticationService(directory) };
}

describe('Directory', () => {
  it('asks the server once, pins the identity key on first sight, and serves the cache after', async () => {
    const { requester, store, directory } = setup([bob.entry]);
    expect(await directory.entry('bob')).toEqual(bob.entry);
    expect(await directory.entry('bob')).toEqual(bob.entry);
    expect(requester.ops()).toEqual(['directory.lookup']);
    expect(await store.getPinnedIdentity('bob')).toEqual(bob.identity.publicKey);
    await directory.entry('bob', { refresh: true });
    expect(requester.ops()).toEqual(['directory.lookup', 'directory.lookup']);
  });

  it('refuses an identity key other than the pinned one, from the server or from the cache, without asking again', async () => {
    const swapped = { ...bob.entry, identityKey: new Uint8Array(32).fill(7) };
    const { requester, directory } = setup([bob.entry, swapped]);
    await directory.entry('bob');
    await expect(directory.entry('bob', { refresh: true })).rejects.toMatchObject({ code: 'IDENTITY_KEY_CHANGED' });
    // The swapped entry is what the cache holds now; it is refused on every use.
    await expect(directory.entry('bob')).rejects.toMatchObject({ code: 'IDENTITY_KEY_CHANGED' });
    expect(requester.ops()).toEqual(['directory.lookup', 'directory.lookup']);
  });

  it('shares one lookup between callers racing for the same user, and treats an unreadable cache entry as none', async () => {
    const { requester, store, directory } = setup([bob.entry]);
    await Promise.all([directory.fetch('bob'), directory.fetch('bob'), directory.fetch('bob')]);
    expect(requester.ops()).toEqual(['directory.lookup']);
    await store.putCached('directory/bob', encodeCbor({ not: 'an entry' }));
    expect(await directory.cached('bob')).toBeUndefined();
    expect(await directory.entry('bob')).toEqual(bob.entry);
    expect(requester.ops()).toEqual(['directory.lookup', 'directory.lookup']);
  });
});

describe('AuthenticationService', () => {
  it('accepts a credential the cached entry vouches for without a request', async () => {
    const { requester, directory, authentication } = setup([bob.entry]);
    await directory.entry('bob');
    expect(await authentication.validate(bob.member.identity, bob.member.signaturePublicKey)).toBe(true);
    expect(requester.ops()).toEqual(['directory.lookup']);
  });

  it('asks the directory again once for a device it does not know yet, and refuses a forgery after that one look', async () => {
    const laptop = testUser('bob', 'bob-laptop-1');
    // The laptop's certificate, signed by bob's identity key as a real new device's is.
    const certificate = { ...laptop.certificate, signature: sign(bob.identity.privateKey, deviceCertificateMessage({ username: 'bob', ...laptop.certificate })) };
    const withLaptop = { ...bob.entry, devices: [bob.certificate, certificate] };
    const { requester, directory, authentication } = setup([bob.entry, withLaptop]);
    await directory.entry('bob');
    expect(await authentication.validate(encodeCredential({ username: 'bob', certificate }), laptop.member.signaturePublicKey)).toBe(true);
    expect(requester.ops()).toEqual(['directory.lookup', 'directory.lookup']);
    // Signed by the laptop's own identity, not bob's: no entry vouches for it.
    expect(await authentication.validate(laptop.member.identity, laptop.member.signaturePublicKey)).toBe(false);
    expect(requester.ops()).toHaveLength(3);
    // A credential whose key is not the leaf's, or that is not a credential at all.
    expect(await authentication.validate(bob.member.identity, laptop.member.signaturePublicKey)).toBe(false);
    expect(await authentication.validate(new Uint8Array([1, 2, 3]), bob.member.signaturePublicKey)).toBe(false);
    expect(requester.ops()).toHaveLength(3);
  });

  it('refuses a revoked device in what was stored after its revocation, without asking again, and accepts it in what came before', async () => {
    const revoked = { ...bob.entry, devices: [], revokedDevices: [{ ...bob.certificate, revokedAt: 5_000 }] };
    const { requester, authentication } = setup([revoked]);
    expect(await authentication.validate(bob.member.identity, bob.member.signaturePublicKey)).toBe(false);
    expect(await authentication.validateAt(5_001)(bob.member.identity, bob.member.signaturePublicKey)).toBe(false);
    // A commit the server stored while the device was active: it stays valid, and reconciling removes the device.
    expect(await authentication.validateAt(4_999)(bob.member.identity, bob.member.signaturePublicKey)).toBe(true);
    expect(requester.ops()).toEqual(['directory.lookup']);
  });

  it('fails the check, rather than refusing the credential, when the directory cannot be asked', async () => {
    const requester = fakeRequester({ 'directory.lookup': () => Promise.reject(refusal(ErrorCode.CONNECTION_FAILED, 'the server went away')) });
    const directory = new Directory((username) => requester.request('directory.lookup', { username }), new MemoryClientStore());
    await expect(new AuthenticationService(directory).validate(bob.member.identity, bob.member.signaturePublicKey)).rejects.toMatchObject({ code: ErrorCode.CONNECTION_FAILED });
  });
});
