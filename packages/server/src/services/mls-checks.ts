/**
 * @module What the Delivery Service checks of MLS messages before it stores them (RFC 9420 §6,
 * RFC 9750 §5), so garbage and lies are refused with a clear code instead of reaching members.
 *
 * Application messages are PrivateMessages: the server sees their group and epoch only. Commits
 * are PublicMessages, and the server holds each one against the group's public state:
 *
 * - The state is the latest GroupInfo, verified when it was uploaded (crypto `verifyPublicCommit`;
 *   a group's first one by `verifyGroupInfo`; groups older than these checks start from the one
 *   they had): it carries the GroupContext the next commit is signed over and the ratchet tree
 *   that commit changes, both exactly as members hold them. Keeping the GroupInfo, rather than a
 *   state of its own, means nothing new to store and one truth for rejoining devices too. The
 *   server has no group secret, so it cannot check the membership tag, the confirmation tag or
 *   the path secrets: a member can still upload a commit the others refuse (clients keep
 *   validating), but not one the server misreads.
 * - Which device a leaf belongs to is recorded when a commit adds the leaf (group_leaves), after
 *   checking that its key is that device's key in the directory. Keys alone would not do: nothing
 *   stops two accounts from certifying the same public key, so a leaf's owner is what it was added
 *   as, never a later guess. A member commit must come from the session device's own leaf; its
 *   removed leaves' routed devices must be exactly the declared `remove` (leaves of devices no
 *   longer routed, i.e. users who left, are housekeeping anyone may do); its added KeyPackages must
 *   carry exactly the declared `add` devices' keys; its Welcome must name exactly those KeyPackages.
 * - Whether the committer may make the change (admins, own devices, revoked ones) is decided on
 *   the declared lists, before any of this, and holds because they equal the commit's real changes.
 */
import { inspectMessage, verifyGroupInfo, verifyPublicCommit, type MlsCheckedCommit, type MlsFraming } from '@parley/crypto';
import { deviceKey, equalBytes, ErrorCode, ParleyError, sameDevice, toHex, type DeviceRef } from '@parley/protocol';
import type { DeviceRecord, GroupLeaf } from '../storage/index.js';

const badRequest = (message: string) => new ParleyError(ErrorCode.BAD_REQUEST, message);
export const invalidCommit = (message: string) => new ParleyError(ErrorCode.INVALID_COMMIT, message);

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
 * A commit made in `epoch` for this group, in the public framing (RFC 9420 §6.2): by a member
 * (§12.4), or, for `external`, by a device joining from the GroupInfo (§12.4.3.2).
 */
export function checkCommit(bytes: Uint8Array, groupId: Uint8Array, epoch: number, external: boolean): void {
  const framed = framedFor(bytes, 'commit', 'commit', groupId);
  if (framed.encrypted) throw invalidCommit('commit must be an MLS PublicMessage (RFC 9420 §6.2), so the server can check it');
  if (framed.external !== external) {
    throw badRequest(external ? 'commit must be an external commit (RFC 9420 §12.4.3.2)' : 'an external commit goes to group.rejoin');
  }
  if (epochNumber(framed.epoch, 'commit') !== epoch) throw badRequest(`commit was made in epoch ${framed.epoch}, not ${epoch}`);
}

/** A Welcome for new members: returns the KeyPackageRefs it is addressed to (RFC 9420 §12.4.3.1). */
export function welcomeRecipients(bytes: Uint8Array): Uint8Array[] {
  const framed = framing(bytes, 'welcome');
  if (framed.kind !== 'welcome') throw badRequest(`welcome must be an MLS Welcome, not ${framed.kind}`);
  return framed.keyPackageRefs;
}

/** An application message for this group; returns the epoch it was encrypted in. */
export function checkApplicationMessage(bytes: Uint8Array, groupId: Uint8Array): number {
  return epochNumber(framedFor(bytes, 'message', 'application', groupId).epoch, 'message');
}

/** A new group's first GroupInfo: signed, and holding one leaf, the creator's device key. */
export async function checkNewGroupInfo(groupInfo: Uint8Array, creatorKey: Uint8Array): Promise<void> {
  let leaves;
  try {
    ({ leaves } = await verifyGroupInfo(groupInfo));
  } catch (error) {
    throw badRequest(`groupInfo does not verify: ${(error as Error).message}`);
  }
  const [only] = leaves;
  if (leaves.length !== 1 || only?.leafIndex !== 0 || !equalBytes(only.signaturePublicKey, creatorKey)) {
    throw badRequest("a new group's GroupInfo must hold one leaf, signed with this device's key");
  }
}

/** `verifyPublicCommit`, with its failures as INVALID_COMMIT naming what is wrong. */
export async function verifiedCommit(input: { groupInfo: Uint8Array; commit: Uint8Array; nextGroupInfo: Uint8Array }): Promise<MlsCheckedCommit> {
  try {
    return await verifyPublicCommit(input);
  } catch (error) {
    throw invalidCommit(`the commit does not check out against the group's current state: ${(error as Error).message.replace(/^mls: /, '')}`);
  }
}

/** What the storage records of a commit's leaves once it is accepted. */
export interface LeafChanges {
  removed: number[];
  added: GroupLeaf[];
}

