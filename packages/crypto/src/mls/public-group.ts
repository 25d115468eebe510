/**
 * @module The Delivery Service's keyless view of a group (RFC 9420 §6.2, §12.4; RFC 9750 §5): the
 * public half of the group state, kept as the latest verified GroupInfo, and the checks a commit
 * in the PublicMessage framing must pass against it before the server stores it.
 *
 * Without group secrets the server can check everything public: the FramedContent signature
 * (§6.1) with the committer's leaf key, what the proposals add and remove, the ratchet tree the
 * commit produces (§7.8, §12.3), and that the GroupInfo uploaded for the next epoch is signed by
 * the committer and carries exactly that tree and the GroupContext members will compute (§8.2
 * transcript hash, §12.4.3). Every GroupInfo it stores passed these checks, so it can start the
 * next one. What depends on secrets it cannot check (membership tag, confirmation tag, path
 * secrets, external_pub): a member can still upload a commit the others reject, so clients keep
 * validating; but no one can make the server store a change it did not attribute and read.
 */
import { encodeGroupContext, type GroupContext } from 'ts-mls/groupContext.js';
import { nextEpochContext } from 'ts-mls/clientState.js';
import { verifyFramedContentSignature, type FramedContentAuthDataCommit, type FramedContentCommit } from 'ts-mls/framedContent.js';
import { ratchetTreeFromExtension, verifyGroupInfoSignature, type GroupInfo } from 'ts-mls/groupInfo.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { addLeafNode, encodeRatchetTree, removeLeafNode, type RatchetTree } from 'ts-mls/ratchetTree.js';
import { nodeToLeafIndex, toLeafIndex } from 'ts-mls/treemath.js';
import { treeHashRoot } from 'ts-mls/treeHash.js';
import { applyUpdatePath } from 'ts-mls/updatePath.js';
import type { CiphersuiteImpl } from 'ts-mls';
import { equalBytes, toHex } from '@parley/protocol';
import { asMlsError, mlsError } from './fail.js';
import { suiteImpl } from './runtime.js';
import { leafAt } from './state.js';
import type { MlsCheckedCommit, MlsLeaf } from './types.js';
import { decodeMessageOf } from './wire.js';

/** Each occupied leaf of `tree`, by index, with its signature key. */
function leavesOf(tree: RatchetTree): MlsLeaf[] {
  const leaves: MlsLeaf[] = [];
  for (let nodeIndex = 0; nodeIndex < tree.length; nodeIndex += 2) {
    const node = tree[nodeIndex];
    if (node?.nodeType === 'leaf') leaves.push({ leafIndex: nodeIndex / 2, signaturePublicKey: node.leaf.signaturePublicKey.slice() });
  }
  return leaves;
}

function leaf(tree: RatchetTree, leafIndex: number, what: string): MlsLeaf {
  const node = leafAt(tree, leafIndex);
  if (node === undefined) throw mlsError(`${what} names leaf ${leafIndex}, which is empty`);
  return { leafIndex, signaturePublicKey: node.signaturePublicKey.slice() };
}

interface DecodedGroupInfo {
  info: GroupInfo;
  tree: RatchetTree;
  cs: CiphersuiteImpl;
}

function decodeGroupInfo(bytes: Uint8Array, name: string): Promise<DecodedGroupInfo> {
  const { groupInfo: info } = decodeMessageOf(bytes, name, 'mls_group_info');
  const tree = ratchetTreeFromExtension(info);
  if (tree === undefined) throw mlsError(`${name} carries no ratchet_tree extension`);
  return suiteImpl(info.groupContext.cipherSuite).then((cs) => ({ info, tree, cs }));
}

/**
 * Checks a GroupInfo on its own (a new group's first one, RFC 9420 §11): signed by its signer
 * leaf (§12.4.3), and its ratchet tree hashes to the tree hash its GroupContext states (§7.8).
 * Returns its group, epoch and leaves.
 */
export async function verifyGroupInfo(groupInfo: Uint8Array): Promise<{ groupId: Uint8Array; epoch: bigint; signer: number; leaves: MlsLeaf[] }> {
  try {
    const { info, tree, cs } = await decodeGroupInfo(groupInfo, 'groupInfo');
    const signer = leaf(tree, info.signer, 'groupInfo signer');
    if (!(await verifyGroupInfoSignature(info, signer.signaturePublicKey, cs.signature))) throw mlsError('groupInfo signature does not verify');
    if (!equalBytes(await treeHashRoot(tree, cs.hash), info.groupContext.treeHash)) throw mlsError('groupInfo ratchet tree does not match its tree hash');
    return { groupId: info.groupContext.groupId.slice(), epoch: info.groupContext.epoch, signer: info.signer, leaves: leavesOf(tree) };
  } catch (error) {
    throw asMlsError(error, 'verifyGroupInfo');
  }
}

