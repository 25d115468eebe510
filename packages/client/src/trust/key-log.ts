/**
 * @module Checking the server's key-transparency log (DESIGN §11) on every directory lookup: the
 * tree head is signed by the pinned server key, the user's latest leaf is in that tree and vouches
 * for exactly the entry shown, and the tree extends (or is a prefix of) the newest one this client
 * saw before. Anything else is refused before the entry is used, so nothing is sent to keys the
 * log does not hold. It does not show the server shows everyone the same log: see the README.
 */
import { directoryEntryDigest, leafHash, treeHeadMessage, verifyConsistency, verifyInclusion, verifyTreeHead } from '@parley/crypto';
import { decodeKeyLogLeaf, equalBytes, ErrorCode, ParleyError, type DirectoryEntry, type KeyLogLeaf, type ResponseOf, type SignedTreeHead } from '@parley/protocol';
import type { Requester } from '../connection/requester.js';
import type { ClientStore } from '../store/client-store.js';

const invalid = (username: string, why: string) =>
  new ParleyError(ErrorCode.TRANSPARENCY_PROOF_INVALID, `the server's key log does not vouch for the keys of ${username} (${why}): nothing will be sent to them`);
const forked = (why: string) =>
  new ParleyError(ErrorCode.TRANSPARENCY_FORKED, `the server's key log does not extend the one it showed before (${why}): it may be showing you a different log than it shows others`);

export class KeyLog {
  /** Head checks one at a time, so each new head is checked against the newest stored one. */
  private advancing: Promise<void> = Promise.resolve();
  /** The last head whose signature verified (its signed bytes): lookups between key changes share one head. */
  private verified: { message: Uint8Array; signature: Uint8Array } | undefined;

  constructor(
    private readonly request: Requester,
    private readonly store: ClientStore,
    /** The server's Noise static key, already checked against the pin. */
    private readonly serverKey: Uint8Array,
  ) {}

  /** Asks the server for `username`'s entry and returns it only if the log vouches for it. */
  async lookup(username: string): Promise<DirectoryEntry> {
    const { proof, ...entry } = await this.request('directory.lookup', { username });
    this.checkEntry(username, entry, proof);
    await this.advance(proof.head);
    return entry;
  }

  private checkEntry(username: string, entry: DirectoryEntry, proof: ResponseOf<'directory.lookup'>['proof']): void {
    if (entry.username !== username) throw invalid(username, 'the entry is for another user');
    if (!this.signedByServer(proof.head)) throw invalid(username, 'the tree head is not signed by the server key');
    let leaf: KeyLogLeaf;
    try {
      leaf = decodeKeyLogLeaf(proof.leaf);
    } catch {
      throw invalid(username, 'the leaf does not decode');
    }
    if (leaf.username !== username) throw invalid(username, 'the leaf is for another user');
    if (!equalBytes(leaf.entry, directoryEntryDigest(entry))) throw invalid(username, 'the latest leaf is for other keys than the entry shown');
    if (!verifyInclusion(leafHash(proof.leaf), proof.index, proof.head.size, proof.path, proof.head.rootHash)) {
      throw invalid(username, 'the leaf is not in the signed tree');
    }
  }

  private signedByServer(head: SignedTreeHead): boolean {
    const message = treeHeadMessage(head);
    if (this.verified && equalBytes(this.verified.message, message) && equalBytes(this.verified.signature, head.signature)) return true;
    if (!verifyTreeHead(this.serverKey, head)) return false;
    this.verified = { message, signature: head.signature };
    return true;
  }

  private advance(head: SignedTreeHead): Promise<void> {
    const step = this.advancing.then(() => this.checkAgainstSeen(head));
    this.advancing = step.catch(() => undefined);
    return step;
  }

  /** RFC 9162 §2.1.4: the smaller of the two trees must be a prefix of the larger; keep the larger. */
  private async checkAgainstSeen(head: SignedTreeHead): Promise<void> {
    const seen = await this.store.getTreeHead();
    if (seen && seen.size === head.size) {
      if (!equalBytes(seen.rootHash, head.rootHash)) throw forked(`two different trees of ${head.size} leaves`);
      return;
    }
    if (seen) {
      const [older, newer] = seen.size < head.size ? [seen, head] : [head, seen];
      const { proof } = await this.request('transparency.consistency', { from: older.size, to: newer.size }).catch((error: unknown) => {
        // A server that will not prove sizes it signed heads for is hiding a fork; a lost connection is just that.
        if (error instanceof ParleyError && error.code === ErrorCode.BAD_REQUEST) throw forked(`no consistency proof from ${older.size} to ${newer.size} leaves`);
        throw error;
      });
      if (!verifyConsistency(older.size, newer.size, proof, older.rootHash, newer.rootHash)) {
        throw forked(`the tree of ${older.size} leaves is not a prefix of the tree of ${newer.size}`);
      }
      if (head.size < seen.size) return;
    }
    await this.store.putTreeHead(head);
  }
}
