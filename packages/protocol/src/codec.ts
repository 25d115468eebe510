/** @module Deterministic, size-bounded CBOR (RFC 8949 §4.2) encoder and decoder. */
import { decode as cborDecode, encode as cborEncode, rfc8949EncodeOptions } from 'cborg';
import { CodecError } from './errors.js';

/** Upper bound for one decoded envelope; larger values are refused before decoding. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

// RFC 8949 §4.2.1 core deterministic encoding; absent optional fields are simply left out.
const encodeOptions = { ...rfc8949EncodeOptions, ignoreUndefinedProperties: true };

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
