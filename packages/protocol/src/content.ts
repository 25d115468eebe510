/**
 * @module What members put inside MLS application messages. The server never sees this:
 * it is encrypted end to end; it lives here because every client must agree on it.
 */
import { decodeCbor, encodeCbor } from './codec.js';
import { literal, object, string, uint, type Infer } from './schema.js';

export const MAX_TEXT_LENGTH = 16_000;

const textContent = object({ t: literal('text'), text: string({ min: 1, max: MAX_TEXT_LENGTH }), sentAt: uint() });
/** Sent by an admin after creating a group or adding members, so every member knows its title. */
const metaContent = object({ t: literal('meta'), title: string({ min: 1, max: 128 }) });

/** Sent by a member as they leave: MLS forbids removing yourself (RFC 9420 §12.4), so another member commits it. */
const leaveContent = object({ t: literal('leave') });

export type TextContent = Infer<typeof textContent>;
export type MetaContent = Infer<typeof metaContent>;
export type LeaveContent = Infer<typeof leaveContent>;
export type Content = TextContent | MetaContent | LeaveContent;

export function encodeContent(content: Content): Uint8Array {
  return encodeCbor(content);
}

/** Throws CodecError or ValidationError for anything that is not a known content type. */
export function decodeContent(bytes: Uint8Array): Content {
  const value = decodeCbor(bytes, 64 * 1024);
  const kind = typeof value === 'object' && value !== null ? (value as { t?: unknown }).t : undefined;
  if (kind === 'meta') return metaContent.parse(value);
  if (kind === 'leave') return leaveContent.parse(value);
  return textContent.parse(value);
}
