/**
 * Parley's ciphersuite on each provider against ts-mls's own (WebCrypto) implementation, on the
 * same inputs: deterministic functions give equal bytes, signatures verify across, HPKE and the
 * AEAD interoperate both ways; then whole groups whose members run on different providers.
 */
import fc from 'fast-check';
import { getCiphersuiteFromName, getCiphersuiteImpl, type CiphersuiteImpl } from 'ts-mls';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../node.js';
import { installCryptoProvider } from '../provider/installed.js';
import { nobleCryptoProvider } from '../provider/noble.js';
import type { CryptoProvider } from '../provider/provider.js';
import { providerCiphersuite } from './ciphersuite.js';
import { addMembers, createGroup, removeMembers } from './group.js';
import { generateKeyPackage } from './keyPackage.js';
import { joinFromWelcome } from './join.js';
import { encrypt, processMessage } from './message.js';
import { directory, makeDevice, utf8 } from './mls.testkit.js';
import { MlsSuite } from './types.js';

const reference = await getCiphersuiteImpl(getCiphersuiteFromName(MlsSuite.default));
const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
const run = <T extends unknown[]>(property: fc.IAsyncProperty<T>) => fc.assert(property, { numRuns: 15 });

describe.each([nodeCryptoProvider, nobleCryptoProvider].map((p) => [p.name, providerCiphersuite(p)] as const))(
  'ciphersuite on %s against ts-mls (WebCrypto)',
  (_name, cs: CiphersuiteImpl) => {
    it('hashes, MACs and derives the same bytes', () =>
      run(
        fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), bytes(32), fc.integer({ min: 1, max: 100 }), async (data, key, length) => {
          expect(await cs.hash.digest(data)).toEqual(await reference.hash.digest(data));
          const mac = await reference.hash.mac(key, data);
          expect(await cs.hash.mac(key, data)).toEqual(mac);
          expect(await cs.hash.verifyMac(key, mac, data)).toBe(true);
          expect(await cs.hash.verifyMac(key, mac.map((byte, i) => (i === 0 ? byte ^ 1 : byte)), data)).toBe(false);
          const prk = await reference.kdf.extract(key, data);
          expect(await cs.kdf.extract(key, data)).toEqual(prk);
          expect(await cs.kdf.expand(prk, data, length)).toEqual(await reference.kdf.expand(prk, data, length));
        }),
      ));

    it('makes the signatures ts-mls makes, and each verifies the other\'s', () =>
      run(
        fc.asyncProperty(bytes(32), fc.uint8Array({ maxLength: 200 }), async (seed, message) => {
          const signature = await cs.signature.sign(seed, message);
          expect(await reference.signature.sign(seed, message)).toEqual(signature);
          const { signKey, publicKey } = await cs.signature.keygen();
          const ours = await cs.signature.sign(signKey, message);
          expect(await reference.signature.verify(publicKey, message, ours)).toBe(true);
          expect(await cs.signature.verify(publicKey, message, await reference.signature.sign(signKey, message))).toBe(true);
          expect(await cs.signature.verify(publicKey, message.length > 0 ? message.subarray(1) : utf8('x'), ours)).toBe(false);
        }),
      ));

    it('derives the same HPKE key pairs, and seals and exports to each other both ways', () =>
      run(
        fc.asyncProperty(bytes(32), fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 30 }), async (ikm, plaintext, info) => {
          const ours = await cs.hpke.deriveKeyPair(ikm);
          const theirs = await reference.hpke.deriveKeyPair(ikm);
          const publicKey = await cs.hpke.exportPublicKey(ours.publicKey);
          expect(await reference.hpke.exportPublicKey(theirs.publicKey)).toEqual(publicKey);
          expect(await cs.hpke.exportPrivateKey(ours.privateKey)).toEqual(await reference.hpke.exportPrivateKey(theirs.privateKey));
          const aad = utf8('aad');
          for (const [sender, senderKey, recipient, recipientKey] of [
            [cs, await cs.hpke.importPublicKey(publicKey), reference, theirs.privateKey],
            [reference, await reference.hpke.importPublicKey(publicKey), cs, ours.privateKey],
          ] as const) {
            const { ct, enc } = await sender.hpke.seal(senderKey, plaintext, info, aad);
            expect(await recipient.hpke.open(recipientKey, enc, ct, info, aad)).toEqual(plaintext);
            const exported = await sender.hpke.exportSecret(senderKey, info, 32, aad);
            expect(await recipient.hpke.importSecret(recipientKey, info, exported.enc, 32, aad)).toEqual(exported.secret);
          }
        }),
      ));

    it('encrypts with the suite\'s AEAD exactly as ts-mls does', () =>
      run(
        fc.asyncProperty(bytes(16), bytes(12), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 300 }), async (key, nonce, aad, plaintext) => {
          const sealed = await reference.hpke.encryptAead(key, nonce, aad, plaintext);
          expect(await cs.hpke.encryptAead(key, nonce, aad, plaintext)).toEqual(sealed);
          expect(await cs.hpke.decryptAead(key, nonce, aad, sealed)).toEqual(plaintext);
          await expect(cs.hpke.decryptAead(key, nonce, utf8('other'), sealed)).rejects.toThrow();
        }),
      ));
  },
);

