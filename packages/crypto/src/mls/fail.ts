/** @module Error helpers for the MLS facade: every failure surfaces as a typed `CryptoError`. */
import { CryptoError } from '../errors.js';

export function mlsError(message: string, cause?: unknown): CryptoError {
  return new CryptoError('MLS_FAILED', `mls: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * Turns anything ts-mls (or the AEAD/HPKE code under it) throws into `CryptoError('MLS_FAILED')`.
 * Why: ts-mls throws its own `MlsError` subclasses, and @hpke/noble throw plain `Error`s or even
 * `TypeError`s on malformed input; callers must see one failure type they can map to a protocol code.
 * A `CryptoError` (e.g. BAD_INPUT from our own checks) passes through unchanged.
 */
export function asMlsError(error: unknown, operation: string): CryptoError {
  if (error instanceof CryptoError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return mlsError(`${operation} failed: ${detail}`, error);
}

export function badInput(message: string): CryptoError {
  return new CryptoError('BAD_INPUT', `mls: ${message}`);
}

/** Rejects non-byte arguments before they reach ts-mls, naming the argument (STYLE §10). */
export function requireBytes(
  value: unknown,
  name: string,
  length?: { exactly?: number; min?: number; max?: number },
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw badInput(`${name} must be a Uint8Array`);
  if (length?.exactly !== undefined && value.length !== length.exactly) {
    throw badInput(`${name} must be ${length.exactly} bytes, got ${value.length}`);
  }
  if (length?.min !== undefined && value.length < length.min) {
    throw badInput(`${name} must be at least ${length.min} bytes, got ${value.length}`);
  }
  if (length?.max !== undefined && value.length > length.max) {
    throw badInput(`${name} must be at most ${length.max} bytes, got ${value.length}`);
  }
}

export function requireFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') throw badInput(`${name} must be a function`);
}
