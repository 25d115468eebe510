/**
 * @module The one WebRTC data channel a direct session needs (DESIGN §9), as an interface: the
 * SDK core stays runtime-neutral, Node plugs in werift (`@parley/client/node`) and browsers their
 * own RTCPeerConnection. Offers and answers carry every candidate (gathering finishes first), so
 * only two signals cross the server; candidates sent separately are still accepted.
 */
import type { IceServer } from '@parley/protocol';

export interface PeerLinkEvents {
  /** The data channel is open: DTLS is up with the certificate `remoteFingerprint()` names. */
  open(): void;
  message(data: Uint8Array): void;
  /** The peer or the network closed the channel, or it failed; once, and never after our own `close()`. */
  closed(): void;
  /** Something went wrong that no call awaits, such as tearing the connection down. */
  failed(error: unknown): void;
}

export interface PeerLink {
  /** Starts as the offering side: the local offer, with its candidates. */
  createOffer(): Promise<string>;
  /** Answers a remote offer: the local answer, with its candidates. */
  acceptOffer(offer: string): Promise<string>;
  acceptAnswer(answer: string): Promise<void>;
  /** One remote candidate, as JSON of RTCIceCandidateInit. */
  addCandidate(candidate: string): Promise<void>;
  /**
   * The fingerprint of the certificate the peer actually presented in the DTLS handshake, as
   * `sha-256 ab:cd:…` (lower case, RFC 8122 form); undefined before the channel opens.
   */
  remoteFingerprint(): Promise<string | undefined>;
  send(data: Uint8Array): void;
  close(): void;
}

export type PeerLinkFactory = (options: { iceServers: IceServer[] }, events: PeerLinkEvents) => PeerLink;

/** Lower-case `algorithm hex:hex:…`, the form `sdpFingerprint` gives, so the two compare as strings. */
export function fingerprintText(algorithm: string, hex: string): string {
  return `${algorithm.toLowerCase()} ${hex.toLowerCase()}`;
}
