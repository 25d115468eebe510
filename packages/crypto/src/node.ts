/// <reference types="node" />
/**
 * @module @parley/crypto/node: the crypto provider on `node:crypto` (OpenSSL), for Node only. The
 * server and the SDK's Node adapters install it at start-up; MLS and the Noise channel then run on
 * native code instead of JavaScript or Node's asynchronous WebCrypto.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomFillSync,
  sign,
  verify,
  type CipherChaCha20Poly1305,
  type CipherGCM,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
  type KeyObject,
} from 'node:crypto';
import { CryptoError } from './errors.js';
import { installCryptoProvider } from './provider/installed.js';
import { checkedAead, type Aead, type CryptoProvider } from './provider/provider.js';

const TAG_LENGTH = 16;
const KEY_LENGTH = 32;

/** Node's Buffers as plain Uint8Arrays, so callers see one byte type whichever provider runs. */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Raw RFC 7748 / RFC 8032 keys as KeyObjects. JWK is the fast import path (OpenSSL's DER decoders
 * are about ten times slower). For a private key Node derives the public half from `d` itself and
 * only type-checks `x`, so none is computed here.
 */
function privateKeyObject(curve: 'Ed25519' | 'X25519', privateKey: Uint8Array): KeyObject {
  if (privateKey.length !== KEY_LENGTH) throw new CryptoError('BAD_INPUT', `${curve}: private key must be ${KEY_LENGTH} bytes`);
  return createPrivateKey({ key: { kty: 'OKP', crv: curve, d: base64url(privateKey), x: '' }, format: 'jwk' });
}

/** Public keys recur (a group's members verify each other's signatures on every message). */
const PUBLIC_KEYS_KEPT = 512;
const publicKeys = new Map<string, KeyObject>();

function publicKeyObject(curve: 'Ed25519' | 'X25519', publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== KEY_LENGTH) throw new CryptoError('BAD_INPUT', `${curve}: public key must be ${KEY_LENGTH} bytes`);
  const x = base64url(publicKey);
  const name = `${curve}:${x}`;
  let key = publicKeys.get(name);
  if (key === undefined) {
    key = createPublicKey({ key: { kty: 'OKP', crv: curve, x }, format: 'jwk' });
    // A bound, not an LRU: when full, start over; refilling costs one import per key in use.
    if (publicKeys.size >= PUBLIC_KEYS_KEPT) publicKeys.clear();
    publicKeys.set(name, key);
  }
  return key;
}

/**
 * A device signs everything it sends with one long-lived Ed25519 key, and importing that key costs
 * more than the signature itself (~80 µs against ~70 µs). Kept by the SHA-256 of the seed, so no
 * raw seed sits in a JavaScript string; the least recently used goes first.
 */
const SIGNING_KEYS_KEPT = 8;
const signingKeys = new Map<string, KeyObject>();

function signingKeyObject(privateKey: Uint8Array): KeyObject {
  const name = createHash('sha256').update(privateKey).digest('base64');
  let key = signingKeys.get(name);
  if (key === undefined) {
    key = privateKeyObject('Ed25519', privateKey);
    if (signingKeys.size >= SIGNING_KEYS_KEPT) signingKeys.delete(signingKeys.keys().next().value ?? '');
  } else {
    signingKeys.delete(name);
  }
  signingKeys.set(name, key);
  return key;
}

function rawPublicKey(curve: 'Ed25519' | 'X25519', key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' });
  if (x === undefined) throw new CryptoError('BAD_INPUT', `${curve}: no public key derived`);
  return plain(Buffer.from(x, 'base64url'));
}

function publicKeyOf(curve: 'Ed25519' | 'X25519', privateKey: Uint8Array): Uint8Array {
  return rawPublicKey(curve, privateKeyObject(curve, privateKey));
}

/**
 * RFC 7748 §6.1: an all-zero result means the peer sent a low-order point. OpenSSL refuses it with
 * its own error; like noble's, that is a plain Error the channel and MLS turn into their failure.
 */
