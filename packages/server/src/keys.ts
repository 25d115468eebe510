/**
 * @module The server's long-term secrets: its Noise static key (clients pin it) and its OPAQUE
 * setup (without it, registration records are useless). Kept in one 0600 file in the data directory,
 * never in the database, so a leaked database dump holds no server secret.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBase64Url, toBase64Url } from '@parley/protocol';
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

export async function loadOrCreateServerKeys(dataDir: string): Promise<ServerKeys> {
  const path = join(dataDir, KEY_FILE);
  let file: KeyFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as KeyFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read server key file ${path}`, { cause: error });
    file = { version: 1, noisePrivateKey: toBase64Url(generateStaticKeyPair().privateKey), opaqueSetup: opaqueServer.createSetup() };
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // Write then rename, so a crash never leaves a half-written key file behind.
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(file, null, 2), { mode: 0o600, flag: 'wx' });
    await rename(temporary, path);
  }
  if (file.version !== 1 || typeof file.noisePrivateKey !== 'string' || typeof file.opaqueSetup !== 'string') {
    throw new Error(`server key file ${path} is not in a format this version understands`);
  }
  const privateKey = fromBase64Url(file.noisePrivateKey);
  const publicKey = publicKeyFromPrivate(privateKey);
  return { noise: { privateKey, publicKey }, opaqueSetup: file.opaqueSetup, fingerprint: fingerprint(publicKey) };
}
