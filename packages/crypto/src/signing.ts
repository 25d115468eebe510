/**
 * @module Ed25519 identity and device keys, and the exact byte strings they sign. The signing runs
 * on the installed crypto provider: a server verifies a device signature on every reconnect.
 */
import { encodeCbor } from '@parley/protocol';
import { CryptoError } from './errors.js';
import { cryptoProvider } from './provider/installed.js';

const SEED_LENGTH = 32;

export interface SigningKeyPair {
  /** 32-byte Ed25519 seed. Keep secret. */
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const provider = cryptoProvider();
  const privateKey = provider.randomBytes(SEED_LENGTH);
  return { privateKey, publicKey: provider.ed25519PublicKey(privateKey) };
}

export function signingKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  if (seed.byteLength !== SEED_LENGTH) throw new CryptoError('BAD_INPUT', 'an Ed25519 seed is 32 bytes');
  return { privateKey: seed, publicKey: cryptoProvider().ed25519PublicKey(seed) };
}

export function sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (privateKey.byteLength !== SEED_LENGTH) throw new CryptoError('BAD_INPUT', 'an Ed25519 private key is a 32-byte seed');
  return cryptoProvider().ed25519Sign(privateKey, message);
}

/** RFC 8032 §5.1.7, strictly (every provider refuses non-canonical encodings alike); false for a malformed key or signature. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return cryptoProvider().ed25519Verify(publicKey, message, signature);
}

// Every signed message starts with its own context string, so a signature made for one
// purpose can never be replayed as another (domain separation).

/** What the identity key signs to bind a device key to the account (DESIGN §5). */
export function deviceCertificateMessage(cert: { username: string; deviceId: string; name: string; publicKey: Uint8Array }): Uint8Array {
  return encodeCbor(['parley/device-certificate/v1', cert.username, cert.deviceId, cert.name, cert.publicKey]);
}

/** What a device signs to authenticate a reconnect: bound to this channel's handshake hash. */
export function channelAuthMessage(handshakeHash: Uint8Array, username: string, deviceId: string): Uint8Array {
  return encodeCbor(['parley/channel-auth/v1', handshakeHash, username, deviceId]);
}

/**
 * What the identity key signs to replace the account's OPAQUE record and key backup (DESIGN §5:
 * a password change is signed by the user), so a change needs the account's keys as well as the
 * old password. Bound to the server's one-time `nonce`, so a change seen once cannot be replayed.
 */
export function passwordChangeMessage(username: string, nonce: Uint8Array, record: Uint8Array, backup: Uint8Array): Uint8Array {
  return encodeCbor(['parley/password-change/v2', username, nonce, record, backup]);
}

/** What the recovery key signs to set a new password: bound to the server's one-time `nonce`, so it cannot be replayed. */
export function recoveryMessage(username: string, nonce: Uint8Array, record: Uint8Array, backup: Uint8Array): Uint8Array {
  return encodeCbor(['parley/recovery/v1', username, nonce, record, backup]);
}

/**
 * What a device signs about a direct session's data channel (DESIGN §9): its own DTLS
 * fingerprint and the one it was given for the peer, bound to the session and to who signs, so
 * a signature from one session or one side cannot be replayed in another.
 */
export function directFingerprintMessage(sessionId: Uint8Array, signer: { username: string; deviceId: string }, fingerprint: string, peerFingerprint: string): Uint8Array {
  return encodeCbor(['parley/direct-fingerprint/v1', sessionId, signer.username, signer.deviceId, fingerprint, peerFingerprint]);
}
