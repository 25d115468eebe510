/** @module Users with real keys and certificates, for unit tests. */
import { deviceCertificateMessage, directoryEntryDigest, generateSigningKeyPair, generateStaticKeyPair, leafHash, sign, signTreeHead, type MlsMember, type SigningKeyPair } from '@parley/crypto';
import { encodeKeyLogLeaf, type DeviceCertificate, type DeviceRef, type DirectoryEntry, type ResponseOf } from '@parley/protocol';
import { encodeCredential } from './mls-credentials.js';

/** A user with one device: keys, certificate, MLS member and directory entry, all real. */
export interface TestUser {
  device: DeviceRef;
  identity: SigningKeyPair;
  certificate: DeviceCertificate;
  member: MlsMember;
  entry: DirectoryEntry;
  /** What the server answers a lookup of this user with: the entry and its key-log proof. */
  lookup: ResponseOf<'directory.lookup'>;
}

/** The Noise static key of the server the test users' answers come from. */
export const testServerKey = generateStaticKeyPair();

/** A lookup answer for `entry`, proven by a log of one leaf vouching for it, signed by `testServerKey`. */
export function lookupAnswer(entry: DirectoryEntry, at = 1_700_000_000_000): ResponseOf<'directory.lookup'> {
  const leaf = encodeKeyLogLeaf({ v: 1, username: entry.username, event: 'registered', key: entry.identityKey, at, entry: directoryEntryDigest(entry) });
  const head = signTreeHead(testServerKey.privateKey, { size: 1, rootHash: leafHash(leaf), timestamp: at });
  return { ...entry, proof: { leaf, index: 0, path: [], head } };
}

/** The entry of a lookup answer, as the client's key log hands it on once it checked the proof. */
export function withoutProof({ proof: _proof, ...entry }: ResponseOf<'directory.lookup'>): DirectoryEntry {
  return entry;
}

export function testUser(username: string, deviceId = `${username}-device-1`): TestUser {
  const identity = generateSigningKeyPair();
  const keys = generateSigningKeyPair();
  const unsigned = { deviceId, name: 'phone', publicKey: keys.publicKey };
  const certificate = { ...unsigned, signature: sign(identity.privateKey, deviceCertificateMessage({ username, ...unsigned })) };
  const entry = { username, identityKey: identity.publicKey, devices: [certificate], revokedDevices: [] };
  return {
    device: { username, deviceId },
    identity,
    certificate,
    member: { identity: encodeCredential({ username, certificate }), signaturePrivateKey: keys.privateKey, signaturePublicKey: keys.publicKey },
    entry,
    lookup: lookupAnswer(entry),
  };
}
