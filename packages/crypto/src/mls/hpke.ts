/**
 * @module HPKE (RFC 9180) base mode for the suite Parley's MLS uses: DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256 and AES-128-GCM, on a `CryptoProvider`'s synchronous primitives. Checked against
 * RFC 9180 Appendix A.1.1 and the MLS interop vectors (hpke.test.ts, ciphersuite.test.ts).
 */
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { CryptoProvider } from '../provider/provider.js';

/** RFC 9180 §7.1 (KEM 0x0020), §7.2 (KDF 0x0001), §7.3 (AEAD 0x0001). */
const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0001;
/** Nsecret, Npk and Nsk of DHKEM(X25519, HKDF-SHA256); Nh of HKDF-SHA256. */
const KEM_LENGTH = 32;
const HASH_LENGTH = 32;
/** Nk and Nn of AES-128-GCM. */
export const HPKE_KEY_LENGTH = 16;
export const HPKE_NONCE_LENGTH = 12;

const EMPTY = new Uint8Array(0);
const HPKE_V1 = utf8ToBytes('HPKE-v1');
/** §4.1: the KEM's own suite_id, and §5.1: the whole suite's. */
const KEM_SUITE = concatBytes(utf8ToBytes('KEM'), i2osp(KEM_ID, 2));
const HPKE_SUITE = concatBytes(utf8ToBytes('HPKE'), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));
/** §5.1 Table 1: mode_base. */
const MODE_BASE = 0x00;

function i2osp(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1, rest = value; i >= 0; i--, rest = Math.floor(rest / 256)) out[i] = rest % 256;
  return out;
}

/** RFC 5869 §2.2 HKDF-Extract; an empty salt is HashLen zeros, which HMAC pads an empty key to anyway. */
export function hkdfExtract(provider: CryptoProvider, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return provider.hmacSha256(salt, ikm);
}

/** RFC 5869 §2.3 HKDF-Expand: T(i) = HMAC(PRK, T(i-1) | info | i), up to 255 blocks. */
export function hkdfExpand(provider: CryptoProvider, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_LENGTH) throw new RangeError(`HKDF-Expand length ${length}`);
  const out = new Uint8Array(length);
  let block: Uint8Array = EMPTY;
  for (let offset = 0, counter = 1; offset < length; offset += HASH_LENGTH, counter++) {
    const input = concatBytes(block, info, Uint8Array.of(counter));
    block.fill(0);
    block = provider.hmacSha256(prk, input);
    input.fill(0);
    out.set(block.subarray(0, Math.min(HASH_LENGTH, length - offset)), offset);
  }
  block.fill(0);
  return out;
}

/** §4 LabeledExtract and LabeledExpand. */
function labeledExtract(p: CryptoProvider, suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return hkdfExtract(p, salt, concatBytes(HPKE_V1, suite, utf8ToBytes(label), ikm));
}

function labeledExpand(p: CryptoProvider, suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(p, prk, concatBytes(i2osp(length, 2), HPKE_V1, suite, utf8ToBytes(label), info), length);
}

export interface X25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** §7.1.3 DeriveKeyPair for X25519: the expanded bytes are the key (X25519 clamps them itself). */
export function deriveKeyPair(p: CryptoProvider, ikm: Uint8Array): X25519KeyPair {
  const dkpPrk = labeledExtract(p, KEM_SUITE, EMPTY, 'dkp_prk', ikm);
  const privateKey = labeledExpand(p, KEM_SUITE, dkpPrk, 'sk', EMPTY, KEM_LENGTH);
  dkpPrk.fill(0);
  return { privateKey, publicKey: p.x25519PublicKey(privateKey) };
}

export function generateKeyPair(p: CryptoProvider): X25519KeyPair {
  const privateKey = p.randomBytes(KEM_LENGTH);
  return { privateKey, publicKey: p.x25519PublicKey(privateKey) };
}

/** §4.1 ExtractAndExpand, with kem_context = enc || pkRm. */
function kemSharedSecret(p: CryptoProvider, dh: Uint8Array, enc: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  const eaePrk = labeledExtract(p, KEM_SUITE, EMPTY, 'eae_prk', dh);
  const sharedSecret = labeledExpand(p, KEM_SUITE, eaePrk, 'shared_secret', concatBytes(enc, recipientPublicKey), KEM_LENGTH);
  eaePrk.fill(0);
  return sharedSecret;
}

/** The secrets of a §5.1 context. Every MLS use is single-shot, so only sequence number 0 is used. */
export interface HpkeContext {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

/** §5.1 KeySchedule for mode_base (empty psk and psk_id). */
function keySchedule(p: CryptoProvider, sharedSecret: Uint8Array, info: Uint8Array): HpkeContext {
  const pskIdHash = labeledExtract(p, HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(p, HPKE_SUITE, EMPTY, 'info_hash', info);
  const context = concatBytes(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(p, HPKE_SUITE, sharedSecret, 'secret', EMPTY);
  const hpkeContext = {
    key: labeledExpand(p, HPKE_SUITE, secret, 'key', context, HPKE_KEY_LENGTH),
    baseNonce: labeledExpand(p, HPKE_SUITE, secret, 'base_nonce', context, HPKE_NONCE_LENGTH),
    exporterSecret: labeledExpand(p, HPKE_SUITE, secret, 'exp', context, HASH_LENGTH),
  };
  secret.fill(0);
  return hpkeContext;
}

/**
 * §5.1.1 SetupBaseS: Encap(pkR) then the key schedule. `ephemeral` is for replaying the RFC's
 * vectors only: a fixed ephemeral key would break HPKE's security.
 */
export function setupBaseSender(
  p: CryptoProvider,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  ephemeral?: X25519KeyPair,
): { enc: Uint8Array; context: HpkeContext } {
  const { publicKey: enc, sharedSecret: dh } =
    ephemeral === undefined
      ? p.x25519Ephemeral(recipientPublicKey)
      : { publicKey: ephemeral.publicKey, sharedSecret: p.x25519(ephemeral.privateKey, recipientPublicKey) };
  const sharedSecret = kemSharedSecret(p, dh, enc, recipientPublicKey);
  dh.fill(0);
  const context = keySchedule(p, sharedSecret, info);
  sharedSecret.fill(0);
  return { enc, context };
}

/** §5.1.1 SetupBaseR: Decap(enc, skR) then the key schedule. */
export function setupBaseReceiver(p: CryptoProvider, enc: Uint8Array, recipientPrivateKey: Uint8Array, info: Uint8Array): HpkeContext {
  const dh = p.x25519(recipientPrivateKey, enc);
  const sharedSecret = kemSharedSecret(p, dh, enc, p.x25519PublicKey(recipientPrivateKey));
  dh.fill(0);
  const context = keySchedule(p, sharedSecret, info);
  sharedSecret.fill(0);
  return context;
}

/** §5.2 with sequence number 0, whose nonce is base_nonce itself. */
export function sealOnce(p: CryptoProvider, context: HpkeContext, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return p.aes128Gcm.seal(context.key, context.baseNonce, aad, plaintext);
}

export function openOnce(p: CryptoProvider, context: HpkeContext, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return p.aes128Gcm.open(context.key, context.baseNonce, aad, ciphertext);
}

/** §5.3 Export. */
export function exportSecret(p: CryptoProvider, context: HpkeContext, exporterContext: Uint8Array, length: number): Uint8Array {
  return labeledExpand(p, HPKE_SUITE, context.exporterSecret, 'sec', exporterContext, length);
}

export function wipeContext(context: HpkeContext): void {
  context.key.fill(0);
  context.baseNonce.fill(0);
  context.exporterSecret.fill(0);
}
