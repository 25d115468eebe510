/** The opaque state blob: it survives storage, is never mutated in place, and fails typed when damaged. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../errors.js';
import {
  addMembers,
  createGroup,
  encrypt,
  generateKeyPackage,
  groupMetadata,
  joinExternal,
  joinFromWelcome,
  processMessage,
  removeMembers,
  selfUpdate,
} from './index.js';
import { defined, directory, expectCryptoError, flipped, makeDevice, name, utf8 } from './mls.testkit.js';
import { MlsOperation } from './runtime.js';
import { loadState, saveState } from './state.js';

const toBase64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i += 1) {
    for (let j = 0; j < needle.length; j += 1) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

async function pair() {
  const alice = makeDevice('alice/phone');
  const bob = makeDevice('bob/phone');
  const auth = directory(alice, bob);
  const group = await createGroup(alice, utf8('state-tests'));
  const kp = await generateKeyPackage(bob);
  const added = await addMembers(group.state, alice, [kp.keyPackage], auth);
  const joined = await joinFromWelcome(added.welcome, kp.privateState, auth);
  return { alice, bob, auth, aliceState: added.pendingState, bobState: joined.state, groupInfo: added.groupInfo };
}

describe('MLS state bytes', () => {
  it('survive storage as text and keep working across out-of-order messages and epochs', async () => {
    const { alice, bob, auth, aliceState, bobState } = await pair();
    const db = new Map([
      ['alice', toBase64(aliceState)],
      ['bob', toBase64(bobState)],
    ]);
    const messages: Uint8Array[] = [];
    for (let i = 0; i < 5; i += 1) {
      const sent = await encrypt(fromBase64(defined(db.get('alice'))), alice, utf8(`m${i}`));
      db.set('alice', toBase64(sent.state));
      messages.push(sent.message);
    }
    const update = await selfUpdate(fromBase64(defined(db.get('alice'))), alice);
    db.set('alice', toBase64(update.pendingState));
    for (const i of [4, 0]) {
      const got = await processMessage(fromBase64(defined(db.get('bob'))), defined(messages[i]), auth);
      db.set('bob', toBase64(got.state));
    }
    const commit = await processMessage(fromBase64(defined(db.get('bob'))), update.commit, auth);
    db.set('bob', toBase64(commit.state));
    for (const i of [2, 1, 3]) {
      const got = await processMessage(fromBase64(defined(db.get('bob'))), defined(messages[i]), auth);
      expect(got.kind === 'application' && name(got.plaintext)).toBe(`m${i}`);
      db.set('bob', toBase64(got.state));
    }
    const reply = await encrypt(fromBase64(defined(db.get('bob'))), bob, utf8('all five'));
    const got = await processMessage(fromBase64(defined(db.get('alice'))), reply.message, auth);
    expect(got.kind === 'application' && name(got.plaintext)).toBe('all five');
    expect(groupMetadata(got.state).epoch).toBe(2n);
  });

  it('re-encodes to the same bytes and holds no signature private key', async () => {
    const { alice, bob, auth, aliceState, bobState } = await pair();
    const sent = await encrypt(aliceState, alice, utf8('x'));
    const received = await processMessage(bobState, sent.message, auth);
    for (const [state, owner] of [
      [sent.state, alice],
      [received.state, bob],
    ] as const) {
      const op = new MlsOperation('test', undefined);
      expect(saveState(op, loadState(op, state))).toEqual(state);
      op.wipe();
      expect(contains(state, owner.signaturePrivateKey)).toBe(false);
      expect(contains(state, owner.signaturePublicKey)).toBe(true);
    }
  });

  it('are never mutated by any operation, nor are the other inputs', async () => {
    const { alice, bob, auth, aliceState, bobState, groupInfo } = await pair();
    const carol = makeDevice('carol/phone');
    const wide = directory(alice, bob, carol);
    const kp = await generateKeyPackage(carol);
    const inputs = [aliceState, bobState, groupInfo, kp.keyPackage, kp.privateState, alice.signaturePrivateKey, bob.signaturePrivateKey];
    const before = inputs.map((input) => input.slice());
    const added = await addMembers(aliceState, alice, [kp.keyPackage], wide);
    inputs.push(added.commit, added.welcome);
    before.push(added.commit.slice(), added.welcome.slice());
    await joinFromWelcome(added.welcome, kp.privateState, wide);
    await processMessage(bobState, added.commit, wide);
    const sent = await encrypt(aliceState, alice, utf8('x'));
    inputs.push(sent.message);
    before.push(sent.message.slice());
    await processMessage(bobState, sent.message, auth);
    await removeMembers(aliceState, alice, [bob.signaturePublicKey]);
    await joinExternal(groupInfo, bob, auth);
    await expectCryptoError(processMessage(bobState, sent.message.slice(0, -1), auth), 'MLS_FAILED');
    inputs.forEach((input, i) => expect(input, `input ${i}`).toEqual(before[i]));
  });

  it('are never zeroed when handed in as Node Buffers (whose slice is a view, not a copy)', async () => {
    const { alice, auth, aliceState, bobState } = await pair();
    // A SQLite store hands back Buffers; every operation decodes and zeroes a private copy.
    const stored = { alice: Buffer.from(aliceState), bob: Buffer.from(bobState) };
    const sent = await encrypt(stored.alice, alice, Buffer.from('x'));
    const message = Buffer.from(sent.message);
    await processMessage(stored.bob, message, auth);
    await encrypt(stored.alice, alice, Buffer.from('y'));
    await processMessage(stored.bob, message, auth);
    expect(groupMetadata(stored.alice).epoch).toBe(1n);
    expect(new Uint8Array(stored.alice)).toEqual(aliceState);
    expect(new Uint8Array(stored.bob)).toEqual(bobState);
    expect(new Uint8Array(message)).toEqual(sent.message);
  });

  it('fail with BAD_INPUT when truncated, extended or of the wrong kind', async () => {
    const { alice, aliceState } = await pair();
    const kp = await generateKeyPackage(alice);
    for (const bad of [aliceState.subarray(0, 2), aliceState.subarray(0, aliceState.length - 1), new Uint8Array([...aliceState, 0]), kp.privateState]) {
      await expectCryptoError(() => groupMetadata(bad), 'BAD_INPUT');
      await expectCryptoError(encrypt(bad, alice, utf8('x')), 'BAD_INPUT');
    }
    await expectCryptoError(joinFromWelcome(new Uint8Array(3), aliceState, directory(alice)), 'MLS_FAILED');
    await expectCryptoError(() => groupMetadata('state' as unknown as Uint8Array), 'BAD_INPUT', /Uint8Array/);
  });

  it('never fail with anything but CryptoError when damaged at random', async () => {
    const { alice, bob, auth, aliceState, bobState } = await pair();
    const sent = await encrypt(aliceState, alice, utf8('probe'));
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const damaged = flipped(bobState, at % bobState.length, flip);
        for (const attempt of [
          () => processMessage(damaged, sent.message, auth),
          () => encrypt(damaged, bob, utf8('x')),
          () => groupMetadata(damaged),
        ]) {
          try {
            await attempt();
          } catch (error) {
            expect(error).toBeInstanceOf(CryptoError);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
