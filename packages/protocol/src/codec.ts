/** @module Deterministic, size-bounded CBOR (RFC 8949 §4.2) encoder and decoder. */
import { decode as cborDecode, encode as cborEncode, rfc8949EncodeOptions, Token, Type, type EncodeOptions } from 'cborg';
import { CodecError } from './errors.js';

/** Upper bound for one decoded envelope; larger values are refused before decoding. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

type MapSorter = NonNullable<EncodeOptions['mapSorter']>;
const sortByEncoding = rfc8949EncodeOptions.mapSorter as MapSorter;
const PRINTABLE_ASCII = /^[ -~]*$/;

/**
 * RFC 8949 §4.2.1 orders map keys by their encoded bytes. A text key's head grows with its
 * UTF-8 length, so ASCII keys (every key of the protocol) order by length, then by character,
 * with no encoding; cborg's sorter encodes each key again, which was a tenth of every reply's cost.
 */
export const sortMapKeys: MapSorter = (entry1, entry2) => {
  const key1 = entry1[0];
  const key2 = entry2[0];
  if (key1 instanceof Token && key2 instanceof Token && key1.type === Type.string && key2.type === Type.string) {
    const text1 = key1.value as string;
    const text2 = key2.value as string;
    if (PRINTABLE_ASCII.test(text1) && PRINTABLE_ASCII.test(text2)) {
      if (text1.length !== text2.length) return text1.length - text2.length;
      return text1 < text2 ? -1 : text1 > text2 ? 1 : 0;
    }
  }
  return sortByEncoding(entry1, entry2);
};

// RFC 8949 §4.2.1 core deterministic encoding; absent optional fields are simply left out.
const encodeOptions = { ...rfc8949EncodeOptions, mapSorter: sortMapKeys, ignoreUndefinedProperties: true };

const decodeOptions = {
  strict: true, // refuse non-minimal integer and length encodings
  rejectDuplicateMapKeys: true,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowIndefinite: false,
  allowBigInt: true,
  useMaps: false,
} as const;

/** Encode a value as deterministic CBOR (sorted map keys, minimal lengths). */
export function encodeCbor(value: unknown): Uint8Array {
  try {
    return cborEncode(value, encodeOptions);
  } catch (error) {
    throw new CodecError(`cannot encode value: ${(error as Error).message}`, { cause: error });
  }
}

/** Decode exactly one CBOR value; anything else (trailing bytes, malformed, too large) is a CodecError. */
export function decodeCbor(bytes: Uint8Array, maxBytes: number = MAX_ENVELOPE_BYTES): unknown {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('expected bytes');
  if (bytes.byteLength > maxBytes) throw new CodecError(`frame of ${bytes.byteLength} bytes exceeds ${maxBytes}`);
  if (bytes.byteLength === 0) throw new CodecError('empty frame');
  try {
    return cborDecode(bytes, decodeOptions);
  } catch (error) {
    throw new CodecError(`malformed CBOR: ${(error as Error).message}`, { cause: error });
  }
}