/**
 * A commit's proposals as the Delivery Service allows them: by value (Parley sends no standalone
 * proposals), and only adds and removes from a member, or external_init and at most one remove
 * (the joiner's own old leaf, §12.4.3.2) from a joiner. Returns the tree they produce.
 */
async function applyProposals(content: FramedContentCommit, before: RatchetTree, cs: CiphersuiteImpl, external: boolean) {
  let tree = before;
  const removed: MlsLeaf[] = [];
  const removedIndices = new Set<number>();
  const added: MlsCheckedCommit['added'] = [];
  let externalInits = 0;
  const proposals = content.commit.proposals.map((item) => {
    if (item.proposalOrRefType !== 'proposal') throw mlsError('commit carries a proposal by reference; Parley commits changes by value');
    return item.proposal;
  });
  // RFC 9420 §12.3: removes are applied before adds, each add takes the leftmost free leaf.
  for (const proposal of proposals) {
    const type = proposal.proposalType;
    if (type === 'remove') {
      if (removedIndices.has(proposal.remove.removed)) throw mlsError(`commit removes leaf ${proposal.remove.removed} twice`);
      removedIndices.add(proposal.remove.removed);
      removed.push(leaf(before, proposal.remove.removed, 'a remove proposal'));
      tree = removeLeafNode(tree, toLeafIndex(proposal.remove.removed));
    } else if (type === 'external_init' && external) {
      externalInits += 1;
    } else if (type !== 'add' || external) {
      throw mlsError(`${external ? 'an external commit' : 'a commit'} may not carry a ${String(type)} proposal`);
    }
  }
  // §7.3: signature keys are unique in the tree; members check new leaves against the tree as it
  // was (ts-mls), so a key added again, even in place of a removed leaf, is refused here too.
  const keys = new Set(leavesOf(before).map((existing) => toHex(existing.signaturePublicKey)));
  for (const proposal of proposals) {
    if (proposal.proposalType !== 'add') continue;
    const { keyPackage } = proposal.add;
    if (keyPackage.cipherSuite !== cs.name) throw mlsError('an added KeyPackage uses another cipher suite');
    const key = toHex(keyPackage.leafNode.signaturePublicKey);
    if (keys.has(key)) throw mlsError('an added KeyPackage carries a signature key already in the group');
    keys.add(key);
    const [next, nodeIndex] = addLeafNode(tree, keyPackage.leafNode);
    tree = next;
    added.push({ leafIndex: nodeToLeafIndex(nodeIndex), signaturePublicKey: keyPackage.leafNode.signaturePublicKey.slice(), keyPackageRef: await makeKeyPackageRef(keyPackage, cs.hash) });
  }
  if (external && (externalInits !== 1 || removed.length > 1)) throw mlsError('an external commit carries one external_init and at most one remove (RFC 9420 §12.4.3.2)');
  return { tree, removed, added, needsPath: external || proposals.length === 0 || removed.length > 0 };
}

/**
 * Checks a commit made in the epoch of `groupInfo` (the group's current, verified GroupInfo) and
 * the GroupInfo uploaded for the epoch it starts. The commit must be a PublicMessage (RFC 9420
 * §6.2) from a member leaf or an external joiner, signed by that leaf's key (§6.1); `nextGroupInfo`
 * must hold the GroupContext and ratchet tree that commit produces (§8.2, §12.4.2), its
 * confirmation tag, and the committer's signature. Any failure is `MLS_FAILED` naming it.
 */
