/**
 * Kept decodings of saved states: each is exactly what decoding its bytes gives, operations take
 * and zero them like decoded copies, nothing else is ever served, and there are only a few.
 */
import { decodeGroupState } from 'ts-mls';
import { describe, expect, it } from 'vitest';
import {
  addMembers,
  createGroup,
  encrypt,
  generateKeyPackage,
  groupMetadata,
  joinFromWelcome,
  processMessage,
  removeMembers,
  selfUpdate,
} from './index.js';
import { defined, directory, makeDevice, name, utf8 } from './mls.testkit.js';
import { recallState, type Entry } from './state-cache.js';

/** Every byte field a kept state still owns, and its encoding. */
function entryBuffers(entry: Entry): Uint8Array[] {
  return [entry.encoding, ...[...entry.parts.values()].flat()];
}

/** A kept decoding must be exactly what decoding the bytes gives (less the signature key, never stored). */
function expectKeptAsDecoded(bytes: Uint8Array): void {
  const kept = defined(recallState(bytes, 'read'), 'kept state');
  const { signaturePrivateKey: _empty, ...decoded } = defined(decodeGroupState(new Uint8Array(bytes), 3), 'decoded state')[0];
  expect(kept.state).toStrictEqual(decoded);
}

/** Drops the kept decoding, so the next operation on `bytes` decodes them. */
function forget(bytes: Uint8Array): Uint8Array {
  recallState(bytes, 'take');
  return bytes;
}

async function group(keep: (bytes: Uint8Array) => Uint8Array) {
  const [alice, bob, carol] = [makeDevice('alice'), makeDevice('bob'), makeDevice('carol')];
  const auth = directory(alice, bob, carol);
  const created = await createGroup(alice, utf8('kept'));
  const [bobKey, carolKey] = [await generateKeyPackage(bob), await generateKeyPackage(carol)];
  const added = await addMembers(keep(created.state), alice, [bobKey.keyPackage, carolKey.keyPackage], auth);
  const states = {
    alice: keep(added.pendingState),
    bob: keep((await joinFromWelcome(added.welcome, bobKey.privateState, auth)).state),
    carol: keep((await joinFromWelcome(added.welcome, carolKey.privateState, auth)).state),
  };
  return { alice, bob, carol, auth, states };
}

