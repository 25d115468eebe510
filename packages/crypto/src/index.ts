/** @module @parley/crypto: channel (Noise), OPAQUE, key backup, signatures, fingerprints and MLS. Isomorphic, no I/O. */
export * from './errors.js';
export { installCryptoProvider } from './provider/installed.js';
export { nobleCryptoProvider } from './provider/noble.js';
export type { Aead, CryptoProvider } from './provider/provider.js';
export * from './channel/index.js';
export * from './signing.js';
export * from './backup.js';
export * from './opaque.js';
export * from './fingerprint.js';
export * from './mls/index.js';
// The solution hashers stay internal (the test beside pow.ts checks the fast one against the reference).
export {
  createPowChallenge,
  derivePowSecret,
  leadingZeroBits,
  MAX_POW_DIFFICULTY,
  powBinding,
  PowDifficulty,
  solvePow,
  verifyPow,
  type PowChallenge,
  type PowSolver,
  type PowVerdict,
} from './pow.js';
export * from './safety.js';
export * from './device-box.js';
export * from './timelock/index.js';
export * from './transparency/index.js';
