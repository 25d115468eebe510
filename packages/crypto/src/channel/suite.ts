/**
 * @module The hash choices this channel supports. DH (25519) and cipher (ChaChaPoly) are fixed;
 * only the hash varies, and only so the SHA-256 test vectors can be replayed too.
 */
import { blake2s } from '@noble/hashes/blake2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CHash } from '@noble/hashes/utils.js';

export interface NoiseSuite {
  /** Noise rev 34 §8: the protocol name is hashed into the initial state, binding the suite. */
  readonly protocolName: string;
  /** HASH() of §4.3; HASHLEN is its `outputLen` (32 for both suites here). */
  readonly hash: CHash;
}

/** The suite Parley uses: BLAKE2s is fast in pure JavaScript and has HASHLEN 32. */
export const NOISE_NX_BLAKE2S: NoiseSuite = { protocolName: 'Noise_NX_25519_ChaChaPoly_BLAKE2s', hash: blake2s };

/** Test-only: lets the test suite check the handshake against the SHA-256 vectors as well. */
export const NOISE_NX_SHA256: NoiseSuite = { protocolName: 'Noise_NX_25519_ChaChaPoly_SHA256', hash: sha256 };
