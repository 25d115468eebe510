/** @module Client commands for conversations: send, sync, listen, chats, users, group … */
import type { Message, Messenger, ParleyClient } from '@parley/client';
import qrcode from 'qrcode-terminal';
import { withClient, type CommandContext } from './account-commands.js';

function printMessage(ctx: CommandContext, message: Message): void {
  const sentAt = new Date(message.sentAt).toISOString();
  ctx.output.result(
    {
      conversation: message.conversation,
      ...(message.kind === 'group' ? { group: message.groupId } : {}),
      sender: message.sender,
      sentAt,
      seq: message.seq,
      text: message.text,
    },
    `[${sentAt.slice(0, 19).replace('T', ' ')}] ${message.kind === 'group' ? `#${message.conversation} ` : ''}${message.sender}: ${message.text}`,
  );
}

function withMessenger<T>(ctx: CommandContext, run: (messenger: Messenger, client: ParleyClient) => Promise<T>): Promise<T> {
  return withClient(ctx, async (client) => run(await client.messenger(), client));
}

export async function send(ctx: CommandContext, username: string, text: string): Promise<void> {
  const message = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.sendDirect(username.toLowerCase(), text);
  });
  ctx.output.result({ conversation: message.conversation, seq: message.seq, sentAt: new Date(message.sentAt).toISOString() }, `sent to ${message.conversation}`);
}

/** Print stored unread messages and new ones, then mark them shown. */
async function showNew(ctx: CommandContext, messenger: Messenger): Promise<number> {
  const { gaps, history } = await messenger.sync();
  for (const gap of gaps) ctx.output.note(`warning: messages ${gap.fromSeq}..${gap.toSeq} of a conversation were dropped by the server (${gap.reason})`);
  for (const chunk of history) ctx.output.note(`history: received part ${chunk.received} of ${chunk.total} (${chunk.messages} messages)`);
  const unread = await messenger.unread();
  for (const message of unread) printMessage(ctx, message);
  await messenger.markShown(unread);
  return unread.length;
}

export async function sync(ctx: CommandContext): Promise<void> {
  await withMessenger(ctx, (messenger) => showNew(ctx, messenger));
}

export async function listen(ctx: CommandContext): Promise<void> {
  await withMessenger(ctx, async (messenger, client) => {
    await showNew(ctx, messenger);
    await new Promise<void>((resolve, reject) => {
      let printing = Promise.resolve();
      client.onMessage(
        () => {
          printing = printing.then(async () => {
            await showNew(ctx, messenger);
          });
        },
        reject,
      );
      client.onClose(reject);
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}

export async function chats(ctx: CommandContext): Promise<void> {
  const list = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.conversations();
  });
  for (const chat of list) {
    const name = chat.kind === 'direct' ? (chat.peer ?? chat.title) : chat.title;
    ctx.output.result(
      { conversation: name, ...(chat.kind === 'group' ? { group: chat.groupId } : {}), kind: chat.kind, unread: chat.unread, active: chat.active, lastActivity: new Date(chat.lastActivityAt).toISOString() },
      `${chat.kind === 'group' ? '#' : ''}${name}${chat.unread > 0 ? `  (${chat.unread} unread)` : ''}${chat.active ? '' : '  [removed]'}`,
    );
  }
}

export async function users(ctx: CommandContext, options: { limit?: string }): Promise<void> {
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw Object.assign(new Error('--limit must be 1..1000'), { code: 'BAD_INPUT' });
  const online = await withClient(ctx, (client) => client.onlineUsers(limit));
  for (const username of online) ctx.output.result({ username, online: true }, username);
}

const splitUsers = (list: string | undefined) => (list ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);

export async function groupCreate(ctx: CommandContext, name: string, options: { members?: string }): Promise<void> {
  const group = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.createGroup(name, splitUsers(options.members));
  });
  ctx.output.result({ group: group.groupId, title: group.title }, `created group ${group.title} (${group.groupId})`);
}

export async function groupAdd(ctx: CommandContext, name: string, usernames: string[]): Promise<void> {
  await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    await messenger.addToGroup(name, usernames.map((u) => u.toLowerCase()));
  });
  ctx.output.result({ group: name, added: usernames }, `added ${usernames.join(', ')} to ${name}`);
}

export async function groupRemove(ctx: CommandContext, name: string, usernames: string[]): Promise<void> {
  await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    await messenger.removeFromGroup(name, usernames.map((u) => u.toLowerCase()));
  });
  ctx.output.result({ group: name, removed: usernames }, `removed ${usernames.join(', ')} from ${name}`);
}

export async function groupLeave(ctx: CommandContext, name: string): Promise<void> {
  await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    await messenger.leaveGroup(name);
  });
  ctx.output.result({ group: name, left: true }, `left ${name}`);
}

export async function groupMembers(ctx: CommandContext, name: string): Promise<void> {
  const { summary } = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.groupSummary(name);
  });
  const byUser = new Map<string, number>();
  for (const member of summary.members) byUser.set(member.username, (byUser.get(member.username) ?? 0) + 1);
  for (const [username, devices] of [...byUser].sort()) {
    const admin = summary.admins.includes(username);
    ctx.output.result({ username, admin, devices }, `${username}${admin ? ' (admin)' : ''}  ${devices} device${devices === 1 ? '' : 's'}`);
  }
}

export async function groupPromote(ctx: CommandContext, name: string, username: string): Promise<void> {
  await withMessenger(ctx, (messenger) => messenger.promote(name, username.toLowerCase()));
  ctx.output.result({ group: name, promoted: username.toLowerCase() }, `${username} is now an admin of ${name}`);
}

export async function groupSend(ctx: CommandContext, name: string, text: string): Promise<void> {
  const message = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.sendToGroup(name, text);
  });
  ctx.output.result({ conversation: message.conversation, group: message.groupId, seq: message.seq, sentAt: new Date(message.sentAt).toISOString() }, `sent to #${message.conversation}`);
}

function qr(text: string): Promise<string> {
  return new Promise((resolve) => qrcode.generate(text, { small: true }, resolve));
}

export async function verify(ctx: CommandContext, username: string, options: { mark?: boolean; trustNewKey?: boolean }): Promise<void> {
  const state = await withClient(ctx, async (client) => {
    if (options.mark || options.trustNewKey) await client.markVerified(username, { trustNewKey: options.trustNewKey ?? false });
    return client.safety(username);
  });
  const status = state.keyChanged ? 'KEY CHANGED' : state.verified ? 'verified' : 'not verified';
  const human = [
    `safety number with ${state.username}: ${status}`,
    state.safetyNumber,
    ...(state.keyChanged
      ? [`warning: ${state.username}'s identity key is not the one first seen. Nothing will be sent to them until you compare this number in person and run: parley verify ${state.username} --trust-new-key`]
      : state.verified
        ? []
        : [`Compare it with ${state.username} (in person or by a call), then run: parley verify ${state.username} --mark`]),
    await qr(`parley-safety:v1:${state.safetyNumber.replaceAll(' ', '')}`),
  ].join('\n');
  ctx.output.result({ username: state.username, safetyNumber: state.safetyNumber, verified: state.verified, keyChanged: state.keyChanged }, human);
}

export async function historySend(ctx: CommandContext, deviceId: string): Promise<void> {
  const result = await withMessenger(ctx, (messenger) =>
    messenger.sendHistory(deviceId, (sent, total) => ctx.output.note(`history: sent part ${sent} of ${total}`)),
  );
  ctx.output.result({ to: deviceId, ...result }, `sent ${result.messages} messages in ${result.chunks} parts to device ${deviceId}`);
}
