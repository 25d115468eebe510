/** @module The pure-JavaScript provider on @noble: runs in every browser and in Node; the default. */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { checkedAead, type Aead, type CryptoProvider } from './provider.js';

/** noble's ciphers take key, nonce and associated data, then encrypt or decrypt (tag appended). */
type NobleCipher = (key: Uint8Array, nonce: Uint8Array, associatedData: Uint8Array) => {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

function nobleAead(cipher: NobleCipher): Aead {
  return {
    seal: (key, nonce, associatedData, plaintext) => cipher(key, nonce, associatedData).encrypt(plaintext),
    open: (key, nonce, associatedData, ciphertext) => cipher(key, nonce, associatedData).decrypt(ciphertext),
  };
}

export const nobleCryptoProvider: CryptoProvider = {
  name: 'noble (pure JavaScript)',
  randomBytes: (length) => randomBytes(length),
  sha256: (data) => sha256(data),
  hmacSha256: (key, data) => hmac(sha256, key, data),
  aes128Gcm: checkedAead('aes-128-gcm', 16, nobleAead(gcm)),
  chacha20Poly1305: checkedAead('chacha20-poly1305', 32, nobleAead(chacha20poly1305)),
  // noble refuses an all-zero shared secret itself (RFC 7748 §6.1's check).
  x25519: (privateKey, publicKey) => x25519.getSharedSecret(privateKey, publicKey),
  x25519PublicKey: (privateKey) => x25519.getPublicKey(privateKey),
  x25519Ephemeral(publicKey) {
    const privateKey = x25519.utils.randomSecretKey();
    try {
      return { publicKey: x25519.getPublicKey(privateKey), sharedSecret: x25519.getSharedSecret(privateKey, publicKey) };
    } finally {
      privateKey.fill(0);
    }
  },
  ed25519Sign: (privateKey, message) => ed25519.sign(message, privateKey),
  ed25519Verify(publicKey, message, signature) {
    try {
      // RFC 8032's strict encodings (not ZIP-215's looser ones), as OpenSSL and browsers check them,
      // so every provider accepts the same signatures.
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      // noble throws on malformed points or lengths; for a verifier that is simply "invalid".
      return false;
    }
  },
  ed25519PublicKey: (privateKey) => ed25519.getPublicKey(privateKey),
};
