import { describe, expect, it } from 'vitest';
import {
  addMembers,
  createGroup,
  encrypt,
  exportGroupInfo,
  generateKeyPackage,
  groupMetadata,
  joinExternal,
  joinFromWelcome,
  processMessage,
  removeMembers,
  selfUpdate,
  type MlsMember,
  type MlsProcessed,
  type ValidateCredential,
} from './index.js';
import { defined, directory, expectCryptoError, flipped, makeDevice, name, utf8 } from './mls.testkit.js';

type Name = 'alice' | 'bob1' | 'bob2' | 'carol';

/** Alice's group with Bob's two devices and Carol, everyone at epoch 1. */
async function setup() {
  const devices: Record<Name, MlsMember> = {
    alice: makeDevice('alice/phone'),
    bob1: makeDevice('bob/phone'),
    bob2: makeDevice('bob/laptop'),
    carol: makeDevice('carol/phone'),
  };
  const auth = directory(...Object.values(devices));
  const created = await createGroup(devices.alice, utf8('group-1'));
  const joiners = ['bob1', 'bob2', 'carol'] as const;
  const packages = await Promise.all(joiners.map((who) => generateKeyPackage(devices[who])));
  const added = await addMembers(created.state, devices.alice, packages.map((p) => p.keyPackage), auth);
  const states = { alice: added.pendingState } as Record<Name, Uint8Array>;
  for (const [i, who] of joiners.entries()) {
    const kp = defined(packages[i]);
    const joined = await joinFromWelcome(added.welcome, kp.privateState, auth);
    expect(joined.keyPackageRef).toEqual(kp.keyPackageRef);
    states[who] = joined.state;
  }
  return { devices, auth, states, groupInfo: added.groupInfo };
}

async function read(state: Uint8Array, message: Uint8Array, auth: ValidateCredential): Promise<MlsProcessed & { kind: 'application' }> {
  const result = await processMessage(state, message, auth);
  if (result.kind !== 'application') throw new Error(`expected application, got ${result.kind}`);
  return result;
}

async function commitFrom(state: Uint8Array, message: Uint8Array, auth: ValidateCredential) {
  const result = await processMessage(state, message, auth);
  if (result.kind !== 'commit') throw new Error(`expected commit, got ${result.kind}`);
  return result;
}

