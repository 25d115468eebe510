/**
 * @module The sender's and recipients' side of a time lock (DESIGN §8): the text is sealed under
 * a key derived from the lock's challenge key `c`, next to a commitment to `c`, so that a key the
 * server releases (or a solver finds) is checked before it is believed.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { encodeCbor, equalBytes, TIMELOCK_KEY_BYTES, type LockedContent, type TimelockPuzzle } from '@parley/protocol';
import { CryptoError } from '../errors.js';

const NONCE_BYTES = 24;

/** What the server returns for a lock request (`timelock.lock`). */
export interface TimelockGrant {
  lockId: Uint8Array;
  unlockAt: number;
  puzzle: TimelockPuzzle;
  /** The challenge key `c`: secret until `unlockAt`. */
  key: Uint8Array;
}

/** Where a lock belongs: a released key is only ever checked against these. */
interface LockBinding {
  groupId: Uint8Array;
  lockId: Uint8Array;
  unlockAt: number;
}

function binding(lock: LockBinding): Uint8Array {
  return encodeCbor([lock.groupId, lock.lockId, lock.unlockAt]);
}

/**
 * SHA-256 over `c` and the lock it belongs to. Hiding because `c` is 256 random bits, binding by
 * collision resistance; the group, lock id and unlock time in it make a key released for another
 * lock or group fail the check even if it were the same `c`.
 */
export function timelockCommitment(lock: LockBinding, key: Uint8Array): Uint8Array {
  return sha256(encodeCbor(['parley/timelock/commitment/v1', lock.groupId, lock.lockId, lock.unlockAt, key]));
}

/** HKDF-SHA256 (RFC 5869) from `c` to the AEAD key, so `c` itself never keys a cipher. */
function sealKey(key: Uint8Array): Uint8Array {
  return hkdf(sha256, key, undefined, utf8ToBytes('parley/timelock/seal/v1'), 32);
}

/** The content a sender puts in its MLS message for `text` locked by `grant` in group `groupId`. */
export function lockText(grant: TimelockGrant, options: { groupId: Uint8Array; text: string; sentAt: number }): LockedContent {
  if (grant.key.byteLength !== TIMELOCK_KEY_BYTES) throw new CryptoError('BAD_INPUT', `a time-lock key is ${TIMELOCK_KEY_BYTES} bytes`);
  const lock = { groupId: options.groupId, lockId: grant.lockId, unlockAt: grant.unlockAt };
  const nonce = randomBytes(NONCE_BYTES);
  const key = sealKey(grant.key);
  const ciphertext = xchacha20poly1305(key, nonce, binding(lock)).encrypt(utf8ToBytes(options.text));
  key.fill(0);
  const sealed = new Uint8Array(NONCE_BYTES + ciphertext.byteLength);
  sealed.set(nonce);
  sealed.set(ciphertext, NONCE_BYTES);
  return {
    t: 'locked',
    sentAt: options.sentAt,
    lockId: grant.lockId,
    unlockAt: grant.unlockAt,
    puzzle: grant.puzzle,
    commitment: timelockCommitment(lock, grant.key),
    sealed,
  };
}

/** Throws CryptoError BAD_RELEASE unless `key` is the one the sender committed to for this lock in this group. */
export function checkTimelockKey(content: LockedContent, groupId: Uint8Array, key: Uint8Array): void {
  if (key.byteLength !== TIMELOCK_KEY_BYTES || !equalBytes(timelockCommitment({ groupId, lockId: content.lockId, unlockAt: content.unlockAt }, key), content.commitment)) {
    throw new CryptoError('BAD_RELEASE', "the time-lock key does not match the sender's commitment");
  }
}

/** The text of a locked message, opened with a released or solved key (checked against the commitment first). */
export function unlockText(content: LockedContent, groupId: Uint8Array, key: Uint8Array): string {
  checkTimelockKey(content, groupId, key);
  if (content.sealed.byteLength < NONCE_BYTES + 16) throw new CryptoError('BAD_RELEASE', 'the sealed text is too short');
  const aeadKey = sealKey(key);
  try {
    const plaintext = xchacha20poly1305(aeadKey, content.sealed.subarray(0, NONCE_BYTES), binding({ groupId, lockId: content.lockId, unlockAt: content.unlockAt })).decrypt(
      content.sealed.subarray(NONCE_BYTES),
    );
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch (error) {
    throw new CryptoError('BAD_RELEASE', 'the sealed text did not open under the committed key', { cause: error });
  } finally {
    aeadKey.fill(0);
  }
}
