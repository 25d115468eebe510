/**
 * @module Operations a member starts: creating a group and the commits that change it (RFC 9420
 * §12.4). Each returns the bytes to upload as one bundle and a pending state the caller adopts
 * only once the server accepted the commit (§14: the first commit for an epoch wins).
 */
import {
  createCommit,
  createGroup as createMlsGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  type CiphersuiteImpl,
  type ClientState,
  type Proposal,
} from 'ts-mls';
import { badInput, mlsError, requireBytes, requireFunction } from './fail.js';
import { UNBOUNDED_LIFETIME, buildKeyPackage, verifiedKeyPackage } from './keyPackage.js';
import { isSupportedSuite, runOperation, suiteImpl, type MlsOperation } from './runtime.js';
import { checkMember, findLeafBySignatureKey, loadState, saveState } from './state.js';
import {
  MlsSuite,
  type MlsAddOutput,
  type MlsCommitOutput,
  type MlsMember,
  type ValidateCredential,
} from './types.js';
import { decodeMessageOf, encodeMessage } from './wire.js';

/** RFC 9420 §8: group ids are opaque<V>; Parley uses random ids, so a small bound is generous. */
export const MAX_GROUP_ID_BYTES = 255;
/** A commit adding more devices than this at once is almost certainly a mistake. */
export const MAX_MEMBERS_PER_COMMIT = 1000;

/**
 * RFC 9420 §12.4.3: GroupInfo with `external_pub` (so a device that lost its state can rejoin by
 * external commit, §12.4.3.2) and `ratchet_tree` (so it needs nothing else). Signed by `state`'s
 * leaf, so `state` must carry the signature private key.
 */
export async function groupInfoOf(state: ClientState, cs: CiphersuiteImpl): Promise<Uint8Array> {
  const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(state, [], cs);
  return encodeMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo });
}

/** Creates a one-member group at epoch 0 (RFC 9420 §11) and its first GroupInfo. */
export async function createGroup(
  member: MlsMember,
  groupId: Uint8Array,
  options: { suite?: MlsSuite } = {},
): Promise<{ state: Uint8Array; groupInfo: Uint8Array }> {
  checkMember(member);
  requireBytes(groupId, 'groupId', { min: 1, max: MAX_GROUP_ID_BYTES });
  const suite = options.suite ?? MlsSuite.default;
  if (!isSupportedSuite(suite)) throw badInput(`options.suite ${String(suite)} is not supported`);
  return runOperation('createGroup', undefined, async (op) => {
    const cs = await suiteImpl(suite);
    const { publicPackage, privatePackage } = await buildKeyPackage(op, member, cs, UNBOUNDED_LIFETIME, false);
    const state = await createMlsGroup(groupId.slice(), publicPackage, privatePackage, [], cs, op.config);
    return { state: saveState(op, state), groupInfo: await groupInfoOf(state, cs) };
  });
}

/**
 * Commits `proposals` by value. Commits travel as PublicMessage (RFC 9420 §6.2, RFC 9750 §5.2), so
 * the Delivery Service can check who signed them and what they change before it stores them
 * (`verifyPublicCommit`); application messages stay PrivateMessage. The Welcome's GroupInfo
 * carries the ratchet tree (§12.4.3.3), so joiners need nothing but the Welcome. Without adds there
 * is no Welcome, and ts-mls would encode the whole tree into a GroupInfo it then drops: ask for the
 * tree only then.
 */
async function commitProposals(
  op: MlsOperation,
  state: ClientState,
  cs: CiphersuiteImpl,
  proposals: Proposal[],
): Promise<MlsCommitOutput & { welcome: Uint8Array | undefined }> {
  const ratchetTreeExtension = proposals.some((proposal) => proposal.proposalType === 'add');
  const result = await createCommit({ state, cipherSuite: cs }, { extraProposals: proposals, ratchetTreeExtension, wireAsPublicMessage: true });
  op.consumed(result.consumed);
  return {
    commit: encodeMessage(result.commit),
    welcome:
      result.welcome === undefined
        ? undefined
        : encodeMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome }),
    groupInfo: await groupInfoOf(result.newState, cs),
    pendingState: saveState(op, result.newState),
  };
}

