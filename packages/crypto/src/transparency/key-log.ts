/**
 * @module What the key-transparency log (DESIGN §11) hashes and signs: the digest of a directory
 * entry a leaf vouches for, and the signed tree head, signed with the server's Noise static key.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeCbor, type DirectoryEntry, type SignedTreeHead } from '@parley/protocol';
import { xeddsaSign, xeddsaVerify } from './xeddsa.js';

type Certificate = DirectoryEntry['devices'][number];
const byDeviceId = (a: { deviceId: string }, b: { deviceId: string }) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0);
const certificate = (device: Certificate) => [device.deviceId, device.name, device.publicKey, device.signature];

/**
 * SHA-256 over a canonical encoding of the whole entry: identity key, active devices and revoked
 * ones (with when), each sorted by device id, so the server's order does not matter.
 */
export function directoryEntryDigest(entry: DirectoryEntry): Uint8Array {
  return sha256(
    encodeCbor([
      'parley/key-log-entry/v1',
      entry.username,
      entry.identityKey,
      [...entry.devices].sort(byDeviceId).map(certificate),
      [...entry.revokedDevices].sort(byDeviceId).map((device) => [...certificate(device), device.revokedAt ?? 0]),
    ]),
  );
}

export type TreeHead = Omit<SignedTreeHead, 'signature'>;

/** The exact bytes a tree head's signature covers, with their own context string. */
export function treeHeadMessage(head: TreeHead): Uint8Array {
  return encodeCbor(['parley/tree-head/v1', head.size, head.rootHash, head.timestamp]);
}

/** Sign (size, root, timestamp) with the server's X25519 static private key. */
export function signTreeHead(serverPrivateKey: Uint8Array, head: TreeHead): SignedTreeHead {
  return { size: head.size, rootHash: head.rootHash, timestamp: head.timestamp, signature: xeddsaSign(serverPrivateKey, treeHeadMessage(head)) };
}

/** Is `head` signed by the server whose static public key is `serverPublicKey`? */
export function verifyTreeHead(serverPublicKey: Uint8Array, head: SignedTreeHead): boolean {
  return xeddsaVerify(serverPublicKey, treeHeadMessage(head), head.signature);
}
