/**
 * @module Key backup: the account's private keys sealed under a key only the user can derive,
 * from the OPAQUE export key (password) or from the recovery key (DESIGN §5).
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { decodeCbor, encodeCbor, s } from '@parley/protocol';
import { CryptoError } from './errors.js';
import { signingKeyPairFromSeed, type SigningKeyPair } from './signing.js';

const NONCE_BYTES = 24;

/** HKDF-SHA256 (RFC 5869) with no salt: a `length`-byte key for the purpose named by `info`. */
export function deriveKey(secret: Uint8Array, info: string, length = 32): Uint8Array {
  return hkdf(sha256, secret, undefined, utf8ToBytes(info), length);
}

/** HKDF(exportKey, "parley/backup/v1"): the password-derived backup key. */
export function backupKeyFromExportKey(exportKey: Uint8Array): Uint8Array {
  return deriveKey(exportKey, 'parley/backup/v1');
}

/** Seal `plaintext` with XChaCha20-Poly1305; `context` (e.g. the username) is bound as associated data. */
export function seal(key: Uint8Array, plaintext: Uint8Array, context: string): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const ciphertext = xchacha20poly1305(key, nonce, utf8ToBytes(context)).encrypt(plaintext);
  const sealed = new Uint8Array(NONCE_BYTES + ciphertext.byteLength);
  sealed.set(nonce);
  sealed.set(ciphertext, NONCE_BYTES);
  return sealed;
}

export function open(key: Uint8Array, sealed: Uint8Array, context: string): Uint8Array {
  if (sealed.byteLength < NONCE_BYTES + 16) throw new CryptoError('SEAL_FAILED', 'sealed data is too short');
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE_BYTES), utf8ToBytes(context)).decrypt(sealed.subarray(NONCE_BYTES));
  } catch (error) {
    throw new CryptoError('SEAL_FAILED', 'the sealed data did not open: wrong key or tampered data', { cause: error });
  }
}

// The key backup's plaintext: versioned CBOR, so later releases can add fields.
const keyBackupSchema = s.object({ v: s.literal(1), identityPrivateKey: s.bytes({ length: 32 }) });
const keyBackupContext = (username: string) => `parley/backup/v1/${username}`;

/** An opened key backup: the identity key, and the exact plaintext to re-seal unchanged. */
export interface OpenedKeyBackup {
  identityPrivateKey: Uint8Array;
  /** What was sealed, byte for byte: a password change re-seals it whole, fields it does not know included. */
  plaintext: Uint8Array;
}

/** The plaintext of a new key backup holding the account's identity private key. */
export function keyBackupPlaintext(identityPrivateKey: Uint8Array): Uint8Array {
  return encodeCbor({ v: 1, identityPrivateKey });
}

/** Seal a key backup's plaintext for `username` (bound as associated data) under a backup or recovery key. */
export function sealKeyBackup(key: Uint8Array, plaintext: Uint8Array, username: string): Uint8Array {
  return seal(key, plaintext, keyBackupContext(username));
}

/** Open a key backup, or fail with SEAL_FAILED: wrong key, another user's backup, tampered or malformed. */
export function openKeyBackup(key: Uint8Array, sealed: Uint8Array, username: string): OpenedKeyBackup {
  const plaintext = open(key, sealed, keyBackupContext(username));
  try {
    // A copy of its own: the decoder may hand out a view of `plaintext`, which callers wipe.
    return { identityPrivateKey: keyBackupSchema.parse(decodeCbor(plaintext)).identityPrivateKey.slice(), plaintext };
  } catch (error) {
    plaintext.fill(0);
    throw new CryptoError('SEAL_FAILED', 'the key backup opened but is not a Parley key backup', { cause: error });
  }
}

// Recovery keys are 32 random bytes shown as Crockford base32 in groups of four, which people
// can copy by hand without confusing 0/O or 1/I/L.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RECOVERY_BYTES = 20;

export interface RecoveryKeys {
  /** Seals the recovery copy of the key backup. */
  sealKey: Uint8Array;
  /** Proves knowledge of the recovery key to the server, which stores only the public half. */
  signing: SigningKeyPair;
}

export function generateRecoveryKey(): string {
  return formatRecoveryKey(randomBytes(RECOVERY_BYTES));
}

function formatRecoveryKey(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{1,4}/g)?.join('-') ?? out;
}

function parseRecoveryKey(text: string): Uint8Array {
  const normalized = text.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (normalized.length !== Math.ceil((RECOVERY_BYTES * 8) / 5)) throw new CryptoError('BAD_INPUT', 'a recovery key has 32 characters (8 groups of 4)');
  const bytes = new Uint8Array(RECOVERY_BYTES);
  let bits = 0;
  let value = 0;
  let index = 0;
  for (const char of normalized) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) throw new CryptoError('BAD_INPUT', `a recovery key cannot contain ${JSON.stringify(char)}`);
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes[index++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return bytes;
}

export function recoveryKeys(recoveryKey: string): RecoveryKeys {
  const secret = parseRecoveryKey(recoveryKey);
  return {
    sealKey: deriveKey(secret, 'parley/recovery/seal/v1'),
    signing: signingKeyPairFromSeed(deriveKey(secret, 'parley/recovery/sign/v1')),
  };
}
