/**
 * @module The opaque group-state blob and the member checks around it. The blob is ts-mls's own
 * TLS-style GroupState encoding behind a versioned tag, with the signature private key left out:
 * the device key lives once, with the caller, and is handed in by the operations that sign.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { decodeGroupState, type ClientState, type LeafNode, type RatchetTree } from 'ts-mls';
import { equalBytes } from '@parley/protocol';
import { cryptoProvider } from '../provider/installed.js';
import { badInput, mlsError, requireBytes } from './fail.js';
import { isSupportedSuite, type MlsOperation } from './runtime.js';
import { recallState, rememberState, zeroEntry, type Entry, type StoredState } from './state-cache.js';
import { encodeState } from './state-encoding.js';
import { ED25519_KEY_LENGTH, type MlsMember, type MlsMemberInfo } from './types.js';
import { hasTag } from './wire.js';

/** 'P' 'G' (Parley group) and format version 1. */
const GROUP_STATE_TAG = new Uint8Array([0x50, 0x47, 0x01]);
const EMPTY = new Uint8Array(0);

/** Upper bound on credential identity bytes (a CBOR certificate is a few hundred bytes). */
export const MAX_IDENTITY_BYTES = 16 * 1024;

/** The kept decoding each operation took, to hand its unchanged parts on to the state it saves. */
const takenBy = new WeakMap<MlsOperation, Entry>();

/** Serializes a group state, without the signature private key, into fresh bytes (and keeps it decoded). */
export function saveState(op: MlsOperation, state: ClientState): Uint8Array {
  const encoded = encodeState({ ...state, signaturePrivateKey: EMPTY });
  const out = new Uint8Array(GROUP_STATE_TAG.length + encoded.bytes.length);
  out.set(GROUP_STATE_TAG, 0);
  out.set(encoded.bytes, GROUP_STATE_TAG.length);
  // The kept decoding owns `encoded.bytes` from here, and zeroes them when it goes.
  const taken = takenBy.get(op);
  rememberState(out, state, encoded, taken && { entry: taken, wipes: (bytes) => op.wipes(bytes) });
  return out;
}

/**
 * Restores a state for one operation that changes it. Decodes a private copy (zeroed when `op`
 * ends), or takes the kept decoding of these bytes (likewise zeroed), attaches the operation's
 * ClientConfig, and, when `signer` is given, checks that the signer owns this state's leaf and puts
 * its private key back so ts-mls can sign.
 */
export function loadState(op: MlsOperation, bytes: unknown, signer?: MlsMember): ClientState {
  return restore(op, bytes, 'take', signer);
}

/**
 * Like `loadState`, for synchronous reads: a kept decoding stays kept. Never across an `await`: an
 * operation that takes the same decoding meanwhile zeroes it when it ends.
 */
export function viewState(op: MlsOperation, bytes: unknown): ClientState {
  return restore(op, bytes, 'read', undefined);
}

function restore(op: MlsOperation, bytes: unknown, mode: 'take' | 'read', signer: MlsMember | undefined): ClientState {
  requireBytes(bytes, 'state', { min: GROUP_STATE_TAG.length + 1 });
  if (!hasTag(bytes, GROUP_STATE_TAG)) throw badInput('state is not a group state in a format this version understands');
  const kept = recallState(bytes, mode);
  // A taken decoding is this operation's now, to zero when it ends like a decoded copy (less
  // the parts its new state takes over).
  if (kept !== undefined && mode === 'take') {
    takenBy.set(op, kept);
    op.atEnd(() => zeroEntry(kept));
  }
  const state = kept?.state ?? decode(op, bytes);
  if (!isSupportedSuite(state.groupContext.cipherSuite)) throw badInput('state uses an unsupported cipher suite');
  if (signer === undefined) return { ...state, signaturePrivateKey: EMPTY, clientConfig: op.config };
  checkMember(signer);
  if (state.groupActiveState.kind !== 'active') throw mlsError('this member is no longer in the group');
  const own = leafAt(state.ratchetTree, state.privatePath.leafIndex);
  if (own === undefined || !equalBytes(own.signaturePublicKey, signer.signaturePublicKey)) {
    throw badInput("member's signature key is not this state's leaf key");
  }
  return { ...state, signaturePrivateKey: op.own(signer.signaturePrivateKey), clientConfig: op.config };
}

