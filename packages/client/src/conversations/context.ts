/** @module What the conversation modules share: the channel, the store, who I am, and the caches. */
import type { MlsMember } from '@parley/crypto';
import type { DeviceRef } from '@parley/protocol';
import type { Requester } from '../connection/requester.js';
import type { ClientStore } from '../store/client-store.js';
import type { AuthenticationService } from '../trust/authentication-service.js';
import type { Directory } from '../trust/directory.js';
import type { Contacts } from './contacts.js';
import type { ConversationEvent } from './events.js';
import type { GroupSummaries } from './group-summaries.js';

export interface MessengerContext {
  request: Requester;
  store: ClientStore;
  /** This device. */
  self: DeviceRef;
  /** This device as an MLS member: its credential and signature key. */
  member: MlsMember;
  directory: Directory;
  authentication: AuthenticationService;
  groups: GroupSummaries;
  /** My contacts and blocked users (DESIGN §6 consent). */
  contacts: Contacts;
  emit(event: ConversationEvent): void;
}
