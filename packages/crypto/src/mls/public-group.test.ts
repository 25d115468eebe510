/** The Delivery Service's keyless checks of GroupInfos and PublicMessage commits (RFC 9420 §6.2, §12.4). */
import { describe, expect, it } from 'vitest';
import {
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroupExternal,
  type MlsGroupInfo,
} from 'ts-mls';
import { defaultClientConfig } from 'ts-mls/clientConfig.js';
import {
  addMembers,
  createGroup,
  generateKeyPackage,
  groupInfoLeaves,
  inspectMessage,
  joinExternal,
  joinFromWelcome,
  processMessage,
  removeMembers,
  selfUpdate,
  verifyGroupInfo,
  verifyPublicCommit,
} from './index.js';
import { defined, directory, expectCryptoError, flipped, makeDevice, utf8 } from './mls.testkit.js';
import { MlsSuite, type MlsMember } from './types.js';

async function threeMembers() {
  const [alice, bob, carol] = [makeDevice('alice/phone'), makeDevice('bob/phone'), makeDevice('carol/phone')];
  const auth = directory(alice, bob, carol);
  const created = await createGroup(alice, utf8('public group'));
  const bobKp = await generateKeyPackage(bob);
  const carolKp = await generateKeyPackage(carol);
  const added = await addMembers(created.state, alice, [bobKp.keyPackage, carolKp.keyPackage], auth);
  const bobState = (await joinFromWelcome(added.welcome, bobKp.privateState, auth)).state;
  return { alice, bob, carol, auth, created, added, aliceState: added.pendingState, bobState, bobKp, carolKp };
}

/** Where a member PublicMessage's membership tag starts: it closes the message (RFC 9420 §6.2). */
function membershipTagStart(commit: Uint8Array): number {
  const [message] = decodeMlsMessage(commit, 0) ?? [];
  if (message?.wireformat !== 'mls_public_message' || message.publicMessage.senderType !== 'member') throw new Error('not a member PublicMessage');
  // A one-byte length, then the MAC.
  return commit.length - message.publicMessage.membershipTag.length - 1;
}

describe('GroupInfo checks', () => {
  it('accept a new group and name its one leaf; refuse a flipped byte', async () => {
    const alice = makeDevice('alice/phone');
    const { groupInfo } = await createGroup(alice, utf8('new group'));
    const verified = await verifyGroupInfo(groupInfo);
    expect(verified).toMatchObject({ groupId: utf8('new group'), epoch: 0n, signer: 0 });
    expect(verified.leaves).toEqual([{ leafIndex: 0, signaturePublicKey: alice.signaturePublicKey }]);
    expect(groupInfoLeaves(groupInfo)).toEqual(verified.leaves);
    await expectCryptoError(verifyGroupInfo(flipped(groupInfo, -5)), 'MLS_FAILED', /signature/);
    await expectCryptoError(verifyGroupInfo(utf8('not mls')), 'MLS_FAILED');
  });
});

