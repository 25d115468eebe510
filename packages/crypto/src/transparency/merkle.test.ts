import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { consistencyProof, inclusionProof, leafHash, nodeHash, rangeHash, verifyConsistency, verifyInclusion, type SubtreeHashes } from './merkle.js';

/**
 * The RFC 6962 reference test data: eight leaves, the root of every prefix, and known inclusion
 * and consistency proofs, as published by transparency-dev/merkle in proof/verify_test.go
 * (originally from google/certificate-transparency's merkle tree tests).
 */
const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hexToBytes);
const roots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** [leaf number (1-based), tree size, proof]. */
const inclusionVectors: [number, number, string[]][] = [
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [3, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [2, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
/** [size1, size2, proof]. */
const consistencyVectors: [number, number, string[]][] = [
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  [6, 7, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
];

/** A tree of leaf hashes kept in full: perfect subtrees computed on demand (the reference for tests). */
function treeOf(hashes: Uint8Array[]): SubtreeHashes {
  const perfect = (level: number, index: number): Uint8Array =>
    level === 0 ? (hashes[index] as Uint8Array) : nodeHash(perfect(level - 1, 2 * index), perfect(level - 1, 2 * index + 1));
  return { perfect };
}

const tree = treeOf(leaves.map(leafHash));
const hex = (proof: Uint8Array[]) => proof.map(bytesToHex);

describe('RFC 9162 Merkle tree against the RFC 6962 reference vectors', () => {
  it('computes the root of every prefix', () => {
    roots.forEach((root, i) => expect(bytesToHex(rangeHash(tree, 0, i + 1))).toBe(root));
  });

  it.each(inclusionVectors)('makes and verifies the inclusion proof of leaf %i in a tree of %i', (leaf, size, proof) => {
    expect(hex(inclusionProof(tree, leaf - 1, size))).toEqual(proof);
    const root = hexToBytes(roots[size - 1] as string);
    const hash = leafHash(leaves[leaf - 1] as Uint8Array);
    const path = proof.map(hexToBytes);
    expect(verifyInclusion(hash, leaf - 1, size, path, root)).toBe(true);
    // The probes transparency-dev/merkle runs: wrong index, size, leaf or root, extra or missing or flipped components.
    expect(verifyInclusion(hash, leaf, size, path, root)).toBe(false);
    expect(verifyInclusion(hash, leaf - 1, size * 2, path, root)).toBe(false);
    expect(verifyInclusion(leafHash(new TextEncoder().encode('WrongLeaf')), leaf - 1, size, path, root)).toBe(false);
    expect(verifyInclusion(hash, leaf - 1, size, [...path, root], root)).toBe(false);
    expect(verifyInclusion(hash, leaf - 1, size, [root, ...path], root)).toBe(false);
    expect(verifyInclusion(hash, leaf - 1, size, path.slice(0, -1), root)).toBe(false);
    path.forEach((_, i) => {
      const flipped = path.map((p, j) => (j === i ? Uint8Array.from(p, (b, k) => (k === 0 ? b ^ 8 : b)) : p));
      expect(verifyInclusion(hash, leaf - 1, size, flipped, root)).toBe(false);
    });
  });

  it.each(consistencyVectors)('makes and verifies the consistency proof from %i to %i', (size1, size2, proof) => {
    expect(hex(consistencyProof(tree, size1, size2))).toEqual(proof);
    const root1 = hexToBytes(roots[size1 - 1] as string);
    const root2 = hexToBytes(roots[size2 - 1] as string);
    const path = proof.map(hexToBytes);
    expect(verifyConsistency(size1, size2, path, root1, root2)).toBe(true);
    expect(verifyConsistency(size1, size2, path, root2, root1)).toBe(false);
    expect(verifyConsistency(size1 + 1, size2, path, root1, root2)).toBe(false);
    expect(verifyConsistency(size1, size2, [], root1, root2)).toBe(false);
    expect(verifyConsistency(size1, size2, [...path, root1], root1, root2)).toBe(false);
    expect(verifyConsistency(size1, size2, path.slice(0, -1), root1, root2)).toBe(false);
    path.forEach((_, i) => {
      const flipped = path.map((p, j) => (j === i ? Uint8Array.from(p, (b, k) => (k === 0 ? b ^ 16 : b)) : p));
      expect(verifyConsistency(size1, size2, flipped, root1, root2)).toBe(false);
    });
  });

  it('proves every leaf and every pair of sizes of larger trees it makes itself', () => {
    const many = Array.from({ length: 37 }, (_, i) => leafHash(Uint8Array.of(i, i >> 8)));
    const big = treeOf(many);
    for (let size = 1; size <= many.length; size++) {
      const root = rangeHash(big, 0, size);
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(big, index, size);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
        expect(verifyInclusion(many[index] as Uint8Array, index, size, proof, root)).toBe(true);
      }
      for (let from = 1; from <= size; from++) {
        expect(verifyConsistency(from, size, consistencyProof(big, from, size), rangeHash(big, 0, from), root)).toBe(true);
      }
    }
  });

  it('refuses the trivial cases the RFC refuses: time travel and unequal roots at one size', () => {
    const root = hexToBytes(roots[3] as string);
    expect(verifyConsistency(4, 4, [], root, root)).toBe(true);
    expect(verifyConsistency(4, 4, [], root, hexToBytes(roots[4] as string))).toBe(false);
    expect(verifyConsistency(5, 4, [], root, root)).toBe(false);
    expect(verifyInclusion(leafHash(leaves[0] as Uint8Array), 0, 0, [], root)).toBe(false);
  });
});
