/**
 * @module Direct sessions (DESIGN §9): the signalling ops the server relays between two devices,
 * and what the two devices say to each other, which the server never reads: the signed DTLS
 * fingerprints (inside MLS) and the frames of the data channel.
 */
import { decodeCbor, encodeCbor } from './codec.js';
import { deviceRefSchema, usernameSchema } from './identifiers.js';
import { array, boolean, bytes, literal, object, oneOf, optional, string, uint, type Infer, type Schema } from './schema.js';

export const directSessionIdSchema = bytes({ length: 16 });

/** One STUN or TURN server, as RTCPeerConnection takes it (`PARLEY_ICE_SERVERS` on the server). */
export const iceServerSchema = object({
  urls: array(string({ min: 1, max: 512 }), { max: 8 }),
  username: optional(string({ max: 256 })),
  credential: optional(string({ max: 256 })),
});
export type IceServer = Infer<typeof iceServerSchema>;
export const iceServersSchema = array(iceServerSchema, { max: 16 });

/** An SDP offer or answer, or one ICE candidate (JSON of RTCIceCandidateInit). Bounded: the server relays it. */
export const MAX_SIGNAL_LENGTH = 16 * 1024;
export const directSignalSchema = object({
  sessionId: directSessionIdSchema,
  kind: oneOf(['offer', 'answer', 'candidate'] as const),
  data: string({ min: 1, max: MAX_SIGNAL_LENGTH }),
  /** With an offer or answer: the sender's signed DTLS fingerprint, as an MLS message of the 1:1 group. */
  auth: optional(bytes({ min: 1, max: 8 * 1024 })),
});
export type DirectSignal = Infer<typeof directSignalSchema>;

/** Why a session ended, as the peers tell each other (`closed: REASON`). */
export const directReasonSchema = string({ min: 1, max: 200 });

const empty = object({});

export const directOps = {
  /**
   * Ask to go direct with `username`, a contact: the server pushes `direct.incoming` to each of
   * their online devices. PEER_OFFLINE when none is online, NOT_A_CONTACT for anyone else.
   */
  'direct.request': { request: object({ username: usernameSchema }), response: object({ sessionId: directSessionIdSchema, iceServers: iceServersSchema }) },
  /** Accept or decline an incoming request; the first device to accept takes the session. */
  'direct.answer': {
    request: object({ sessionId: directSessionIdSchema, accept: boolean() }),
    response: object({ peer: deviceRefSchema, iceServers: iceServersSchema }),
  },
  /** Relay an offer, answer or candidate to the other device; only once the session was accepted. */
  'direct.signal': { request: directSignalSchema, response: empty },
  /** End a session the server still relays for, telling the other device why. */
  'direct.end': { request: object({ sessionId: directSessionIdSchema, reason: directReasonSchema }), response: empty },
} as const satisfies Record<string, { request: Schema<unknown>; response: Schema<unknown> }>;

export const directEvents = {
  /** A contact's device asks to go direct with this one. */
  'direct.incoming': object({ sessionId: directSessionIdSchema, from: deviceRefSchema }),
  /** The device asked accepted (then offers and answers follow) or declined. */
  'direct.answered': object({ sessionId: directSessionIdSchema, accepted: boolean(), peer: deviceRefSchema }),
  'direct.signal': directSignalSchema,
  /** The other device ended the session, or went away before it opened. */
  'direct.ended': object({ sessionId: directSessionIdSchema, reason: directReasonSchema }),
} as const satisfies Record<string, Schema<unknown>>;

/**
 * What each device says about its end of the data channel, encrypted and signed in the 1:1 MLS
 * group (so the server can neither read nor forge it): its own DTLS fingerprint, and the one it
 * was given for the peer, signed with its device key over `directFingerprintMessage` (crypto).
 */
export const directHelloSchema = object({
  t: literal('direct-hello'),
  sessionId: directSessionIdSchema,
  fingerprint: string({ min: 1, max: 256 }),
  /** The peer's fingerprint as this device received it (empty in an offer, made before any). */
  peerFingerprint: string({ max: 256 }),
  signature: bytes({ length: 64 }),
});
export type DirectHello = Infer<typeof directHelloSchema>;

/**
 * A frame on the data channel: an MLS message of the 1:1 group (`id` numbers it within the
 * session; `seq` is its log position when a copy went through the server), the receiver's ack of
 * message `id` once it stored it, or goodbye.
 */
const messageFrame = object({ t: literal('msg'), id: uint(), payload: bytes({ min: 1, max: 512 * 1024 }), seq: optional(uint()) });
const ackFrame = object({ t: literal('ack'), id: uint() });
const byeFrame = object({ t: literal('bye'), reason: directReasonSchema });
export type DirectFrame = Infer<typeof messageFrame> | Infer<typeof ackFrame> | Infer<typeof byeFrame>;

export function encodeDirectFrame(frame: DirectFrame): Uint8Array {
  return encodeCbor(frame);
}

/** Throws CodecError or ValidationError for anything but a frame. */
export function decodeDirectFrame(bytes: Uint8Array): DirectFrame {
  const value = decodeCbor(bytes, 600 * 1024);
  const kind = typeof value === 'object' && value !== null ? (value as { t?: unknown }).t : undefined;
  if (kind === 'bye') return byeFrame.parse(value);
  return kind === 'ack' ? ackFrame.parse(value) : messageFrame.parse(value);
}

export function encodeDirectHello(hello: DirectHello): Uint8Array {
  return encodeCbor(hello);
}

export function decodeDirectHello(bytes: Uint8Array): DirectHello {
  return directHelloSchema.parse(decodeCbor(bytes, 4096));
}

/** The `a=fingerprint` line of an SDP (RFC 8122 §5), lower-cased: what DTLS will check the peer's certificate against. */
export function sdpFingerprint(sdp: string): string | undefined {
  const match = /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp);
  return match ? `${match[1]?.toLowerCase()} ${match[2]?.toLowerCase()}` : undefined;
}
