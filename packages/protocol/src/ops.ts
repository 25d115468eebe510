/** @module The op registry: one request and one response schema per op, shared by server and clients. */
import { deviceIdSchema, usernameSchema } from './identifiers.js';
import { array, boolean, bytes, object, optional, string, uint, type Infer, type Schema } from './schema.js';

const ed25519PublicKey = bytes({ length: 32 });
const ed25519Signature = bytes({ length: 64 });
// OPAQUE messages (RFC 9807) for ristretto255 are under 200 bytes; leave room for other suites.
const opaqueMessage = bytes({ min: 1, max: 1024 });
const sealedBackup = bytes({ min: 1, max: 16 * 1024 });

/** A device's signing key bound to the account by the identity key's signature (DESIGN §5). */
export const deviceCertificateSchema = object({
  deviceId: deviceIdSchema,
  name: string({ min: 1, max: 64 }),
  publicKey: ed25519PublicKey,
  signature: ed25519Signature,
});
export type DeviceCertificate = Infer<typeof deviceCertificateSchema>;

export const sessionSchema = object({ username: usernameSchema, deviceId: deviceIdSchema });
export type Session = Infer<typeof sessionSchema>;

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

interface OpSpec {
  request: Schema<unknown>;
  response: Schema<unknown>;
}
const op = <Req, Res>(request: Schema<Req>, response: Schema<Res>) => ({ request, response });

export const ops = {
  /** Liveness check; also what a client sends to keep an idle connection open. */
  ping: op(empty, object({ time: uint() })),
  /** OPAQUE registration, step 1 (RFC 9807 §5.1). */
  'register.start': op(object({ username: usernameSchema, request: opaqueMessage }), object({ response: opaqueMessage })),
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
  /** OPAQUE login, step 1 (RFC 9807 §6). Unknown users get a fake response: no enumeration. */
  'login.start': op(object({ username: usernameSchema, request: opaqueMessage }), object({ response: opaqueMessage })),
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
} as const satisfies Record<string, Schema<unknown>>;

export type EventKind = keyof typeof events;
export type EventOf<K extends EventKind> = Infer<(typeof events)[K]>;

export function isEventKind(value: unknown): value is EventKind {
  return typeof value === 'string' && Object.hasOwn(events, value);
}
