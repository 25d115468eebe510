/** @module The op registry: one request and one response schema per op, shared by server and clients. */
import { directEvents, directOps } from './direct.js';
import type { PowChallengeWire } from './errors.js';
import { deviceIdSchema, deviceRefSchema, usernameSchema } from './identifiers.js';
import { array, boolean, bytes, object, oneOf, optional, string, uint, type Infer, type Schema } from './schema.js';
import { timelockIdSchema, timelockKeySchema, timelockPuzzleSchema, timelockReleaseSchema } from './timelock.js';
import { keyLogProofSchema, transparencyOps } from './transparency.js';

const ed25519PublicKey = bytes({ length: 32 });
const ed25519Signature = bytes({ length: 64 });
// OPAQUE messages (RFC 9807) for ristretto255 are under 200 bytes; leave room for other suites.
const opaqueMessage = bytes({ min: 1, max: 1024 });
const sealedBackup = bytes({ min: 1, max: 16 * 1024 });
const opaqueRecord = bytes({ min: 1, max: 1024 });

/** A device's signing key bound to the account by the identity key's signature (DESIGN §5). */
const deviceCertificateShape = {
  deviceId: deviceIdSchema,
  name: string({ min: 1, max: 64 }),
  publicKey: ed25519PublicKey,
  signature: ed25519Signature,
};
export const deviceCertificateSchema = object(deviceCertificateShape);
export type DeviceCertificate = Infer<typeof deviceCertificateSchema>;

/** Who a signed-in connection is: the device it authenticated as. */
export const sessionSchema = deviceRefSchema;

export const deviceInfoSchema = object({
  deviceId: deviceIdSchema,
  name: string({ min: 1, max: 64 }),
  publicKey: ed25519PublicKey,
  createdAt: uint(),
  lastSeenAt: optional(uint()),
  current: boolean(),
});
export type DeviceInfo = Infer<typeof deviceInfoSchema>;

const empty = object({});

/** Most contacts and most blocked users one account keeps (LIMIT_REACHED beyond). */
export const MAX_CONTACTS = 5000;
export const MAX_BLOCKS = 1000;
/** My contacts and the users I block, sorted (DESIGN §6 consent). */
export const contactListsSchema = object({ contacts: array(usernameSchema, { max: MAX_CONTACTS }), blocked: array(usernameSchema, { max: MAX_BLOCKS }) });
export type ContactLists = Infer<typeof contactListsSchema>;

/**
 * What a proof of work is for (DESIGN §10): registration, or a proof of a credential (login.start,
 * and recover.start and password.verify.start, which can test a password or recovery key as well).
 */
export const powContextSchema = oneOf(['register', 'login'] as const);
export type PowContext = Infer<typeof powContextSchema>;
const powChallengeFields = {
  context: powContextSchema,
  nonce: bytes({ length: 16 }),
  difficulty: uint({ max: 32 }),
  expiresAt: uint(),
  mac: bytes({ length: 32 }),
};
/** A challenge signed by the server (also carried by a POW_REQUIRED error). */
export const powChallengeSchema: Schema<PowChallengeWire> = object(powChallengeFields);
/** A solved challenge, sent with the request it is bound to (crypto `powBinding`). */
export const powSolutionSchema = object({ ...powChallengeFields, counter: uint() });
export type PowSolution = Infer<typeof powSolutionSchema>;

/** MLS messages (RFC 9420): commits, Welcomes and GroupInfos carry the ratchet tree, so allow room. */
const mlsMessage = bytes({ min: 1, max: 512 * 1024 });
const keyPackage = bytes({ min: 1, max: 4096 });
export const groupIdSchema = bytes({ length: 16 });
const epoch = uint();
const seq = uint();

const directoryEntryShape = {
  username: usernameSchema,
  identityKey: ed25519PublicKey,
  devices: array(deviceCertificateSchema, { max: 100 }),
  /**
   * Revoked devices and when (Unix ms): their credentials were valid in what the server stored
   * before then (groups now remove them), and are refused in anything stored after.
   */
  revokedDevices: array(object({ ...deviceCertificateShape, revokedAt: optional(uint()) }), { max: 1000 }),
};
export const directoryEntrySchema = object(directoryEntryShape);
export type DirectoryEntry = Infer<typeof directoryEntrySchema>;

export const groupKindSchema = oneOf(['direct', 'group'] as const);
export type GroupKind = Infer<typeof groupKindSchema>;

/** The Delivery Service's view of a group (DESIGN §6): routing list, admins, epoch. No content. */
export const groupSummarySchema = object({
  groupId: groupIdSchema,
  kind: groupKindSchema,
  epoch,
  createdBy: usernameSchema,
  admins: array(usernameSchema, { max: 10_000 }),
  members: array(deviceRefSchema, { max: 100_000 }),
  /** Sequence number of the last entry in the group's log. */
  lastSeq: seq,
});
export type GroupSummary = Infer<typeof groupSummarySchema>;

