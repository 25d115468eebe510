/**
 * @module The key-transparency log on the wire (DESIGN §11): its leaves (one per identity or
 * device-key change), signed tree heads, the inclusion proof sent with every directory entry,
 * and the op for a consistency proof between two heads. Hashing and signatures live in crypto.
 */
import { decodeCbor, encodeCbor } from './codec.js';
import { CodecError } from './errors.js';
import { usernameSchema } from './identifiers.js';
import { op, type OpSpec } from './op-parts.js';
import { array, bytes, literal, object, oneOf, optional, string, uint, type Infer } from './schema.js';

const hash = bytes({ length: 32 });

/** What changed: an account registered (its identity key), a device enrolled, a device revoked. */
export const keyLogEventSchema = oneOf(['registered', 'device.added', 'device.revoked'] as const);
export type KeyLogEvent = Infer<typeof keyLogEventSchema>;

/**
 * One leaf of the log, encoded as deterministic CBOR. `key` is the identity key for `registered`
 * and the device key otherwise; `entry` is crypto's `directoryEntryDigest` of the user's whole
 * directory entry just after the change, so the latest leaf vouches for every key a lookup shows.
 */
export const keyLogLeafSchema = object({
  v: literal(1),
  username: usernameSchema,
  event: keyLogEventSchema,
  // Bounded, not pattern-checked: a leaf records whatever id the server stored.
  deviceId: optional(string({ min: 1, max: 64 })),
  key: bytes({ length: 32 }),
  /** Unix ms. */
  at: uint(),
  entry: hash,
});
export type KeyLogLeaf = Infer<typeof keyLogLeafSchema>;

const MAX_LEAF_BYTES = 512;

export function encodeKeyLogLeaf(leaf: KeyLogLeaf): Uint8Array {
  return encodeCbor(keyLogLeafSchema.parse(leaf));
}

/** The leaf these bytes encode; CodecError for anything else, or for a non-canonical encoding. */
export function decodeKeyLogLeaf(bytes: Uint8Array): KeyLogLeaf {
  const leaf = keyLogLeafSchema.parse(decodeCbor(bytes, MAX_LEAF_BYTES), 'leaf');
  const canonical = encodeCbor(leaf);
  if (canonical.byteLength !== bytes.byteLength || canonical.some((byte, i) => byte !== bytes[i])) throw new CodecError('the key-log leaf is not canonically encoded');
  return leaf;
}

/** RFC 9162 §4.10 in spirit: the tree's size and root at `timestamp`, signed by the server's static key (XEdDSA). */
export const signedTreeHeadSchema = object({
  size: uint(),
  rootHash: hash,
  /** Unix ms. */
  timestamp: uint(),
  signature: bytes({ length: 64 }),
});
export type SignedTreeHead = Infer<typeof signedTreeHeadSchema>;

/** Proofs are about log2(size) hashes; 64 covers any log that fits in a safe integer. */
const MAX_PATH = 64;

/** The latest leaf of a user, where it sits, and the RFC 9162 §2.1.3 inclusion proof against `head`. */
export const keyLogProofSchema = object({
  leaf: bytes({ min: 1, max: MAX_LEAF_BYTES }),
  index: uint(),
  path: array(hash, { max: MAX_PATH }),
  head: signedTreeHeadSchema,
});
export type KeyLogProof = Infer<typeof keyLogProofSchema>;

export const transparencyOps = {
  /**
   * RFC 9162 §2.1.4 consistency proof from the tree of `from` leaves to the tree of `to` leaves
   * (1 ≤ from ≤ to ≤ the log's size, else BAD_REQUEST): how a client checks that the head it just
   * got extends the one it saw before.
   */
  'transparency.consistency': op(object({ from: uint(), to: uint() }), object({ proof: array(hash, { max: 2 * MAX_PATH }) })),
} as const satisfies Record<string, OpSpec>;
