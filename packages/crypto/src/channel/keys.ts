/** @module X25519 key pairs and the DH() function of Noise rev 34 §12.1, on the installed crypto provider. */
import { CryptoError } from '../errors.js';
import { cryptoProvider } from '../provider/installed.js';
import { requireBytes } from './fail.js';
import type { StaticKeyPair } from './types.js';

/** Noise rev 34 §12.1: DHLEN for 25519. */
export const DH_LEN = 32;

/** A fresh key pair: RFC 7748 §6.1 private keys are 32 random bytes (X25519 clamps them itself). */
export function generateStaticKeyPair(): StaticKeyPair {
  const provider = cryptoProvider();
  const privateKey = provider.randomBytes(DH_LEN);
  return { privateKey, publicKey: provider.x25519PublicKey(privateKey) };
}

export function publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  requireBytes(privateKey, 'privateKey', DH_LEN);
  return cryptoProvider().x25519PublicKey(privateKey);
}

/**
 * Copies a caller's key pair after checking that the halves belong together.
 * Why copy: the handshake zeroes its private keys when done, and must not wipe the caller's buffer.
 */
export function ownKeyPair(pair: StaticKeyPair, name: string): StaticKeyPair {
  requireBytes(pair.privateKey, `${name}.privateKey`, DH_LEN);
  requireBytes(pair.publicKey, `${name}.publicKey`, DH_LEN);
  const publicKey = cryptoProvider().x25519PublicKey(pair.privateKey);
  if (!publicKey.every((byte, i) => byte === pair.publicKey[i])) {
    throw new CryptoError('BAD_INPUT', `noise: ${name}.publicKey does not match ${name}.privateKey`);
  }
  return { privateKey: pair.privateKey.slice(), publicKey };
}

/**
 * DH(key_pair, public_key). Every provider rejects an all-zero result (a low-order peer point),
 * which §12.1 permits; the caller turns that into CHANNEL_FAILED.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return cryptoProvider().x25519(privateKey, publicKey);
}
