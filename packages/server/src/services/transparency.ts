/**
 * @module The key-transparency log's server side (DESIGN §11): this node's copy of the Merkle
 * tree over the stored leaves, kept as the hashes of its perfect subtrees so a proof costs about
 * log2(n) lookups, and tree heads signed with the server's Noise static key. Every node reads
 * the same stored log, so heads from different nodes agree on every size they share.
 */
import { consistencyProof, inclusionProof, nodeHash, rangeHash, signTreeHead, type SubtreeHashes } from '@parley/crypto';
import { ErrorCode, ParleyError, type SignedTreeHead } from '@parley/protocol';
import type { Storage } from '../storage/index.js';

/** Leaf hashes read per query while catching up with the stored log. */
const SYNC_BATCH = 10_000;

export class TransparencyLog {
  /** levels[l][i]: hash of the perfect subtree over leaves [i·2^l, (i+1)·2^l). */
  private readonly levels: Uint8Array[][] = [[]];
  private readonly tree: SubtreeHashes = { perfect: (level, index) => this.levels[level]?.[index] as Uint8Array };
  private head: SignedTreeHead | undefined;
  /** One catch-up at a time, so concurrent lookups never append the same leaves twice. */
  private syncing: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly storage: Storage,
    private readonly serverPrivateKey: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

  /** Leaves this node has hashed. */
  get size(): number {
    return (this.levels[0] as Uint8Array[]).length;
  }

  /** Catches up with every leaf committed so far; returns the size. */
  sync(): Promise<number> {
    // A failed catch-up was its caller's error; the next one starts afresh rather than inherit it.
    const next = this.syncing.catch(() => this.size).then(() => this.catchUp());
    this.syncing = next;
    return next;
  }

  /** The inclusion proof of leaf `index` and the signed head it is against, after catching up. */
  async prove(index: number): Promise<{ path: Uint8Array[]; head: SignedTreeHead }> {
    const size = await this.sync();
    if (index >= size) throw new ParleyError(ErrorCode.UNAVAILABLE, 'the key log is catching up; try again');
    const head = this.signedHead(size);
    return { path: inclusionProof(this.tree, index, head.size), head };
  }

  /** RFC 9162 §2.1.4.1 proof that the tree of `from` leaves is a prefix of the tree of `to`. */
  async consistency(from: number, to: number): Promise<Uint8Array[]> {
    const size = await this.sync();
    if (from < 1 || from > to || to > size) throw new ParleyError(ErrorCode.BAD_REQUEST, `no consistency proof from ${from} to ${to}: the log has ${size} leaves`);
    return consistencyProof(this.tree, from, to);
  }

  /** Signs a head once per size: lookups between key changes share it. */
  private signedHead(size: number): SignedTreeHead {
    if (this.head?.size !== size) this.head = signTreeHead(this.serverPrivateKey, { size, rootHash: rangeHash(this.tree, 0, size), timestamp: this.now() });
    return this.head;
  }

  private async catchUp(): Promise<number> {
    const stored = await this.storage.keyLogSize();
    while (this.size < stored) {
      const hashes = await this.storage.keyLogLeafHashes(this.size, Math.min(stored, this.size + SYNC_BATCH));
      if (hashes.length === 0) break;
      for (const hash of hashes) this.append(hash);
    }
    return this.size;
  }

  /** Adds a leaf and every perfect subtree it completes. */
  private append(hash: Uint8Array): void {
    let level = 0;
    let node = hash;
    for (;;) {
      const row = (this.levels[level] ??= []);
      row.push(node);
      const index = row.length - 1;
      if (index % 2 === 0) return;
      node = nodeHash(row[index - 1] as Uint8Array, node);
      level += 1;
    }
  }
}
