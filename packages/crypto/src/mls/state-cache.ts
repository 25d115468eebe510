/**
 * @module The last few group states this process saved, kept decoded. ts-mls's state decoder is
 * the largest single cost of an operation (a fifth of a 1:1 message; ~20 ms for a 500-member
 * group, ~100 ms once the state carries the retained epochs' trees), and callers nearly always
 * hand back the bytes they were just given. An entry is found by the SHA-256 of those bytes, so
 * any other bytes (another copy, damage, an older state) are decoded as before.
 *
 * An entry shares no memory with an operation's buffers (zeroed when it ends), so it can be zeroed
 * when it goes: an operation that changes the state takes its entry and zeroes it when done, as it
 * zeroes a decoded copy; at most MAX_ENTRIES are kept, the least recently used dropped and zeroed.
 * Copying a whole state on every save was a sixth of a 1:1 message with its garbage, yet most of
 * a new state is parts of the taken one handed on unchanged (ts-mls never mutates a state): those
 * parts move to the new entry as they are, and only new parts are deep-copied.
 */
import type { ClientState } from 'ts-mls';
import { cryptoProvider } from '../provider/installed.js';
import { mlsError } from './fail.js';
import { rememberPart, retireEncoding, type WrittenParts } from './state-encoding.js';

/** A decoded state without the parts Parley never stores: the signature key and the config. */
export type StoredState = Omit<ClientState, 'signaturePrivateKey' | 'clientConfig'>;

export interface Entry {
  state: StoredState;
  /** The encoding `state` was saved as, which its parts' remembered bytes are views of. */
  encoding: Uint8Array;
  /**
   * Every byte field of `state`, by the part holding it: a state field's value, a retained epoch,
   * or a secret-tree node. No other entry and no operation's buffers hold them.
   */
  parts: Map<object, Uint8Array[]>;
}

/** A client works in a handful of groups at a time; each entry holds one group's whole state. */
const MAX_ENTRIES = 8;
const entries = new Map<string, Entry>();

/** The SHA-256 of `bytes` as a 32-character string, to index a Map. */
function keyOf(bytes: Uint8Array): string {
  return String.fromCharCode(...cryptoProvider().sha256(bytes));
}

/**
 * Fields ts-mls leaves on a leaf node it signed: the LeafNodeTBS's group_id and leaf_index (RFC
 * 9420 §7.2). The state encoding drops them, so a decoded state has none; a kept state must be
 * exactly what decoding gives, the state every other member and every reload works from.
 */
const SIGNING_ONLY_LEAF_FIELDS = new Set(['groupId', 'leafIndex']);

/**
 * A deep copy of a state's value (plain objects, arrays, Maps, scalars), each byte field copied
 * into a buffer of its own and listed in `buffers`, shaped as decoding the state's bytes gives it
 * (state-cache.test.ts checks that). Plain loops: this runs on every operation.
 */
function detachedCopy(value: unknown, buffers: Uint8Array[], encoded: Encoded): unknown {
  if (value instanceof Uint8Array) {
    // Not slice(): a Node Buffer's slice is a view of memory an operation may zero.
    const bytes = new Uint8Array(value);
    buffers.push(bytes);
    return bytes;
  }
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function' || typeof value === 'symbol') throw mlsError(`state cache: unexpected ${typeof value} in a group state`);
    return value;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = detachedCopy(value[i], buffers, encoded);
    return withEncoding(value, copy, encoded);
  }
  if (value instanceof Map) {
    const copy = new Map<unknown, unknown>();
    for (const [key, item] of value) copy.set(key, detachedCopy(item, buffers, encoded));
    return withEncoding(value, copy, encoded);
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) throw mlsError('state cache: unexpected object in a group state');
  const copy: Record<string, unknown> = {};
  const leafNode = 'leafNodeSource' in value;
  for (const [key, item] of Object.entries(value)) {
    if (!(leafNode && SIGNING_ONLY_LEAF_FIELDS.has(key))) copy[key] = detachedCopy(item, buffers, encoded);
  }
  return withEncoding(value, copy, encoded);
}

/** The encoding a state was saved as, and where its reusable parts were written (state-encoding.ts). */
interface Encoded {
  bytes: Uint8Array;
  written: WrittenParts;
}

