/**
 * @module Sending application messages and processing whatever the group log delivers:
 * application messages (RFC 9420 §6.3) and commits (§12.4.2), both checked against the epoch.
 */
import {
  createApplicationMessage,
  emptyPskIndex,
  processMessage as processMlsMessage,
  type CiphersuiteImpl,
  type ClientState,
  type FramedContent,
  type IncomingMessageCallback,
  type MlsPrivateMessage,
  type MlsPublicMessage,
  type ProposalWithSender,
  type RatchetTree,
} from 'ts-mls';
import { decryptSenderData } from 'ts-mls/privateMessage.js';
import { equalBytes } from '@parley/protocol';
import { mlsError, requireBytes, requireFunction } from './fail.js';
import { runOperation, suiteImpl, type MlsOperation } from './runtime.js';
import { describeLeaf, findLeafBySignatureKey, leafAt, loadState, saveState } from './state.js';
import type {
  MlsApplicationMessage,
  MlsCommitProcessed,
  MlsMember,
  MlsMemberInfo,
  MlsProcessed,
  ValidateCredential,
} from './types.js';
import { MAX_MESSAGE_BYTES, decodeMessage, encodeMessage } from './wire.js';

/** Encrypts an application message for the group's current epoch (RFC 9420 §6.3). */
export async function encrypt(
  state: Uint8Array,
  member: MlsMember,
  plaintext: Uint8Array,
): Promise<{ message: Uint8Array; state: Uint8Array }> {
  requireBytes(plaintext, 'plaintext', { max: MAX_MESSAGE_BYTES / 2 });
  return runOperation('encrypt', undefined, async (op) => {
    const current = loadState(op, state, member);
    const cs = await suiteImpl(current.groupContext.cipherSuite);
    const result = await createApplicationMessage(current, plaintext.slice(), cs);
    op.consumed(result.consumed);
    return {
      message: encodeMessage({
        version: 'mls10',
        wireformat: 'mls_private_message',
        privateMessage: result.privateMessage,
      }),
      state: saveState(op, result.newState),
    };
  });
}

/**
 * Processes one message from the group log with `state`, returning the new state to persist.
 * Refused with `CryptoError('MLS_FAILED')`: other groups' messages, tampered, replayed or
 * undecryptable ciphertext, commits for any epoch but the current one (a stale commit lost the
 * race, RFC 9420 §14), application messages from a future epoch (buffer them until the commit
 * arrives) or from before the retention window, standalone proposals (Parley commits every change
 * by value), this member's own messages, and any new leaf whose credential `validateCredential`
 * refuses.
 */
export async function processMessage(
  state: Uint8Array,
  message: Uint8Array,
  validateCredential: ValidateCredential,
): Promise<MlsProcessed> {
  requireBytes(message, 'message');
  requireFunction(validateCredential, 'validateCredential');
  return runOperation('processMessage', validateCredential, async (op) => {
    const current = loadState(op, state);
    if (current.groupActiveState.kind !== 'active') throw mlsError('this member is no longer in the group');
    const decoded = decodeMessage(op.own(message), 'message');
    if (decoded.wireformat !== 'mls_private_message' && decoded.wireformat !== 'mls_public_message') {
      throw mlsError(`message must be a PrivateMessage or PublicMessage, got ${decoded.wireformat}`);
    }
    const framing = decoded.wireformat === 'mls_private_message' ? decoded.privateMessage : decoded.publicMessage.content;
    if (!equalBytes(framing.groupId, current.groupContext.groupId)) throw mlsError('message belongs to another group');
    const epoch = current.groupContext.epoch;
    const cs = await suiteImpl(current.groupContext.cipherSuite);
    switch (framing.contentType) {
      case 'application':
        if (decoded.wireformat !== 'mls_private_message') throw mlsError('application data must be a PrivateMessage (§6.2)');
        if (framing.epoch > epoch) {
          throw mlsError(`message is for epoch ${framing.epoch}, ahead of this state's ${epoch}: process the commit first`);
        }
        return processApplication(op, current, decoded, cs);
      case 'commit':
        if (framing.epoch !== epoch) {
          const when = framing.epoch < epoch ? 'a past' : 'a future';
          throw mlsError(`commit is for ${when} epoch ${framing.epoch}; this state is at epoch ${epoch}`);
        }
        return processCommit(op, current, decoded, cs);
      case 'proposal':
        throw mlsError('standalone proposals are not accepted: changes must be committed by value');
    }
  });
}

async function processApplication(
  op: MlsOperation,
  current: ClientState,
  message: MlsPrivateMessage,
  cs: CiphersuiteImpl,
): Promise<MlsApplicationMessage> {
  const { epoch } = message.privateMessage;
  // ts-mls does not report the sender of an application message, so read it from the sender data
  // (§6.3.2) with the same epoch's secret. It is authenticated: ts-mls verifies the content
  // signature against exactly this leaf's key before returning the plaintext.
  const epochData =
    epoch === current.groupContext.epoch
      ? { senderDataSecret: current.keySchedule.senderDataSecret, tree: current.ratchetTree }
      : historicalEpoch(current, epoch);
  const senderData = await decryptSenderData(message.privateMessage, epochData.senderDataSecret, cs);
  if (senderData === undefined) throw mlsError('sender data does not decrypt');
  if (senderData.leafIndex === current.privatePath.leafIndex) throw mlsError('message was sent by this member');
  const senderLeaf = leafAt(epochData.tree, senderData.leafIndex);
  if (senderLeaf === undefined) throw mlsError('sender data names an empty leaf');
  const result = await processMlsMessage(message, current, emptyPskIndex, rejectingPolicy().callback, cs);
  op.consumed(result.consumed);
  if (result.kind !== 'applicationMessage') throw mlsError('expected an application message');
  return {
    kind: 'application',
    state: saveState(op, result.newState),
    epoch,
    plaintext: result.message.slice(),
    sender: describeLeaf(senderLeaf, senderData.leafIndex),
  };
}

