/**
 * @module XEdDSA (Signal's XEdDSA spec, 2016): Ed25519-compatible signatures made with an X25519
 * key, so the server signs tree heads with the very Noise static key clients already pin
 * (DESIGN §4, §11) and no second server key needs pinning. A signature verifies as plain Ed25519
 * under the Edwards form of the Montgomery public key (sign bit 0).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { CryptoError } from '../errors.js';
import { verify } from '../signing.js';

const P = 2n ** 255n - 19n;
const Q = 2n ** 252n + 27742317777372353535851937790883648493n;

const mod = (value: bigint, m: bigint) => ((value % m) + m) % m;

function toLittleEndian(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number);
  return value;
}

function power(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

/** XEdDSA §2.3 convert_mont: the Edwards point for Montgomery u, y = (u - 1) / (u + 1), sign bit 0. */
export function montgomeryToEdwards(publicKey: Uint8Array): Uint8Array {
  if (publicKey.byteLength !== 32) throw new CryptoError('BAD_INPUT', 'an X25519 public key is 32 bytes');
  // RFC 7748 §5: the top bit of u is ignored.
  const u = mod(fromLittleEndian(publicKey) & ((1n << 255n) - 1n), P);
  if (u === P - 1n) throw new CryptoError('BAD_INPUT', 'this X25519 public key has no Edwards form');
  const y = mod((u - 1n) * power(u + 1n, P - 2n, P), P);
  return toLittleEndian(y);
}

/** The private scalar k of an X25519 private key, clamped as RFC 7748 §5 does. */
function clampedScalar(privateKey: Uint8Array): bigint {
  const k = Uint8Array.from(privateKey);
  k[0] = (k[0] as number) & 248;
  k[31] = ((k[31] as number) & 127) | 64;
  return fromLittleEndian(k);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** XEdDSA §2.5 hash1 prefix: 2^256 - 2 as 32 little-endian bytes (0xFE, then 31 × 0xFF). */
const HASH1_PREFIX = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xfe : 0xff));

/** XEdDSA §2.5 xeddsa_sign with a fresh 64-byte Z: a 64-byte signature under the X25519 key. */
export function xeddsaSign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (privateKey.byteLength !== 32) throw new CryptoError('BAD_INPUT', 'an X25519 private key is 32 bytes');
  const k = clampedScalar(privateKey);
  // calculate_key_pair: A is kB with its sign bit cleared; a is negated when kB's sign bit was set.
  const E = ed25519.Point.BASE.multiply(mod(k, Q)).toBytes();
  const negative = ((E[31] as number) & 0x80) !== 0;
  const a = negative ? mod(-k, Q) : mod(k, Q);
  const A = Uint8Array.from(E);
  A[31] = (A[31] as number) & 0x7f;
  const r = mod(fromLittleEndian(sha512(concat(HASH1_PREFIX, toLittleEndian(a), message, randomBytes(64)))), Q);
  const R = ed25519.Point.BASE.multiply(r).toBytes();
  const h = mod(fromLittleEndian(sha512(concat(R, A, message))), Q);
  const s = mod(r + h * a, Q);
  return concat(R, toLittleEndian(s));
}

/**
 * XEdDSA §2.6 xeddsa_verify: plain Ed25519 verification under the Edwards form of the key, on the
 * installed crypto provider (node:crypto in Node: a client checks a head on every new lookup).
 * False for a malformed key or signature, never a throw.
 */
export function xeddsaVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.byteLength !== 32 || signature.byteLength !== 64) return false;
  try {
    return verify(montgomeryToEdwards(publicKey), message, signature);
  } catch {
    return false;
  }
}