export async function verifyPublicCommit(input: { groupInfo: Uint8Array; commit: Uint8Array; nextGroupInfo: Uint8Array }): Promise<MlsCheckedCommit> {
  try {
    const { info: current, tree: before, cs } = await decodeGroupInfo(input.groupInfo, 'current groupInfo');
    const { publicMessage } = decodeMessageOf(input.commit, 'commit', 'mls_public_message');
    const { content, auth } = publicMessage;
    const context = current.groupContext;
    if (content.contentType !== 'commit' || auth.contentType !== 'commit') throw mlsError('commit is not a Commit');
    if (!equalBytes(content.groupId, context.groupId)) throw mlsError('commit belongs to another group');
    if (content.epoch !== context.epoch) throw mlsError(`commit was made in epoch ${content.epoch}, not ${context.epoch}`);
    const { sender } = content;
    if (sender.senderType !== 'member' && sender.senderType !== 'new_member_commit') throw mlsError(`a commit from a ${sender.senderType} sender is not accepted`);
    const path = content.commit.path;
    const external = sender.senderType === 'new_member_commit';
    if (external && path === undefined) throw mlsError('external commit has no update path');
    // Authenticate before any work on the tree: a member signs with its leaf key in this epoch's
    // tree, a joiner with the key of the leaf it brings (§6.1, §12.4.3.2).
    const signedBy = sender.senderType === 'member' ? leaf(before, sender.leafIndex, 'commit sender').signaturePublicKey : path?.leafNode.signaturePublicKey;
    if (signedBy === undefined || !(await verifyFramedContentSignature(signedBy, 'mls_public_message', content, auth, context, cs.signature))) {
      throw mlsError("commit signature does not verify with the committer's leaf key (RFC 9420 §6.1)");
    }

    const applied = await applyProposals(content, before, cs, external);
    if (applied.needsPath && path === undefined) throw mlsError('commit lacks the update path it needs (RFC 9420 §12.4)');
    let tree = applied.tree;
    let committer: MlsLeaf;
    if (sender.senderType === 'member') {
      if (applied.removed.some((removed) => removed.leafIndex === sender.leafIndex)) throw mlsError('a commit may not remove its committer (RFC 9420 §12.2)');
      if (path !== undefined) tree = await applyUpdatePath(tree, toLeafIndex(sender.leafIndex), path, cs.hash);
      committer = leaf(tree, sender.leafIndex, 'commit sender');
    } else {
      // §12.4.3.2: the joiner's leaf goes where an add would; its only remove is its own old leaf.
      const joinerPath = path as NonNullable<typeof path>;
      const [withJoiner, nodeIndex] = addLeafNode(tree, joinerPath.leafNode);
      committer = { leafIndex: nodeToLeafIndex(nodeIndex), signaturePublicKey: signedBy.slice() };
      const old = applied.removed[0];
      if (old !== undefined && !equalBytes(old.signaturePublicKey, signedBy)) throw mlsError("an external commit may remove only the joiner's own old leaf");
      if (leavesOf(tree).some((leaf) => equalBytes(leaf.signaturePublicKey, signedBy))) throw mlsError("an external commit must replace the joiner's old leaf, not add a second one");
      tree = await applyUpdatePath(withJoiner, toLeafIndex(committer.leafIndex), joinerPath, cs.hash, true);
    }
    await checkNextGroupInfo(input.nextGroupInfo, { context, confirmationTag: current.confirmationTag, content, auth, tree, committer, cs });
    return { external, committer, removed: applied.removed, added: applied.added };
  } catch (error) {
    throw asMlsError(error, 'verifyPublicCommit');
  }
}

/** The next epoch's GroupInfo must be what every member now holds: §8.2 context, §12.4.3 signature. */
async function checkNextGroupInfo(
  bytes: Uint8Array,
  expected: { context: GroupContext; confirmationTag: Uint8Array; content: FramedContentCommit; auth: FramedContentAuthDataCommit; tree: RatchetTree; committer: MlsLeaf; cs: CiphersuiteImpl },
): Promise<void> {
  const { groupInfo: next } = decodeMessageOf(bytes, 'groupInfo', 'mls_group_info');
  const { cs, tree, committer, auth } = expected;
  const treeHash = await treeHashRoot(tree, cs.hash);
  const context = await nextEpochContext(expected.context, 'mls_public_message', expected.content, auth.signature, treeHash, expected.confirmationTag, cs.hash);
  if (!equalBytes(encodeGroupContext(next.groupContext), encodeGroupContext(context))) {
    throw mlsError(`groupInfo does not hold the group context of epoch ${context.epoch} that this commit produces`);
  }
  if (!equalBytes(next.confirmationTag, auth.confirmationTag)) throw mlsError("groupInfo's confirmation tag is not the commit's");
  const treeExtension = next.extensions.find((extension) => extension.extensionType === 'ratchet_tree');
  if (treeExtension === undefined || !equalBytes(treeExtension.extensionData, encodeRatchetTree(tree))) {
    throw mlsError('groupInfo does not carry the ratchet tree this commit produces');
  }
  if (!next.extensions.some((extension) => extension.extensionType === 'external_pub')) throw mlsError('groupInfo lacks external_pub, needed to rejoin (RFC 9420 §12.4.3.2)');
  if (next.signer !== committer.leafIndex) throw mlsError('groupInfo is not signed by the committer');
  if (!(await verifyGroupInfoSignature(next, committer.signaturePublicKey, cs.signature))) throw mlsError('groupInfo signature does not verify');
}

/** The leaves of the ratchet tree a GroupInfo carries, without checking anything. */
export function groupInfoLeaves(groupInfo: Uint8Array): MlsLeaf[] {
  try {
    const { groupInfo: info } = decodeMessageOf(groupInfo, 'groupInfo', 'mls_group_info');
    const tree = ratchetTreeFromExtension(info);
    if (tree === undefined) throw mlsError('groupInfo carries no ratchet_tree extension');
    return leavesOf(tree);
  } catch (error) {
    throw asMlsError(error, 'groupInfoLeaves');
  }
}
