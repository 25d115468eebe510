/**
 * @module Safety numbers (DESIGN §11): one number per pair of users, the same on both sides,
 * computed from both identity keys in the style of Signal's numeric fingerprints: each side's
 * half is an iterated SHA-512 over its key and name, and the halves are ordered, not labelled.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

const VERSION = new Uint8Array([0, 1]);
/** Iterations make a brute-force search for a colliding key expensive (Signal uses the same count). */
export const SAFETY_ITERATIONS = 5200;

export interface SafetyParty {
  username: string;
  identityKey: Uint8Array;
}

/** 30 digits for one party: six 5-byte chunks of the digest, each reduced mod 100000. */
export function safetyHalf(party: SafetyParty): string {
  let hash = concatBytes(VERSION, party.identityKey, utf8ToBytes(party.username));
  for (let i = 0; i < SAFETY_ITERATIONS; i++) hash = sha512(concatBytes(hash, party.identityKey));
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 256 + (hash[chunk * 5 + i] ?? 0);
    digits += String(value % 100_000).padStart(5, '0');
  }
  return digits;
}

/** 60 digits in twelve groups of five; identical for (a, b) and (b, a). */
export function safetyNumber(a: SafetyParty, b: SafetyParty): string {
  const halves = [safetyHalf(a), safetyHalf(b)].sort();
  return halves.join('').match(/\d{5}/g)?.join(' ') ?? '';
}
