/** @module X25519 key pairs and the DH() function of Noise rev 34 §12.1, on @noble/curves. */
import { x25519 } from '@noble/curves/ed25519.js';
import { CryptoError } from '../errors.js';
import { requireBytes } from './fail.js';
import type { StaticKeyPair } from './types.js';

/** Noise rev 34 §12.1: DHLEN for 25519. */
export const DH_LEN = 32;

/** A fresh key pair from `crypto.getRandomValues` (via noble), usable in browsers and Node. */
export function generateStaticKeyPair(): StaticKeyPair {
  const privateKey = x25519.utils.randomSecretKey();
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

export function publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  requireBytes(privateKey, 'privateKey', DH_LEN);
  return x25519.getPublicKey(privateKey);
}

/**
 * Copies a caller's key pair after checking that the halves belong together.
 * Why copy: the handshake zeroes its private keys when done, and must not wipe the caller's buffer.
 */
export function ownKeyPair(pair: StaticKeyPair, name: string): StaticKeyPair {
  requireBytes(pair.privateKey, `${name}.privateKey`, DH_LEN);
  requireBytes(pair.publicKey, `${name}.publicKey`, DH_LEN);
  const publicKey = x25519.getPublicKey(pair.privateKey);
  if (!publicKey.every((byte, i) => byte === pair.publicKey[i])) {
    throw new CryptoError('BAD_INPUT', `noise: ${name}.publicKey does not match ${name}.privateKey`);
  }
  return { privateKey: pair.privateKey.slice(), publicKey };
}

/**
 * DH(key_pair, public_key). noble rejects an all-zero result (a low-order peer point), which
 * §12.1 permits; the caller turns that into CHANNEL_FAILED.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return x25519.getSharedSecret(privateKey, publicKey);
}
