/**
 * @module The server's long-term secrets: its Noise static key (clients pin it) and its OPAQUE
 * setup (without it, registration records are useless). Kept in one 0600 file, by default in the
 * data directory, never in the database, so a leaked database dump holds no server secret. Every
 * node of a deployment uses the same file (`--key-file`): the same key, the same OPAQUE setup.
 * The database records the key's fingerprint (public) when first used, and a node started with
 * another key refuses to serve from it rather than serve some users inconsistently.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Storage } from './storage/index.js';
import { ErrorCode, fromBase64Url, toBase64Url } from '@parley/protocol';
import { fingerprint, generateStaticKeyPair, opaqueServer, publicKeyFromPrivate, type StaticKeyPair } from '@parley/crypto';

export interface ServerKeys {
  noise: StaticKeyPair;
  opaqueSetup: string;
  fingerprint: string;
}

interface KeyFile {
  version: 1;
  noisePrivateKey: string;
  opaqueSetup: string;
}

export const KEY_FILE = 'server-keys.json';

/** Reads the key file at `path`, or creates it (and its directory) with fresh keys if there is none. */
export async function loadOrCreateServerKeys(path: string): Promise<ServerKeys> {
  let file: KeyFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as KeyFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read server key file ${path}`, { cause: error });
    file = await createKeyFile(path);
  }
  if (file.version !== 1 || typeof file.noisePrivateKey !== 'string' || typeof file.opaqueSetup !== 'string') {
    throw new Error(`server key file ${path} is not in a format this version understands`);
  }
  const privateKey = fromBase64Url(file.noisePrivateKey);
  const publicKey = publicKeyFromPrivate(privateKey);
  return { noise: { privateKey, publicKey }, opaqueSetup: file.opaqueSetup, fingerprint: fingerprint(publicKey) };
}

/**
 * Writes a temporary file, then links it into place, so a crash never leaves a half-written key
 * file and two nodes starting at once on a shared, still missing file end up with the same keys:
 * the link fails for the second, which then reads the first one's file.
 */
async function createKeyFile(path: string): Promise<KeyFile> {
  const file: KeyFile = { version: 1, noisePrivateKey: toBase64Url(generateStaticKeyPair().privateKey), opaqueSetup: opaqueServer.createSetup() };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, JSON.stringify(file, null, 2), { mode: 0o600, flag: 'wx' });
  try {
    await link(temporary, path);
    return file;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create server key file ${path}`, { cause: error });
    return JSON.parse(await readFile(path, 'utf8')) as KeyFile;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/** This node's key is not the one its database was first used with. `parley serve` prints it as `error KEY_MISMATCH: ...`. */
export class ServerKeyMismatchError extends Error {
  override readonly name = 'ServerKeyMismatchError';
  readonly code = ErrorCode.KEY_MISMATCH;
}

/** Records `fingerprint` as the database's server key on first start; throws ServerKeyMismatchError if another is recorded. */
export async function checkServerKey(storage: Storage, fingerprint: string): Promise<void> {
  const recorded = await storage.recordServerKey(fingerprint, Date.now());
  if (recorded === fingerprint) return;
  throw new ServerKeyMismatchError(
    `this node's server key is ${fingerprint}, but the database was first used with server key ${recorded}: ` +
      'every node sharing a database must use the same key file (--key-file); a different key would serve its users inconsistently',
  );
}
