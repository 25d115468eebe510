/** KeyPackages, framing for the Delivery Service, and commits the facade must refuse. */
import { describe, expect, it } from 'vitest';
import {
  createCommit,
  createProposal,
  decodeMlsMessage,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroupExternal,
  defaultLifetime,
  defaultCapabilities,
} from 'ts-mls';
import { defaultClientConfig } from 'ts-mls/clientConfig.js';
import {
  addMembers,
  createGroup,
  encrypt,
  generateKeyPackage,
  groupMetadata,
  inspectMessage,
  joinExternal,
  joinFromWelcome,
  keyPackageInfo,
  processMessage,
  selfUpdate,
  MlsSuite,
} from './index.js';
import { defined, directory, expectCryptoError, flipped, makeDevice, name, utf8 } from './mls.testkit.js';
import { MlsOperation, suiteImpl } from './runtime.js';
import { loadState } from './state.js';

describe('KeyPackages', () => {
  it('carry the identity, device key, reference, lifetime and last-resort flag', async () => {
    const bob = makeDevice('bob/phone');
    const normal = await generateKeyPackage(bob, { now: 1_700_000_000, lifetimeSeconds: 3600 });
    const info = await keyPackageInfo(normal.keyPackage);
    expect(name(info.identity)).toBe('bob/phone');
    expect(info.signaturePublicKey).toEqual(bob.signaturePublicKey);
    expect(info.keyPackageRef).toEqual(normal.keyPackageRef);
    expect(info.suite).toBe(MlsSuite.default);
    expect(info.lastResort).toBe(false);
    expect(info.notBefore).toBe(1_700_000_000n - 3600n);
    expect(info.notAfter).toBe(1_700_003_600n);
    const lastResort = await generateKeyPackage(bob, { lastResort: true });
    expect((await keyPackageInfo(lastResort.keyPackage)).lastResort).toBe(true);
    expect(lastResort.keyPackageRef).not.toEqual(normal.keyPackageRef);
  });

  it('a last-resort KeyPackage joins like any other and says so', async () => {
    const alice = makeDevice('alice/phone');
    const bob = makeDevice('bob/phone');
    const auth = directory(alice, bob);
    const kp = await generateKeyPackage(bob, { lastResort: true });
    const added = await addMembers((await createGroup(alice, utf8('g'))).state, alice, [kp.keyPackage], auth);
    const joined = await joinFromWelcome(added.welcome, kp.privateState, auth);
    expect(joined.lastResort).toBe(true);
    expect(groupMetadata(joined.state).members).toHaveLength(2);
  });

  it('refuses tampered, expired or foreign KeyPackages and Welcomes for another KeyPackage', async () => {
    const alice = makeDevice('alice/phone');
    const bob = makeDevice('bob/phone');
    const auth = directory(alice, bob);
    const kp = await generateKeyPackage(bob);
    const tampered = flipped(kp.keyPackage, -10, 0x40);
    await expectCryptoError(keyPackageInfo(tampered), 'MLS_FAILED', /signature/);
    await expectCryptoError(keyPackageInfo(kp.keyPackage.subarray(1)), 'MLS_FAILED');
    const group = await createGroup(alice, utf8('g'));
    await expectCryptoError(addMembers(group.state, alice, [tampered], auth), 'MLS_FAILED');
    await expectCryptoError(addMembers(group.state, alice, [group.groupInfo], auth), 'MLS_FAILED', /mls_key_package/);
    const expired = await generateKeyPackage(bob, { now: 1_000_000, lifetimeSeconds: 60 });
    await expectCryptoError(addMembers(group.state, alice, [expired.keyPackage], auth), 'MLS_FAILED', /Lifetime/);
    await expectCryptoError(generateKeyPackage(bob, { lifetimeSeconds: 0 }), 'BAD_INPUT', /lifetimeSeconds/);

    const added = await addMembers(group.state, alice, [kp.keyPackage], auth);
    const other = await generateKeyPackage(bob);
    await expectCryptoError(joinFromWelcome(added.welcome, other.privateState, auth), 'MLS_FAILED', /not addressed/);
    await expectCryptoError(joinFromWelcome(added.welcome, kp.privateState.subarray(0, 20), auth), 'BAD_INPUT', /privateState/);
  });
});

describe('inspectMessage (framing for the Delivery Service)', () => {
  it('reads group, epoch and kind of every MLSMessage without keys', async () => {
    const alice = makeDevice('alice/phone');
    const bob = makeDevice('bob/phone');
    const auth = directory(alice, bob);
    const kp = await generateKeyPackage(bob);
    const group = await createGroup(alice, utf8('group-x'));
    expect(inspectMessage(group.groupInfo)).toEqual({ kind: 'group_info', groupId: utf8('group-x'), epoch: 0n });
    expect(inspectMessage(kp.keyPackage)).toEqual({ kind: 'key_package' });
    const added = await addMembers(group.state, alice, [kp.keyPackage], auth);
    // A commit is framed with the epoch it was made in; accepting it moves the group to the next.
    // It is a PublicMessage, so the Delivery Service can check it (RFC 9420 §6.2).
    expect(inspectMessage(added.commit)).toEqual({
      kind: 'commit',
      groupId: utf8('group-x'),
      epoch: 0n,
      encrypted: false,
      external: false,
    });
    expect(inspectMessage(added.welcome)).toEqual({ kind: 'welcome', keyPackageRefs: [kp.keyPackageRef] });
    expect(inspectMessage(added.groupInfo)).toEqual({ kind: 'group_info', groupId: utf8('group-x'), epoch: 1n });
    const sent = await encrypt(added.pendingState, alice, utf8('hi'));
    expect(inspectMessage(sent.message)).toEqual({
      kind: 'application',
      groupId: utf8('group-x'),
      epoch: 1n,
      encrypted: true,
      external: false,
    });
    const rejoin = await joinExternal(added.groupInfo, bob, auth);
    expect(inspectMessage(rejoin.commit)).toEqual({
      kind: 'commit',
      groupId: utf8('group-x'),
      epoch: 1n,
      encrypted: false,
      external: true,
    });
  });

  it('throws MLS_FAILED on malformed bytes', async () => {
    for (const bad of [new Uint8Array(0), new Uint8Array([0, 1]), new Uint8Array([0, 1, 0, 2, 0xff, 0xff])]) {
      await expectCryptoError(() => inspectMessage(bad), bad.length === 0 ? 'BAD_INPUT' : 'MLS_FAILED');
    }
    const kp = await generateKeyPackage(makeDevice('x'));
    await expectCryptoError(() => inspectMessage(new Uint8Array([...kp.keyPackage, 0])), 'MLS_FAILED', /well-formed/);
  });
});

