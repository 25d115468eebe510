/** A real RSW trapdoor for tests, from OpenSSL's prime generator (independent of Parley's code). */
import { generatePrimeSync } from 'node:crypto';
import { timelockTrapdoorFromPrimes, type TimelockTrapdoor } from '@parley/crypto';

const prime = (bits: number) => new Uint8Array(generatePrimeSync(bits));

export function testTrapdoor(bits = 2048): TimelockTrapdoor {
  if (bits < 2048) {
    // Below the allowed sizes, for tests of refusals: the bare numbers, unchecked.
    const p = prime(bits / 2);
    const q = prime(bits / 2);
    const hex = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
    return { modulus: new Uint8Array(Buffer.from((hex(p) * hex(q)).toString(16).padStart(bits / 4, '0'), 'hex')), p, q };
  }
  return timelockTrapdoorFromPrimes(prime(bits / 2), prime(bits / 2));
}