describe('a group whose members run on different providers', () => {
  afterEach(() => installCryptoProvider(undefined));

  /** Runs `step` with `provider` installed (`undefined`: ts-mls's WebCrypto, as in a browser). */
  async function on<T>(provider: CryptoProvider | undefined, step: () => Promise<T>): Promise<T> {
    installCryptoProvider(provider);
    return step();
  }

  it('creates, joins, messages and removes across node:crypto, WebCrypto and noble', async () => {
    const [alice, bob, carol] = [makeDevice('alice'), makeDevice('bob'), makeDevice('carol')];
    const auth = directory(alice, bob, carol);
    let aliceState = (await on(nodeCryptoProvider, () => createGroup(alice, utf8('group')))).state;
    const bobKey = await on(undefined, () => generateKeyPackage(bob));
    const carolKey = await on(nobleCryptoProvider, () => generateKeyPackage(carol));
    const added = await on(nodeCryptoProvider, () => addMembers(aliceState, alice, [bobKey.keyPackage, carolKey.keyPackage], auth));
    aliceState = added.pendingState;
    let bobState = (await on(undefined, () => joinFromWelcome(added.welcome, bobKey.privateState, auth))).state;
    let carolState = (await on(nobleCryptoProvider, () => joinFromWelcome(added.welcome, carolKey.privateState, auth))).state;

    const hello = await on(nodeCryptoProvider, () => encrypt(aliceState, alice, utf8('hello from node')));
    aliceState = hello.state;
    for (const [provider, state] of [[undefined, bobState], [nobleCryptoProvider, carolState]] as const) {
      const read = await on(provider, () => processMessage(state, hello.message, auth));
      expect(read.kind === 'application' && new TextDecoder().decode(read.plaintext)).toBe('hello from node');
      if (provider === undefined) bobState = read.state;
      else carolState = read.state;
    }
    const reply = await on(nobleCryptoProvider, () => encrypt(carolState, carol, utf8('hello from noble')));
    const read = await on(undefined, () => processMessage(bobState, reply.message, auth));
    expect(read.kind === 'application' && new TextDecoder().decode(read.plaintext)).toBe('hello from noble');
    bobState = read.state;

    // A commit with an UpdatePath made on WebCrypto (HPKE to Alice and Carol), then used on the others.
    const removal = await on(undefined, () => removeMembers(bobState, bob, [alice.signaturePublicKey]));
    const seen = await on(nobleCryptoProvider, () => processMessage(carolState, removal.commit, auth));
    expect(seen.kind === 'commit' && seen.removed.map((member) => new TextDecoder().decode(member.identity))).toEqual(['alice']);
    const after = await on(nodeCryptoProvider, () => encrypt(seen.state, carol, utf8('after the removal')));
    const last = await on(undefined, () => processMessage(removal.pendingState, after.message, auth));
    expect(last.kind === 'application' && new TextDecoder().decode(last.plaintext)).toBe('after the removal');
  });
});