describe('external commits (RFC 9420 §12.4.3.2)', () => {
  it('may remove only the joiner’s own previous leaf', async () => {
    const alice = makeDevice('alice/phone');
    const carol = makeDevice('carol/phone');
    const eve = makeDevice('eve/phone');
    const auth = directory(alice, carol, eve);
    const kp = await generateKeyPackage(carol);
    const added = await addMembers((await createGroup(alice, utf8('g'))).state, alice, [kp.keyPackage], auth);

    // Eve, who may join, crafts an external commit that also removes carol's leaf, by lying to
    // ts-mls about which leaf is "hers". Her credential passes; only the §12.4.3.2 check stops it.
    const cs = await getCiphersuiteImpl(getCiphersuiteFromName(MlsSuite.default));
    const [decoded] = defined(decodeMlsMessage(added.groupInfo, 0));
    if (decoded.wireformat !== 'mls_group_info') throw new Error('expected GroupInfo');
    const eveKp = await generateKeyPackageWithKey(
      { credentialType: 'basic', identity: eve.identity },
      defaultCapabilities(),
      defaultLifetime,
      [],
      { signKey: eve.signaturePrivateKey, publicKey: eve.signaturePublicKey },
      cs,
    );
    const lying = {
      ...defaultClientConfig,
      keyPackageEqualityConfig: {
        ...defaultClientConfig.keyPackageEqualityConfig,
        compareKeyPackageToLeafNode: (_: unknown, leaf: { signaturePublicKey: Uint8Array }) =>
          leaf.signaturePublicKey.every((byte, i) => byte === carol.signaturePublicKey[i]),
      },
    };
    const attack = await joinGroupExternal(decoded.groupInfo, eveKp.publicPackage, eveKp.privatePackage, true, cs, undefined, lying);
    const commit = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: attack.publicMessage });
    await expectCryptoError(processMessage(added.pendingState, commit, auth), 'MLS_FAILED', /own previous leaf/);

    // The honest version of the same join is accepted.
    const honest = await joinExternal(added.groupInfo, eve, auth);
    const processed = await processMessage(added.pendingState, honest.commit, auth);
    expect(processed.kind === 'commit' && processed.removed).toEqual([]);
  });
});

describe('what processMessage refuses besides bad credentials', () => {
  async function pair() {
    const alice = makeDevice('alice/phone');
    const bob = makeDevice('bob/phone');
    const auth = directory(alice, bob);
    const kp = await generateKeyPackage(bob);
    const added = await addMembers((await createGroup(alice, utf8('g'))).state, alice, [kp.keyPackage], auth);
    const joined = await joinFromWelcome(added.welcome, kp.privateState, auth);
    return { alice, bob, auth, kp, added, aliceState: added.pendingState, bobState: joined.state };
  }

  it('tampered commits, Welcomes and GroupInfos', async () => {
    const { alice, bob, auth, kp, added, aliceState, bobState } = await pair();
    const update = await selfUpdate(aliceState, alice);
    for (const at of [-1, -30, -100]) {
      await expectCryptoError(processMessage(bobState, flipped(update.commit, at), auth), 'MLS_FAILED');
    }
    expect((await processMessage(bobState, update.commit, auth)).kind).toBe('commit');
    await expectCryptoError(joinFromWelcome(flipped(added.welcome, -5), kp.privateState, auth), 'MLS_FAILED');
    await expectCryptoError(joinExternal(flipped(added.groupInfo, -5), bob, auth), 'MLS_FAILED');
  });

  it('standalone proposals and commits with proposal types Parley does not use', async () => {
    const { alice, auth, aliceState, bobState } = await pair();
    const op = new MlsOperation('test', async () => true);
    try {
      const state = loadState(op, aliceState, alice);
      const cs = await suiteImpl(state.groupContext.cipherSuite);
      const proposal = await createProposal(state, false, { proposalType: 'remove', remove: { removed: 1 } }, cs);
      await expectCryptoError(processMessage(bobState, encodeMlsMessage(proposal.message), auth), 'MLS_FAILED', /standalone proposals/);
      const extensions = await createCommit(
        { state, cipherSuite: cs },
        { extraProposals: [{ proposalType: 'group_context_extensions', groupContextExtensions: { extensions: [] } }] },
      );
      await expectCryptoError(processMessage(bobState, encodeMlsMessage(extensions.commit), auth), 'MLS_FAILED', /group_context_extensions/);
    } finally {
      op.wipe();
    }
  });
});
