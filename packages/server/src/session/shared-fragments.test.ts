import { MAX_CHUNK_BYTES, Reassembler } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { sharedFragments } from './shared-fragments.js';

function reassemble(chunks: readonly Uint8Array[]): Uint8Array | undefined {
  const reassembler = new Reassembler();
  let envelope: Uint8Array | undefined;
  for (const chunk of chunks) envelope = reassembler.push(chunk);
  return envelope;
}

describe('sharedFragments', () => {
  it('fragments an envelope pushed to many connections once, and each new envelope anew', () => {
    const push = new Uint8Array(MAX_CHUNK_BYTES + 10).fill(7);
    const first = sharedFragments(push);
    expect(first).toHaveLength(2);
    expect(sharedFragments(push)).toBe(first);
    expect(reassemble(first)).toEqual(push);

    const next = Uint8Array.of(1, 2, 3);
    const chunks = sharedFragments(next);
    expect(chunks).not.toBe(first);
    expect(reassemble(chunks)).toEqual(next);
  });
});
