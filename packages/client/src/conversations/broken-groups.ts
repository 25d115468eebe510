/**
 * @module Groups this device cannot follow (issue #11 §1): its state cannot advance (a commit it
 * refused moved the group on, or a Welcome it could not open) and rejoining by external commit
 * failed too. Such a group is marked broken with its reason and the server's epoch at the time;
 * sending to it fails at once with GROUP_BROKEN instead of wedging in STALE_EPOCH, and a rejoin is
 * tried again only once the group has moved to another epoch (someone changed it).
 *
 * The mark lives in the store's cache: losing it costs one more failed rejoin, nothing else.
 */
import { decodeCbor, encodeCbor, ErrorCode, ParleyError, s } from '@parley/protocol';
import type { ClientStore, ConversationRecord } from '../store/client-store.js';
import type { MessengerContext } from './context.js';

const markKey = (groupId: string) => `broken/${groupId}`;
const markSchema = s.object({ reason: s.string({ max: 4000 }), epoch: s.uint(), at: s.uint() });

export interface BrokenGroup {
  /** Why the group could not be rejoined. */
  reason: string;
  /** The group's epoch on the server when rejoining failed. */
  epoch: number;
  /** When it was marked (Unix ms). */
  at: number;
}

export async function brokenGroup(ctx: Pick<MessengerContext, 'store'>, groupId: string): Promise<BrokenGroup | undefined> {
  const bytes = await ctx.store.getCached(markKey(groupId));
  if (!bytes) return undefined;
  try {
    return markSchema.parse(decodeCbor(bytes));
  } catch {
    // An unreadable mark is no mark: the next sync tries to rejoin, and marks it again if that fails.
    return undefined;
  }
}

/** Why a conversation is broken on this device, if it is: for apps that list conversations from the store (the web, offline too). */
export async function brokenReason(store: ClientStore, groupId: string): Promise<string | undefined> {
  return (await brokenGroup({ store }, groupId))?.reason;
}

export async function markBroken(ctx: MessengerContext, groupId: string, mark: BrokenGroup): Promise<void> {
  await ctx.store.putCached(markKey(groupId), encodeCbor(mark));
}

export async function clearBroken(ctx: MessengerContext, groupId: string): Promise<void> {
  await ctx.store.putCached(markKey(groupId), undefined);
}

/** GROUP_BROKEN for a conversation marked broken, before anything is encrypted to it. */
export async function refuseIfBroken(ctx: MessengerContext, conversation: ConversationRecord): Promise<void> {
  const mark = await brokenGroup(ctx, conversation.groupId);
  if (mark) throw new ParleyError(ErrorCode.GROUP_BROKEN, `${conversation.title} is broken on this device (${mark.reason}); nothing can be sent to it until it can be rejoined`);
}