/**
 * Adds devices from their KeyPackages (RFC 9420 §12.1.1). Every KeyPackage is verified and its
 * credential passed to `validateCredential` before anything is committed.
 */
export async function addMembers(
  state: Uint8Array,
  member: MlsMember,
  keyPackages: readonly Uint8Array[],
  validateCredential: ValidateCredential,
): Promise<MlsAddOutput> {
  requireFunction(validateCredential, 'validateCredential');
  if (!Array.isArray(keyPackages) || keyPackages.length === 0) throw badInput('keyPackages must be a non-empty array');
  if (keyPackages.length > MAX_MEMBERS_PER_COMMIT) throw badInput(`keyPackages holds more than ${MAX_MEMBERS_PER_COMMIT}`);
  return runOperation('addMembers', validateCredential, async (op) => {
    const current = loadState(op, state, member);
    const cs = await suiteImpl(current.groupContext.cipherSuite);
    const proposals: Proposal[] = [];
    for (const [i, bytes] of keyPackages.entries()) {
      const { keyPackage } = decodeMessageOf(bytes, `keyPackages[${i}]`, 'mls_key_package');
      const { info } = await verifiedKeyPackage(keyPackage);
      if (info.suite !== current.groupContext.cipherSuite) throw mlsError(`keyPackages[${i}] uses another cipher suite`);
      proposals.push({ proposalType: 'add', add: { keyPackage } });
    }
    const { welcome, ...output } = await commitProposals(op, current, cs, proposals);
    if (welcome === undefined) throw mlsError('commit produced no Welcome');
    return { ...output, welcome };
  });
}

/**
 * Removes devices, named by their leaf signature keys (RFC 9420 §12.1.3). A member cannot remove
 * itself: §12.2 forbids a commit that removes its committer; leaving takes another member's commit.
 */
export async function removeMembers(
  state: Uint8Array,
  member: MlsMember,
  signaturePublicKeys: readonly Uint8Array[],
): Promise<MlsCommitOutput> {
  if (!Array.isArray(signaturePublicKeys) || signaturePublicKeys.length === 0) {
    throw badInput('signaturePublicKeys must be a non-empty array');
  }
  return runOperation('removeMembers', undefined, async (op) => {
    const current = loadState(op, state, member);
    const cs = await suiteImpl(current.groupContext.cipherSuite);
    const leaves = new Set<number>();
    for (const [i, key] of signaturePublicKeys.entries()) {
      requireBytes(key, `signaturePublicKeys[${i}]`);
      const leafIndex = findLeafBySignatureKey(current.ratchetTree, key);
      if (leafIndex === undefined) throw badInput(`signaturePublicKeys[${i}] is not a member of the group`);
      if (leafIndex === current.privatePath.leafIndex) throw badInput('a member cannot remove itself (RFC 9420 §12.2)');
      if (leaves.has(leafIndex)) throw badInput(`signaturePublicKeys[${i}] is listed twice`);
      leaves.add(leafIndex);
    }
    const proposals: Proposal[] = [...leaves].map((removed) => ({ proposalType: 'remove', remove: { removed } }));
    const { welcome: _none, ...output } = await commitProposals(op, current, cs, proposals);
    return output;
  });
}

/**
 * An empty commit with an update path (RFC 9420 §12.4): fresh leaf and path keys, for
 * post-compromise security (§16.6). Worth doing periodically and after a device restore.
 */
export async function selfUpdate(state: Uint8Array, member: MlsMember): Promise<MlsCommitOutput> {
  return runOperation('selfUpdate', undefined, async (op) => {
    const current = loadState(op, state, member);
    const cs = await suiteImpl(current.groupContext.cipherSuite);
    const { welcome: _none, ...output } = await commitProposals(op, current, cs, []);
    return output;
  });
}

/** A fresh GroupInfo for the state's current epoch, e.g. to re-upload when the server lost its copy. */
export async function exportGroupInfo(state: Uint8Array, member: MlsMember): Promise<Uint8Array> {
  return runOperation('exportGroupInfo', undefined, async (op) => {
    const current = loadState(op, state, member);
    return groupInfoOf(current, await suiteImpl(current.groupContext.cipherSuite));
  });
}
