/** A real 2048-bit RSW trapdoor for tests, from OpenSSL's prime generator (independent of Parley's code). */
import { generatePrimeSync } from 'node:crypto';
import type { TimelockTrapdoor } from './puzzle.js';

const toBytes = (value: bigint, length: number) => new Uint8Array(Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex'));

export function testTrapdoor(bits = 2048): TimelockTrapdoor {
  const p = generatePrimeSync(bits / 2, { bigint: true });
  let q = generatePrimeSync(bits / 2, { bigint: true });
  while (q === p) q = generatePrimeSync(bits / 2, { bigint: true });
  return { modulus: toBytes(p * q, bits / 8), p: toBytes(p, bits / 16), q: toBytes(q, bits / 16) };
}
