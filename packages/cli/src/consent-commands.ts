/** @module Message requests and blocking (DESIGN §6 consent): requests, accept, decline, block, unblock, blocked. */
import type { ConversationRecord, MessageRequest } from '@parley/client';
import { normalizeUsername } from '@parley/protocol';
import type { CommandContext } from './account-commands.js';
import { withMessenger } from './messaging-commands.js';

const PREVIEW_CHARS = 80;

const conversationName = (c: ConversationRecord) => (c.kind === 'direct' ? (c.peer ?? c.title) : c.title);
const where = (c: ConversationRecord) => (c.kind === 'direct' ? '1:1' : `group ${c.title} (${c.groupId})`);

function preview(request: MessageRequest): string | undefined {
  const first = request.firstMessage;
  if (!first) return undefined;
  if (first.text === undefined) return '(time-locked)';
  return first.text.length > PREVIEW_CHARS ? `${first.text.slice(0, PREVIEW_CHARS - 1)}…` : first.text;
}

/** Pending requests: who, which conversation, the first message. Fetches first, as `chats` does. */
export async function requests(ctx: CommandContext): Promise<void> {
  const pending = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.requests();
  });
  for (const request of pending) {
    const c = request.conversation;
    const text = preview(request);
    ctx.output.result(
      {
        from: request.from,
        conversation: conversationName(c),
        ...(c.kind === 'group' ? { group: c.groupId } : {}),
        kind: c.kind,
        messages: request.messages,
        ...(text === undefined ? {} : { preview: text }),
        receivedAt: new Date(c.createdAt).toISOString(),
      },
      `${request.from} wants to talk (${where(c)}), ${request.messages} message${request.messages === 1 ? '' : 's'}${text === undefined ? '' : `: ${text}`}`,
    );
  }
  if (pending.length === 0) ctx.output.note('no pending message requests');
}

/** NAME: the requester's username, or the conversation's group id or title. */
export async function accept(ctx: CommandContext, name: string): Promise<void> {
  const accepted = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.acceptRequest(name);
  });
  ctx.output.result({ conversation: conversationName(accepted), ...(accepted.kind === 'group' ? { group: accepted.groupId } : {}), accepted: true }, `accepted ${where(accepted)}; you can write there now`);
}

export async function decline(ctx: CommandContext, name: string): Promise<void> {
  const declined = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.declineRequest(name);
  });
  ctx.output.result({ conversation: conversationName(declined), ...(declined.kind === 'group' ? { group: declined.groupId } : {}), declined: true }, `declined ${where(declined)}; you left it`);
}

export async function block(ctx: CommandContext, username: string): Promise<void> {
  const user = normalizeUsername(username);
  const declined = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.block(user);
  });
  const also = declined.length > 0 ? `; declined ${declined.length} request${declined.length === 1 ? '' : 's'} from them` : '';
  ctx.output.result({ blocked: user, declined: declined.map((c) => c.groupId) }, `blocked ${user}${also}`);
}

export async function unblock(ctx: CommandContext, username: string): Promise<void> {
  const user = normalizeUsername(username);
  await withMessenger(ctx, (messenger) => messenger.unblock(user));
  ctx.output.result({ unblocked: user }, `unblocked ${user}`);
}

export async function blocked(ctx: CommandContext): Promise<void> {
  const list = await withMessenger(ctx, (messenger) => messenger.blocked());
  for (const username of list) ctx.output.result({ username, blocked: true }, username);
  if (list.length === 0) ctx.output.note('you block nobody');
}
