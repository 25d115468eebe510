/**
 * @module Finding the conversation a call names: a group by id or unambiguous title, or the 1:1
 * with a peer, made on first use. One this device has not joined yet is looked for again after a
 * sync; one it marked broken is refused with GROUP_BROKEN rather than reported missing.
 */
import { ErrorCode, ParleyError } from '@parley/protocol';
import type { ConversationRecord } from '../store/client-store.js';
import { refuseIfBroken } from './broken-groups.js';
import type { MessengerContext } from './context.js';
import type { GroupLog } from './inbox.js';
import { createConversation } from './membership.js';
import { acceptRequest } from './requests.js';
import * as views from './views.js';

/** Brings this device's conversations up to date: a sync, or nothing while pushes keep it current. */
export type CatchUp = () => Promise<void>;

/** A group by id or unambiguous title; one this device has not joined yet is looked for once more after `catchUp`. */
export async function findGroup(ctx: MessengerContext, name: string, catchUp: CatchUp): Promise<ConversationRecord> {
  try {
    return await views.findGroup(ctx.store, name);
  } catch (error) {
    if (!(error instanceof ParleyError) || error.code !== ErrorCode.NOT_FOUND) throw error;
    await catchUp();
    try {
      return await views.findGroup(ctx.store, name);
    } catch (again) {
      await refuseBroken(ctx, (c) => c.kind === 'group' && (c.groupId === name || c.title === name));
      throw again;
    }
  }
}

/**
 * The 1:1 conversation with `peer`, ready to write into, and whether it was made just now (then it
 * is empty, with nothing to catch up on). Writing to someone by name makes them my contact.
 */
export async function directConversation(ctx: MessengerContext, log: GroupLog, peer: string, catchUp: CatchUp): Promise<{ conversation: ConversationRecord; created: boolean }> {
  if (peer === ctx.self.username) throw new ParleyError(ErrorCode.BAD_INPUT, 'to write to yourself, create a group');
  // A 1:1 kept from before the block too (a new one the server's contacts.add refuses).
  if (ctx.contacts.hidden.has(peer)) throw new ParleyError(ErrorCode.BLOCKED, `you block ${peer}; unblock ${peer} first`);
  let conversation = await activeDirect(ctx, peer);
  if (!conversation) {
    // This account may have one this device has not joined yet (a Welcome waiting, a new device).
    await catchUp();
    conversation = await activeDirect(ctx, peer);
  }
  if (!conversation) await refuseBroken(ctx, (c) => c.kind === 'direct' && c.peer === peer);
  if (conversation) {
    // The group's tree holds the keys checked when they joined; the pin check refuses a key
    // changed since (IDENTITY_KEY_CHANGED) before anything is sent.
    await ctx.directory.entry(peer);
    // Becoming my contact accepts their pending 1:1 request.
    if (conversation.requestFrom !== undefined) conversation = await acceptRequest(ctx, conversation.groupId);
    return { conversation, created: false };
  }
  await ctx.directory.entry(peer, { refresh: true });
  await ctx.contacts.add([peer], ctx.self.username);
  return { conversation: await createConversation(ctx, log, 'direct', peer, [peer]), created: true };
}

async function activeDirect(ctx: MessengerContext, peer: string): Promise<ConversationRecord | undefined> {
  return (await ctx.store.listConversations()).find((c) => c.kind === 'direct' && c.peer === peer && c.active);
}

/** GROUP_BROKEN when a conversation `matches` that this device marked broken (it is inactive, so lookups pass it over). */
async function refuseBroken(ctx: MessengerContext, matches: (conversation: ConversationRecord) => boolean): Promise<void> {
  for (const conversation of await ctx.store.listConversations()) if (!conversation.active && matches(conversation)) await refuseIfBroken(ctx, conversation);
}
