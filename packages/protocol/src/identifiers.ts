/** @module Usernames and device ids: the only user-chosen names in the protocol. */
import { ParleyError, ErrorCode } from './errors.js';
import { object, string, type Infer } from './schema.js';

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

/** A device of an account: who signed in, who is in a group's routing list, who sent an entry. */
export const deviceRefSchema = object({ username: usernameSchema, deviceId: deviceIdSchema });
export type DeviceRef = Infer<typeof deviceRefSchema>;

/** A device as one string, `username/deviceId`: for maps, sets and logs. */
export function deviceKey(device: DeviceRef): string {
  return `${device.username}/${device.deviceId}`;
}

export function sameDevice(a: DeviceRef, b: DeviceRef): boolean {
  return a.username === b.username && a.deviceId === b.deviceId;
}

/** Just the reference, without whatever else a record of the device carries. */
export function deviceRef(device: DeviceRef): DeviceRef {
  return { username: device.username, deviceId: device.deviceId };
}
