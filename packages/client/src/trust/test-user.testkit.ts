/** @module Users with real keys and certificates, for unit tests. */
import { deviceCertificateMessage, generateSigningKeyPair, sign, type MlsMember, type SigningKeyPair } from '@parley/crypto';
import type { DeviceCertificate, DeviceRef, DirectoryEntry } from '@parley/protocol';
import { encodeCredential } from './mls-credentials.js';

/** A user with one device: keys, certificate, MLS member and directory entry, all real. */
export interface TestUser {
  device: DeviceRef;
  identity: SigningKeyPair;
  certificate: DeviceCertificate;
  member: MlsMember;
  entry: DirectoryEntry;
}

export function testUser(username: string, deviceId = `${username}-device-1`): TestUser {
  const identity = generateSigningKeyPair();
  const keys = generateSigningKeyPair();
  const unsigned = { deviceId, name: 'phone', publicKey: keys.publicKey };
  const certificate = { ...unsigned, signature: sign(identity.privateKey, deviceCertificateMessage({ username, ...unsigned })) };
  return {
    device: { username, deviceId },
    identity,
    certificate,
    member: { identity: encodeCredential({ username, certificate }), signaturePrivateKey: keys.privateKey, signaturePublicKey: keys.publicKey },
    entry: { username, identityKey: identity.publicKey, devices: [certificate], revokedDevices: [] },
  };
}
