/**
 * @module Read-only views: a state's group metadata for the client, and message framing for the
 * Delivery Service, which routes by group and epoch without holding any key (RFC 9420 §6, §14).
 */
import { asMlsError, mlsError } from './fail.js';
import { MlsOperation, isSupportedSuite } from './runtime.js';
import { listMembers, viewState } from './state.js';
import type { MlsFraming, MlsGroupMetadata } from './types.js';
import { decodeMessage } from './wire.js';

/** Group id, epoch and the member list (one entry per leaf, i.e. per device) of a stored state. */
export function groupMetadata(state: Uint8Array): MlsGroupMetadata {
  const op = new MlsOperation('groupMetadata', undefined);
  try {
    const current = viewState(op, state);
    const suite = current.groupContext.cipherSuite;
    if (!isSupportedSuite(suite)) throw mlsError(`unsupported cipher suite ${suite}`);
    return {
      groupId: current.groupContext.groupId.slice(),
      epoch: current.groupContext.epoch,
      suite,
      ownLeafIndex: current.privatePath.leafIndex,
      active: current.groupActiveState.kind === 'active',
      members: listMembers(current.ratchetTree),
    };
  } catch (error) {
    throw asMlsError(error, 'groupMetadata');
  } finally {
    op.wipe();
  }
}

/**
 * Parses the clear framing of an MLSMessage without keys. A PrivateMessage shows its group id,
 * epoch and content type (§6.3); a PublicMessage its whole FramedContent (§6.2), of which only
 * the same three fields and whether the sender is an external joiner are reported. Malformed
 * bytes are `MLS_FAILED`.
 */
export function inspectMessage(message: Uint8Array): MlsFraming {
  try {
    const decoded = decodeMessage(message, 'message');
    switch (decoded.wireformat) {
      case 'mls_private_message': {
        const { groupId, epoch, contentType } = decoded.privateMessage;
        return { kind: contentType, groupId: groupId.slice(), epoch, encrypted: true, external: false };
      }
      case 'mls_public_message': {
        const { groupId, epoch, contentType, sender } = decoded.publicMessage.content;
        return {
          kind: contentType,
          groupId: groupId.slice(),
          epoch,
          encrypted: false,
          external: sender.senderType === 'new_member_commit',
        };
      }
      case 'mls_group_info': {
        const { groupId, epoch } = decoded.groupInfo.groupContext;
        return { kind: 'group_info', groupId: groupId.slice(), epoch };
      }
      case 'mls_welcome':
        // §12.4.3.1: the recipients are named by KeyPackageRef; everything else is encrypted.
        return { kind: 'welcome', keyPackageRefs: decoded.welcome.secrets.map((secret) => secret.newMember.slice()) };
      case 'mls_key_package':
        return { kind: 'key_package' };
    }
  } catch (error) {
    throw asMlsError(error, 'inspectMessage');
  }
}
