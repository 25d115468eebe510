/**
 * @module What the Delivery Service can check of MLS messages without any key (RFC 9420 §6):
 * their type, group and epoch. Everything a client uploads is checked here before it is stored,
 * so garbage is refused with a clear BAD_REQUEST instead of reaching other members.
 */
import { inspectMessage, type MlsFraming } from '@parley/crypto';
import { equalBytes, ErrorCode, ParleyError } from '@parley/protocol';

const badRequest = (message: string) => new ParleyError(ErrorCode.BAD_REQUEST, message);


function framing(bytes: Uint8Array, field: string): MlsFraming {
  try {
    return inspectMessage(bytes);
  } catch {
    throw badRequest(`${field} is not an MLS message`);
  }
}

function epochNumber(epoch: bigint, field: string): number {
  if (epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw badRequest(`${field} has an epoch out of range`);
  return Number(epoch);
}

type Framed = Extract<MlsFraming, { kind: 'application' | 'commit' | 'proposal' }>;

/** A PrivateMessage or PublicMessage of `kind` for `groupId`. */
function framedFor(bytes: Uint8Array, field: string, kind: Framed['kind'], groupId: Uint8Array): Framed {
  const framed = framing(bytes, field);
  if (framed.kind !== kind) throw badRequest(`${field} must be an MLS ${kind} message, not ${framed.kind}`);
  if (!equalBytes(framed.groupId, groupId)) throw badRequest(`${field} belongs to another group`);
  return framed;
}

/** The GroupInfo uploaded with a commit or a new group must be this group's, for `epoch`. */
export function checkGroupInfo(bytes: Uint8Array, groupId: Uint8Array, epoch: number): void {
  const framed = framing(bytes, 'groupInfo');
  if (framed.kind !== 'group_info') throw badRequest(`groupInfo must be an MLS GroupInfo, not ${framed.kind}`);
  if (!equalBytes(framed.groupId, groupId)) throw badRequest('groupInfo belongs to another group');
  if (epochNumber(framed.epoch, 'groupInfo') !== epoch) throw badRequest(`groupInfo must be for epoch ${epoch}`);
}

/**
 * A commit made in `epoch` for this group: by a member (RFC 9420 §12.4), or, for `external`, by
 * a device joining from the GroupInfo (§12.4.3.2), which is always a PublicMessage.
 */
export function checkCommit(bytes: Uint8Array, groupId: Uint8Array, epoch: number, external: boolean): void {
  const framed = framedFor(bytes, 'commit', 'commit', groupId);
  if (framed.external !== external) {
    throw badRequest(external ? 'commit must be an external commit (RFC 9420 §12.4.3.2)' : 'an external commit goes to group.rejoin');
  }
  if (epochNumber(framed.epoch, 'commit') !== epoch) throw badRequest(`commit was made in epoch ${framed.epoch}, not ${epoch}`);
}

/** A Welcome for exactly `recipients` new members (RFC 9420 §12.4.3.1: one secret per new member). */
export function checkWelcome(bytes: Uint8Array, recipients: number): void {
  const framed = framing(bytes, 'welcome');
  if (framed.kind !== 'welcome') throw badRequest(`welcome must be an MLS Welcome, not ${framed.kind}`);
  if (framed.keyPackageRefs.length !== recipients) {
    throw badRequest(`welcome is addressed to ${framed.keyPackageRefs.length} KeyPackages but ${recipients} devices are added`);
  }
}

/** An application message for this group; returns the epoch it was encrypted in. */
export function checkApplicationMessage(bytes: Uint8Array, groupId: Uint8Array): number {
  return epochNumber(framedFor(bytes, 'message', 'application', groupId).epoch, 'message');
}