describe('commit checks', () => {
  it('commits travel as PublicMessage, which members still process', async () => {
    const { added, bobState, aliceState, alice, auth } = await threeMembers();
    expect(inspectMessage(added.commit)).toMatchObject({ kind: 'commit', encrypted: false, external: false });
    const update = await selfUpdate(aliceState, alice);
    expect(await processMessage(bobState, update.commit, auth)).toMatchObject({ kind: 'commit', epoch: 2n });
  });

  it('read who adds and removes which leaves, and where the added leaves land', async () => {
    const { created, added, alice, bob, carol, aliceState, bobKp, carolKp } = await threeMembers();
    const adding = await verifyPublicCommit({ groupInfo: created.groupInfo, commit: added.commit, nextGroupInfo: added.groupInfo });
    expect(adding).toEqual({
      external: false,
      committer: { leafIndex: 0, signaturePublicKey: alice.signaturePublicKey },
      removed: [],
      added: [
        { leafIndex: 1, signaturePublicKey: bob.signaturePublicKey, keyPackageRef: bobKp.keyPackageRef },
        { leafIndex: 2, signaturePublicKey: carol.signaturePublicKey, keyPackageRef: carolKp.keyPackageRef },
      ],
    });
    const removal = await removeMembers(aliceState, alice, [bob.signaturePublicKey]);
    const removing = await verifyPublicCommit({ groupInfo: added.groupInfo, commit: removal.commit, nextGroupInfo: removal.groupInfo });
    expect(removing.removed).toEqual([{ leafIndex: 1, signaturePublicKey: bob.signaturePublicKey }]);
    // The next add takes the leftmost free leaf, the one just vacated (RFC 9420 §7.8).
    const dave = makeDevice('dave/phone');
    const again = await addMembers(removal.pendingState, alice, [(await generateKeyPackage(dave)).keyPackage], directory(alice, carol, dave));
    const readding = await verifyPublicCommit({ groupInfo: removal.groupInfo, commit: again.commit, nextGroupInfo: again.groupInfo });
    expect(readding.added.map((leaf) => leaf.leafIndex)).toEqual([1]);
  });

  it('read an external rejoin: the joiner replaces its own old leaf', async () => {
    const { added, bob, auth } = await threeMembers();
    const rejoin = await joinExternal(added.groupInfo, bob, auth);
    const checked = await verifyPublicCommit({ groupInfo: added.groupInfo, commit: rejoin.commit, nextGroupInfo: rejoin.groupInfo });
    expect(checked).toMatchObject({ external: true, committer: { leafIndex: 1, signaturePublicKey: bob.signaturePublicKey }, added: [] });
    expect(checked.removed).toEqual([{ leafIndex: 1, signaturePublicKey: bob.signaturePublicKey }]);
  });

  it('refuse a commit checked against the wrong epoch, or with a GroupInfo that is not its own', async () => {
    const { created, added, aliceState, alice, bob } = await threeMembers();
    const removal = await removeMembers(aliceState, alice, [bob.signaturePublicKey]);
    await expectCryptoError(verifyPublicCommit({ groupInfo: created.groupInfo, commit: removal.commit, nextGroupInfo: removal.groupInfo }), 'MLS_FAILED', /epoch/);
    const update = await selfUpdate(aliceState, alice);
    await expectCryptoError(verifyPublicCommit({ groupInfo: added.groupInfo, commit: removal.commit, nextGroupInfo: update.groupInfo }), 'MLS_FAILED', /group context/);
    await expectCryptoError(verifyPublicCommit({ groupInfo: added.groupInfo, commit: removal.commit, nextGroupInfo: added.groupInfo }), 'MLS_FAILED', /group context/);
  });

  it('refuse a commit with any byte flipped, except in the membership tag only members can check', async () => {
    const { added, aliceState, alice, bob } = await threeMembers();
    const removal = await removeMembers(aliceState, alice, [bob.signaturePublicKey]);
    const check = (commit: Uint8Array, nextGroupInfo = removal.groupInfo) => verifyPublicCommit({ groupInfo: added.groupInfo, commit, nextGroupInfo });
    await expect(check(removal.commit)).resolves.toBeDefined();
    const tagStart = membershipTagStart(removal.commit);
    const accepted: number[] = [];
    for (let at = 0; at < tagStart; at++) {
      try {
        await check(flipped(removal.commit, at));
        accepted.push(at);
      } catch {
        // refused, as it should be
      }
    }
    expect(accepted).toEqual([]);
    // A GroupInfo with a flipped byte is refused too (its signature, context or tree no longer match).
    for (const at of [10, Math.floor(removal.groupInfo.length / 2), removal.groupInfo.length - 3]) {
      await expectCryptoError(check(removal.commit, flipped(removal.groupInfo, at)), 'MLS_FAILED');
    }
  });

  it("refuse a commit that names another member's leaf as its sender", async () => {
    const { added, bobState, bob } = await threeMembers();
    const update = await selfUpdate(bobState, bob);
    const [message] = decodeMlsMessage(update.commit, 0) ?? [];
    if (message?.wireformat !== 'mls_public_message' || message.publicMessage.content.sender.senderType !== 'member') throw new Error('expected a member commit');
    expect(message.publicMessage.content.sender.leafIndex).toBe(1);
    const asAlice = encodeMlsMessage({ ...message, publicMessage: { ...message.publicMessage, content: { ...message.publicMessage.content, sender: { senderType: 'member', leafIndex: 0 } } } });
    await expectCryptoError(verifyPublicCommit({ groupInfo: added.groupInfo, commit: asAlice, nextGroupInfo: update.groupInfo }), 'MLS_FAILED', /signature/);
  });

  /** An external commit by `joiner` made with ts-mls directly, telling it which leaf is "its own" old one. */
  async function externalCommit(groupInfo: Uint8Array, joiner: MlsMember, ownLeafKey: Uint8Array | undefined): Promise<Uint8Array> {
    const cs = await getCiphersuiteImpl(getCiphersuiteFromName(MlsSuite.default));
    const [decoded] = defined(decodeMlsMessage(groupInfo, 0));
    const info = (decoded as MlsGroupInfo).groupInfo;
    const kp = await generateKeyPackageWithKey({ credentialType: 'basic', identity: joiner.identity }, defaultCapabilities(), defaultLifetime, [], { signKey: joiner.signaturePrivateKey, publicKey: joiner.signaturePublicKey }, cs);
    const config = {
      ...defaultClientConfig,
      keyPackageEqualityConfig: {
        ...defaultClientConfig.keyPackageEqualityConfig,
        compareKeyPackageToLeafNode: (_: unknown, leaf: { signaturePublicKey: Uint8Array }) => ownLeafKey !== undefined && leaf.signaturePublicKey.every((byte, i) => byte === ownLeafKey[i]),
      },
    };
    const { publicMessage } = await joinGroupExternal(info, kp.publicPackage, kp.privatePackage, ownLeafKey !== undefined, cs, undefined, config);
    return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage });
  }

  it("refuse an external commit that removes another member's leaf, or keeps the joiner's old one", async () => {
    const { added, bob, carol } = await threeMembers();
    const check = (commit: Uint8Array) => verifyPublicCommit({ groupInfo: added.groupInfo, commit, nextGroupInfo: added.groupInfo });
    await expectCryptoError(check(await externalCommit(added.groupInfo, bob, carol.signaturePublicKey)), 'MLS_FAILED', /own old leaf/);
    await expectCryptoError(check(await externalCommit(added.groupInfo, bob, undefined)), 'MLS_FAILED', /not add a second one/);
  });
});
