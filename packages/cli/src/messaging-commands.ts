/** @module Client commands for conversations: send, sync, listen, chats, users, group … */
import type { ConversationEvent, Message, Messenger, ParleyClient, SendOptions } from '@parley/client';
import { normalizeUsername } from '@parley/protocol';
import qrcode from 'qrcode-terminal';
import { withClient, type CommandContext } from './account-commands.js';
import { parseUnlockAt } from './unlock-time.js';

const humanTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** A message as the CLI contract prints it; a time-locked one without its text until it opens (DESIGN §8). */
export function printMessage(ctx: CommandContext, message: Message): void {
  const sentAt = new Date(message.sentAt).toISOString();
  const via = message.via === undefined ? {} : { via: message.via };
  const fields = { conversation: message.conversation, ...(message.kind === 'group' ? { group: message.groupId } : {}), sender: message.sender, sentAt, seq: message.seq, ...via };
  const from = `[${humanTime(message.sentAt)}] ${message.kind === 'group' ? `#${message.conversation} ` : ''}${message.sender}:`;
  const lock = message.lock;
  if (lock && message.text === undefined) {
    ctx.output.result({ ...fields, locked: true, unlockAt: new Date(lock.unlockAt).toISOString() }, `${from} (time-locked until ${humanTime(lock.unlockAt)} UTC)`);
  } else if (lock?.unlockedBy) {
    const how = lock.unlockedBy === 'server' ? "the server's release" : 'solving its puzzle';
    ctx.output.result({ ...fields, unlockAt: new Date(lock.unlockAt).toISOString(), text: message.text, unlockedBy: lock.unlockedBy }, `${from} ${message.text}  (time-locked until ${humanTime(lock.unlockAt)} UTC, opened by ${how})`);
  } else {
    ctx.output.result({ ...fields, text: message.text }, `${from} ${message.text}${message.via === 'direct' ? '  (direct)' : ''}`);
  }
}

export function withMessenger<T>(ctx: CommandContext, run: (messenger: Messenger, client: ParleyClient) => Promise<T>): Promise<T> {
  return withClient(ctx, async (client) => run(await client.messenger(), client));
}

/** What `send` and `group send` print: where it went and, for a time-locked message, until when. */
function printSent(ctx: CommandContext, message: Message): void {
  const unlockAt = message.lock ? { unlockAt: new Date(message.lock.unlockAt).toISOString() } : {};
  const to = message.kind === 'group' ? `#${message.conversation}` : message.conversation;
  ctx.output.result(
    { conversation: message.conversation, ...(message.kind === 'group' ? { group: message.groupId } : {}), seq: message.seq, sentAt: new Date(message.sentAt).toISOString(), ...unlockAt },
    `sent to ${to}${message.lock ? `, time-locked until ${humanTime(message.lock.unlockAt)} UTC` : ''}`,
  );
}

/** `--unlock-at WHEN`, checked before connecting. */
function sendOptions(options: { unlockAt?: string }): SendOptions {
  return options.unlockAt === undefined ? {} : { unlockAt: parseUnlockAt(options.unlockAt) };
}

export async function send(ctx: CommandContext, username: string, text: string, options: { unlockAt?: string } = {}): Promise<void> {
  const peer = normalizeUsername(username);
  const sending = sendOptions(options);
  printSent(ctx, await withMessenger(ctx, (messenger) => messenger.sendDirect(peer, text, sending)));
}

/** How the CLI names a conversation (as in messages: the peer or the title, with the group id for groups), by group id. */
export type ConversationNames = Map<string, { conversation: string; group?: string }>;

export async function conversationNames(messenger: Pick<Messenger, 'conversations'>): Promise<ConversationNames> {
  const names: ConversationNames = new Map();
  for (const chat of await messenger.conversations()) {
    names.set(chat.groupId, chat.kind === 'direct' ? { conversation: chat.peer ?? chat.title } : { conversation: chat.title, group: chat.groupId });
  }
  return names;
}

