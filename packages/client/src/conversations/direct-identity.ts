/**
 * @module Which message a direct-session text is (DESIGN §9): its sending device, its `sentAt`
 * (which that device never repeats over a channel) and its text. A text that went over a channel
 * unconfirmed is sent again through the server (`fallback`), so one device may get it twice;
 * this is how it knows the second is the first.
 */
import type { StoredMessage } from '../store/client-store.js';
import type { MessengerContext } from './context.js';

export interface DirectIdentity {
  sender: string;
  senderDevice: string;
  sentAt: number;
  text: string;
}

/** The copy of that message this device holds already, if any. */
export async function heldCopy(ctx: MessengerContext, groupId: string, identity: DirectIdentity): Promise<StoredMessage | undefined> {
  return findCopy(await ctx.store.listMessages(groupId), identity);
}

export function findCopy(stored: StoredMessage[], identity: DirectIdentity): StoredMessage | undefined {
  return stored.find((m) => m.sender === identity.sender && m.senderDevice === identity.senderDevice && m.sentAt === identity.sentAt && m.text === identity.text);
}

/** A `sentAt` for a new text from this device over a channel: now, but after every earlier one of its own, so none repeats. */
export function freshSentAt(stored: StoredMessage[], self: { username: string; deviceId: string }): number {
  const last = stored.reduce((latest, m) => (m.sender === self.username && m.senderDevice === self.deviceId ? Math.max(latest, m.sentAt) : latest), 0);
  return Math.max(Date.now(), last + 1);
}
