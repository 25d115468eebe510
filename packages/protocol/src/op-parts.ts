/** @module The building blocks the op modules share: key and message sizes, the device certificate, the op helper. */
import { deviceIdSchema } from './identifiers.js';
import { bytes, object, string, type Schema } from './schema.js';

export const ed25519PublicKey = bytes({ length: 32 });
export const ed25519Signature = bytes({ length: 64 });
/** MLS messages (RFC 9420): commits, Welcomes and GroupInfos carry the ratchet tree, so allow room. */
export const mlsMessage = bytes({ min: 1, max: 512 * 1024 });

/** A device's signing key bound to the account by the identity key's signature (DESIGN §5). */
export const deviceCertificateShape = {
  deviceId: deviceIdSchema,
  name: string({ min: 1, max: 64 }),
  publicKey: ed25519PublicKey,
  signature: ed25519Signature,
};

export const empty = object({});

export interface OpSpec {
  request: Schema<unknown>;
  response: Schema<unknown>;
}
export const op = <Req, Res>(request: Schema<Req>, response: Schema<Res>) => ({ request, response });
