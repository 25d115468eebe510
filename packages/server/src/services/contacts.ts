/**
 * @module Who counts as a contact for a direct session (DESIGN §9: only contacts can ask). Until
 * the consent service lands, a contact is someone the user shares a conversation with; this one
 * function is what changes when it does.
 */
import type { Storage } from '../storage/index.js';

/** Whether `requester` may ask `target` for something only contacts may ask. */
export type ContactCheck = (target: string, requester: string) => Promise<boolean>;

export function sharedConversationContacts(storage: Storage): ContactCheck {
  return async (target, requester) => (await storage.listGroupPeers(target)).includes(requester);
}
