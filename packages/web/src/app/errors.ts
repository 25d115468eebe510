/** @module Errors in words: what the screens show for an SDK or server error. */
import { ErrorCode, ParleyError } from '@parley/client';

function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) return 'Something went wrong.';
  const capital = trimmed[0]?.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export const USERNAME_RULE = 'Usernames are 3 to 32 characters: a–z, 0–9, “_”, “.” and “-”.';

/** A send refused because the peer's identity key changed (DESIGN §11): nothing left this browser. */
export function keyChangedMessage(peer: string): string {
  return `${peer}’s identity key changed, so nothing was sent. Compare safety numbers with ${peer} (Verify safety number), and trust the new key only if they match.`;
}

export function isCode(error: unknown, ...codes: ErrorCode[]): error is ParleyError {
  return error instanceof ParleyError && codes.includes(error.code);
}

/** True for errors that mean "the connection is gone", which the reconnect banner already says. */
export function isConnectionError(error: unknown): boolean {
  return isCode(error, ErrorCode.CONNECTION_FAILED, ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE);
}

export function describeError(error: unknown): string {
  if (error instanceof ParleyError) {
    switch (error.code) {
      case ErrorCode.AUTH_FAILED:
        // Deliberately the same for an unknown user: the server does not say which it was.
        return 'Wrong username or password';
      case ErrorCode.USERNAME_TAKEN:
        return 'That username is taken; choose another.';
      case ErrorCode.INVALID_USERNAME:
        return USERNAME_RULE;
      case ErrorCode.CONNECTION_FAILED:
      case ErrorCode.TIMEOUT:
      case ErrorCode.UNAVAILABLE:
        return 'Cannot reach the server. Check your connection; Parley keeps trying.';
      case ErrorCode.RATE_LIMITED:
        return 'Too many attempts. Wait a moment and try again.';
      case ErrorCode.BANNED:
        return 'The server is refusing connections from this address for a while.';
      case ErrorCode.DEVICE_REVOKED:
        return 'This device was logged out. Log in again to use it.';
      case ErrorCode.SERVER_KEY_CHANGED:
        return (
          'The server presented a different key from the one this browser trusted before. Someone may be ' +
          'intercepting the connection. Continue only if the server operator confirms the key changed.'
        );
      case ErrorCode.IDENTITY_KEY_CHANGED:
        // The SDK's message names the CLI command; the web client has the Verify screen instead.
        return 'Their identity key changed, so nothing was sent. Compare safety numbers with them (Verify safety number), and trust the new key only if they match.';
      case ErrorCode.TRANSPARENCY_PROOF_INVALID:
        return 'The server could not prove these keys are in its public key log, so nothing was sent. The server may be trying to impersonate them.';
      case ErrorCode.TRANSPARENCY_FORKED:
        return 'The server showed a key log that contradicts the one it showed before, so nothing was sent. It may be showing you a different log than it shows others.';
      case ErrorCode.NOT_LOGGED_IN:
        return 'This browser is not logged in.';
      default:
        return sentence(error.message);
    }
  }
  if (error instanceof Error) return sentence(error.message);
  return 'Something went wrong.';
}
