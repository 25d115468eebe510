/**
 * @module Messages of a direct session (DESIGN §9): MLS application messages of the same 1:1
 * group, carried by the data channel instead of the server. Encrypted, signed and checked exactly
 * like relayed ones, and stored in the same history. A message that went device to device only
 * has no place in the server's log: it is kept just after the last entry it followed, at a
 * fraction past it (server sequence numbers stay whole), so history keeps the order it came in.
 */
import { encrypt, groupMetadata, inspectMessage, processMessage } from '@parley/crypto';
import { decodeMessageContent, encodeContent, ErrorCode, ParleyError, type DeviceRef } from '@parley/protocol';
import type { ConversationRecord, StoredMessage } from '../store/client-store.js';
import { credentialOwner } from '../trust/mls-credentials.js';
import type { MessengerContext } from './context.js';
import { groupIdBytes } from './group-summaries.js';
import type { GroupLog, Inbox } from './inbox.js';
import { findCopy, freshSentAt } from './direct-identity.js';
import { sendFallback, type SendOptions } from './sending.js';
import { reason } from './rejected-entry.js';
import { present, type Message } from './views.js';

/** What direct sessions use of a messenger, each step run in its order (Messenger.direct). */
export interface DirectMessaging {
  /** Whether `username` is my contact: only contacts' requests to go direct reach the user (DESIGN §6 consent). */
  isContact(username: string): Promise<boolean>;
  /** An MLS-protected payload for `peer` alone, outside the history (the signed fingerprints). */
  seal(peer: string, plaintext: Uint8Array): Promise<Uint8Array>;
  open(peer: string, message: Uint8Array): Promise<OpenedFromPeer>;
  /** Send a text over the channel (`transmit`), with a copy through the server if asked (its ciphertext heard first by `onSealed`). */
  send(peer: string, text: string, transmit: (payload: DirectPayload) => void, options: { copyToServer: boolean } & Pick<SendOptions, 'onSealed'>): Promise<Message>;
  /** Send through the server a text the channel did not confirm (its `sentAt` is its identity), kept once by a peer that got it. */
  resend(peer: string, text: string, sentAt: number): Promise<Message>;
  /**
   * A message off the channel from `sender`: one that went device to device is stored after the
   * last entry (unless held already); one the server also has is applied as that log entry (its
   * copy from the server is then a duplicate). Either is shown `via: 'direct'`; one that fails is
   * an error event of the conversation, as a bad log entry is. True when this device now holds it
   * (the peer may be told so), false when it failed.
   */
  receive(sender: DeviceRef, frame: DirectPayload): Promise<boolean>;
}

export function directMessaging(ctx: MessengerContext, inbox: Inbox, serial: <T>(task: () => Promise<T>) => Promise<T>): DirectMessaging {
  return {
    isContact: (username) => ctx.contacts.isContact(username),
    seal: (peer, plaintext) => serial(() => sealForPeer(ctx, peer, plaintext)),
    open: (peer, message) => serial(() => openFromPeer(ctx, peer, message)),
    send: (peer, text, transmit, options) => serial(() => sendOverDirect(ctx, inbox, peer, text, transmit, options)),
    resend: (peer, text, sentAt) => serial(async () => sendFallback(ctx, inbox, await directConversation(ctx, peer), text, sentAt)),
    receive: (sender, frame) => serial(() => receiveDirectFrame(ctx, inbox, sender, frame)),
  };
}

/** Device-only messages sit a thousandth apart: 2.001, 2.002, … after entry 2. */
const STEPS_PER_ENTRY = 1000;

/** What goes over the channel: the MLS message, and its log position when a copy went through the server. */
export interface DirectPayload {
  payload: Uint8Array;
  seq?: number;
}

export async function directConversation(ctx: MessengerContext, peer: string): Promise<ConversationRecord> {
  // A request I have not accepted is no conversation to go direct in (DESIGN §6 consent).
  const conversation = (await ctx.store.listConversations()).find((c) => c.kind === 'direct' && c.peer === peer && c.active && c.requestFrom === undefined);
  if (!conversation) throw new ParleyError(ErrorCode.NOT_FOUND, `no conversation with ${peer} on this device yet: send them a message first`);
  return conversation;
}

