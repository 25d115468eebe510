/** @module Usernames and device ids: the only user-chosen names in the protocol. */
import { ParleyError, ErrorCode } from './errors.js';
import { string } from './schema.js';

export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{8,32}$/;

/** Case-fold a username and check it (DESIGN §5: 3–32 chars of [a-z0-9_.-]). */
export function normalizeUsername(input: string): string {
  const folded = input.trim().toLowerCase();
  if (!USERNAME_PATTERN.test(folded)) {
    throw new ParleyError(
      ErrorCode.INVALID_USERNAME,
      `invalid username ${JSON.stringify(input.slice(0, 40))}: use 3 to 32 characters from a-z, 0-9, "_", "." and "-"`,
    );
  }
  return folded;
}

export const usernameSchema = string({ min: 3, max: 32, pattern: USERNAME_PATTERN });
export const deviceIdSchema = string({ min: 8, max: 32, pattern: DEVICE_ID_PATTERN });
