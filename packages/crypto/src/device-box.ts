/**
 * @module Sealed boxes between two devices of one account (history transfer, DESIGN §5):
 * ephemeral X25519 to the recipient's device key (its Ed25519 key mapped to Montgomery form,
 * RFC 7748 §4.1), HKDF-SHA256, XChaCha20-Poly1305; signed by the sender's device key so the
 * recipient knows which sibling sent it. The server relays the bytes and can read nothing.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { decodeCbor, encodeCbor } from '@parley/protocol';
import { CryptoError } from './errors.js';
import { sign, verify } from './signing.js';

const NONCE = new Uint8Array(24); // each key is used once (fresh ephemeral), so a fixed nonce is safe

function boxKey(shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array, context: string): Uint8Array {
  const salt = new Uint8Array([...ephemeralPublic, ...recipientPublic]);
  return hkdf(sha256, shared, salt, utf8ToBytes(`parley/device-box/v1/${context}`), 32);
}

function signed(ephemeralPublic: Uint8Array, ciphertext: Uint8Array, recipientPublic: Uint8Array, context: string): Uint8Array {
  return encodeCbor(['parley/device-box/v1', context, recipientPublic, ephemeralPublic, ciphertext]);
}

export function sealToDevice(options: { senderPrivateKey: Uint8Array; recipientPublicKey: Uint8Array; plaintext: Uint8Array; context: string }): Uint8Array {
  const ephemeral = x25519.utils.randomSecretKey();
  const ephemeralPublic = x25519.getPublicKey(ephemeral);
  const shared = x25519.getSharedSecret(ephemeral, ed25519.utils.toMontgomery(options.recipientPublicKey));
  const key = boxKey(shared, ephemeralPublic, options.recipientPublicKey, options.context);
  const ciphertext = xchacha20poly1305(key, NONCE).encrypt(options.plaintext);
  const signature = sign(options.senderPrivateKey, signed(ephemeralPublic, ciphertext, options.recipientPublicKey, options.context));
  ephemeral.fill(0);
  shared.fill(0);
  key.fill(0);
  return encodeCbor([ephemeralPublic, ciphertext, signature]);
}

export function openFromDevice(options: {
  recipientPrivateKey: Uint8Array;
  recipientPublicKey: Uint8Array;
  senderPublicKey: Uint8Array;
  sealed: Uint8Array;
  context: string;
}): Uint8Array {
  let parts: unknown;
  try {
    parts = decodeCbor(options.sealed, 2 * 1024 * 1024);
  } catch (error) {
    throw new CryptoError('SEAL_FAILED', 'not a device box', { cause: error });
  }
  if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((part) => part instanceof Uint8Array)) throw new CryptoError('SEAL_FAILED', 'not a device box');
  const [ephemeralPublic, ciphertext, signature] = parts as [Uint8Array, Uint8Array, Uint8Array];
  if (!verify(options.senderPublicKey, signed(ephemeralPublic, ciphertext, options.recipientPublicKey, options.context), signature)) {
    throw new CryptoError('BAD_SIGNATURE', 'the device box is not signed by the expected device');
  }
  try {
    const shared = x25519.getSharedSecret(ed25519.utils.toMontgomerySecret(options.recipientPrivateKey), ephemeralPublic);
    return xchacha20poly1305(boxKey(shared, ephemeralPublic, options.recipientPublicKey, options.context), NONCE).decrypt(ciphertext);
  } catch (error) {
    throw new CryptoError('SEAL_FAILED', 'the device box did not open', { cause: error });
  }
}
