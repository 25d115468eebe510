/** @module Public shapes of the Noise NX secure channel, shared by the handshake and transport modules. */

/** Noise rev 34 §3: every handshake and transport message is at most 65535 bytes. */
export const NOISE_MAX_MESSAGE = 65535;

/** An X25519 key pair: 32-byte private scalar and 32-byte public u-coordinate (RFC 7748 §5). */
export interface StaticKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/**
 * One direction of an established channel (a Noise CipherState, rev 34 §5.1).
 * Each call consumes the next 64-bit nonce, so ciphertexts must be decrypted in the order they were
 * encrypted; a replayed or reordered ciphertext fails with `CHANNEL_FAILED`.
 */
export interface TransportCipher {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
}

export interface HandshakeResult {
  /** Encrypts what this side sends. */
  send: TransportCipher;
  /** Decrypts what the peer sends. */
  receive: TransportCipher;
  /** Noise rev 34 §11.2: a transcript hash both sides share, for channel binding. */
  handshakeHash: Uint8Array;
  /** The peer's authenticated static key; NX authenticates only the responder, so only the initiator gets one. */
  remoteStatic?: Uint8Array;
}
