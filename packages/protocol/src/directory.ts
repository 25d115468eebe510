/** @module Directory ops: users' identity keys and device certificates, and their MLS KeyPackages. */
import { deviceCertificateSchema } from './account.js';
import { deviceIdSchema, usernameSchema } from './identifiers.js';
import { deviceCertificateShape, ed25519PublicKey, empty, op, type OpSpec } from './op-parts.js';
import { array, boolean, bytes, object, optional, uint, type Infer } from './schema.js';
import { keyLogProofSchema } from './transparency.js';

const keyPackage = bytes({ min: 1, max: 4096 });

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

export const directoryOps = {
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
} as const satisfies Record<string, OpSpec>;