/** A copy of a part written in `encoded` encodes as the same bytes. */
function withEncoding<T extends object>(original: object, copy: T, encoded: Encoded): T {
  const at = encoded.written.get(original);
  if (at !== undefined) rememberPart(copy, encoded.bytes, at);
  return copy;
}

/** The entry an operation took, whose parts its new state may hand on (and which it zeroes when it ends). */
export interface TakenEntry {
  entry: Entry;
  /** Whether the operation zeroes these bytes when it ends (then they cannot move on). */
  wipes(bytes: Uint8Array): boolean;
}

/**
 * Keeps `state` as the decoding of `bytes`, and its parts as encoding as in `encoded` (which the
 * entry then owns, and zeroes with the rest). Parts of `taken` the state hands on unchanged move to
 * the new entry. Call before the operation that made the state zeroes anything.
 */
export function rememberState(bytes: Uint8Array, state: ClientState, encoded: Encoded, taken: TakenEntry | undefined): void {
  const { signaturePrivateKey: _notStored, clientConfig: _notStored2, ...stored } = state;
  const key = keyOf(bytes);
  forget(key);
  const parts = new Map<object, Uint8Array[]>();
  const keep = (value: unknown): unknown => keepPart(value, parts, encoded, taken);
  const kept: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(stored)) {
    kept[field] = keepField(field, value, keep);
  }
  entries.set(key, { state: kept as StoredState, encoding: encoded.bytes, parts });
  for (const oldest of entries.keys()) {
    if (entries.size <= MAX_ENTRIES) break;
    forget(oldest);
  }
}

/** `part` moved over from `taken` if it is one of its parts and none of its bytes is about to be zeroed, else a deep copy. */
function keepPart(part: unknown, parts: Map<object, Uint8Array[]>, encoded: Encoded, taken: TakenEntry | undefined): unknown {
  if (typeof part === 'object' && part !== null && taken !== undefined) {
    const handed = taken.entry.parts.get(part);
    if (handed !== undefined && !handed.some((bytes) => taken.wipes(bytes))) {
      taken.entry.parts.delete(part);
      parts.set(part, handed);
      return withEncoding(part, part, encoded);
    }
  }
  const buffers: Uint8Array[] = [];
  const copy = detachedCopy(part, buffers, encoded);
  if (typeof copy === 'object' && copy !== null) parts.set(copy, buffers);
  return copy;
}

/**
 * A state field: handed on whole, else, for the fields whose items change one at a time, rebuilt
 * around their items as parts: the retained epochs' Map, and the secret tree, whose nodes a message
 * ratchets one at a time (RFC 9420 §9).
 */
function keepField(field: string, value: unknown, keep: (part: unknown) => unknown): unknown {
  if (field === 'historicalReceiverData') return mapValues(value, keep);
  if (field === 'secretTree' && Array.isArray(value)) return value.map(keep);
  return keep(value);
}

function mapValues(map: unknown, keep: (value: unknown) => unknown): Map<unknown, unknown> {
  if (!(map instanceof Map)) throw mlsError('state cache: expected a Map of retained epochs');
  const copy = new Map<unknown, unknown>();
  for (const [key, value] of map) copy.set(key, keep(value));
  return copy;
}

/**
 * The decoding of `bytes`, if this process saved them recently. `take` removes the entry: the
 * caller's operation will change the state and zero the returned buffers when it ends. Otherwise
 * the entry stays (and becomes the most recently used); the caller must only read the state.
 */
export function recallState(bytes: Uint8Array, mode: 'take' | 'read'): Entry | undefined {
  const key = keyOf(bytes);
  const entry = entries.get(key);
  if (entry === undefined) return undefined;
  entries.delete(key);
  if (mode === 'read') entries.set(key, entry);
  return entry;
}

function forget(key: string): void {
  const entry = entries.get(key);
  if (entry !== undefined) zeroEntry(entry);
  entries.delete(key);
}

/** Zeroes what is left of an entry: the parts no newer entry took over, and its encoding. */
export function zeroEntry(entry: Entry): void {
  for (const buffers of entry.parts.values()) for (const buffer of buffers) buffer.fill(0);
  entry.parts.clear();
  retireEncoding(entry.encoding);
  entry.encoding.fill(0);
}

