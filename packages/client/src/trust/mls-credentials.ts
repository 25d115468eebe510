/**
 * @module MLS credentials (RFC 9420 §5.3): what a Parley leaf says about who it is. A credential
 * is the username with the device certificate the user's identity key signed.
 */
import type { MlsMember } from '@parley/crypto';
import { decodeCbor, deviceCertificateSchema, encodeCbor, s, usernameSchema, type DeviceRef, type Infer } from '@parley/protocol';
import type { DeviceAccount, DeviceSecrets } from '../store/profile.js';

const credentialSchema = s.object({ username: usernameSchema, certificate: deviceCertificateSchema });
export type Credential = Infer<typeof credentialSchema>;

export function encodeCredential(credential: Credential): Uint8Array {
  return encodeCbor(credential);
}

export function decodeCredential(bytes: Uint8Array): Credential {
  return credentialSchema.parse(decodeCbor(bytes, 4096));
}

/** Who a credential names, or undefined if it is not a Parley credential (such a leaf is nobody). */
export function credentialOwner(bytes: Uint8Array): DeviceRef | undefined {
  try {
    const { username, certificate } = decodeCredential(bytes);
    return { username, deviceId: certificate.deviceId };
  } catch {
    return undefined;
  }
}

/** This device as an MLS member: its credential and its signature key pair. */
export function deviceMember(account: DeviceAccount, secrets: DeviceSecrets): MlsMember {
  const identity = encodeCredential({
    username: account.username,
    certificate: { deviceId: account.deviceId, name: account.deviceName, publicKey: account.devicePublicKey, signature: account.deviceCertificate },
  });
  return { identity, signaturePrivateKey: secrets.devicePrivateKey, signaturePublicKey: account.devicePublicKey };
}
