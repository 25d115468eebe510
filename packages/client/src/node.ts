/** @module Node adapters for the SDK: `ws` sockets and a profile directory with 0600 key files. */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installNodeCryptoProvider } from '@parley/crypto/node';
import { fromBase64Url, toBase64Url } from '@parley/protocol';
import { WebSocket } from 'ws';
import type { DeviceAccount, DeviceSecrets, Profile, ProfileStore } from './profile.js';
import type { SocketFactory, SocketLike } from './socket.js';

// Whoever uses the Node adapters is in Node: let MLS and the channel run on node:crypto.
installNodeCryptoProvider();

export const nodeSocketFactory: SocketFactory = (url) => new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 }) as unknown as SocketLike;

interface ProfileFile {
  version: 1;
  pins: Record<string, string>;
  account?: Omit<DeviceAccount, 'identityPublicKey' | 'devicePublicKey' | 'deviceCertificate'> & { identityPublicKey: string; devicePublicKey: string; deviceCertificate: string };
}

interface SecretsFile {
  version: 1;
  identityPrivateKey: string;
  devicePrivateKey: string;
}

/**
 * A profile kept in a directory: `profile.json` (public data) and `keys.json` (private keys,
 * mode 0600, directory 0700). Files are replaced atomically so a crash never leaves half a profile.
 */
export class DirectoryProfileStore implements ProfileStore {
  constructor(readonly dir: string) {}

  async load(): Promise<Profile> {
    const file = await this.read<ProfileFile>('profile.json');
    if (!file) return { pins: {} };
    const profile: Profile = { pins: file.pins ?? {} };
    if (file.account) {
      profile.account = {
        ...file.account,
        identityPublicKey: fromBase64Url(file.account.identityPublicKey),
        devicePublicKey: fromBase64Url(file.account.devicePublicKey),
        deviceCertificate: fromBase64Url(file.account.deviceCertificate),
      };
    }
    return profile;
  }

  async savePins(pins: Record<string, string>): Promise<void> {
    const file = (await this.read<ProfileFile>('profile.json')) ?? { version: 1, pins: {} };
    await this.write('profile.json', { ...file, pins }, 0o644);
  }

  async saveAccount(account: DeviceAccount | undefined, secrets: DeviceSecrets | undefined): Promise<void> {
    const file = (await this.read<ProfileFile>('profile.json')) ?? { version: 1, pins: {} };
    if (!account || !secrets) {
      await rm(join(this.dir, 'keys.json'), { force: true });
      const { account: _forgotten, ...rest } = file;
      await this.write('profile.json', rest, 0o644);
      return;
    }
    const keys: SecretsFile = { version: 1, identityPrivateKey: toBase64Url(secrets.identityPrivateKey), devicePrivateKey: toBase64Url(secrets.devicePrivateKey) };
    await this.write('keys.json', keys, 0o600);
    await this.write(
      'profile.json',
      {
        ...file,
        account: {
          ...account,
          identityPublicKey: toBase64Url(account.identityPublicKey),
          devicePublicKey: toBase64Url(account.devicePublicKey),
          deviceCertificate: toBase64Url(account.deviceCertificate),
        },
      },
      0o644,
    );
  }

  async loadSecrets(): Promise<DeviceSecrets | undefined> {
    const file = await this.read<SecretsFile>('keys.json');
    return file && { identityPrivateKey: fromBase64Url(file.identityPrivateKey), devicePrivateKey: fromBase64Url(file.devicePrivateKey) };
  }

  private async read<T>(name: string): Promise<T | undefined> {
    const path = join(this.dir, name);
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  private async write(name: string, value: unknown, mode: number): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const path = join(this.dir, name);
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(value, null, 2) + '\n', { mode });
    await rename(temporary, path);
  }
}

export { SqliteClientStore } from './sqlite-store.js';
