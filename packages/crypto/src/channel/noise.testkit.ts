/** What the Noise channel tests share: a fresh NX handshake, and the CryptoError check. */
import { expect } from 'vitest';
import { CryptoError } from '../errors.js';
import { NoiseNXInitiator, NoiseNXResponder, generateStaticKeyPair } from './index.js';

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/** Asserts `fn` throws a CryptoError with the given code (CHANNEL_FAILED unless told). */
export function expectCryptoError(fn: () => unknown, code = 'CHANNEL_FAILED'): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CryptoError);
  expect((thrown as CryptoError).code).toBe(code);
}

export function handshake(options: { prologue?: Uint8Array } = {}) {
  const server = generateStaticKeyPair();
  const initiator = new NoiseNXInitiator(options);
  const responder = new NoiseNXResponder({ ...options, staticKey: server });
  const message1 = initiator.writeMessage1(text('hello'));
  expect(responder.readMessage1(message1)).toEqual(text('hello'));
  const { message, result: responderResult } = responder.writeMessage2(text('welcome'));
  const { payload, result: initiatorResult } = initiator.readMessage2(message);
  expect(payload).toEqual(text('welcome'));
  return { server, initiator, responder, initiatorResult, responderResult };
}

