/** @module @parley/crypto: channel (Noise), OPAQUE, key backup, signatures, fingerprints and MLS. Isomorphic, no I/O. */
export * from './errors.js';
export * from './channel/index.js';
export * from './signing.js';
export * from './backup.js';
export * from './opaque.js';
export * from './fingerprint.js';
export * from './mls/index.js';
export * from './pow.js';
