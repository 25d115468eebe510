/**
 * @module Safety numbers (DESIGN §11): what two people compare to know they see each other's
 * real identity keys, whether I marked a contact verified, and whether their key changed.
 */
import { safetyNumber } from '@parley/crypto';
import { equalBytes, ErrorCode, ParleyError } from '@parley/protocol';
import type { ClientStore } from '../store/client-store.js';
import type { Directory } from './directory.js';

export interface SafetyState {
  username: string;
  safetyNumber: string;
  /** I compared this number with them and marked it, and their key is still the one compared. */
  verified: boolean;
  /** Their identity key differs from the one first seen: sending to them is refused (IDENTITY_KEY_CHANGED). */
  keyChanged: boolean;
  identityKey: Uint8Array;
}

export interface SafetyContext {
  directory: Directory;
  store: ClientStore;
  me: { username: string; identityKey: Uint8Array };
}

/** Always asks the directory: this is the moment to notice a changed key. */
export async function safetyState(ctx: SafetyContext, username: string): Promise<SafetyState> {
  const pinned = await ctx.store.getPinnedIdentity(username);
  const entry = await ctx.directory.fetch(username);
  const verifiedKey = await ctx.store.getVerifiedIdentity(username);
  return {
    username,
    safetyNumber: safetyNumber(ctx.me, { username, identityKey: entry.identityKey }),
    verified: verifiedKey !== undefined && equalBytes(verifiedKey, entry.identityKey),
    keyChanged: pinned !== undefined && !equalBytes(pinned, entry.identityKey),
    identityKey: entry.identityKey,
  };
}

/** Record that I compared safety numbers with `username`; with `trustNewKey`, also accept a changed key. */
export async function markVerified(ctx: SafetyContext, username: string, options: { trustNewKey?: boolean } = {}): Promise<void> {
  const state = await safetyState(ctx, username);
  if (state.keyChanged && !options.trustNewKey) {
    throw new ParleyError(ErrorCode.IDENTITY_KEY_CHANGED, `the identity key of ${username} changed; compare the new safety number, then trust it explicitly`);
  }
  await ctx.store.pinIdentity(username, state.identityKey);
  await ctx.store.setVerifiedIdentity(username, state.identityKey);
}