function leafAt(leaves: readonly GroupLeaf[], leafIndex: number, key: Uint8Array): GroupLeaf {
  const leaf = leaves.find((candidate) => candidate.leafIndex === leafIndex);
  // Cannot happen while the stored GroupInfo and leaves move together; refuse rather than guess.
  if (!leaf || !equalBytes(leaf.signatureKey, key)) throw invalidCommit(`leaf ${leafIndex} is not the leaf the server has on record`);
  return leaf;
}

const named = (devices: readonly (DeviceRef | undefined)[]): string => devices.map((device) => (device ? deviceKey(device) : 'an unknown device')).join(', ');

/**
 * A member's commit (not external) against the group's leaves: made from `session`'s own leaf
 * with its directory key, removing exactly the declared routed devices and adding exactly the
 * declared devices (by their directory keys), and a Welcome for exactly those KeyPackages.
 */
export function matchMemberCommit(
  checked: MlsCheckedCommit,
  context: { leaves: readonly GroupLeaf[]; session: DeviceRecord; routed: readonly DeviceRef[]; directory: ReadonlyMap<string, DeviceRecord> },
  declared: { add: readonly DeviceRef[]; remove: readonly DeviceRef[]; welcome: readonly Uint8Array[] },
): LeafChanges {
  const { leaves, session, routed, directory } = context;
  if (checked.external) throw badRequest('an external commit goes to group.rejoin');
  const own = leaves.find((leaf) => leaf.leafIndex === checked.committer.leafIndex);
  if (!own?.device || !sameDevice(own.device, session) || !equalBytes(own.signatureKey, session.publicKey)) {
    throw invalidCommit(`the commit comes from leaf ${checked.committer.leafIndex}, which is not this device's`);
  }
  if (!equalBytes(checked.committer.signaturePublicKey, session.publicKey)) throw invalidCommit("the commit gives this device's leaf another key than the directory's");

  const removedDevices = checked.removed.map((leaf) => leafAt(leaves, leaf.leafIndex, leaf.signaturePublicKey).device);
  const removedRouted = removedDevices.filter((device): device is DeviceRef => device !== undefined && routed.some((member) => sameDevice(member, device)));
  const undeclared = removedRouted.filter((device) => !declared.remove.some((other) => sameDevice(other, device)));
  if (undeclared.length > 0) throw invalidCommit(`the commit removes ${named(undeclared)}, which remove does not list`);
  const kept = declared.remove.filter((device) => !removedRouted.some((other) => sameDevice(other, device)));
  if (kept.length > 0) throw invalidCommit(`remove lists ${named(kept)}, but the commit does not remove their leaves`);

  const byKey = new Map(declared.add.map((device) => [toHex(directory.get(deviceKey(device))?.publicKey ?? new Uint8Array()), device]));
  const added: GroupLeaf[] = checked.added.map((leaf) => {
    const device = byKey.get(toHex(leaf.signaturePublicKey));
    if (!device) throw invalidCommit('the commit adds a KeyPackage that is not the key of any device in add');
    byKey.delete(toHex(leaf.signaturePublicKey));
    return { leafIndex: leaf.leafIndex, signatureKey: leaf.signaturePublicKey, device };
  });
  if (byKey.size > 0) throw invalidCommit(`add lists ${named([...byKey.values()])}, but the commit carries no KeyPackage of theirs`);
  const refs = new Set(checked.added.map((leaf) => toHex(leaf.keyPackageRef)));
  if (declared.welcome.length !== refs.size || !declared.welcome.every((ref) => refs.has(toHex(ref)))) {
    throw invalidCommit("the Welcome is not addressed to exactly the commit's added KeyPackages (RFC 9420 §12.4.3.1)");
  }
  return { removed: checked.removed.map((leaf) => leaf.leafIndex), added };
}

/**
 * An external commit (RFC 9420 §12.4.3.2) by `session`: its new leaf carries the session device's
 * directory key, and if the device already has a leaf, the commit replaces exactly that one.
 */
export function matchRejoin(checked: MlsCheckedCommit, context: { leaves: readonly GroupLeaf[]; session: DeviceRecord }): LeafChanges {
  const { leaves, session } = context;
  if (!checked.external) throw badRequest('group.rejoin takes an external commit (RFC 9420 §12.4.3.2)');
  if (!equalBytes(checked.committer.signaturePublicKey, session.publicKey)) throw invalidCommit("the joining leaf does not carry this device's key");
  const removed = checked.removed.map((leaf) => leafAt(leaves, leaf.leafIndex, leaf.signaturePublicKey));
  if (removed.some((leaf) => leaf.device !== undefined && !sameDevice(leaf.device, session))) throw invalidCommit("an external commit may remove only the joiner's own old leaf");
  const old = leaves.filter((leaf) => leaf.device !== undefined && sameDevice(leaf.device, session));
  if (old.some((leaf) => !removed.includes(leaf))) throw invalidCommit("this device is in the group already: its external commit must replace its old leaf");
  return {
    removed: removed.map((leaf) => leaf.leafIndex),
    added: [{ leafIndex: checked.committer.leafIndex, signatureKey: checked.committer.signaturePublicKey, device: { username: session.username, deviceId: session.deviceId } }],
  };
}
