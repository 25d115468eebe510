/**
 * @module ts-mls's GroupState encoding, made from the bytes of the parts that did not change.
 * ts-mls's encoder builds closures for every field: encoding a whole state was an eighth of a 1:1
 * message, and at 500 members (a tree per retained epoch, ~800 KiB) the largest single cost of a
 * commit after the crypto, most of it garbage collection. An operation changes a few parts (a
 * message: the secret tree; a commit: the epoch's parts and one new retained epoch) and ts-mls,
 * which never mutates a state (every change is a new object), hands the others on as the very
 * objects it was given. So the bytes of each part of a kept decoded state are remembered against
 * that part, and a part handed on unchanged is copied instead of encoded again. The result is
 * byte for byte `encodeGroupState`'s (state-encoding.test.ts).
 */
import type { ClientState } from 'ts-mls';
import { contramapBufferEncoders, encode, type BufferEncoder } from 'ts-mls/codec/tlsEncoder.js';
import { bigintMapEncoder, varLenDataEncoder, varLenTypeEncoder } from 'ts-mls/codec/variableLength.js';
import type { EpochReceiverData } from 'ts-mls/epochReceiverData.js';
import { groupActiveStateEncoder } from 'ts-mls/groupActiveState.js';
import { groupContextEncoder } from 'ts-mls/groupContext.js';
import { keyScheduleEncoder } from 'ts-mls/keySchedule.js';
import { privateKeyPathEncoder } from 'ts-mls/privateKeyPath.js';
import { ratchetTreeEncoder } from 'ts-mls/ratchetTree.js';
import { secretTreeNodeEncoder } from 'ts-mls/secretTree.js';
import { unappliedProposalsEncoder } from 'ts-mls/unappliedProposals.js';

/**
 * The encoding of a part of a kept state, by the part's object: a view of the encoding the part
 * was last written in. A kept state's part can outlive that encoding (an operation hands it on to
 * the next kept state, state-cache.ts), so a view counts only while its encoding is live.
 */
const partBytes = new WeakMap<object, Uint8Array>();
/** The memory of encodings whose parts' views count: each kept state's, until it is zeroed. */
const liveEncodings = new WeakSet<ArrayBufferLike>();

/** Where each part was written in an encoding: the part's object, its offset and length. */
export type WrittenParts = Map<object, { offset: number; length: number }>;

/** `encoder`, or the remembered bytes of a part seen before; records where the part went. */
function reusing<T extends object>(encoder: BufferEncoder<T>, written: WrittenParts): BufferEncoder<T> {
  return (part) => {
    const remembered = partBytes.get(part);
    const known = remembered !== undefined && liveEncodings.has(remembered.buffer) ? remembered : undefined;
    const [length, write] = known === undefined ? encoder(part) : [known.length, undefined];
    return [
      length,
      (offset, buffer) => {
        if (write === undefined) new Uint8Array(buffer, offset, length).set(known ?? new Uint8Array(0));
        else write(offset, buffer);
        written.set(part, { offset, length });
      },
    ];
  };
}

/** The same fields in the same order as ts-mls's `groupStateEncoder`, each part reusable. */
function stateEncoder(written: WrittenParts): BufferEncoder<ClientState> {
  const groupContext = reusing(groupContextEncoder, written);
  // ts-mls's secretTreeEncoder, with each node reusable: a message ratchets one node of the tree.
  const secretTree = reusing(varLenTypeEncoder(reusing(secretTreeNodeEncoder, written)), written);
  const ratchetTree = reusing(ratchetTreeEncoder, written);
  const retainedEpoch = contramapBufferEncoders(
    [varLenDataEncoder, secretTree, ratchetTree, varLenDataEncoder, groupContext],
    (data: EpochReceiverData) => [data.resumptionPsk, data.secretTree, data.ratchetTree, data.senderDataSecret, data.groupContext] as const,
  );
  return contramapBufferEncoders(
    [
      groupContext,
      reusing(keyScheduleEncoder, written),
      secretTree,
      ratchetTree,
      reusing(privateKeyPathEncoder, written),
      varLenDataEncoder,
      reusing(unappliedProposalsEncoder, written),
      varLenDataEncoder,
      bigintMapEncoder(reusing(retainedEpoch, written)),
      reusing(groupActiveStateEncoder, written),
    ],
    (state: ClientState) =>
      [
        state.groupContext,
        state.keySchedule,
        state.secretTree,
        state.ratchetTree,
        state.privatePath,
        state.signaturePrivateKey,
        state.unappliedProposals,
        state.confirmationTag,
        state.historicalReceiverData,
        state.groupActiveState,
      ] as const,
  );
}

/** Encodes `state` as `encodeGroupState` does; `written` says where each reusable part went. */
export function encodeState(state: ClientState): { bytes: Uint8Array; written: WrittenParts } {
  const written: WrittenParts = new Map();
  const bytes = encode(stateEncoder(written))(state);
  liveEncodings.add(bytes.buffer);
  return { bytes, written };
}

/** `encoded` (from `encodeState`) is about to be zeroed: its views no longer count. */
export function retireEncoding(encoded: Uint8Array): void {
  liveEncodings.delete(encoded.buffer);
}

/**
 * Remembers that `copy` (a kept state's own copy of a part written in `encoded`) encodes as
 * those bytes. `encoded` must stay unchanged until the kept state is zeroed, and be zeroed with it.
 */
export function rememberPart(copy: object, encoded: Uint8Array, at: { offset: number; length: number }): void {
  partBytes.set(copy, encoded.subarray(at.offset, at.offset + at.length));
}
