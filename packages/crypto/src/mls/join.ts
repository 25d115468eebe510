/**
 * @module Joining a group: from a Welcome (RFC 9420 §12.4.3.1) or, for a device that lost its
 * state or was never added, by external commit from the group's GroupInfo (§12.4.3.2).
 */
import { emptyPskIndex, joinGroup, joinGroupExternal } from 'ts-mls';
import { ratchetTreeFromExtension } from 'ts-mls/groupInfo.js';
import { equalBytes } from '@parley/protocol';
import { mlsError, requireBytes, requireFunction } from './fail.js';
import { groupInfoOf } from './group.js';
import { UNBOUNDED_LIFETIME, buildKeyPackage, loadKeyPackagePrivateState } from './keyPackage.js';
import { runOperation, suiteImpl } from './runtime.js';
import { checkMember, findLeafBySignatureKey, saveState } from './state.js';
import type { MlsCommitOutput, MlsJoinOutput, MlsMember, ValidateCredential } from './types.js';
import { decodeMessageOf, encodeMessage } from './wire.js';

/**
 * Joins from a Welcome with the KeyPackage private state it was addressed to. ts-mls checks the
 * GroupInfo signature and confirmation tag and validates the whole ratchet tree, handing every
 * leaf's credential to `validateCredential` (§12.4.3.1); one refusal rejects the Welcome.
 */
export async function joinFromWelcome(
  welcome: Uint8Array,
  privateState: Uint8Array,
  validateCredential: ValidateCredential,
): Promise<MlsJoinOutput> {
  requireBytes(welcome, 'welcome');
  requireFunction(validateCredential, 'validateCredential');
  return runOperation('joinFromWelcome', validateCredential, async (op) => {
    const message = decodeMessageOf(op.own(welcome), 'welcome', 'mls_welcome');
    const loaded = await loadKeyPackagePrivateState(op, privateState);
    if (message.welcome.cipherSuite !== loaded.keyPackage.cipherSuite) {
      throw mlsError('welcome uses another cipher suite than the key package');
    }
    // §12.4.3.1: the Welcome names its recipients by KeyPackageRef.
    if (!message.welcome.secrets.some((secret) => equalBytes(secret.newMember, loaded.info.keyPackageRef))) {
      throw mlsError('welcome is not addressed to this key package');
    }
    const state = await joinGroup(
      message.welcome,
      loaded.keyPackage,
      loaded.privateKeys,
      emptyPskIndex,
      loaded.cs,
      undefined,
      undefined,
      op.config,
    );
    return {
      state: saveState(op, state),
      keyPackageRef: loaded.info.keyPackageRef.slice(),
      lastResort: loaded.info.lastResort,
    };
  });
}

/**
 * Joins by external commit (RFC 9420 §12.4.3.2) from a GroupInfo carrying `external_pub` and the
 * ratchet tree (every GroupInfo this facade produces does). If the tree still holds a leaf with
 * this device's signature key, the commit also removes that stale leaf ("resync"). The result is
 * pending like any commit: adopt `pendingState` once the server accepted `commit`.
 */
export async function joinExternal(
  groupInfo: Uint8Array,
  member: MlsMember,
  validateCredential: ValidateCredential,
): Promise<MlsCommitOutput> {
  requireBytes(groupInfo, 'groupInfo');
  checkMember(member);
  requireFunction(validateCredential, 'validateCredential');
  return runOperation('joinExternal', validateCredential, async (op) => {
    const { groupInfo: info } = decodeMessageOf(op.own(groupInfo), 'groupInfo', 'mls_group_info');
    const cs = await suiteImpl(info.groupContext.cipherSuite);
    const tree = ratchetTreeFromExtension(info);
    if (tree === undefined) throw mlsError('groupInfo carries no ratchet_tree extension');
    const resync = findLeafBySignatureKey(tree, member.signaturePublicKey) !== undefined;
    const { publicPackage, privatePackage } = await buildKeyPackage(op, member, cs, UNBOUNDED_LIFETIME, false);
    const { publicMessage, newState } = await joinGroupExternal(
      info,
      publicPackage,
      privatePackage,
      resync,
      cs,
      tree,
      op.config,
    );
    return {
      // §12.4.3.2: an external commit is always a PublicMessage; the joiner has no epoch keys yet.
      commit: encodeMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage }),
      groupInfo: await groupInfoOf(newState, cs),
      pendingState: saveState(op, newState),
    };
  });
}