/** §9.2 / DESIGN §6 key retention: only the last few epochs can still be read. */
function historicalEpoch(current: ClientState, epoch: bigint): { senderDataSecret: Uint8Array; tree: RatchetTree } {
  const data = current.historicalReceiverData.get(epoch);
  if (data === undefined) throw mlsError(`message is for epoch ${epoch}, older than the key-retention window`);
  return { senderDataSecret: data.senderDataSecret, tree: data.ratchetTree };
}

interface CommitPolicy {
  callback: IncomingMessageCallback;
  seen: { senderLeafIndex: number | undefined; proposals: ProposalWithSender[] } | undefined;
  reason: string | undefined;
}

/**
 * Which proposals a commit may carry. A member's commit: adds and removes (what this facade
 * creates). An external commit: external_init, plus at most one remove (§12.4.3.2; ts-mls checks
 * the counts). Anything else (psk, reinit, group_context_extensions, updates, custom) is refused.
 */
function rejectingPolicy(): CommitPolicy {
  const policy: CommitPolicy = {
    seen: undefined,
    reason: undefined,
    callback: (incoming) => {
      if (incoming.kind === 'proposal') {
        policy.reason = 'standalone proposals are not accepted';
        return 'reject';
      }
      policy.seen = { senderLeafIndex: incoming.senderLeafIndex, proposals: incoming.proposals };
      const external = incoming.senderLeafIndex === undefined;
      for (const { proposal } of incoming.proposals) {
        const type = proposal.proposalType;
        const allowed = external ? type === 'external_init' || type === 'remove' : type === 'add' || type === 'remove';
        if (!allowed) {
          policy.reason = `commit carries a ${String(type)} proposal, which is not accepted`;
          return 'reject';
        }
      }
      return 'accept';
    },
  };
  return policy;
}

/**
 * RFC 9420 §12.4.3.2: an external commit may remove only the joiner's own previous leaf. ts-mls
 * checks the proposal counts but not whose leaf goes, so check that the removed leaf has the
 * same signature key (the same device) as the joiner's new leaf.
 */
function checkExternalCommit(content: FramedContent, tree: RatchetTree): void {
  if (content.contentType !== 'commit') return;
  const path = content.commit.path;
  if (path === undefined) throw mlsError('external commit has no update path');
  for (const item of content.commit.proposals) {
    if (item.proposalOrRefType !== 'proposal') throw mlsError('external commit must carry proposals by value');
    if (item.proposal.proposalType !== 'remove') continue;
    const removed = leafAt(tree, item.proposal.remove.removed);
    if (removed === undefined || !equalBytes(removed.signaturePublicKey, path.leafNode.signaturePublicKey)) {
      throw mlsError("external commit may remove only the joiner's own previous leaf");
    }
  }
}

async function processCommit(
  op: MlsOperation,
  current: ClientState,
  message: MlsPrivateMessage | MlsPublicMessage,
  cs: CiphersuiteImpl,
): Promise<MlsCommitProcessed> {
  const publicContent = message.wireformat === 'mls_public_message' ? message.publicMessage.content : undefined;
  const external = publicContent?.sender.senderType === 'new_member_commit';
  if (publicContent !== undefined) {
    const type = publicContent.sender.senderType;
    if (type !== 'member' && type !== 'new_member_commit') throw mlsError(`commit from a ${type} sender is not accepted`);
    if (external) checkExternalCommit(publicContent, current.ratchetTree);
  }
  const policy = rejectingPolicy();
  const result = await processMlsMessage(message, current, emptyPskIndex, policy.callback, cs);
  op.consumed(result.consumed);
  if (result.kind !== 'newState') throw mlsError('expected a commit');
  if (result.actionTaken === 'reject' || policy.seen === undefined) throw mlsError(policy.reason ?? 'commit rejected');
  const next = result.newState;
  const before = current.ratchetTree;
  const after = next.ratchetTree;
  const removed: MlsMemberInfo[] = [];
  const added: MlsMemberInfo[] = [];
  for (const { proposal } of policy.seen.proposals) {
    if (proposal.proposalType === 'remove') {
      const leaf = leafAt(before, proposal.remove.removed);
      if (leaf !== undefined) removed.push(describeLeaf(leaf, proposal.remove.removed));
    } else if (proposal.proposalType === 'add') {
      const leaf = proposal.add.keyPackage.leafNode;
      added.push(describeLeaf(leaf, findLeafBySignatureKey(after, leaf.signaturePublicKey) ?? -1));
    }
  }
  let committer: MlsMemberInfo;
  const senderLeafIndex = policy.seen.senderLeafIndex;
  if (senderLeafIndex !== undefined) {
    const leaf = leafAt(before, senderLeafIndex);
    if (leaf === undefined) throw mlsError('commit sender is not a member');
    committer = describeLeaf(leaf, senderLeafIndex);
  } else {
    const path = publicContent?.contentType === 'commit' ? publicContent.commit.path : undefined;
    if (path === undefined) throw mlsError('external commit has no update path');
    committer = describeLeaf(path.leafNode, findLeafBySignatureKey(after, path.leafNode.signaturePublicKey) ?? -1);
    added.push(committer);
  }
  return {
    kind: 'commit',
    state: saveState(op, next),
    epoch: current.groupContext.epoch + 1n,
    committer,
    external,
    added,
    removed,
    removedSelf: next.groupActiveState.kind === 'removedFromGroup',
  };
}