/** Encrypts `plaintext` in the 1:1 group with `peer` and saves the advanced ratchet before it leaves. */
export async function sealForPeer(ctx: MessengerContext, peer: string, plaintext: Uint8Array): Promise<Uint8Array> {
  const conversation = await directConversation(ctx, peer);
  const { message, state } = await encrypt(conversation.state, ctx.member, plaintext);
  await ctx.store.apply({ conversation: { ...conversation, state } });
  return message;
}

/** What an MLS message from the peer said, and which device signed it, with that device's key (checked by MLS against the directory). */
export interface OpenedFromPeer {
  plaintext: Uint8Array;
  sender: DeviceRef;
  senderKey: Uint8Array;
}

/** Decrypts an MLS message from `peer` in our 1:1 group. */
export async function openFromPeer(ctx: MessengerContext, peer: string, message: Uint8Array): Promise<OpenedFromPeer> {
  const conversation = await directConversation(ctx, peer);
  let processed;
  try {
    processed = await processMessage(conversation.state, message, ctx.authentication.validate);
  } catch (error) {
    throw new ParleyError(ErrorCode.UNREADABLE_ENTRY, `a direct message from ${peer} did not decrypt or verify: ${reason(error)}`, {}, { cause: error });
  }
  const sender = processed.kind === 'application' ? credentialOwner(processed.sender.identity) : undefined;
  if (processed.kind !== 'application' || sender?.username !== peer) throw new ParleyError(ErrorCode.UNREADABLE_ENTRY, `a direct message claiming to be from ${peer} is not an application message of theirs`);
  await ctx.store.apply({ conversation: { ...conversation, state: processed.state } });
  return { plaintext: processed.plaintext, sender, senderKey: processed.sender.signaturePublicKey };
}

/**
 * Sends `text` to `peer` over a direct session: `transmit` puts it on the channel (and throws
 * if it cannot: then nothing is stored, and the caller sends it through the server instead).
 * With `copyToServer`, the same MLS message is first stored by the server, so the account's
 * other devices get it too; the peer then recognises the copy by its sequence number. That copy's
 * ciphertext goes to `onSealed` before it leaves, so a resend can send the same bytes (sending.ts).
 */
export async function sendOverDirect(
  ctx: MessengerContext,
  log: GroupLog,
  peer: string,
  text: string,
  transmit: (payload: DirectPayload) => void,
  options: { copyToServer: boolean } & Pick<SendOptions, 'onSealed'>,
): Promise<Message> {
  if (text.length === 0) throw new ParleyError(ErrorCode.BAD_INPUT, 'cannot send an empty message');
  const conversation = await directConversation(ctx, peer);
  const stored = await ctx.store.listMessages(conversation.groupId);
  const sentAt = freshSentAt(stored, ctx.self);
  const { message: payload, state } = await encrypt(conversation.state, ctx.member, encodeContent({ t: 'text', text, sentAt }));
  const advanced = { ...conversation, state };
  await ctx.store.apply({ conversation: advanced });
  let seq: number | undefined;
  const epoch = Number(groupMetadata(conversation.state).epoch);
  if (!options.copyToServer) await options.onSealed?.({ groupId: conversation.groupId, epoch, message: payload, sentAt, direct: true });
  else {
    await options.onSealed?.({ groupId: conversation.groupId, epoch, message: payload, sentAt });
    seq = (await ctx.request('group.send', { groupId: groupIdBytes(conversation.groupId), epoch, message: payload })).seq;
    log.accepted(conversation.groupId, seq);
  }
  transmit(seq === undefined ? { payload } : { payload, seq });
  const message: StoredMessage = { groupId: conversation.groupId, seq: seq ?? directPosition(stored, advanced), sender: ctx.self.username, senderDevice: ctx.self.deviceId, sentAt, text, read: true };
  const updated = { ...advanced, lastActivityAt: sentAt };
  await ctx.store.apply({ conversation: updated, message });
  return { ...present(updated, message), via: 'direct' };
}

