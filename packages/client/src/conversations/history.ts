/**
 * @module History transfer between devices of one account (DESIGN §5): the sender seals chunks of
 * its stored messages to the new device's key and queues them in that device's mailbox; the
 * receiver opens each chunk on its own, so chunks can arrive over several syncs.
 */
import { openFromDevice, sealToDevice } from '@parley/crypto';
import { decodeCbor, encodeCbor, ErrorCode, ParleyError, s, toBase64Url, type MailboxEntry } from '@parley/protocol';
import type { StoredMessage } from '../store/client-store.js';
import type { MessengerContext } from './context.js';
import type { HistoryChunkReceived } from './events.js';
import { reason, RejectedEntry } from './rejected-entry.js';

// One chunk's plaintext: versioned CBOR, sealed to the receiving device.
const historyChunkSchema = s.object({
  v: s.literal(1),
  index: s.uint(),
  total: s.uint({ max: 100_000 }),
  messages: s.array(
    s.object({ groupId: s.string({ max: 64 }), seq: s.uint(), sender: s.string({ max: 64 }), senderDevice: s.string({ max: 64 }), sentAt: s.uint(), text: s.string({ max: 16_000 }) }),
    { max: 10_000 },
  ),
});
/** Plaintext budget per chunk, well under the 512 KiB a transfer op may carry once sealed. */
const HISTORY_CHUNK_BYTES = 256 * 1024;

const boxContext = (transferId: Uint8Array, index: number) => `${toBase64Url(transferId)}/${index}`;

/** A message with its text: what a history chunk carries. */
type TextMessage = StoredMessage & { text: string };

function chunked(messages: TextMessage[]): TextMessage[][] {
  const chunks: TextMessage[][] = [[]];
  let size = 0;
  for (const message of messages) {
    const cost = message.text.length * 3 + 128;
    if (size + cost > HISTORY_CHUNK_BYTES && (chunks.at(-1)?.length ?? 0) > 0) {
      chunks.push([]);
      size = 0;
    }
    chunks.at(-1)?.push(message);
    size += cost;
  }
  return chunks;
}

export async function sendHistory(ctx: MessengerContext, toDeviceId: string, onProgress: (sent: number, total: number) => void): Promise<{ chunks: number; messages: number }> {
  const own = await ctx.directory.entry(ctx.self.username, { refresh: true });
  const target = own.devices.find((device) => device.deviceId === toDeviceId);
  if (!target || toDeviceId === ctx.self.deviceId) throw new ParleyError(ErrorCode.UNKNOWN_DEVICE, `no other active device ${toDeviceId} on this account`);
  const all: TextMessage[] = [];
  for (const conversation of await ctx.store.listConversations()) {
    // A time-locked message not open yet stays behind: a chunk carries texts (DESIGN §8).
    for (const message of await ctx.store.listMessages(conversation.groupId)) if (message.text !== undefined) all.push({ ...message, text: message.text });
  }
  const chunks = chunked(all);
  const transferId = crypto.getRandomValues(new Uint8Array(16));
  for (const [index, chunk] of chunks.entries()) {
    const plaintext = encodeCbor({
      v: 1,
      index,
      total: chunks.length,
      messages: chunk.map(({ groupId, seq, sender, senderDevice, sentAt, text }) => ({ groupId, seq, sender, senderDevice, sentAt, text })),
    });
    const payload = sealToDevice({ senderPrivateKey: ctx.member.signaturePrivateKey, recipientPublicKey: target.publicKey, plaintext, context: boxContext(transferId, index) });
    await ctx.request('device.transfer', { to: toDeviceId, transferId, index, payload });
    onProgress(index + 1, chunks.length);
  }
  return { chunks: chunks.length, messages: all.length };
}

/** Open a chunk from a sibling device and merge it; one that does not open or verify is rejected. */
export async function applyHistory(ctx: MessengerContext, entry: MailboxEntry): Promise<HistoryChunkReceived> {
  const refused = (problem: string, cause?: unknown) => new RejectedEntry(ErrorCode.UNREADABLE_ENTRY, `history chunk ${entry.seq} from device ${entry.sender.deviceId} ${problem}`, {}, { cause });
  if (!entry.payload) throw refused('came empty');
  if (entry.sender.username !== ctx.self.username) throw refused(`came from ${entry.sender.username}, not from a device of this account`);
  // A sibling that sends history is newer than what may be cached: look once more if it is not known.
  const known = async (refresh: boolean) => (await ctx.directory.entry(ctx.self.username, { refresh })).devices.find((device) => device.deviceId === entry.sender.deviceId);
  const sender = (await known(false)) ?? (await known(true));
  if (!sender) throw refused('came from a device this account does not have');
  let chunk;
  try {
    const plaintext = openFromDevice({
      recipientPrivateKey: ctx.member.signaturePrivateKey,
      recipientPublicKey: ctx.member.signaturePublicKey,
      senderPublicKey: sender.publicKey,
      sealed: entry.payload,
      context: boxContext(entry.groupId, entry.seq),
    });
    chunk = historyChunkSchema.parse(decodeCbor(plaintext, 2 * 1024 * 1024));
  } catch (error) {
    throw refused(`did not open or verify: ${reason(error)}`, error);
  }
  await ctx.store.importHistory(chunk.messages.map((message) => ({ ...message, read: true })));
  return { received: chunk.index + 1, total: chunk.total, messages: chunk.messages.length };
}
