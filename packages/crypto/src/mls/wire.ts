/**
 * @module Byte-level helpers: MLSMessage framing (RFC 9420 §6) for everything the facade sends,
 * and the small tagged, length-prefixed record format of the facade's own stored blobs.
 */
import { decodeMlsMessage, encodeMlsMessage, type MLSMessage } from 'ts-mls';
import { badInput, mlsError, requireBytes } from './fail.js';

/** Upper bound on one MLSMessage accepted from outside; ts-mls itself caps lengths at 2^30. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export type MlsMessageOf<W extends MLSMessage['wireformat']> = Extract<MLSMessage, { wireformat: W }>;

/**
 * Parses untrusted bytes as exactly one MLSMessage. Malformed input is `MLS_FAILED` (it came from
 * the network), trailing bytes included: a message must not smuggle data past its framing.
 */
export function decodeMessage(bytes: unknown, name: string): MLSMessage {
  requireBytes(bytes, name, { min: 1, max: MAX_MESSAGE_BYTES });
  let decoded: [MLSMessage, number] | undefined;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch (error) {
    throw mlsError(`${name} is not a well-formed MLSMessage`, error);
  }
  if (decoded === undefined || decoded[1] !== bytes.length) {
    throw mlsError(`${name} is not a well-formed MLSMessage`);
  }
  if (decoded[0].version !== 'mls10') throw mlsError(`${name} has unsupported protocol version`);
  return decoded[0];
}

export function decodeMessageOf<W extends MLSMessage['wireformat']>(
  bytes: unknown,
  name: string,
  wireformat: W,
): MlsMessageOf<W> {
  const message = decodeMessage(bytes, name);
  if (message.wireformat !== wireformat) {
    throw mlsError(`${name} must be an MLSMessage of type ${wireformat}, got ${message.wireformat}`);
  }
  return message as MlsMessageOf<W>;
}

export function encodeMessage(message: MLSMessage): Uint8Array {
  return encodeMlsMessage(message);
}

/**
 * Stored records: a 3-byte tag (two ASCII letters and a format version), then fields, each a
 * 4-byte big-endian length and its bytes. A changed layout gets a new version byte (STYLE §8).
 */
export function packFields(tag: Uint8Array, fields: readonly Uint8Array[]): Uint8Array {
  const size = fields.reduce((total, field) => total + 4 + field.length, tag.length);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(tag, 0);
  let offset = tag.length;
  for (const field of fields) {
    view.setUint32(offset, field.length);
    out.set(field, offset + 4);
    offset += 4 + field.length;
  }
  return out;
}

/** Inverse of `packFields`; returns views into `bytes`. Any mismatch is BAD_INPUT naming `name`. */
export function unpackFields(bytes: Uint8Array, tag: Uint8Array, count: number, name: string): Uint8Array[] {
  if (!hasTag(bytes, tag)) throw badInput(`${name} is not in a format this version understands`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Uint8Array[] = [];
  let offset = tag.length;
  for (let i = 0; i < count; i += 1) {
    if (offset + 4 > bytes.length) throw badInput(`${name} is truncated`);
    const length = view.getUint32(offset);
    if (offset + 4 + length > bytes.length) throw badInput(`${name} is truncated`);
    fields.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (offset !== bytes.length) throw badInput(`${name} has trailing bytes`);
  return fields;
}

export function hasTag(bytes: Uint8Array, tag: Uint8Array): boolean {
  return bytes.length >= tag.length && tag.every((byte, i) => bytes[i] === byte);
}
