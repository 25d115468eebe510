/**
 * @module ts-mls's CiphersuiteImpl (RFC 9420 §5.1) for Parley's suite,
 * MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519, on a `CryptoProvider`'s synchronous primitives.
 * Checked against the MLS interop vectors and against ts-mls's own implementation
 * (ciphersuite.test.ts).
 */
import type { CiphersuiteImpl, Hpke } from 'ts-mls';
import type { PrivateKey, PublicKey } from 'ts-mls/crypto/hpke.js';
import type { CryptoProvider } from '../provider/provider.js';
import {
  HPKE_KEY_LENGTH,
  HPKE_NONCE_LENGTH,
  deriveKeyPair,
  exportSecret,
  generateKeyPair,
  hkdfExpand,
  hkdfExtract,
  openOnce,
  sealOnce,
  setupBaseReceiver,
  setupBaseSender,
  wipeContext,
  type HpkeContext,
  type X25519KeyPair,
} from './hpke.js';
import { MlsSuite } from './types.js';

const EMPTY = new Uint8Array(0);
const X25519_KEY_LENGTH = 32;

/**
 * ts-mls types HPKE keys as WebCrypto CryptoKeys but only hands them back to the same Hpke; this
 * one holds the raw RFC 7748 bytes.
 */
class X25519Key<T extends 'public' | 'private'> implements CryptoKey {
  readonly algorithm: KeyAlgorithm = { name: 'X25519' };
  readonly extractable = true;
  readonly usages: KeyUsage[] = [];
  constructor(
    readonly type: T,
    readonly bytes: Uint8Array,
  ) {}
}

function importKey<T extends 'public' | 'private'>(type: T, bytes: Uint8Array): X25519Key<T> {
  if (bytes.length !== X25519_KEY_LENGTH) throw new RangeError(`X25519 ${type} key must be ${X25519_KEY_LENGTH} bytes`);
  return new X25519Key(type, new Uint8Array(bytes));
}

function rawKey(key: CryptoKey, type: 'public' | 'private'): Uint8Array {
  if (!(key instanceof X25519Key) || key.type !== type) throw new TypeError(`expected an X25519 ${type} key from this provider`);
  return key.bytes;
}

function keyPair({ privateKey, publicKey }: X25519KeyPair): { privateKey: PrivateKey; publicKey: PublicKey } {
  return { privateKey: new X25519Key('private', privateKey), publicKey: new X25519Key('public', publicKey) };
}

/** Runs `use` on an HPKE context and zeroes the context's secrets afterwards. */
function withContext<T>(context: HpkeContext, use: (context: HpkeContext) => T): T {
  try {
    return use(context);
  } finally {
    wipeContext(context);
  }
}

function providerHpke(p: CryptoProvider): Hpke {
  return {
    async seal(publicKey, plaintext, info, aad = EMPTY) {
      const { enc, context } = setupBaseSender(p, rawKey(publicKey, 'public'), info);
      return { enc, ct: withContext(context, (c) => sealOnce(p, c, aad, plaintext)) };
    },
    async open(privateKey, kemOutput, ciphertext, info, aad = EMPTY) {
      const context = setupBaseReceiver(p, kemOutput, rawKey(privateKey, 'private'), info);
      return withContext(context, (c) => openOnce(p, c, aad, ciphertext));
    },
    async exportSecret(publicKey, exporterContext, length, info) {
      const { enc, context } = setupBaseSender(p, rawKey(publicKey, 'public'), info);
      return { enc, secret: withContext(context, (c) => exportSecret(p, c, exporterContext, length)) };
    },
    async importSecret(privateKey, exporterContext, kemOutput, length, info) {
      const context = setupBaseReceiver(p, kemOutput, rawKey(privateKey, 'private'), info);
      return withContext(context, (c) => exportSecret(p, c, exporterContext, length));
    },
    importPrivateKey: async (bytes) => importKey('private', bytes),
    importPublicKey: async (bytes) => importKey('public', bytes),
    exportPrivateKey: async (key) => new Uint8Array(rawKey(key, 'private')),
    exportPublicKey: async (key) => new Uint8Array(rawKey(key, 'public')),
    encryptAead: async (key, nonce, aad, plaintext) => p.aes128Gcm.seal(key, nonce, aad ?? EMPTY, plaintext),
    decryptAead: async (key, nonce, aad, ciphertext) => p.aes128Gcm.open(key, nonce, aad ?? EMPTY, ciphertext),
    deriveKeyPair: async (ikm) => keyPair(deriveKeyPair(p, ikm)),
    generateKeyPair: async () => keyPair(generateKeyPair(p)),
    keyLength: HPKE_KEY_LENGTH,
    nonceLength: HPKE_NONCE_LENGTH,
  };
}

/** Compares MACs in time independent of where they differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

/**
 * The ciphersuite on `p`. Signature keys are 32-byte Ed25519 seeds, as everywhere in Parley
 * (ts-mls's WebCrypto keygen makes PKCS#8 keys instead; Parley never calls it).
 */
export function providerCiphersuite(p: CryptoProvider): CiphersuiteImpl {
  return {
    name: MlsSuite.default,
    hash: {
      digest: async (data) => p.sha256(data),
      mac: async (key, data) => p.hmacSha256(key, data),
      verifyMac: async (key, mac, data) => constantTimeEqual(mac, p.hmacSha256(key, data)),
    },
    kdf: {
      extract: async (salt, ikm) => hkdfExtract(p, salt, ikm),
      expand: async (prk, info, length) => hkdfExpand(p, prk, info, length),
      size: 32,
    },
    signature: {
      sign: async (signKey, message) => p.ed25519Sign(signKey, message),
      verify: async (publicKey, message, signature) => p.ed25519Verify(publicKey, message, signature),
      keygen: async () => {
        const signKey = p.randomBytes(32);
        return { signKey, publicKey: p.ed25519PublicKey(signKey) };
      },
    },
    hpke: providerHpke(p),
    rng: { randomBytes: (length) => p.randomBytes(length) },
  };
}