/** A device-only message from `peer` off the channel: decrypted, checked, stored after the last entry; undefined when held already. */
export async function receiveOverDirect(ctx: MessengerContext, peer: string, payload: Uint8Array): Promise<Message | undefined> {
  const { plaintext, sender } = await openFromPeer(ctx, peer, payload);
  const content = (() => {
    try {
      return decodeMessageContent(plaintext);
    } catch (error) {
      throw new ParleyError(ErrorCode.UNREADABLE_ENTRY, `a direct message from ${peer} decrypted to nothing readable: ${reason(error)}`, {}, { cause: error });
    }
  })();
  // Only texts travel device to device; anything else changes the group and goes through the server.
  if (content.t !== 'text') throw new ParleyError(ErrorCode.UNREADABLE_ENTRY, `a direct message from ${peer} was not a text (${content.t})`);
  const conversation = await directConversation(ctx, peer);
  const stored = await ctx.store.listMessages(conversation.groupId);
  // Its fallback through the server came first (no ack in time): this device has it already.
  if (findCopy(stored, { sender: sender.username, senderDevice: sender.deviceId, sentAt: content.sentAt, text: content.text })) return undefined;
  const message: StoredMessage = { groupId: conversation.groupId, seq: directPosition(stored, conversation), sender: sender.username, senderDevice: sender.deviceId, sentAt: content.sentAt, text: content.text, read: false };
  const updated = { ...conversation, lastActivityAt: Date.now() };
  await ctx.store.apply({ conversation: updated, message });
  return { ...present(updated, message), via: 'direct' };
}

function directPosition(stored: StoredMessage[], conversation: ConversationRecord): number {
  const last = stored.reduce((highest, message) => Math.max(highest, message.seq), 0);
  const previous = Math.max(conversation.processedSeq, last);
  const next = (Math.round(previous * STEPS_PER_ENTRY) + 1) / STEPS_PER_ENTRY;
  // Past 999 in a row, halve the distance to the next entry's place: whole numbers stay the server's.
  return Math.floor(next) === Math.floor(previous) ? next : previous + (Math.floor(previous) + 1 - previous) / 2;
}

/** Applies a frame's message from `sender` (see Messenger.receiveDirect); a bad one becomes an error event of the conversation. */
export async function receiveDirectFrame(ctx: MessengerContext, inbox: Pick<Inbox, 'pushed'>, sender: DeviceRef, frame: DirectPayload): Promise<boolean> {
  const conversation = await directConversation(ctx, sender.username);
  try {
    if (frame.seq === undefined) {
      const message = await receiveOverDirect(ctx, sender.username, frame.payload);
      if (message) ctx.emit({ kind: 'message', message });
      return true;
    }
    const epoch = framedEpoch(frame.payload, sender.username);
    return await inbox.pushed({ groupId: groupIdBytes(conversation.groupId), seq: frame.seq, kind: 'message', epoch, sender, sentAt: Date.now(), payload: frame.payload }, 'direct');
  } catch (error) {
    if (!(error instanceof ParleyError) || error.code !== ErrorCode.UNREADABLE_ENTRY) throw error;
    ctx.emit({ kind: 'error', conversation: conversation.groupId, code: error.code, message: error.message });
    return false;
  }
}

/** The epoch an MLS message says it is from; UNREADABLE_ENTRY for bytes that are not one. */
function framedEpoch(payload: Uint8Array, peer: string): number {
  let framing;
  try {
    framing = inspectMessage(payload);
  } catch (error) {
    throw new ParleyError(ErrorCode.UNREADABLE_ENTRY, `a direct message from ${peer} is not an MLS message`, {}, { cause: error });
  }
  if (!('epoch' in framing)) throw new ParleyError(ErrorCode.UNREADABLE_ENTRY, `a direct message from ${peer} is not a group message`);
  return Number(framing.epoch);
}
