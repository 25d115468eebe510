/**
 * @module Big-endian unsigned integers as bytes, and the few BigInt routines the RSW puzzle
 * needs (modular power, inverse, gcd). Variable time: every input here is public (modulus,
 * base, squarings) except the trapdoor, which only the server holds and uses on its own.
 */

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** `value` as exactly `length` big-endian bytes; throws a RangeError when it does not fit. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n) throw new RangeError('a negative integer has no unsigned encoding');
  const bytes = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  if (rest !== 0n) throw new RangeError(`integer does not fit in ${length} bytes`);
  return bytes;
}

export function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/** base^exponent mod modulus, left-to-right square and multiply. */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  if (modulus === 1n) return 0n;
  let result = 1n;
  const b = base % modulus;
  for (let bit = bitLength(exponent) - 1; bit >= 0; bit--) {
    result = (result * result) % modulus;
    if ((exponent >> BigInt(bit)) & 1n) result = (result * b) % modulus;
  }
  return result;
}

export function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a < 0n ? -a : a, b < 0n ? -b : b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** a^-1 mod m by the extended Euclidean algorithm; throws a RangeError when there is none. */
export function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  if (oldR !== 1n) throw new RangeError('no modular inverse: the numbers share a factor');
  return ((oldS % m) + m) % m;
}
