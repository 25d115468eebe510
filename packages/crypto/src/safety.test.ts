import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { safetyHalf, safetyNumber, SAFETY_ITERATIONS } from './safety.js';
import { generateSigningKeyPair } from './signing.js';

/** The same computation written independently with Node's own SHA-512 and BigInt arithmetic. */
function referenceHalf(username: string, key: Uint8Array): string {
  let hash = Buffer.concat([Buffer.from([0, 1]), Buffer.from(key), Buffer.from(username, 'utf8')]);
  for (let i = 0; i < SAFETY_ITERATIONS; i++) hash = createHash('sha512').update(hash).update(key).digest();
  return Array.from({ length: 6 }, (_, chunk) => (BigInt(`0x${hash.subarray(chunk * 5, chunk * 5 + 5).toString('hex')}`) % 100000n).toString().padStart(5, '0')).join('');
}

describe('safety numbers', () => {
  const alice = { username: 'alice', identityKey: generateSigningKeyPair().publicKey };
  const bob = { username: 'bob', identityKey: generateSigningKeyPair().publicKey };

  it('agree with an independent computation', () => {
    expect(safetyHalf(alice)).toBe(referenceHalf('alice', alice.identityKey));
    expect(safetyHalf(bob)).toBe(referenceHalf('bob', bob.identityKey));
  });

  it('are the same on both sides: 60 digits in groups of five', () => {
    const number = safetyNumber(alice, bob);
    expect(number).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(safetyNumber(bob, alice)).toBe(number);
  });

  it('change when either identity key changes', () => {
    const swapped = { ...bob, identityKey: generateSigningKeyPair().publicKey };
    expect(safetyNumber(alice, swapped)).not.toBe(safetyNumber(alice, bob));
  });
});
