/**
 * @module The primitives Parley's channel and MLS run on. Every implementation must give the same
 * bytes for the same inputs: the tests check each against published vectors and the others.
 */
import { CryptoError } from '../errors.js';

/**
 * An AEAD as RFC 5116 §2 defines it: the tag is appended to the ciphertext. `open` throws a
 * `CryptoError('SEAL_FAILED')` when the ciphertext does not authenticate (see `checkedAead`).
 */
export interface Aead {
  seal(key: Uint8Array, nonce: Uint8Array, associatedData: Uint8Array, plaintext: Uint8Array): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, associatedData: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

/**
 * Synchronous primitives: the hot paths (Noise transport messages, MLS message protection) call
 * them many times per message, and native synchronous calls are what make them fast in Node.
 * Private keys are raw 32-byte strings as RFC 7748 and RFC 8032 define them.
 */
export interface CryptoProvider {
  /** Shown in benchmarks and logs. */
  readonly name: string;
  randomBytes(length: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  /** RFC 2104 HMAC with SHA-256. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 5116 §5.1 AEAD_AES_128_GCM: 16-byte key, 12-byte nonce, 16-byte tag. */
  readonly aes128Gcm: Aead;
  /** RFC 8439 §2.8 AEAD_CHACHA20_POLY1305: 32-byte key, 12-byte nonce, 16-byte tag. */
  readonly chacha20Poly1305: Aead;
  /** RFC 7748 §6.1 X25519(privateKey, publicKey); throws on an all-zero result (a low-order point). */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /**
   * A fresh key pair's public half and its X25519 with `publicKey` (RFC 9180 §4.1 Encap's first
   * step); the private half is used once and forgotten. One call, so a native provider makes the
   * key once instead of importing it twice.
   */
  x25519Ephemeral(publicKey: Uint8Array): { publicKey: Uint8Array; sharedSecret: Uint8Array };
  /** RFC 8032 §5.1.6 Ed25519 (pure, no context); `privateKey` is the 32-byte seed. */
  ed25519Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** RFC 8032 §5.1.7; false (never a throw) for a malformed key or signature. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  ed25519PublicKey(privateKey: Uint8Array): Uint8Array;
}

/** RFC 5116 §5.1 and RFC 8439 §2.8: both AEADs here take a 96-bit nonce. */
const AEAD_NONCE_LENGTH = 12;

/**
 * What every provider's AEAD does the same way around its own cipher: refuse a key or nonce of
 * the wrong length, naming it (STYLE §10), and report any failure to open as `SEAL_FAILED`.
 */
export function checkedAead(name: string, keyLength: number, cipher: Aead): Aead {
  const check = (key: Uint8Array, nonce: Uint8Array): void => {
    if (key.length !== keyLength) throw new CryptoError('BAD_INPUT', `${name}: key must be ${keyLength} bytes, got ${key.length}`);
    if (nonce.length !== AEAD_NONCE_LENGTH) {
      throw new CryptoError('BAD_INPUT', `${name}: nonce must be ${AEAD_NONCE_LENGTH} bytes, got ${nonce.length}`);
    }
  };
  return {
    seal(key, nonce, associatedData, plaintext) {
      check(key, nonce);
      return cipher.seal(key, nonce, associatedData, plaintext);
    },
    open(key, nonce, associatedData, ciphertext) {
      check(key, nonce);
      try {
        return cipher.open(key, nonce, associatedData, ciphertext);
      } catch (error) {
        throw new CryptoError('SEAL_FAILED', `${name}: ciphertext failed to authenticate`, { cause: error });
      }
    },
  };
}
