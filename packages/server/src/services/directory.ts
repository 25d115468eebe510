/** @module The key directory (DESIGN §5, §11): a user's identity key and device certificates, with the key log's proof. */
import { directoryEntryDigest } from '@parley/crypto';
import { decodeKeyLogLeaf, equalBytes, ErrorCode, ParleyError, type DirectoryEntry, type KeyLogProof, type ResponseOf } from '@parley/protocol';
import { directoryEntryOf, type Storage } from '../storage/index.js';
import type { TransparencyLog } from './transparency.js';

/**
 * A key change landing between reading the entry and its leaf makes them disagree: read both
 * again. If they still disagree (keys changed in the database behind the log's back), the answer
 * goes out as it stands, and clients refuse it (TRANSPARENCY_PROOF_INVALID).
 */
const ATTEMPTS = 3;

type LookupAnswer = ResponseOf<'directory.lookup'>;
/**
 * Rewrites a directory answer before it is sent. Only tests of a malicious server set one
 * (DESIGN §2: the server is malicious in the key-transparency tests), to show clients catch it.
 */
export type DirectoryTamper = (answer: LookupAnswer) => LookupAnswer | Promise<LookupAnswer>;

export class DirectoryService {
  constructor(
    private readonly storage: Storage,
    private readonly log: TransparencyLog,
    private readonly tamper: DirectoryTamper = (answer) => answer,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * What clients check MLS credentials against, with the inclusion proof of the user's latest
   * key-log leaf, which vouches for this very entry (its digest), against a signed tree head.
   */
  async lookup(username: string): Promise<LookupAnswer> {
    return this.tamper(await this.answer(username));
  }

  private async answer(username: string): Promise<DirectoryEntry & { proof: KeyLogProof }> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.entry(username);
      let latest = await this.storage.latestKeyLeaf(username);
      if (!latest) {
        // An account from before the log existed: its current keys become its first leaf.
        await this.storage.logExistingKeys(username, this.now());
        latest = await this.storage.latestKeyLeaf(username);
        if (!latest) throw new ParleyError(ErrorCode.UNKNOWN_USER, `no user ${username}`);
      }
      if (attempt < ATTEMPTS && !equalBytes(decodeKeyLogLeaf(latest.leaf).entry, directoryEntryDigest(entry))) continue;
      const { path, head } = await this.log.prove(latest.index);
      return { ...entry, proof: { leaf: latest.leaf, index: latest.index, path, head } };
    }
  }

  private async entry(username: string): Promise<DirectoryEntry> {
    const account = await this.storage.getAccount(username);
    if (!account) throw new ParleyError(ErrorCode.UNKNOWN_USER, `no user ${username}`);
    return directoryEntryOf(username, account.identityKey, await this.storage.listDevices(username, { includeRevoked: true }));
  }
}
