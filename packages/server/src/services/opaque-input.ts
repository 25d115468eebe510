/** @module OPAQUE messages come from clients: bytes that are not one are the client's error (BAD_REQUEST), not the server's. */
import { CryptoError } from '@parley/crypto';
import { ErrorCode, ParleyError } from '@parley/protocol';

/** Runs an OPAQUE server step on client bytes, turning a CryptoError into BAD_REQUEST naming the op. */
export function opaqueInput<T>(op: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof CryptoError) throw new ParleyError(ErrorCode.BAD_REQUEST, `${op}: request is not a valid OPAQUE message`);
    throw error;
  }
}