describe('kept group states', () => {
  it('are exactly what decoding their bytes gives, through a group life with every member committing', async () => {
    let count = 0;
    // Every state goes through a Node Buffer, as a SQLite store hands it back.
    const keep = (bytes: Uint8Array): Uint8Array => {
      expectKeptAsDecoded(bytes);
      count++;
      return Buffer.from(bytes);
    };
    const { alice, bob, auth, states } = await group(keep);
    const sent = await encrypt(states.alice, alice, utf8('hello'));
    const read = await processMessage(keep(states.bob), sent.message, auth);
    // Bob's commit replaces his leaf with one ts-mls signed as a LeafNodeTBS (RFC 9420 §7.2).
    const update = await selfUpdate(keep(read.state), bob);
    const carolState = keep((await processMessage(states.carol, update.commit, auth)).state);
    const aliceState = keep((await processMessage(keep(sent.state), update.commit, auth)).state);
    const removal = await removeMembers(aliceState, alice, [bob.signaturePublicKey]);
    keep(removal.pendingState);
    keep((await processMessage(carolState, removal.commit, auth)).state);
    expect(count).toBeGreaterThan(8);
  });

  it('make the same commits as decoded states: a member whose states are kept and one who decodes agree', async () => {
    const { alice, bob, carol, auth, states } = await group((bytes) => bytes);
    // Alice keeps her states (a long-lived browser tab); Carol decodes hers (a CLI run per command).
    const update = await selfUpdate(states.alice, alice);
    let carolState = (await processMessage(forget(states.carol), update.commit, auth)).state;
    await processMessage(states.bob, update.commit, auth);
    const removal = await removeMembers(update.pendingState, alice, [bob.signaturePublicKey]);
    const seen = await processMessage(forget(carolState), removal.commit, auth);
    expect(seen.kind === 'commit' && seen.removed.map((member) => name(member.identity))).toEqual(['bob']);
    carolState = seen.state;
    const reply = await encrypt(forget(carolState), carol, utf8('still here'));
    const read = await processMessage(removal.pendingState, reply.message, auth);
    expect(read.kind === 'application' && name(read.plaintext)).toBe('still here');
  });

  it('give the same results as decoding: a group run with every state forgotten agrees with one run with them kept', async () => {
    for (const keep of [(bytes: Uint8Array) => bytes, forget]) {
      const { alice, bob, carol, auth, states } = await group(keep);
      const sent = await encrypt(keep(states.alice), alice, utf8('hello'));
      const read = await processMessage(keep(states.bob), sent.message, auth);
      expect(read.kind === 'application' && name(read.plaintext)).toBe('hello');
      const removal = await removeMembers(keep(read.state), bob, [carol.signaturePublicKey]);
      const seen = await processMessage(keep(sent.state), removal.commit, auth);
      expect(seen.kind === 'commit' && seen.removed.map((member) => name(member.identity))).toEqual(['carol']);
      expect(groupMetadata(keep(seen.state)).members.map((member) => name(member.identity))).toEqual(['alice', 'bob']);
      const after = await encrypt(keep(seen.state), alice, utf8('after'));
      const last = await processMessage(keep(removal.pendingState), after.message, auth);
      expect(last.kind === 'application' && name(last.plaintext)).toBe('after');
    }
  });

  it('are taken by an operation that changes the state, and zeroed when it ends, less what the new state took over', async () => {
    const { alice, states } = await group((bytes) => bytes);
    const kept = defined(recallState(states.alice, 'read'), 'kept state');
    const before = entryBuffers(kept);
    expect(before.some((buffer) => buffer.some((byte) => byte !== 0))).toBe(true);
    const sent = await encrypt(states.alice, alice, utf8('hello'));
    const next = new Set(entryBuffers(defined(recallState(sent.state, 'read'), 'next kept state')));
    // A message changes the secret tree only: the rest moves on as it is, the old tree is zeroed.
    const handedOn = before.filter((buffer) => next.has(buffer));
    expect(handedOn.length).toBeGreaterThan(0);
    expect(before.filter((buffer) => !next.has(buffer)).every((buffer) => buffer.every((byte) => byte === 0))).toBe(true);
    expect(kept.state.secretTree).not.toBe(defined(recallState(sent.state, 'read'), 'next kept state').state.secretTree);
    expect(recallState(states.alice, 'read')).toBeUndefined();
    // The old bytes still work, decoded again, to the same next state (the ratchet is deterministic).
    const again = await encrypt(states.alice, alice, utf8('hello again'));
    expect(again.state).toEqual(sent.state);
  });

  it('stay kept when only read', async () => {
    const { states } = await group((bytes) => bytes);
    const before = recallState(states.bob, 'read');
    expect(groupMetadata(states.bob).members).toHaveLength(3);
    expect(recallState(states.bob, 'read')).toBe(before);
  });

  it('are never served for other bytes, and only the last eight are kept (the dropped ones zeroed)', async () => {
    const { alice, states } = await group((bytes) => bytes);
    const damaged = states.alice.slice();
    damaged[damaged.length - 1] = (damaged.at(-1) ?? 0) ^ 1;
    expect(recallState(damaged, 'read')).toBeUndefined();
    const bob = defined(recallState(states.bob, 'read'), 'kept state');
    // Eight pending commits from one state (as when the server keeps refusing them) push Bob's out.
    const pending = [];
    for (let i = 0; i < 8; i++) pending.push((await selfUpdate(states.alice, alice)).pendingState);
    for (const state of pending) expect(recallState(state, 'read')).toBeDefined();
    expect(recallState(states.bob, 'read')).toBeUndefined();
    expect(entryBuffers(bob).every((buffer) => buffer.every((byte) => byte === 0))).toBe(true);
  });
});