/**
 * What a sync or a live event says beside messages: losses, failures, history. An error names
 * its conversation as messages do, or by group id for a group this device never joined.
 */
export function noteEvent(ctx: CommandContext, event: ConversationEvent, names: ConversationNames = new Map()): void {
  if (event.kind === 'gap') ctx.output.note(`warning: messages ${event.gap.fromSeq}..${event.gap.toSeq} of a conversation were dropped by the server (${event.gap.reason})`);
  else if (event.kind === 'error') {
    const where = event.conversation === undefined ? {} : (names.get(event.conversation) ?? { conversation: event.conversation });
    ctx.output.conversationError({ ...where, code: event.code, message: event.message });
  } else if (event.kind === 'history') ctx.output.note(`history: received part ${event.chunk.received} of ${event.chunk.total} (${event.chunk.messages} messages)`);
}

/** Print the stored messages not shown yet (oldest first; time-locked ones that opened again), then mark them shown. */
export async function showUnread(ctx: CommandContext, messenger: Pick<Messenger, 'unread' | 'markShown'>): Promise<void> {
  const unread = await messenger.unread();
  for (const message of unread) printMessage(ctx, message);
  await messenger.markShown(unread);
}

export async function sync(ctx: CommandContext): Promise<void> {
  await withMessenger(ctx, async (messenger) => {
    const { gaps, errors, history } = await messenger.sync();
    for (const gap of gaps) noteEvent(ctx, { kind: 'gap', conversation: '', gap });
    const names = errors.length > 0 ? await conversationNames(messenger) : new Map();
    for (const error of errors) noteEvent(ctx, error, names);
    for (const chunk of history) noteEvent(ctx, { kind: 'history', chunk });
    await showUnread(ctx, messenger);
    noteRequests(ctx, (await messenger.requests()).length);
  });
}

/** Requests wait apart from chats (DESIGN §6 consent): a reminder for people, not part of the JSON stream. */
function noteRequests(ctx: CommandContext, count: number): void {
  if (count > 0) ctx.output.note(`${count} message request${count === 1 ? '' : 's'} waiting: parley requests`);
}

/**
 * Print what is waiting, then stay connected: pushed entries are applied as they arrive (no
 * fetching) and each message is printed once processed; one sync at the start catches up.
 */
