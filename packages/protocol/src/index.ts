/** @module @parley/protocol: frames, op codes, schemas, codec and error codes. Pure and isomorphic. */
export * from './errors.js';
export * from './codec.js';
export * as s from './schema.js';
export type { Schema, Infer } from './schema.js';
export * from './identifiers.js';
export * from './ops.js';
export * from './envelope.js';
export * from './fragment.js';
export * from './encoding.js';
export * from './content.js';
export * from './timelock.js';
export * from './direct.js';
export * from './transparency.js';
