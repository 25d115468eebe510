/**
 * @module Proof of work against floods (DESIGN §10): the server hands out HMAC-signed, expiring
 * challenges bound to one request; the client finds a counter whose hash has `difficulty` leading
 * zero bits; the server checks it with two hashes. Single use is the server's job (it remembers
 * nonces until they expire).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { encodeCbor } from '@parley/protocol';

export interface PowChallenge {
  /** What the challenge is for, e.g. "login" or "register". */
  context: string;
  nonce: Uint8Array;
  /** Leading zero bits required of the solution hash. 0 means "no work". */
  difficulty: number;
  /** Unix milliseconds after which the challenge is refused. */
  expiresAt: number;
  /** The server's HMAC over all of the above. */
  mac: Uint8Array;
}

export const MAX_POW_DIFFICULTY = 32;

function challengeBody(challenge: Omit<PowChallenge, 'mac'>): Uint8Array {
  return encodeCbor(['parley/pow/v1', challenge.context, challenge.nonce, challenge.difficulty, challenge.expiresAt]);
}

export function createPowChallenge(secret: Uint8Array, options: { context: string; difficulty: number; ttlMs: number; now?: number }): PowChallenge {
  const difficulty = Math.max(0, Math.min(MAX_POW_DIFFICULTY, Math.floor(options.difficulty)));
  const body = { context: options.context, nonce: randomBytes(16), difficulty, expiresAt: (options.now ?? Date.now()) + options.ttlMs };
  return { ...body, mac: hmac(sha256, secret, challengeBody(body)) };
}

export function solutionHash(challenge: PowChallenge, bindTo: Uint8Array, counter: number): Uint8Array {
  return sha256(encodeCbor([challenge.mac, bindTo, counter]));
}

/**
 * What a solution is bound to: one request (its op, the username and the OPAQUE message), so a
 * solution cannot be spent on another request. Client and server compute it the same way.
 */
export function powBinding(op: string, username: string, request: Uint8Array): Uint8Array {
  return sha256(encodeCbor(['parley/pow-bind/v1', op, username, request]));
}

/** The server's challenge-signing key, derived from a long-term secret it already keeps (HKDF, RFC 5869). */
export function derivePowSecret(serverSecret: Uint8Array): Uint8Array {
  return hkdf(sha256, serverSecret, undefined, utf8ToBytes('parley/pow/v1'), 32);
}

/**
 * The same bytes as `solutionHash`, made fast for the search: the CBOR prefix `[mac, bindTo, `
 * is hashed once and its SHA-256 state cloned per try; only the counter (RFC 8949 §3.1, major
 * type 0, shortest form) is written each time. About 4x faster than encoding the array per try.
 */
export function solutionHasher(challenge: PowChallenge, bindTo: Uint8Array): (counter: number) => Uint8Array {
  const prefix = encodeCbor([challenge.mac, bindTo, 0]).subarray(0, -1);
  const base = sha256.create().update(prefix);
  const scratch = sha256.create();
  const tail = new Uint8Array(9);
  return (counter) => {
    let length: number;
    if (counter < 24) {
      tail[0] = counter;
      length = 1;
    } else if (counter < 0x100) {
      tail[0] = 0x18;
      tail[1] = counter;
      length = 2;
    } else if (counter < 0x10000) {
      tail[0] = 0x19;
      tail[1] = counter >>> 8;
      tail[2] = counter & 0xff;
      length = 3;
    } else if (counter < 0x100000000) {
      tail[0] = 0x1a;
      new DataView(tail.buffer).setUint32(1, counter);
      length = 5;
    } else {
      tail[0] = 0x1b;
      new DataView(tail.buffer).setBigUint64(1, BigInt(counter));
      length = 9;
    }
    return base._cloneInto(scratch).update(tail.subarray(0, length)).digest();
  };
}

export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/**
 * Search for a solution, yielding to the event loop every `batch` hashes so a page stays
 * responsive; `onProgress` gets the hashes tried and the expected total (2^difficulty).
 */
export async function solvePow(
  challenge: PowChallenge,
  bindTo: Uint8Array,
  options: { onProgress?: (tried: number, expected: number) => void; batch?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const batch = options.batch ?? 4096;
  const expected = 2 ** challenge.difficulty;
  const hash = solutionHasher(challenge, bindTo);
  for (let counter = 0; ; counter++) {
    if (leadingZeroBits(hash(counter)) >= challenge.difficulty) return counter;
    if (counter % batch === batch - 1) {
      options.onProgress?.(counter + 1, expected);
      options.signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}

/** A solver with `solvePow`'s contract; browsers pass one that runs in a worker. */
export type PowSolver = typeof solvePow;

export type PowVerdict = 'ok' | 'bad-mac' | 'expired' | 'wrong-context' | 'insufficient';

/** Constant work: one HMAC and one hash. Does not check single use. */
export function verifyPow(secret: Uint8Array, challenge: PowChallenge, context: string, bindTo: Uint8Array, counter: number, now = Date.now()): PowVerdict {
  const expected = hmac(sha256, secret, challengeBody(challenge));
  let diff = expected.length ^ challenge.mac.length;
  for (let i = 0; i < expected.length; i++) diff |= (expected[i] ?? 0) ^ (challenge.mac[i] ?? 0);
  if (diff !== 0) return 'bad-mac';
  if (challenge.context !== context) return 'wrong-context';
  if (now > challenge.expiresAt) return 'expired';
  if (!Number.isSafeInteger(counter) || counter < 0) return 'insufficient';
  return leadingZeroBits(solutionHash(challenge, bindTo, counter)) >= challenge.difficulty ? 'ok' : 'insufficient';
}

/**
 * Difficulty that follows load with additive increase and multiplicative decrease, as Tor's
 * onion-service PoW defence does: each tick, +1 bit while attempts exceed the target rate,
 * halve when they are under it; never above `maxDifficulty`.
 */
export class PowDifficulty {
  private attempts = 0;
  private current = 0;

  constructor(private readonly options: { targetPerTick: number; maxDifficulty: number; step?: number }) {}

  get difficulty(): number {
    return this.current;
  }

  recordAttempt(): void {
    this.attempts++;
  }

  /** Call once per period (e.g. every second). */
  tick(): number {
    if (this.attempts > this.options.targetPerTick) this.current = Math.min(this.options.maxDifficulty, this.current + (this.options.step ?? 1));
    else this.current = Math.floor(this.current / 2);
    this.attempts = 0;
    return this.current;
  }
}
