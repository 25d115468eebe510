/**
 * @module Pinning the server's static key (DESIGN §4): trust on first use, or the key the user
 * gave; a different key afterwards is refused before anything is sent over the channel.
 */
import { fingerprint, sameFingerprint } from '@parley/crypto';
import { ErrorCode, ParleyError } from '@parley/protocol';
import { serverOrigin } from '../connection/socket.js';
import type { ProfileStore } from '../store/profile.js';

export interface ServerKeyPin {
  /** The server's base URL: pins are per origin. */
  server: string;
  store: ProfileStore;
  /** The fingerprint the user expects; it overrides (and replaces) a pinned one. */
  serverKey?: string;
  /** Called when a key is pinned for the first time. */
  onServerKeyPinned?(fingerprint: string): void;
}

/** Checks the key the server proved it holds against the pin; returns its fingerprint. */
export async function checkServerKey(pin: ServerKeyPin, publicKey: Uint8Array): Promise<string> {
  const seen = fingerprint(publicKey);
  const origin = serverOrigin(pin.server);
  const { pins } = await pin.store.load();
  const pinned = pins[origin];
  const expected = pin.serverKey ?? pinned;
  if (expected !== undefined && !sameFingerprint(expected, seen)) {
    const source = pin.serverKey ? 'the key you gave' : 'the key pinned on first use';
    throw new ParleyError(
      ErrorCode.SERVER_KEY_CHANGED,
      `the server at ${origin} presented key ${seen}, not ${source} (${expected}). ` +
        'Someone may be intercepting the connection. If the server operator confirms the new key, pass it with --server-key.',
    );
  }
  if (pinned === undefined || !sameFingerprint(pinned, seen)) {
    await pin.store.savePins({ ...pins, [origin]: seen });
    if (pinned === undefined) pin.onServerKeyPinned?.(seen);
  }
  return seen;
}
