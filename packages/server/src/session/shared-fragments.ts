/** @module Fragmenting an event envelope once for all the connections it is pushed to. */
import { fragment } from '@parley/protocol';

/** The event envelope fragmented last, and its chunks: a push to a group is one envelope sealed for each member. */
let last: { envelope: Uint8Array; chunks: Uint8Array[] } | undefined;

/** `fragment(envelope)`, reused while the same envelope comes again; the chunks are only read. */
export function sharedFragments(envelope: Uint8Array): readonly Uint8Array[] {
  if (last?.envelope !== envelope) last = { envelope, chunks: fragment(envelope) };
  return last.chunks;
}
