/** @module Stable error codes shared by server and clients, and the typed errors of this package. */

/**
 * Every error that crosses the wire carries one of these codes. Codes are stable API:
 * scripts match on them, so a code is never renamed or reused for another meaning.
 */
export const ErrorCode = {
  BAD_FRAME: 'BAD_FRAME',
  BAD_REQUEST: 'BAD_REQUEST',
  UNKNOWN_OP: 'UNKNOWN_OP',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  ALREADY_AUTHENTICATED: 'ALREADY_AUTHENTICATED',
  AUTH_FAILED: 'AUTH_FAILED',
  INVALID_USERNAME: 'INVALID_USERNAME',
  USERNAME_TAKEN: 'USERNAME_TAKEN',
  UNKNOWN_DEVICE: 'UNKNOWN_DEVICE',
  DEVICE_REVOKED: 'DEVICE_REVOKED',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  NOT_FOUND: 'NOT_FOUND',
  FORBIDDEN: 'FORBIDDEN',
  STALE_EPOCH: 'STALE_EPOCH',
  /** A commit bundle the Delivery Service cannot accept as it stands: not signed by the sender's leaf, or not doing what it declares. */
  INVALID_COMMIT: 'INVALID_COMMIT',
  UNKNOWN_USER: 'UNKNOWN_USER',
  IDENTITY_KEY_CHANGED: 'IDENTITY_KEY_CHANGED',
  NOT_A_MEMBER: 'NOT_A_MEMBER',
  NO_KEY_PACKAGES: 'NO_KEY_PACKAGES',
  RATE_LIMITED: 'RATE_LIMITED',
  POW_REQUIRED: 'POW_REQUIRED',
  BANNED: 'BANNED',
  TIMEOUT: 'TIMEOUT',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'INTERNAL',
  /** At start: this node's server key is not the one the shared database was first used with. */
  KEY_MISMATCH: 'KEY_MISMATCH',
  /** Input the server or a client cannot use, such as an unlock time in the past or past the horizon. */
  BAD_INPUT: 'BAD_INPUT',
  /** A direct session (DESIGN §9) with a user none of whose devices is online, or who did not accept in time. */
  PEER_OFFLINE: 'PEER_OFFLINE',
  /** Only contacts may ask to go direct; a request from anyone else is refused without bothering the user. */
  NOT_A_CONTACT: 'NOT_A_CONTACT',
  /** A direct session whose peer could not prove its end of the channel: the DTLS fingerprints do not match the signed ones. */
  DIRECT_REFUSED: 'DIRECT_REFUSED',
  /** The other user blocked you: the server refuses their KeyPackages, Welcomes to them and direct messages to them. */
  BLOCKED: 'BLOCKED',
  /** A per-account list (contacts, blocks) is full. */
  LIMIT_REACHED: 'LIMIT_REACHED',
  // Raised on the client side only; listed here so every code lives in one registry.
  SERVER_KEY_CHANGED: 'SERVER_KEY_CHANGED',
  CONNECTION_FAILED: 'CONNECTION_FAILED',
  NOT_LOGGED_IN: 'NOT_LOGGED_IN',
  /** A time-lock puzzle whose modulus, base or squarings are out of range (DESIGN §8). */
  BAD_PUZZLE: 'BAD_PUZZLE',
  /** A released or solved time-lock key that does not match the sender's commitment, or is for another lock or group. */
  BAD_RELEASE: 'BAD_RELEASE',
  /** A log or mailbox entry this device could not decrypt, verify or read: acknowledged and reported, never blocking. */
  UNREADABLE_ENTRY: 'UNREADABLE_ENTRY',
  /** The conversation is a message request not accepted yet: this device sends nothing into it until it is. */
  REQUEST_PENDING: 'REQUEST_PENDING',
  /** A group this device can no longer follow (its state cannot advance and rejoining failed): sends to it are refused at once. */
  GROUP_BROKEN: 'GROUP_BROKEN',
  /** A directory entry the key-transparency log does not vouch for: bad head signature, bad inclusion proof, or a leaf for other keys (DESIGN §11). */
  TRANSPARENCY_PROOF_INVALID: 'TRANSPARENCY_PROOF_INVALID',
  /** The server showed a log that does not extend the one this client saw before: forked or rewound (DESIGN §11). */
  TRANSPARENCY_FORKED: 'TRANSPARENCY_FORKED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const errorCodes = new Set<string>(Object.values(ErrorCode));
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && errorCodes.has(value);
}

/**
 * A proof-of-work challenge (DESIGN §10) as it travels: signed by the server, expiring, for one
 * context. The client finds a `counter` for it and sends both back with the request.
 */
export interface PowChallengeWire {
  context: 'register' | 'login';
  nonce: Uint8Array;
  /** Leading zero bits the solution hash needs; 0 means no work. */
  difficulty: number;
  /** Unix milliseconds after which the server refuses it. */
  expiresAt: number;
  /** The server's HMAC over the fields above. */
  mac: Uint8Array;
}

/** Details an error may carry besides its code and message. */
export interface ErrorDetails {
  /** Milliseconds to wait before retrying, for RATE_LIMITED and BANNED. */
  retryAfterMs?: number;
  /** The group's current epoch, for STALE_EPOCH: catch up to it, then retry. */
  epoch?: number;
  /** For POW_REQUIRED: a fresh challenge to solve, then repeat the request with the solution. */
  pow?: PowChallengeWire;
}

/** The shape of an error on the wire. */
export interface WireError extends ErrorDetails {
  code: ErrorCode;
  message: string;
}

/** An error with a stable code: thrown by handlers, turned into a WireError at the boundary. */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message };
    if (this.details.retryAfterMs !== undefined) wire.retryAfterMs = this.details.retryAfterMs;
    if (this.details.epoch !== undefined) wire.epoch = this.details.epoch;
    if (this.details.pow !== undefined) wire.pow = this.details.pow;
    return wire;
  }

  static fromWire(wire: WireError): ParleyError {
    const details: ErrorDetails = {};
    if (wire.retryAfterMs !== undefined) details.retryAfterMs = wire.retryAfterMs;
    if (wire.epoch !== undefined) details.epoch = wire.epoch;
    if (wire.pow !== undefined) details.pow = wire.pow;
    return new ParleyError(wire.code, wire.message, details);
  }
}

/** Bytes that are not a well-formed, size-bounded CBOR value. The codec's only failure mode. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

/** A decoded value that does not match its schema; `path` names the offending field. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path || 'value'}: ${problem}`);
  }
}

/**
 * WebSocket close codes (4000–4999 is the application range, RFC 6455 §7.4.2).
 * Sent when the channel itself is unusable, so no error reply can be sealed.
 */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  BAD_HANDSHAKE: 4000,
  UNSUPPORTED_VERSION: 4001,
  CHANNEL_BROKEN: 4002,
  TOO_MANY_BAD_FRAMES: 4003,
  HANDSHAKE_TIMEOUT: 4004,
  AUTH_TIMEOUT: 4005,
  IDLE_TIMEOUT: 4006,
  SESSION_REVOKED: 4007,
  RATE_LIMITED: 4008,
  BANNED: 4009,
  SERVER_SHUTDOWN: 4010,
  TEXT_FRAME: 4011,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
