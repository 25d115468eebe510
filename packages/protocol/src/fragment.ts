/**
 * @module Splitting envelopes into channel-sized chunks and joining them again.
 * A Noise transport message holds at most 65535 bytes (Noise §3), so each one carries a
 * flag byte and a chunk; envelopes up to MAX_ENVELOPE_BYTES span several messages.
 */
import { MAX_ENVELOPE_BYTES } from './codec.js';
import { CodecError } from './errors.js';

/** 65535 minus the 16-byte AEAD tag and the flag byte. */
export const MAX_CHUNK_BYTES = 65535 - 16 - 1;
const FINAL = 0;
const MORE = 1;

export function fragment(envelope: Uint8Array, chunkBytes: number = MAX_CHUNK_BYTES): Uint8Array[] {
  if (envelope.byteLength > MAX_ENVELOPE_BYTES) throw new CodecError(`envelope of ${envelope.byteLength} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  do {
    const end = Math.min(offset + chunkBytes, envelope.byteLength);
    const chunk = new Uint8Array(1 + end - offset);
    chunk[0] = end === envelope.byteLength ? FINAL : MORE;
    chunk.set(envelope.subarray(offset, end), 1);
    chunks.push(chunk);
    offset = end;
  } while (offset < envelope.byteLength);
  return chunks;
}

/** Joins chunks back into envelopes, refusing to buffer more than `maxBytes`. */
export class Reassembler {
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number = MAX_ENVELOPE_BYTES) {}

  /** Returns the complete envelope when `chunk` is the last one, else undefined. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    const flag = chunk[0];
    if (flag !== FINAL && flag !== MORE) throw new CodecError('bad fragment flag');
    const body = chunk.subarray(1);
    this.size += body.byteLength;
    if (this.size > this.maxBytes) {
      this.reset();
      throw new CodecError(`envelope exceeds ${this.maxBytes} bytes`);
    }
    this.parts.push(body);
    if (flag === MORE) return undefined;
    const envelope = new Uint8Array(this.size);
    let offset = 0;
    for (const part of this.parts) {
      envelope.set(part, offset);
      offset += part.byteLength;
    }
    this.reset();
    return envelope;
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
  }
}