export async function listen(ctx: CommandContext): Promise<void> {
  await withMessenger(ctx, async (messenger, client) => {
    await showUnread(ctx, messenger);
    await new Promise<void>((resolve, reject) => {
      let printing = Promise.resolve();
      client.onConversationEvent((event) => {
        printing = printing
          .then(async () => {
            if (event.kind === 'error') return noteEvent(ctx, event, await conversationNames(messenger));
            if (event.kind !== 'message' && event.kind !== 'unlocked') return noteEvent(ctx, event);
            if (event.message.request !== undefined) return ctx.output.note(`message request from ${event.message.request}: parley requests`);
            printMessage(ctx, event.message);
            await messenger.markShown([event.message]);
          })
          .catch(reject);
      }, reject);
      client.onClose(reject);
      messenger.sync().catch(reject);
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}

function counts(chat: { unread: number; locked: number }): string {
  const parts = [...(chat.unread > 0 ? [`${chat.unread} unread`] : []), ...(chat.locked > 0 ? [`${chat.locked} time-locked`] : [])];
  return parts.length > 0 ? `  (${parts.join(', ')})` : '';
}

export async function chats(ctx: CommandContext): Promise<void> {
  const list = await withMessenger(ctx, async (messenger) => {
    await messenger.sync();
    return messenger.conversations();
  });
  for (const chat of list) {
    const name = chat.kind === 'direct' ? (chat.peer ?? chat.title) : chat.title;
    ctx.output.result(
      {
        conversation: name,
        ...(chat.kind === 'group' ? { group: chat.groupId } : {}),
        kind: chat.kind,
        unread: chat.unread,
        locked: chat.locked,
        active: chat.active,
        ...(chat.broken ? { broken: chat.broken } : {}),
        lastActivity: new Date(chat.lastActivityAt).toISOString(),
      },
      `${chat.kind === 'group' ? '#' : ''}${name}${counts(chat)}${chat.broken ? `  [broken: ${chat.broken}]` : chat.active ? '' : '  [removed]'}`,
    );
  }
}

export async function users(ctx: CommandContext, options: { limit?: string }): Promise<void> {
  const limit = options.limit === undefined ? 50 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw Object.assign(new Error('--limit must be 1..1000'), { code: 'BAD_INPUT' });
  const online = await withClient(ctx, (client) => client.onlineUsers(limit));
  for (const username of online) ctx.output.result({ username, online: true }, username);
}

/** Checked before connecting, so a typo fails fast with INVALID_USERNAME. */
const splitUsers = (list: string | undefined) => (list ?? '').split(',').map((name) => name.trim()).filter(Boolean).map((name) => normalizeUsername(name));

export async function groupCreate(ctx: CommandContext, name: string, options: { members?: string }): Promise<void> {
  const members = splitUsers(options.members);
  const group = await withMessenger(ctx, (messenger) => messenger.createGroup(name, members));
  ctx.output.result({ group: group.groupId, title: group.title }, `created group ${group.title} (${group.groupId})`);
}

export async function groupAdd(ctx: CommandContext, name: string, usernames: string[]): Promise<void> {
  const users = usernames.map((user) => normalizeUsername(user));
  await withMessenger(ctx, (messenger) => messenger.addToGroup(name, users));
  ctx.output.result({ group: name, added: usernames }, `added ${usernames.join(', ')} to ${name}`);
}

export async function groupRemove(ctx: CommandContext, name: string, usernames: string[]): Promise<void> {
  const users = usernames.map((user) => normalizeUsername(user));
  await withMessenger(ctx, (messenger) => messenger.removeFromGroup(name, users));
  ctx.output.result({ group: name, removed: usernames }, `removed ${usernames.join(', ')} from ${name}`);
}

export async function groupLeave(ctx: CommandContext, name: string): Promise<void> {
  await withMessenger(ctx, (messenger) => messenger.leaveGroup(name));
  ctx.output.result({ group: name, left: true }, `left ${name}`);
}

export async function groupMembers(ctx: CommandContext, name: string): Promise<void> {
  const { summary } = await withMessenger(ctx, (messenger) => messenger.groupSummary(name));
  const byUser = new Map<string, number>();
  for (const member of summary.members) byUser.set(member.username, (byUser.get(member.username) ?? 0) + 1);
  for (const [username, devices] of [...byUser].sort()) {
    const admin = summary.admins.includes(username);
    ctx.output.result({ username, admin, devices }, `${username}${admin ? ' (admin)' : ''}  ${devices} device${devices === 1 ? '' : 's'}`);
  }
}

export async function groupPromote(ctx: CommandContext, name: string, username: string): Promise<void> {
  const user = normalizeUsername(username);
  await withMessenger(ctx, (messenger) => messenger.promote(name, user));
  ctx.output.result({ group: name, promoted: user }, `${user} is now an admin of ${name}`);
}

export async function groupSend(ctx: CommandContext, name: string, text: string, options: { unlockAt?: string } = {}): Promise<void> {
  const sending = sendOptions(options);
  printSent(ctx, await withMessenger(ctx, (messenger) => messenger.sendToGroup(name, text, sending)));
}

function qr(text: string): Promise<string> {
  return new Promise((resolve) => qrcode.generate(text, { small: true }, resolve));
}

export async function verify(ctx: CommandContext, username: string, options: { mark?: boolean; trustNewKey?: boolean }): Promise<void> {
  const user = normalizeUsername(username);
  const state = await withClient(ctx, async (client) => {
    if (options.mark || options.trustNewKey) await client.markVerified(user, { trustNewKey: options.trustNewKey ?? false });
    return client.safety(user);
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
