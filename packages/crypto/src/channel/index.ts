/** @module Noise_NX_25519_ChaChaPoly_BLAKE2s secure channel (Noise rev 34): pure, sans-I/O, browser-safe. */
export { NoiseNXInitiator, NoiseNXResponder } from './handshake.js';
export type { NoiseNXInitiatorOptions, NoiseNXResponderOptions } from './handshake.js';
export { generateStaticKeyPair, publicKeyFromPrivate } from './keys.js';
export { NOISE_MAX_MESSAGE } from './types.js';
export type { HandshakeResult, StaticKeyPair, TransportCipher } from './types.js';
