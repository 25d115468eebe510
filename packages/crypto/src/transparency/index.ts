/** @module Key transparency (DESIGN §11): the RFC 9162 Merkle tree, its signed heads and what its leaves vouch for. */
export * from './merkle.js';
export * from './key-log.js';