/** One entry of a group's ordered log, as delivered to a member device. */
export const logEntrySchema = object({
  groupId: groupIdSchema,
  seq,
  kind: oneOf(['commit', 'message'] as const),
  epoch,
  sender: deviceRefSchema,
  sentAt: uint(),
  payload: mlsMessage,
});
export type LogEntry = Infer<typeof logEntrySchema>;

/**
 * A per-device mailbox entry: a Welcome into a group, notice of removal from one, a chunk of
 * history sent by another device of the account (then `groupId` is the transfer id, `seq` the chunk
 * index), or a time-lock release (DESIGN §8: `payload` is an encoded `TimelockRelease`, `sender` the
 * device that asked for the lock, `seq` the group's last entry when it was released).
 */
export const mailboxEntrySchema = object({
  id: uint(),
  kind: oneOf(['welcome', 'removed', 'transfer', 'release'] as const),
  groupId: groupIdSchema,
  /** The log position the device starts after (the commit that added or removed it); a transfer's chunk index. */
  seq,
  sender: deviceRefSchema,
  sentAt: uint(),
  payload: optional(mlsMessage),
});
export type MailboxEntry = Infer<typeof mailboxEntrySchema>;

/** Log entries a device can no longer get (retention or quota), reported instead of silently lost. */
export const gapSchema = object({ groupId: groupIdSchema, fromSeq: seq, toSeq: seq, reason: oneOf(['retention', 'quota'] as const) });
export type Gap = Infer<typeof gapSchema>;

/** Part of one group's log: `fromSeq` to `toSeq`, both included; to the end without `toSeq`. */
export const fetchRangeSchema = object({ groupId: groupIdSchema, fromSeq: seq, toSeq: optional(seq) });
export type FetchRange = Infer<typeof fetchRangeSchema>;

const commitBundle = {
  groupId: groupIdSchema,
  /** The epoch the commit was made in; the server accepts only the current one (first wins). */
  epoch,
  commit: mlsMessage,
  /** GroupInfo for the new epoch, kept for external joins. */
  groupInfo: mlsMessage,
};

interface OpSpec {
  request: Schema<unknown>;
  response: Schema<unknown>;
}
const op = <Req, Res>(request: Schema<Req>, response: Schema<Res>) => ({ request, response });

