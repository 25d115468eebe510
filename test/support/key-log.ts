/**
 * @module What a malicious operator with the database does to swap a user's identity key and
 * still have the key log vouch for it (DESIGN §11): it logs the swap, for everyone to see, so
 * that only identity pinning and safety numbers are left to catch it.
 */
import { directoryEntryDigest, leafHash } from '@parley/crypto';
import { encodeKeyLogLeaf } from '@parley/protocol';
import type Database from 'better-sqlite3';

type DeviceRow = { device_id: string; name: string; public_key: Buffer; certificate: Buffer; revoked_at: number | null };

/** Replaces `username`'s identity key in the server's SQLite database and appends the leaf that vouches for it. */
export function swapIdentityKeyAndLog(db: Database.Database, username: string, identityKey: Uint8Array): void {
  db.prepare('update accounts set identity_key = ? where username = ?').run(Buffer.from(identityKey), username);
  const rows = db.prepare('select device_id, name, public_key, certificate, revoked_at from devices where username = ?').all(username) as DeviceRow[];
  const certificate = (row: DeviceRow) => ({ deviceId: row.device_id, name: row.name, publicKey: new Uint8Array(row.public_key), signature: new Uint8Array(row.certificate) });
  const entry = {
    username,
    identityKey,
    devices: rows.filter((row) => row.revoked_at === null).map(certificate),
    revokedDevices: rows.flatMap((row) => (row.revoked_at === null ? [] : [{ ...certificate(row), revokedAt: row.revoked_at }])),
  };
  const at = Date.now();
  const leaf = encodeKeyLogLeaf({ v: 1, username, event: 'registered', key: identityKey, at, entry: directoryEntryDigest(entry) });
  const { value } = db.prepare("update counters set value = value + 1 where name = 'key_log' returning value").get() as { value: number };
  db.prepare('insert into key_log (idx, username, leaf, leaf_hash, created_at) values (?, ?, ?, ?, ?)').run(value - 1, username, leaf, leafHash(leaf), at);
}
