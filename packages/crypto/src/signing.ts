/** @module Ed25519 identity and device keys, and the exact byte strings they sign. */
import { ed25519 } from '@noble/curves/ed25519.js';
import { encodeCbor } from '@parley/protocol';
import { CryptoError } from './errors.js';

export interface SigningKeyPair {
  /** 32-byte Ed25519 seed. Keep secret. */
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const privateKey = ed25519.utils.randomSecretKey();
  return { privateKey, publicKey: ed25519.getPublicKey(privateKey) };
}

export function signingKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  if (seed.byteLength !== 32) throw new CryptoError('BAD_INPUT', 'an Ed25519 seed is 32 bytes');
  return { privateKey: seed, publicKey: ed25519.getPublicKey(seed) };
}

export function sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, privateKey);
}

export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    // noble throws on malformed points or lengths; for a verifier that is simply "invalid".
    return false;
  }
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