export const ops = {
  /** Liveness check; also what a client sends to keep an idle connection open. */
  ping: op(empty, object({ time: uint() })),
  /**
   * A proof-of-work challenge for registering or logging in (DESIGN §10). Difficulty follows load
   * and is 0 when the server is quiet; clients may also skip this and answer POW_REQUIRED.
   */
  'pow.challenge': op(object({ context: powContextSchema }), object({ challenge: powChallengeSchema })),
  /** OPAQUE registration, step 1 (RFC 9807 §5.1); `pow` when the server demands it (POW_REQUIRED). */
  'register.start': op(object({ username: usernameSchema, request: opaqueMessage, pow: optional(powSolutionSchema) }), object({ response: opaqueMessage })),
  /** OPAQUE registration, step 2, with the account's public keys, its first device and its sealed key backups. */
  'register.finish': op(
    object({
      record: bytes({ min: 1, max: 1024 }),
      identityKey: ed25519PublicKey,
      recoveryKey: ed25519PublicKey,
      device: deviceCertificateSchema,
      backup: sealedBackup,
      recoveryBackup: sealedBackup,
    }),
    sessionSchema,
  ),
  /** OPAQUE login, step 1 (RFC 9807 §6). Unknown users get a fake response: no enumeration. `pow` as for register. */
  'login.start': op(object({ username: usernameSchema, request: opaqueMessage, pow: optional(powSolutionSchema) }), object({ response: opaqueMessage })),
  /** OPAQUE login, step 2; on success returns what a new device needs to open the key backup. */
  'login.finish': op(object({ finish: opaqueMessage }), object({ identityKey: ed25519PublicKey, backup: sealedBackup })),
  /** After a password login: enrol this connection's new device. */
  'device.add': op(object({ device: deviceCertificateSchema }), sessionSchema),
  /** Reconnect a known device: sign the channel's handshake hash with the device key (no bearer token). */
  'device.auth': op(
    object({ username: usernameSchema, deviceId: deviceIdSchema, signature: ed25519Signature }),
    sessionSchema,
  ),
  'account.whoami': op(empty, object({ username: usernameSchema, deviceId: deviceIdSchema, identityKey: ed25519PublicKey })),
  'device.list': op(empty, object({ devices: array(deviceInfoSchema, { max: 1000 }) })),
  'device.revoke': op(object({ deviceId: deviceIdSchema }), empty),
  /** End this device's session (revoking the device), or every device's with `all`. */
  'session.logout': op(object({ all: optional(boolean()) }), object({ revoked: uint() })),

  /**
   * Password change (DESIGN §5), step 1, on a signed-in device's connection: prove the current
   * password again with an OPAQUE login (RFC 9807 §6). `pow` as for login (same context).
   */
  'password.verify.start': op(object({ request: opaqueMessage, pow: optional(powSolutionSchema) }), object({ response: opaqueMessage })),
  /** Step 2: on success, the current key backup, for the client to re-seal under the new password. */
  'password.verify.finish': op(object({ finish: opaqueMessage }), object({ backup: sealedBackup })),
  /**
   * Step 3: OPAQUE registration of the new password; only right after a verify.finish on this
   * connection. The one-time nonce goes into the signed change, so it cannot be replayed.
   */
  'password.change.start': op(object({ request: opaqueMessage }), object({ response: opaqueMessage, nonce: bytes({ length: 32 }) })),
  /**
   * Step 4: the new record and re-sealed backup, signed by the identity key over
   * `passwordChangeMessage` (with step 3's nonce); both replace the old ones at once. One change per proof.
   */
  'password.change.finish': op(object({ record: opaqueRecord, backup: sealedBackup, signature: ed25519Signature }), empty),
  /**
   * Password reset with the recovery key, step 1 (anonymous): the OPAQUE registration request for
   * the new password. Returns the recovery backup to open with the recovery key, and a one-time
   * nonce to sign. Unknown users get a fake that looks the same (no enumeration). `pow` as for
   * login (same context).
   */
  'recover.start': op(
    object({ username: usernameSchema, request: opaqueMessage, pow: optional(powSolutionSchema) }),
    object({ response: opaqueMessage, identityKey: ed25519PublicKey, recoveryBackup: sealedBackup, nonce: bytes({ length: 32 }) }),
  ),
  /**
   * Step 2: the new record and password backup, signed by the recovery signing key over
   * `recoveryMessage` (with the nonce). On success the connection may enrol a device (`device.add`).
   */
  'recover.finish': op(object({ record: opaqueRecord, backup: sealedBackup, signature: ed25519Signature }), empty),

  /**
   * A user's identity key and active device certificates: what clients check MLS credentials
   * against, with the inclusion proof of the user's latest key-log leaf (DESIGN §11).
   */
  'directory.lookup': op(object({ username: usernameSchema }), object({ ...directoryEntryShape, proof: keyLogProofSchema })),
  /** Upload KeyPackages for this device; `lastResort` replaces the previous last-resort one. */
  'keys.upload': op(object({ keyPackages: array(keyPackage, { max: 100 }), lastResort: optional(keyPackage) }), object({ count: uint() })),
  /** Claim one KeyPackage per active device of `username`; each claim consumes one (last resort reused). */
  'keys.claim': op(
    object({ username: usernameSchema }),
    object({ devices: array(object({ deviceId: deviceIdSchema, keyPackage }), { max: 100 }) }),
  ),
  /** How many one-time KeyPackages this device has left, so it can replenish. */
  'keys.count': op(empty, object({ count: uint(), lastResort: boolean() })),

  /** Register a new group at epoch 0 with this device as its only member and admin. */
  'group.create': op(object({ groupId: groupIdSchema, kind: groupKindSchema, groupInfo: mlsMessage }), groupSummarySchema),
  /**
   * A commit bundle (DESIGN §6): stored atomically if `epoch` is current, then fanned out; Welcomes
   * queued for the added devices. Adding or removing other users' devices needs an admin.
   */
  'group.commit': op(
    object({
      ...commitBundle,
      welcome: optional(mlsMessage),
      add: array(deviceRefSchema, { max: 1000 }),
      remove: array(deviceRefSchema, { max: 1000 }),
    }),
    object({ seq, epoch }),
  ),
  /** Latest GroupInfo of a group this user belongs to, for rejoining by external commit. */
  'group.info': op(object({ groupId: groupIdSchema }), object({ epoch, groupInfo: mlsMessage })),
  /** An external commit (RFC 9420 §12.4.3.2) by a device of a member user that lost its state. */
  'group.rejoin': op(object(commitBundle), object({ seq, epoch })),
  /**
   * An application message for the group's current epoch. `resend`: these exact bytes may have
   * been stored already (a reply was lost); if so, the answer is their first `seq`, even after the
   * epoch moved on, and nothing is stored twice.
   */
  'group.send': op(object({ groupId: groupIdSchema, epoch, message: mlsMessage, resend: optional(boolean()) }), object({ seq })),
  'group.list': op(empty, object({ groups: array(groupSummarySchema, { max: 10_000 }) })),
  'group.get': op(object({ groupId: groupIdSchema }), groupSummarySchema),
  'group.promote': op(object({ groupId: groupIdSchema, username: usernameSchema }), groupSummarySchema),
  /**
   * Stop routing the group to every device of this user (they get a `removed` notice). The other
   * members then commit the removal of the user's leaves, which any member may do once unrouted.
   */
  'group.leave': op(object({ groupId: groupIdSchema }), empty),

  /**
   * New log entries for this device's groups and its mailbox, oldest first, at most `limit`.
   * With `range`, only that group's entries from `fromSeq` to `toSeq` (inclusive; to the end
   * without it) that this device has not acknowledged, and that group's gaps, no mailbox: what
   * a client fetches to fill a hole before a pushed entry, or to catch one conversation up.
   */
  'sync.fetch': op(
    object({ limit: optional(uint({ max: 1000 })), range: optional(fetchRangeSchema) }),
    object({
      mailbox: array(mailboxEntrySchema, { max: 1000 }),
      entries: array(logEntrySchema, { max: 1000 }),
      gaps: array(gapSchema, { max: 1000 }),
      more: boolean(),
    }),
  ),
  /** Advance this device's cursors; the server deletes what every member device has acknowledged. */
  'sync.ack': op(
    object({ mailbox: array(uint(), { max: 1000 }), cursors: array(object({ groupId: groupIdSchema, seq }), { max: 1000 }) }),
    empty,
  ),

  /**
   * A chunk of message history for another device of my account, sealed to that device (the server
   * cannot read it); queued in its mailbox.
   */
  'device.transfer': op(
    object({ to: deviceIdSchema, transferId: bytes({ length: 16 }), index: uint({ max: 100_000 }), payload: bytes({ min: 1, max: 512 * 1024 }) }),
    empty,
  ),

  /**
   * A time lock for a message to a group this device is in (DESIGN §8): the server makes a fresh
   * challenge key and an RSW puzzle for it whose squarings take until `unlockAt` (Unix ms) at the
   * server's reference speed, and releases the key to the group's member devices at `unlockAt`.
   * BAD_INPUT for a time in the past or beyond the server's horizon.
   */
  'timelock.lock': op(
    object({ groupId: groupIdSchema, unlockAt: uint() }),
    object({ lockId: timelockIdSchema, unlockAt: uint(), puzzle: timelockPuzzleSchema, key: timelockKeySchema }),
  ),
  /**
   * The released keys among these locks, for locks of groups this device is routed in; locks not
   * yet released, unknown, or of other groups are left out (a removed member gets nothing).
   */
  'timelock.fetch': op(
    object({ lockIds: array(timelockIdSchema, { max: 100 }) }),
    object({ releases: array(timelockReleaseSchema, { max: 100 }) }),
  ),

  /**
   * Consent (DESIGN §6): my contacts and the users I block, kept by the server. Presence is shown
   * only between mutual contacts; a user I block cannot claim my KeyPackages, add me to a group or
   * write into a direct conversation with me (BLOCKED). Blocking also drops the contact.
   */
  'contacts.add': op(object({ username: usernameSchema }), empty),
  'contacts.remove': op(object({ username: usernameSchema }), empty),
  'contacts.block': op(object({ username: usernameSchema }), empty),
  'contacts.unblock': op(object({ username: usernameSchema }), empty),
  'contacts.list': op(empty, contactListsSchema),

  /** Online users visible to me: mutual contacts (or everyone on an open server), paged. */
  'presence.list': op(
    object({ after: optional(usernameSchema), limit: optional(uint({ max: 200 })) }),
    object({ users: array(usernameSchema, { max: 200 }), next: optional(usernameSchema) }),
  ),
  ...directOps,
  ...transparencyOps,
} as const satisfies Record<string, OpSpec>;

export type OpName = keyof typeof ops;
export type RequestOf<O extends OpName> = Infer<(typeof ops)[O]['request']>;
export type ResponseOf<O extends OpName> = Infer<(typeof ops)[O]['response']>;

export function isOpName(value: unknown): value is OpName {
  return typeof value === 'string' && Object.hasOwn(ops, value);
}

/** Pushes from the server, outside any request. */
export const events = {
  /** This device was revoked or logged out elsewhere; the server closes the connection next. */
  'session.revoked': object({ reason: string({ max: 200 }) }),
  /** A new entry in one of this device's groups. */
  message: logEntrySchema,
  /** A new mailbox entry for this device. */
  mailbox: mailboxEntrySchema,
  /** A visible user came online or went offline. */
  presence: object({ username: usernameSchema, online: boolean() }),
  ...directEvents,
} as const satisfies Record<string, Schema<unknown>>;

export type EventKind = keyof typeof events;
export type EventOf<K extends EventKind> = Infer<(typeof events)[K]>;

export function isEventKind(value: unknown): value is EventKind {
  return typeof value === 'string' && Object.hasOwn(events, value);
}