function decode(op: MlsOperation, bytes: Uint8Array): StoredState {
  const copy = op.own(bytes);
  let decoded: ReturnType<typeof decodeGroupState>;
  try {
    decoded = decodeGroupState(copy, GROUP_STATE_TAG.length);
  } catch {
    decoded = undefined;
  }
  if (decoded === undefined || GROUP_STATE_TAG.length + decoded[1] !== copy.length) {
    throw badInput('state is corrupt');
  }
  return decoded[0];
}

/**
 * Key pairs already found to match, by private key buffer: the SHA-256 of the pair's bytes then.
 * Deriving the public key costs a scalar multiplication on every message; hashing 64 bytes does not.
 */
const matchedPairs = new WeakMap<Uint8Array, string>();

/** Validates a member's shape and that its Ed25519 halves belong together (RFC 8032 §5.1.5). */
export function checkMember(member: unknown, name = 'member'): asserts member is MlsMember {
  if (typeof member !== 'object' || member === null) throw badInput(`${name} must be an object`);
  const { identity, signaturePrivateKey, signaturePublicKey } = member as Partial<MlsMember>;
  requireBytes(identity, `${name}.identity`, { min: 1, max: MAX_IDENTITY_BYTES });
  requireBytes(signaturePrivateKey, `${name}.signaturePrivateKey`, { exactly: ED25519_KEY_LENGTH });
  requireBytes(signaturePublicKey, `${name}.signaturePublicKey`, { exactly: ED25519_KEY_LENGTH });
  const provider = cryptoProvider();
  // The digest covers the buffer's current bytes, so a key changed in place is derived again.
  const pair = String.fromCharCode(...provider.sha256(concatBytes(signaturePrivateKey, signaturePublicKey)));
  if (matchedPairs.get(signaturePrivateKey) === pair) return;
  if (!equalBytes(provider.ed25519PublicKey(signaturePrivateKey), signaturePublicKey)) {
    throw badInput(`${name}.signaturePublicKey does not match ${name}.signaturePrivateKey`);
  }
  matchedPairs.set(signaturePrivateKey, pair);
}

/** RFC 9420 Appendix C: leaf `i` sits at node `2i` of the array-represented tree. */
export function leafAt(tree: RatchetTree, leafIndex: number): LeafNode | undefined {
  const node = tree[leafIndex * 2];
  return node?.nodeType === 'leaf' ? node.leaf : undefined;
}

export function describeLeaf(leaf: LeafNode, leafIndex: number): MlsMemberInfo {
  return {
    leafIndex,
    identity: leaf.credential.credentialType === 'basic' ? leaf.credential.identity.slice() : new Uint8Array(0),
    signaturePublicKey: leaf.signaturePublicKey.slice(),
  };
}

export function listMembers(tree: RatchetTree): MlsMemberInfo[] {
  const members: MlsMemberInfo[] = [];
  for (let nodeIndex = 0; nodeIndex < tree.length; nodeIndex += 2) {
    const node = tree[nodeIndex];
    if (node?.nodeType === 'leaf') members.push(describeLeaf(node.leaf, nodeIndex / 2));
  }
  return members;
}

export function findLeafBySignatureKey(tree: RatchetTree, signaturePublicKey: Uint8Array): number | undefined {
  for (let nodeIndex = 0; nodeIndex < tree.length; nodeIndex += 2) {
    const node = tree[nodeIndex];
    if (node?.nodeType === 'leaf' && equalBytes(node.leaf.signaturePublicKey, signaturePublicKey)) return nodeIndex / 2;
  }
  return undefined;
}
