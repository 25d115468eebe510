/**
 * @module Time-locked messages on the wire (DESIGN §8): the RSW puzzle a lock carries, and the
 * release the server queues for every member device of the lock's group at its unlock time, and
 * the ops that ask for a lock and fetch its release.
 */
import { decodeCbor, encodeCbor } from './codec.js';
import { groupIdSchema } from './groups.js';
import { op, type OpSpec } from './op-parts.js';
import { array, bytes, object, uint, type Infer } from './schema.js';

/** A lock id: 16 random bytes chosen by the server. */
export const TIMELOCK_ID_BYTES = 16;
/** The challenge key `c`, which the sender's message key is derived from. */
export const TIMELOCK_KEY_BYTES = 32;
/** RSW modulus sizes a puzzle may use: at least 2048 bits (DESIGN §8), at most 4096. */
export const TIMELOCK_MIN_MODULUS_BYTES = 256;
export const TIMELOCK_MAX_MODULUS_BYTES = 512;
/**
 * The most squarings a puzzle may ask for: 2^50, about 36 years for GMP at a million squarings a
 * second, so no sane lock needs more, and a client never starts a solver that could not end.
 */
export const TIMELOCK_MAX_SQUARINGS = 2 ** 50;

export const timelockIdSchema = bytes({ length: TIMELOCK_ID_BYTES });
export const timelockKeySchema = bytes({ length: TIMELOCK_KEY_BYTES });

/**
 * An RSW time-lock puzzle (Rivest, Shamir, Wagner 1996): `maskedKey = c ⊕ H(base^(2^squarings) mod
 * modulus)`, integers as big-endian bytes, `base` as long as `modulus`. Only the schema's sizes are
 * checked here; crypto's `checkTimelockPuzzle` checks the numbers themselves.
 */
export const timelockPuzzleSchema = object({
  modulus: bytes({ min: TIMELOCK_MIN_MODULUS_BYTES, max: TIMELOCK_MAX_MODULUS_BYTES }),
  base: bytes({ min: TIMELOCK_MIN_MODULUS_BYTES, max: TIMELOCK_MAX_MODULUS_BYTES }),
  squarings: uint({ max: TIMELOCK_MAX_SQUARINGS }),
  maskedKey: timelockKeySchema,
});
export type TimelockPuzzle = Infer<typeof timelockPuzzleSchema>;

/**
 * What the server releases at `unlockAt`: the lock's challenge key, for the group it was made
 * for. Carried as the payload of a `release` mailbox entry (whose `groupId` is the lock's group),
 * and answered by `timelock.fetch`.
 */
export const timelockReleaseSchema = object({
  lockId: timelockIdSchema,
  groupId: bytes({ length: 16 }),
  unlockAt: uint(),
  key: timelockKeySchema,
});
export type TimelockRelease = Infer<typeof timelockReleaseSchema>;

export function encodeTimelockRelease(release: TimelockRelease): Uint8Array {
  return encodeCbor(release);
}

/** Throws CodecError or ValidationError for anything that is not a release. */
export function decodeTimelockRelease(bytes: Uint8Array): TimelockRelease {
  return timelockReleaseSchema.parse(decodeCbor(bytes, 1024));
}

export const timelockOps = {
  /**
   * A time lock for a message to a group this device is in (DESIGN §8): the server makes a fresh
   * challenge key and an RSW puzzle for it whose squarings take until `unlockAt` (Unix ms) at the
   * server's reference speed, and releases the key to the group's member devices at `unlockAt`.
   * BAD_INPUT for a time in the past or beyond the server's horizon.
   */
  'timelock.lock': op(
    object({ groupId: groupIdSchema, unlockAt: uint() }),
    object({ lockId: timelockIdSchema, unlockAt: uint(), puzzle: timelockPuzzleSchema, key: timelockKeySchema }),
  ),
  /**
   * The released keys among these locks, for locks of groups this device is routed in; locks not
   * yet released, unknown, or of other groups are left out (a removed member gets nothing).
   */
  'timelock.fetch': op(
    object({ lockIds: array(timelockIdSchema, { max: 100 }) }),
    object({ releases: array(timelockReleaseSchema, { max: 100 }) }),
  ),
} as const satisfies Record<string, OpSpec>;
