/** @module Account ops: registration and login (OPAQUE, RFC 9807), devices, sessions, password change and recovery. */
import type { PowChallengeWire } from './errors.js';
import { deviceIdSchema, deviceRefSchema, usernameSchema } from './identifiers.js';
import { deviceCertificateShape, ed25519PublicKey, ed25519Signature, empty, op, type OpSpec } from './op-parts.js';
import { array, boolean, bytes, object, oneOf, optional, string, uint, type Infer, type Schema } from './schema.js';

// OPAQUE messages (RFC 9807) for ristretto255 are under 200 bytes; leave room for other suites.
const opaqueMessage = bytes({ min: 1, max: 1024 });
const sealedBackup = bytes({ min: 1, max: 16 * 1024 });
const opaqueRecord = bytes({ min: 1, max: 1024 });

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

export const accountOps = {
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
} as const satisfies Record<string, OpSpec>;
