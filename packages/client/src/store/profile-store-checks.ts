/** @module The checks every ProfileStore passes (see conformance.ts). */
import { bytes, same, withStore, type Check } from './check-support.js';
import type { DeviceAccount, DeviceSecrets, ProfileStore } from './profile.js';

const account: DeviceAccount = {
  server: 'http://127.0.0.1:8080',
  username: 'alice',
  deviceId: 'device-a1',
  deviceName: 'Chrome on Linux',
  identityPublicKey: bytes(1, 1, 1),
  devicePublicKey: bytes(2, 2, 2),
  deviceCertificate: bytes(3, 3, 3),
};
const secrets: DeviceSecrets = { identityPrivateKey: bytes(4, 4, 4), devicePrivateKey: bytes(5, 5, 5) };

export const profileStoreChecks: Check<ProfileStore>[] = [
  {
    name: 'starts with no pins and no account',
    run: (create) =>
      withStore(create, async (store) => {
        same(await store.load(), { pins: {} }, 'a new profile');
        same(await store.loadSecrets(), undefined, 'secrets of a new profile');
      }),
  },
  {
    name: 'saves pins, replacing the earlier ones',
    run: (create) =>
      withStore(create, async (store) => {
        await store.savePins({ 'http://a.example': 'SHA256:a' });
        await store.savePins({ 'http://b.example': 'SHA256:b', 'http://c.example': 'SHA256:c' });
        same((await store.load()).pins, { 'http://b.example': 'SHA256:b', 'http://c.example': 'SHA256:c' }, 'pins');
      }),
  },
  {
    name: 'saves the account with its secrets, and forgets both together',
    run: (create) =>
      withStore(create, async (store) => {
        await store.savePins({ 'http://127.0.0.1:8080': 'SHA256:x' });
        await store.saveAccount(account, secrets);
        same(await store.load(), { pins: { 'http://127.0.0.1:8080': 'SHA256:x' }, account }, 'profile with an account');
        same(await store.loadSecrets(), secrets, 'secrets');
        await store.saveAccount(undefined, undefined);
        same(await store.load(), { pins: { 'http://127.0.0.1:8080': 'SHA256:x' } }, 'profile after forgetting the account');
        same(await store.loadSecrets(), undefined, 'secrets after forgetting the account');
      }),
  },
  {
    name: 'hands out copies',
    run: (create) =>
      withStore(create, async (store) => {
        await store.saveAccount(account, secrets);
        const loaded = await store.loadSecrets();
        loaded?.devicePrivateKey.fill(0);
        const profile = await store.load();
        profile.pins.mutated = 'yes';
        profile.account?.devicePublicKey.fill(0);
        same(await store.loadSecrets(), secrets, 'secrets after mutating a returned copy');
        same(await store.load(), { pins: {}, account }, 'profile after mutating a returned copy');
      }),
  },
];
