/**
 * @module Noise CipherState and SymmetricState (Noise rev 34 §5.1, §5.2) for ChaChaPoly, on the
 * installed crypto provider's ChaCha20-Poly1305 (node:crypto in Node, else @noble).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { cryptoProvider } from '../provider/installed.js';
import type { Aead } from '../provider/provider.js';
import { channelError } from './fail.js';
import type { NoiseSuite } from './suite.js';

/** §5.1: cipher keys are 32 bytes; §4.2: the AEAD tag adds 16 bytes. */
export const KEY_LEN = 32;
export const TAG_LEN = 16;
const EMPTY = new Uint8Array(0);

/**
 * §12.3 ChaChaPoly: the 96-bit nonce is 32 zero bits then the 64-bit counter, little-endian.
 * The counter is a JS number, so it is exact only up to 2^53; `CipherState` refuses beyond that.
 */
function nonceBytes(n: number): Uint8Array {
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(4, n >>> 0, true);
  view.setUint32(8, Math.floor(n / 2 ** 32), true);
  return nonce;
}

/**
 * §5.1 CipherState: a key (or none yet) and a message counter.
 * Per §5.1 the nonce advances only on success, so a failed decryption leaves the state as it was;
 * the connection layer closes the channel on any failure anyway.
 */
export class CipherState {
  readonly #aead: Aead = cryptoProvider().chacha20Poly1305;
  #key: Uint8Array | undefined;
  #nonce: number;

  /** `nonce` is for tests of counter exhaustion; protocol code always starts at 0 (§5.1 InitializeKey). */
  constructor(key?: Uint8Array, nonce = 0) {
    this.#key = key?.slice(0, KEY_LEN);
    this.#nonce = nonce;
  }

  /** §5.1 EncryptWithAd: with no key yet, the plaintext goes out as is (e.g. NX message 1's payload). */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#key === undefined) return plaintext.slice();
    const nonce = this.#takeNonce();
    const ciphertext = this.#aead.seal(this.#key, nonceBytes(nonce), ad, plaintext);
    this.#nonce = nonce + 1;
    return ciphertext;
  }

  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#key === undefined) return ciphertext.slice();
    const nonce = this.#takeNonce();
    let plaintext: Uint8Array;
    try {
      plaintext = this.#aead.open(this.#key, nonceBytes(nonce), ad, ciphertext);
    } catch (error) {
      throw channelError('message failed to authenticate', error);
    }
    this.#nonce = nonce + 1;
    return plaintext;
  }

  /** Zeroes the key; any later use fails instead of falling back to "no key" cleartext. */
  destroy(): void {
    this.#key?.fill(0);
    this.#key = new Uint8Array(0);
    this.#nonce = Number.POSITIVE_INFINITY;
  }

  #takeNonce(): number {
    // §5.1 reserves 2^64-1 and forbids nonce reuse; we stop earlier, where a JS number stops
    // counting exactly. No rekey (§11.3) is offered: 2^53 messages on one channel is not a real case.
    if (!(this.#nonce <= Number.MAX_SAFE_INTEGER)) throw channelError('nonce exhausted or channel closed');
    return this.#nonce;
  }
}

/** §4.3 HKDF(chaining_key, input_key_material, 2), built on HMAC-HASH. */
function hkdf2(suite: NoiseSuite, chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const tempKey = hmac(suite.hash, chainingKey, ikm);
  const output1 = hmac(suite.hash, tempKey, Uint8Array.of(1));
  const input2 = concatBytes(output1, Uint8Array.of(2));
  const output2 = hmac(suite.hash, tempKey, input2);
  tempKey.fill(0);
  input2.fill(0);
  return [output1, output2];
}

/** §5.2 SymmetricState: chaining key `ck`, handshake hash `h` and the current CipherState. */
export class SymmetricState {
  readonly #suite: NoiseSuite;
  #chainingKey: Uint8Array;
  #hash: Uint8Array;
  #cipher = new CipherState();

  /** §5.2 InitializeSymmetric, then §5.3 Initialize's MixHash(prologue). */
  constructor(suite: NoiseSuite, prologue: Uint8Array) {
    this.#suite = suite;
    const name = utf8ToBytes(suite.protocolName);
    const hashLen = suite.hash.outputLen;
    // A name longer than HASHLEN is hashed; a shorter one is zero-padded (both our names are 33 bytes).
    this.#hash = name.length <= hashLen ? concatBytes(name, new Uint8Array(hashLen - name.length)) : suite.hash(name);
    this.#chainingKey = this.#hash.slice();
    this.mixHash(prologue);
  }

  mixHash(data: Uint8Array): void {
    this.#hash = this.#suite.hash.create().update(this.#hash).update(data).digest();
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [chainingKey, tempKey] = hkdf2(this.#suite, this.#chainingKey, inputKeyMaterial);
    this.#chainingKey.fill(0);
    this.#chainingKey = chainingKey;
    this.#cipher.destroy();
    // §5.2: with HASHLEN 64 the key is truncated to 32 bytes; CipherState copies only KEY_LEN.
    this.#cipher = new CipherState(tempKey);
    tempKey.fill(0);
  }

  /** §5.2: the ciphertext is hashed, so every later message authenticates the transcript so far. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.#cipher.encryptWithAd(this.#hash, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.#cipher.decryptWithAd(this.#hash, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** §5.2 GetHandshakeHash: a copy, so the caller may keep it after `destroy`. */
  get handshakeHash(): Uint8Array {
    return this.#hash.slice();
  }

  /** §5.2 Split: first CipherState for initiator-to-responder, second for the reverse. */
  split(): [CipherState, CipherState] {
    const [key1, key2] = hkdf2(this.#suite, this.#chainingKey, EMPTY);
    const pair: [CipherState, CipherState] = [new CipherState(key1), new CipherState(key2)];
    key1.fill(0);
    key2.fill(0);
    return pair;
  }

  /** §5.3: once split (or failed) the handshake secrets are no longer needed. */
  destroy(): void {
    this.#chainingKey.fill(0);
    this.#hash.fill(0);
    this.#cipher.destroy();
  }
}
