/**
 * @module The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2; hashing as in RFC 6962
 * §2.1): tree hashes, inclusion and consistency proofs, and their verification algorithms
 * (RFC 9162 §2.1.3.2, §2.1.4.2). Pure: a tree is reached through `SubtreeHashes`, so the server
 * decides how to store it, and proofs cost about log2(n) hashes.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes } from '@parley/protocol';

/** RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || leaf). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(0), leaf));
}

/** RFC 9162 §2.1.1: node hash = SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** The hash of the empty tree: SHA-256 of nothing. */
const EMPTY_TREE_HASH = sha256(new Uint8Array(0));

/**
 * Hashes of the perfect subtrees of one tree: `perfect(level, index)` is the hash over leaves
 * [index·2^level, (index+1)·2^level), which must all exist.
 */
export interface SubtreeHashes {
  perfect(level: number, index: number): Uint8Array;
}

/** Largest power of two strictly below n (n > 1): RFC 9162's split point k. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH of leaves [start, start+n), from perfect subtrees: at most log2(n) node hashes. */
export function rangeHash(tree: SubtreeHashes, start: number, n: number): Uint8Array {
  if (n === 0) return EMPTY_TREE_HASH;
  if ((n & (n - 1)) === 0 && start % n === 0) return tree.perfect(Math.log2(n), start / n);
  const k = split(n);
  return nodeHash(rangeHash(tree, start, k), rangeHash(tree, start + k, n - k));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[start:start+n]): the inclusion proof of leaf `index` in a tree of `size` leaves. */
export function inclusionProof(tree: SubtreeHashes, index: number, size: number): Uint8Array[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Uint8Array[] = [];
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = split(n);
    if (m < k) {
      path.push(rangeHash(tree, start + k, n - k));
      n = k;
    } else {
      path.push(rangeHash(tree, start, k));
      start += k;
      m -= k;
      n -= k;
    }
  }
  return path.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof from the tree of `from` leaves to the one of `to`. */
export function consistencyProof(tree: SubtreeHashes, from: number, to: number): Uint8Array[] {
  if (!(from > 0 && from <= to)) throw new RangeError(`no consistency proof from ${from} to ${to}`);
  const proof: Uint8Array[] = [];
  // SUBPROOF(m, D[start:start+n], b), unrolled: each step records the sibling it leaves behind.
  let start = 0;
  let n = to;
  let m = from;
  let whole = true;
  while (m !== n) {
    const k = split(n);
    if (m <= k) {
      proof.push(rangeHash(tree, start + k, n - k));
      n = k;
    } else {
      proof.push(rangeHash(tree, start, k));
      start += k;
      m -= k;
      n -= k;
      whole = false;
    }
  }
  if (!whole) proof.push(rangeHash(tree, start, m));
  return proof.reverse();
}

/** RFC 9162 §2.1.3.2: does `path` prove leaf `index` (by its hash) in the tree of `size` leaves with root `root`? */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree (`size1`, `root1`) is a prefix of (`size2`, `root2`)? */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  // A tree of 0 leaves is a prefix of any tree; RFC 9162 proofs start from a non-empty one.
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  // Step 1: if size1 is a power of two, prepend root1 to the path.
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
