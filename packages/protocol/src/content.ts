/**
 * @module What members put inside MLS application messages. The server never sees this:
 * it is encrypted end to end; it lives here because every client must agree on it.
 */
import { decodeCbor, encodeCbor } from './codec.js';
import { ValidationError } from './errors.js';
import { boolean, bytes, literal, object, optional, string, uint, type Infer } from './schema.js';
import { timelockIdSchema, timelockPuzzleSchema } from './timelock.js';

export const MAX_TEXT_LENGTH = 16_000;
/** The longest text in UTF-8 (three bytes per UTF-16 unit at most), plus the AEAD's nonce and tag. */
export const MAX_SEALED_TEXT_BYTES = MAX_TEXT_LENGTH * 3 + 40;

/**
 * A text. `fallback`: it went first over a direct channel (DESIGN §9) that did not confirm it, so
 * it may have arrived already; the sending device and `sentAt` (which that device never repeats
 * over a channel) with the text are its identity, and a device that holds it keeps that one.
 */
const textContent = object({ t: literal('text'), text: string({ min: 1, max: MAX_TEXT_LENGTH }), sentAt: uint(), fallback: optional(boolean()) });
/** Sent by an admin after creating a group or adding members, so every member knows its title. */
const metaContent = object({ t: literal('meta'), title: string({ min: 1, max: 128 }) });

/** Sent by a member as they leave: MLS forbids removing yourself (RFC 9420 §12.4), so another member commits it. */
const leaveContent = object({ t: literal('leave') });

/**
 * A time-locked text (DESIGN §8): the text sealed under a key derived from the lock's challenge
 * key `c`, which the server releases at `unlockAt` and anyone can recover by solving `puzzle`;
 * `commitment` (crypto `timelockCommitment`) lets every member check a released or solved `c`.
 * No signature of its own: the MLS message carrying this is signed by the sender's leaf key
 * (RFC 9420 §6.1) and only members can read it, which already binds the commitment to the sender.
 */
const lockedContent = object({
  t: literal('locked'),
  sentAt: uint(),
  lockId: timelockIdSchema,
  unlockAt: uint(),
  puzzle: timelockPuzzleSchema,
  commitment: bytes({ length: 32 }),
  sealed: bytes({ min: 1, max: MAX_SEALED_TEXT_BYTES }),
});

export type TextContent = Infer<typeof textContent>;
export type LockedContent = Infer<typeof lockedContent>;
export type MetaContent = Infer<typeof metaContent>;
export type LeaveContent = Infer<typeof leaveContent>;
export type Content = TextContent | MetaContent | LeaveContent;
/** Every content type, time-locked texts included. */
export type MessageContent = Content | LockedContent;

export function encodeContent(content: MessageContent): Uint8Array {
  return encodeCbor(content);
}

/** Throws CodecError or ValidationError for anything that is not a known content type. */
export function decodeMessageContent(bytes: Uint8Array): MessageContent {
  const value = decodeCbor(bytes, 64 * 1024);
  const kind = typeof value === 'object' && value !== null ? (value as { t?: unknown }).t : undefined;
  if (kind === 'meta') return metaContent.parse(value);
  if (kind === 'leave') return leaveContent.parse(value);
  if (kind === 'locked') return lockedContent.parse(value);
  return textContent.parse(value);
}

/** As decodeMessageContent, for readers that do not open time-locked texts: those are a ValidationError. */
export function decodeContent(bytes: Uint8Array): Content {
  const content = decodeMessageContent(bytes);
  if (content.t === 'locked') throw new ValidationError('t', 'a time-locked message needs a client that opens them');
  return content;
}
