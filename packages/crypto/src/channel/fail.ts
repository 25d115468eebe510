/** @module Error helpers for the Noise channel: every failure surfaces as a typed `CryptoError`. */
import { CryptoError } from '../errors.js';

export function channelError(message: string, cause?: unknown): CryptoError {
  return new CryptoError('CHANNEL_FAILED', `noise: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * Wraps anything thrown while processing untrusted bytes, so callers see one failure type.
 * Why: noble throws plain `Error`s (e.g. for a low-order X25519 point), and the
 * server must be able to map every channel failure to a protocol error code.
 */
export function asChannelError(error: unknown): CryptoError {
  if (error instanceof CryptoError) return error;
  return channelError('handshake failed', error);
}

/** Rejects non-byte arguments before they reach noble, naming the argument (STYLE §10). */
export function requireBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoError('BAD_INPUT', `noise: ${name} must be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new CryptoError('BAD_INPUT', `noise: ${name} must be ${length} bytes, got ${value.length}`);
  }
}
