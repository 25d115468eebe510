/**
 * @module Applying one entry of a group's ordered log (DESIGN §6): a commit moves the group to a
 * new epoch, a message is decrypted and kept. The new group state is saved together with what it
 * produced, in one store update, before anything is shown or acknowledged (STYLE §9).
 */
import { processMessage } from '@parley/crypto';
import { decodeMessageContent, deviceKey, ErrorCode, groupIdText, sameDevice, type LogEntry } from '@parley/protocol';
import type { ConversationRecord, StoredMessage } from '../store/client-store.js';
import { credentialOwner } from '../trust/mls-credentials.js';
import type { MessengerContext } from './context.js';
import { heldCopy } from './direct-identity.js';
import type { MembershipChange } from './events.js';
import { commitAllowed } from './policy.js';
import { channelFailure, reason, RejectedEntry } from './rejected-entry.js';
import { contentFailure, openIfReleased, receivedLock } from './timelocks.js';
import { present, type Message } from './views.js';

export interface AppliedEntry {
  message?: Message;
  /** The conversation's record changed beyond its cursor (membership, title, activity). */
  changed: boolean;
  /** Who announced leaving the group: the others commit the removal once the server unroutes them. */
  departed?: string;
  /** A device joined by external commit: it cannot know the group's title yet. */
  joinedExternally?: boolean;
  /** Users a commit added devices of. */
  added?: string[];
  /** What a commit changed in the group's membership. */
  membership?: MembershipChange;
  /** A time-locked message whose release came first did not open with it (kept locked). */
  refused?: RejectedEntry;
}

/** Apply `entry` to `conversation` (active, and the entry is the next one it has not processed). */
export async function applyLogEntry(ctx: MessengerContext, conversation: ConversationRecord, entry: LogEntry): Promise<AppliedEntry> {
  const advance = (changes: Partial<ConversationRecord>): ConversationRecord => ({ ...conversation, ...changes, processedSeq: entry.seq });
  // Our own entries took effect when the server accepted them.
  if (sameDevice(entry.sender, ctx.self)) {
    await ctx.store.apply({ conversation: advance({}) });
    return { changed: false };
  }
  let processed;
  try {
    processed = await processMessage(conversation.state, entry.payload, ctx.authentication.validateAt(entry.sentAt));
  } catch (error) {
    throw channelFailure(error) ?? new RejectedEntry(ErrorCode.UNREADABLE_ENTRY, `entry ${entry.seq} from ${deviceKey(entry.sender)} did not decrypt or verify: ${reason(error)}`, {}, { cause: error });
  }
  if (processed.kind === 'commit') {
    if (!(await commitAllowed(ctx, entry, processed))) {
      throw new RejectedEntry(ErrorCode.FORBIDDEN, `commit ${entry.seq} by ${entry.sender.username} changed other users' membership without being a group admin; ignored`);
    }
    await ctx.store.apply({ conversation: advance({ state: processed.state, active: !processed.removedSelf, lastActivityAt: entry.sentAt }) });
    await ctx.groups.stale(conversation.groupId);
    const owners = (leaves: { identity: Uint8Array }[]) => leaves.flatMap((leaf) => credentialOwner(leaf.identity) ?? []);
    const membership: MembershipChange = { by: credentialOwner(processed.committer.identity)?.username ?? entry.sender.username, added: owners(processed.added), removed: owners(processed.removed) };
    return { changed: true, joinedExternally: processed.external, added: membership.added.map((device) => device.username), membership };
  }
  let content;
  try {
    content = decodeMessageContent(processed.plaintext);
  } catch (error) {
    throw new RejectedEntry(contentFailure(error), `message ${entry.seq} from ${entry.sender.username} decrypted to nothing readable: ${reason(error)}`, { state: processed.state }, { cause: error });
  }
  if (content.t === 'leave') {
    await ctx.store.apply({ conversation: advance({ state: processed.state }) });
    return { changed: true, departed: entry.sender.username };
  }
  if (content.t === 'meta') {
    const title = conversation.kind === 'group' ? content.title : conversation.title;
    await ctx.store.apply({ conversation: advance({ state: processed.state, title }) });
    return { changed: title !== conversation.title };
  }
  const sender = credentialOwner(processed.sender.identity) ?? entry.sender;
  if (content.t === 'text' && content.fallback === true && (await heldCopy(ctx, conversation.groupId, { sender: sender.username, senderDevice: sender.deviceId, sentAt: content.sentAt, text: content.text }))) {
    // A direct message sent again through the server, that came over the channel too: kept once (DESIGN §9).
    await ctx.store.apply({ conversation: advance({ state: processed.state }) });
    return { changed: false };
  }
  const hidden = ctx.contacts.hidden.has(sender.username);
  const message: StoredMessage = {
    groupId: groupIdText(entry.groupId),
    seq: entry.seq,
    sender: sender.username,
    senderDevice: sender.deviceId,
    sentAt: content.sentAt,
    ...(content.t === 'locked' ? { lock: receivedLock(content, sender.username, { state: processed.state }) } : { text: content.text }),
    // What I wrote on another of my devices is not news to me; what a user I block wrote is kept, never news.
    read: sender.username === ctx.self.username || hidden,
  };
  // Nor does it move the conversation up the list.
  const updated = advance(hidden ? { state: processed.state } : { state: processed.state, lastActivityAt: entry.sentAt });
  await ctx.store.apply({ conversation: updated, message });
  const { opened, refused } = await openIfReleased(ctx, message);
  return { message: present(updated, opened ?? message), changed: true, ...(refused ? { refused } : {}) };
}