function x25519(privateKey: KeyObject, publicKey: Uint8Array): Uint8Array {
  const shared = plain(diffieHellman({ privateKey, publicKey: publicKeyObject('X25519', publicKey) }));
  if (shared.every((byte) => byte === 0)) throw new Error('x25519: all-zero shared secret (a low-order public key)');
  return shared;
}

/** Node's AEAD ciphers; both default to the 16-byte tag that RFC 5116 and RFC 8439 specify. */
interface NodeAeadCiphers {
  cipher(key: Uint8Array, nonce: Uint8Array): CipherGCM | CipherChaCha20Poly1305;
  decipher(key: Uint8Array, nonce: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305;
}

function nodeAead({ cipher: createCipher, decipher: createDecipher }: NodeAeadCiphers): Aead {
  return {
    seal(key, nonce, associatedData, plaintext) {
      const cipher = createCipher(key, nonce);
      cipher.setAAD(associatedData, { plaintextLength: plaintext.length });
      const body = cipher.update(plaintext);
      cipher.final();
      const sealed = new Uint8Array(body.length + TAG_LENGTH);
      sealed.set(body, 0);
      sealed.set(cipher.getAuthTag(), body.length);
      return sealed;
    },
    open(key, nonce, associatedData, ciphertext) {
      if (ciphertext.length < TAG_LENGTH) throw new Error('ciphertext is shorter than the tag');
      const body = ciphertext.subarray(0, ciphertext.length - TAG_LENGTH);
      const decipher = createDecipher(key, nonce);
      decipher.setAAD(associatedData, { plaintextLength: body.length });
      decipher.setAuthTag(ciphertext.subarray(body.length));
      const plaintext = decipher.update(body);
      // final() throws when the tag does not authenticate; the unauthenticated bytes go nowhere.
      decipher.final();
      return plain(plaintext);
    },
  };
}

export const nodeCryptoProvider: CryptoProvider = {
  name: 'node:crypto (OpenSSL)',
  randomBytes: (length) => randomFillSync(new Uint8Array(length)),
  sha256: (data) => plain(createHash('sha256').update(data).digest()),
  hmacSha256: (key, data) => plain(createHmac('sha256', key).update(data).digest()),
  aes128Gcm: checkedAead(
    'aes-128-gcm',
    16,
    nodeAead({
      cipher: (key, nonce) => createCipheriv('aes-128-gcm', key, nonce),
      decipher: (key, nonce) => createDecipheriv('aes-128-gcm', key, nonce),
    }),
  ),
  chacha20Poly1305: checkedAead(
    'chacha20-poly1305',
    32,
    nodeAead({
      cipher: (key, nonce) => createCipheriv('chacha20-poly1305', key, nonce),
      decipher: (key, nonce) => createDecipheriv('chacha20-poly1305', key, nonce),
    }),
  ),
  x25519: (privateKey, publicKey) => x25519(privateKeyObject('X25519', privateKey), publicKey),
  x25519PublicKey: (privateKey) => publicKeyOf('X25519', privateKey),
  x25519Ephemeral(publicKey) {
    const ephemeral = generateKeyPairSync('x25519');
    return { publicKey: rawPublicKey('X25519', ephemeral.publicKey), sharedSecret: x25519(ephemeral.privateKey, publicKey) };
  },
  ed25519Sign: (privateKey, message) => plain(sign(null, message, signingKeyObject(privateKey))),
  ed25519Verify(publicKey, message, signature) {
    try {
      return verify(null, message, publicKeyObject('Ed25519', publicKey), signature);
    } catch {
      // A malformed key or signature is simply "invalid" to a verifier.
      return false;
    }
  },
  ed25519PublicKey: (privateKey) => publicKeyOf('Ed25519', privateKey),
};

/** Makes every later channel and MLS operation in this process run on `node:crypto`. */
export function installNodeCryptoProvider(): void {
  installCryptoProvider(nodeCryptoProvider);
}
