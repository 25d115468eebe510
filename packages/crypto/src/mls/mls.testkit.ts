/** @module Test helpers for the MLS facade: devices with fresh Ed25519 keys and a credential directory. */
import { ed25519 } from '@noble/curves/ed25519.js';
import { expect } from 'vitest';
import { CryptoError } from '../errors.js';
import type { MlsMember, ValidateCredential } from './types.js';

const text = new TextEncoder();

export function makeDevice(name: string): MlsMember {
  const signaturePrivateKey = ed25519.utils.randomSecretKey();
  return {
    identity: text.encode(name),
    signaturePrivateKey,
    signaturePublicKey: ed25519.getPublicKey(signaturePrivateKey),
  };
}

export function utf8(value: string): Uint8Array {
  return text.encode(value);
}

export function name(identity: Uint8Array): string {
  return new TextDecoder().decode(identity);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * A stand-in for Parley's certificate check: accepts exactly the listed devices, each with its own
 * key. Records every call so tests can see the facade consulted it.
 */
export function directory(...members: MlsMember[]): ValidateCredential & { calls: string[] } {
  const calls: string[] = [];
  const validate = async (identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<boolean> => {
    calls.push(name(identity));
    return members.some((m) => same(m.identity, identity) && same(m.signaturePublicKey, signaturePublicKey));
  };
  return Object.assign(validate, { calls });
}

/** Asserts that `promise` rejects with `CryptoError` of `code` (and, optionally, a message fragment). */
export async function expectCryptoError(
  promise: Promise<unknown> | (() => unknown),
  code: CryptoError['code'],
  fragment?: RegExp,
): Promise<CryptoError> {
  let caught: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a CryptoError').toBeInstanceOf(CryptoError);
  const error = caught as CryptoError;
  expect(error.code).toBe(code);
  if (fragment !== undefined) expect(error.message).toMatch(fragment);
  return error;
}

/** `value`, or a test failure if it is missing (keeps tests free of non-null assertions). */
export function defined<T>(value: T | undefined, what = 'value'): T {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
}

/** A copy of `bytes` with the byte at `index` (negative counts from the end) XORed with `mask`. */
export function flipped(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  const at = index < 0 ? copy.length + index : index;
  copy[at] = defined(copy[at], `byte ${at}`) ^ mask;
  return copy;
}
