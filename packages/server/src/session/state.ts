/** @module What a connection knows about who is on the other end. */
import type { DeviceRef } from '@parley/protocol';
import type { StrikeReason } from '../services/abuse.js';
import type { PendingAuth } from '../services/accounts.js';
import type { PendingPasswordChange, PendingRecovery } from '../services/passwords.js';

export type AuthState =
  | { kind: 'anonymous'; pending?: PendingAuth; recovery?: PendingRecovery }
  /** Password proven on this connection, no device enrolled yet: may only add a device. */
  | { kind: 'password'; username: string }
  | { kind: 'device'; session: DeviceRef; passwordChange?: PendingPasswordChange };

export interface RequestContext {
  readonly handshakeHash: Uint8Array;
  auth: AuthState;
  /** Counts a strike against the client's address (DESIGN §10), e.g. for a forged proof of work. */
  strike(reason: StrikeReason): void;
}