describe('MLS facade: group life cycle', () => {
  it('adds two devices of bob and carol from KeyPackages; everyone reads everyone', async () => {
    const { devices, auth, states } = await setup();
    const metadata = groupMetadata(states.alice);
    expect(metadata.epoch).toBe(1n);
    expect(metadata.members.map((m) => name(m.identity))).toEqual(['alice/phone', 'bob/phone', 'bob/laptop', 'carol/phone']);
    for (const who of ['bob1', 'bob2', 'carol'] as const) {
      const theirs = groupMetadata(states[who]);
      expect(theirs.groupId).toEqual(utf8('group-1'));
      expect(theirs.epoch).toBe(1n);
      expect(theirs.members).toEqual(metadata.members);
    }
    const names = Object.keys(devices) as Name[];
    for (const sender of names) {
      const sent = await encrypt(states[sender], devices[sender], utf8(`hello from ${sender}`));
      states[sender] = sent.state;
      for (const receiver of names.filter((n) => n !== sender)) {
        const got = await read(states[receiver], sent.message, auth);
        states[receiver] = got.state;
        expect(new TextDecoder().decode(got.plaintext)).toBe(`hello from ${sender}`);
        expect(got.sender.identity).toEqual(devices[sender].identity);
        expect(got.sender.signaturePublicKey).toEqual(devices[sender].signaturePublicKey);
        expect(got.epoch).toBe(1n);
      }
    }
    expect(auth.calls.length).toBeGreaterThan(0);
  });

  it('removes carol: the others move on, carol sees her removal and cannot read the new epoch', async () => {
    const { devices, auth, states } = await setup();
    const removal = await removeMembers(states.alice, devices.alice, [devices.carol.signaturePublicKey]);
    for (const who of ['bob1', 'bob2'] as const) {
      const commit = await commitFrom(states[who], removal.commit, auth);
      expect(commit.epoch).toBe(2n);
      expect(commit.committer.identity).toEqual(devices.alice.identity);
      expect(commit.external).toBe(false);
      expect(commit.removed.map((m) => name(m.identity))).toEqual(['carol/phone']);
      expect(commit.added).toEqual([]);
      expect(commit.removedSelf).toBe(false);
      states[who] = commit.state;
    }
    const carolView = await commitFrom(states.carol, removal.commit, auth);
    expect(carolView.removedSelf).toBe(true);
    expect(groupMetadata(carolView.state).active).toBe(false);
    states.alice = removal.pendingState;
    expect(groupMetadata(states.alice).members.map((m) => name(m.identity))).not.toContain('carol/phone');

    const secret = await encrypt(states.alice, devices.alice, utf8('carol must not read this'));
    expect(new TextDecoder().decode((await read(states.bob1, secret.message, auth)).plaintext)).toBe('carol must not read this');
    await expectCryptoError(processMessage(carolView.state, secret.message, auth), 'MLS_FAILED');
    await expectCryptoError(processMessage(states.carol, secret.message, auth), 'MLS_FAILED', /epoch 2/);
    await expectCryptoError(encrypt(carolView.state, devices.carol, utf8('still here?')), 'MLS_FAILED');
  });

  it('rejects a stale commit for an old epoch and a commit processed twice', async () => {
    const { devices, auth, states } = await setup();
    // alice and bob1 race at epoch 1; the server accepts alice's commit.
    const winner = await selfUpdate(states.alice, devices.alice);
    const loser = await selfUpdate(states.bob1, devices.bob1);
    states.alice = winner.pendingState;
    const bob2 = await commitFrom(states.bob2, winner.commit, auth);
    expect(bob2.epoch).toBe(2n);
    await expectCryptoError(processMessage(bob2.state, loser.commit, auth), 'MLS_FAILED', /past epoch 1/);
    await expectCryptoError(processMessage(bob2.state, winner.commit, auth), 'MLS_FAILED', /past epoch/);
    // bob1 drops its pending state, catches up, and can retry.
    const bob1 = await commitFrom(states.bob1, winner.commit, auth);
    const retry = await selfUpdate(bob1.state, devices.bob1);
    const applied = await commitFrom(bob2.state, retry.commit, auth);
    expect(applied.epoch).toBe(3n);
    expect(applied.committer.identity).toEqual(devices.bob1.identity);
  });

  it('rejects a credential the callback refuses: when adding, in a commit, and in a Welcome', async () => {
    const { devices, auth, states } = await setup();
    const mallory = makeDevice('mallory/phone');
    const { keyPackage, privateState } = await generateKeyPackage(mallory);
    await expectCryptoError(addMembers(states.alice, devices.alice, [keyPackage], auth), 'MLS_FAILED', /validateCredential/);

    // alice's directory is wrong (or alice is malicious); bob's is not.
    const lax = directory(...Object.values(devices), mallory);
    const added = await addMembers(states.alice, devices.alice, [keyPackage], lax);
    const callsBefore = auth.calls.length;
    await expectCryptoError(processMessage(states.bob1, added.commit, auth), 'MLS_FAILED', /validateCredential/);
    expect(auth.calls.slice(callsBefore)).toContain('mallory/phone');
    expect((await commitFrom(states.bob1, added.commit, lax)).added.map((m) => name(m.identity))).toEqual(['mallory/phone']);

    // mallory's own view: a directory that does not know carol refuses the whole tree.
    const withoutCarol = directory(devices.alice, devices.bob1, devices.bob2, mallory);
    await expectCryptoError(joinFromWelcome(added.welcome, privateState, withoutCarol), 'MLS_FAILED', /validateCredential/);
    const joined = await joinFromWelcome(added.welcome, privateState, lax);
    expect(groupMetadata(joined.state).members).toHaveLength(5);
  });

  it('a device that lost its state rejoins by external commit and then exchanges messages', async () => {
    const { devices, auth, states, groupInfo } = await setup();
    // bob2 loses everything but its device key; the server hands it the latest GroupInfo.
    const rejoin = await joinExternal(groupInfo, devices.bob2, auth);
    for (const who of ['alice', 'bob1', 'carol'] as const) {
      const commit = await commitFrom(states[who], rejoin.commit, auth);
      expect(commit.external).toBe(true);
      expect(commit.epoch).toBe(2n);
      expect(commit.committer.identity).toEqual(devices.bob2.identity);
      expect(commit.removed.map((m) => name(m.identity))).toEqual(['bob/laptop']);
      expect(commit.added.map((m) => name(m.identity))).toEqual(['bob/laptop']);
      states[who] = commit.state;
    }
    states.bob2 = rejoin.pendingState;
    expect(groupMetadata(states.bob2).members).toHaveLength(4);
    expect(groupMetadata(states.bob2).epoch).toBe(2n);

    const fromBob2 = await encrypt(states.bob2, devices.bob2, utf8('back again'));
    states.bob2 = fromBob2.state;
    expect(name((await read(states.alice, fromBob2.message, auth)).plaintext)).toBe('back again');
    const toBob2 = await encrypt(states.carol, devices.carol, utf8('welcome back'));
    const got = await read(states.bob2, toBob2.message, auth);
    expect(name(got.plaintext)).toBe('welcome back');
    expect(got.sender.identity).toEqual(devices.carol.identity);

    // The new GroupInfo serves the next rejoin; a GroupInfo can also be exported from any state.
    const again = await joinExternal(await exportGroupInfo(states.alice, devices.alice), devices.carol, auth);
    expect((await commitFrom(states.bob2, again.commit, auth)).removed.map((m) => name(m.identity))).toEqual(['carol/phone']);
  });

  it('an external joiner the callback refuses is rejected, on both sides', async () => {
    const { devices, auth, states, groupInfo } = await setup();
    const eve = makeDevice('eve/phone');
    const eveTrusts = directory(...Object.values(devices), eve);
    const join = await joinExternal(groupInfo, eve, eveTrusts);
    await expectCryptoError(processMessage(states.alice, join.commit, auth), 'MLS_FAILED', /validateCredential/);
    await expectCryptoError(joinExternal(groupInfo, eve, directory(eve)), 'MLS_FAILED', /validateCredential/);
  });

  it('rejects tampered and replayed application messages with MLS_FAILED', async () => {
    const { devices, auth, states } = await setup();
    const sent = await encrypt(states.alice, devices.alice, utf8('original'));
    for (const offset of [sent.message.length - 1, sent.message.length - 20, sent.message.length - 60, 12]) {
      await expectCryptoError(processMessage(states.bob1, flipped(sent.message, offset), auth), 'MLS_FAILED');
    }
    await expectCryptoError(processMessage(states.bob1, sent.message.subarray(0, 40), auth), 'MLS_FAILED');
    const first = await read(states.bob1, sent.message, auth);
    expect(name(first.plaintext)).toBe('original');
    await expectCryptoError(processMessage(first.state, sent.message, auth), 'MLS_FAILED');
  });

  it('reads late messages from the retention window, refuses older, future and own messages', async () => {
    const { devices, auth, states } = await setup();
    const early = await encrypt(states.bob1, devices.bob1, utf8('sent at epoch 1'));
    let alice = states.alice;
    let carol = states.carol;
    const ahead = await selfUpdate(alice, devices.alice);
    const future = await encrypt(ahead.pendingState, devices.alice, utf8('from epoch 2'));
    await expectCryptoError(processMessage(carol, future.message, auth), 'MLS_FAILED', /ahead/);
    for (let i = 0; i < 6; i += 1) {
      const update = await selfUpdate(alice, devices.alice);
      alice = update.pendingState;
      carol = (await commitFrom(carol, update.commit, auth)).state;
      if (i === 0) expect(name((await read(carol, early.message, auth)).plaintext)).toBe('sent at epoch 1');
    }
    await expectCryptoError(processMessage(carol, early.message, auth), 'MLS_FAILED', /retention/);
    const own = await encrypt(alice, devices.alice, utf8('mine'));
    await expectCryptoError(processMessage(own.state, own.message, auth), 'MLS_FAILED', /this member/);
  });

  it('refuses messages for other groups, wrong members and self-removal', async () => {
    const { devices, auth, states } = await setup();
    const other = await createGroup(devices.alice, utf8('group-2'));
    const elsewhere = await encrypt(other.state, devices.alice, utf8('x'));
    await expectCryptoError(processMessage(states.bob1, elsewhere.message, auth), 'MLS_FAILED', /another group/);
    await expectCryptoError(encrypt(states.alice, devices.bob1, utf8('x')), 'BAD_INPUT', /leaf key/);
    await expectCryptoError(removeMembers(states.alice, devices.alice, [devices.alice.signaturePublicKey]), 'BAD_INPUT');
    await expectCryptoError(removeMembers(states.alice, devices.alice, [makeDevice('x').signaturePublicKey]), 'BAD_INPUT');
    const forged = { ...devices.alice, signaturePublicKey: devices.bob1.signaturePublicKey };
    await expectCryptoError(encrypt(states.alice, forged, utf8('x')), 'BAD_INPUT', /does not match/);
  });
});
