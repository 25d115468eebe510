/** @module Typed errors thrown by Parley's crypto package; callers map `code` to protocol error codes. */

export const CryptoErrorCode = {
  /** A Noise handshake or transport message failed to authenticate or parse. */
  CHANNEL_FAILED: 'CHANNEL_FAILED',
  /** A sealed box (key backup, recovery blob) did not open: wrong key or tampered bytes. */
  SEAL_FAILED: 'SEAL_FAILED',
  /** A signature did not verify. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** An argument had the wrong length or shape. */
  BAD_INPUT: 'BAD_INPUT',
  /** OPAQUE authentication failed (wrong password or unknown user). */
  AUTH_FAILED: 'AUTH_FAILED',
  /** An MLS operation was rejected (bad credential, wrong epoch, undecryptable message). */
  MLS_FAILED: 'MLS_FAILED',
  /** A time-lock puzzle out of range: modulus size, base, squarings (DESIGN §8). */
  BAD_PUZZLE: 'BAD_PUZZLE',
  /** A time-lock key that does not match the sender's commitment, or a sealed text that does not open under it. */
  BAD_RELEASE: 'BAD_RELEASE',
} as const;
export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
