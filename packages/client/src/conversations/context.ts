/** @module What the messenger's helpers (history, rejoin) need from it. */
import type { MlsMember } from '@parley/crypto';
import type { DeviceRef } from '@parley/protocol';
import type { CredentialValidator } from './credentials.js';
import type { Requester } from './requester.js';
import type { ClientStore } from './store.js';

export interface MessengerContext {
  request: Requester;
  store: ClientStore;
  session: DeviceRef;
  member: MlsMember;
  credentials: CredentialValidator;
}
