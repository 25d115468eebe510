/** @module Human-comparable fingerprints of public keys, in the familiar `SHA256:` form. */
import { sha256 } from '@noble/hashes/sha2.js';
import { toBase64Url } from '@parley/protocol';

export function fingerprint(publicKey: Uint8Array): string {
  return `SHA256:${toBase64Url(sha256(publicKey))}`;
}

/** Compare fingerprints as people type them: the prefix is optional, surrounding space ignored. */
export function sameFingerprint(a: string, b: string): boolean {
  const strip = (value: string) => value.trim().replace(/^SHA256:/i, '');
  return strip(a) === strip(b);
}
