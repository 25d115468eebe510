/**
 * @module Proving each end of a direct session's channel (DESIGN §9). The server relays the SDP
 * offer and answer, so it could swap the DTLS fingerprints in them and sit in the middle. Each
 * device therefore signs, with its device key, its own fingerprint and the one it was given for
 * the peer, and sends that inside the 1:1 MLS group, which the server can neither read nor forge.
 * Each side checks the peer's signature, that the fingerprint in the SDP it got is the one the
 * peer signed, that the peer saw ours unchanged, and, once DTLS is up, that the certificate the
 * peer actually presented is the signed one. Any mismatch refuses the session.
 */
import { directFingerprintMessage, sign, verify } from '@parley/crypto';
import { decodeDirectHello, encodeDirectHello, equalBytes, ErrorCode, ParleyError, sameDevice, sdpFingerprint, type DeviceRef } from '@parley/protocol';
import type { OpenedFromPeer } from '../conversations/direct-messages.js';

/** What the handshake needs of the messenger and of this device. */
export interface HelloKeys {
  self: DeviceRef;
  /** This device's signing key (its MLS leaf key too). */
  signingKey: Uint8Array;
  seal(peer: string, plaintext: Uint8Array): Promise<Uint8Array>;
  open(peer: string, message: Uint8Array): Promise<OpenedFromPeer>;
}

export function refused(problem: string): ParleyError {
  return new ParleyError(ErrorCode.DIRECT_REFUSED, `refused: ${problem}`);
}

/** The local fingerprint of an SDP this device made. */
export function ownFingerprint(sdp: string): string {
  const fingerprint = sdpFingerprint(sdp);
  if (!fingerprint) throw new ParleyError(ErrorCode.INTERNAL, 'the WebRTC stack made an SDP without a DTLS fingerprint');
  return fingerprint;
}

/** The MLS-protected, signed statement of our fingerprint and the peer's (empty before we have it). */
export async function makeHello(keys: HelloKeys, peer: string, sessionId: Uint8Array, fingerprint: string, peerFingerprint: string): Promise<Uint8Array> {
  const signature = sign(keys.signingKey, directFingerprintMessage(sessionId, keys.self, fingerprint, peerFingerprint));
  return keys.seal(peer, encodeDirectHello({ t: 'direct-hello', sessionId, fingerprint, peerFingerprint, signature }));
}

/**
 * Checks the peer's statement against the SDP the server relayed with it. `ours` is our own
 * fingerprint when the peer has seen it (an answer), to check it came through unchanged.
 * Returns the fingerprint the peer signed: its DTLS certificate must have it.
 */
export async function checkHello(keys: HelloKeys, peer: DeviceRef, sessionId: Uint8Array, auth: Uint8Array | undefined, sdp: string, ours?: string): Promise<string> {
  if (!auth) throw refused(`${peer.username} sent no signed fingerprint`);
  let opened: OpenedFromPeer;
  try {
    opened = await keys.open(peer.username, auth);
  } catch (error) {
    throw refused(`the signed fingerprint of ${peer.username} did not decrypt or verify (${(error as Error).message})`);
  }
  if (!sameDevice(opened.sender, peer)) throw refused(`the fingerprint was signed by another device than the one in the session`);
  let hello;
  try {
    hello = decodeDirectHello(opened.plaintext);
  } catch {
    throw refused(`${peer.username} sent an unreadable fingerprint statement`);
  }
  if (!equalBytes(hello.sessionId, sessionId)) throw refused('the signed fingerprint is for another session');
  if (!verify(opened.senderKey, directFingerprintMessage(sessionId, peer, hello.fingerprint, hello.peerFingerprint), hello.signature)) {
    throw refused(`the fingerprint signature of ${peer.username} does not verify`);
  }
  if (sdpFingerprint(sdp) !== hello.fingerprint) throw refused(`fingerprint mismatch: the DTLS fingerprint relayed for ${peer.username} is not the one they signed`);
  if (ours !== undefined && hello.peerFingerprint !== ours) throw refused(`fingerprint mismatch: ${peer.username} was given another DTLS fingerprint than ours`);
  return hello.fingerprint;
}
