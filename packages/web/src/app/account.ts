/**
 * @module The account side of the engine: registering and logging in this browser as a device
 * (with proof-of-work progress), and the account's devices. Logging out and forgetting the
 * device stay with the connection side, which owns the connection they end.
 */
import type { DeviceRef, ParleyClient, SignInOptions } from '@parley/client';
import type { IndexedDbClientStore } from '../storage/client-store.js';
import { browserDeviceName } from './device-name.js';
import { describeError } from './errors.js';
import type { AppState, DeviceView } from './state.js';

export interface AccountHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  /** The current connection's client, or a clear error while offline. */
  requireClient(): ParleyClient;
  store(): IndexedDbClientStore;
  /** The signed-in device is ready: show the main screen and start receiving. */
  signedIn(session: DeviceRef): Promise<void>;
  /** End this device's session (for revoking this very device). */
  logout(): Promise<void>;
}

/** Runs `task`, turning a failure into an Error whose message a person can read. */
async function inWords<T>(task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (error) {
    throw new Error(describeError(error), { cause: error });
  }
}

export class Account {
  constructor(private readonly host: AccountHost) {}

  /** Options for register and login: this browser's device name, and proof-of-work progress. */
  private signInOptions(): SignInOptions {
    return {
      deviceName: browserDeviceName(globalThis.navigator?.userAgent ?? ''),
      onPowProgress: ({ tried, expected, done }) => this.host.set({ proofOfWork: done ? undefined : Math.min(0.99, tried / expected) }),
    };
  }

  async register(username: string, password: string): Promise<void> {
    try {
      await inWords(async () => {
        const client = this.host.requireClient();
        // A new device starts with nothing: no history or group state from an earlier account.
        await this.host.store().clear();
        const registration = await client.register(username, password, this.signInOptions());
        this.host.set({ screen: { name: 'recovery', recoveryKey: registration.recoveryKey }, notice: undefined });
        await this.host.signedIn(registration);
      });
    } finally {
      this.host.set({ proofOfWork: undefined });
    }
  }

  finishRegistration(): void {
    this.host.set({ screen: { name: 'main' } });
  }

  async login(username: string, password: string): Promise<void> {
    try {
      await inWords(async () => {
        const client = this.host.requireClient();
        await this.host.store().clear();
        const session = await client.login(username, password, this.signInOptions());
        this.host.set({ notice: undefined });
        await this.host.signedIn(session);
      });
    } finally {
      this.host.set({ proofOfWork: undefined });
    }
  }

  devices(): Promise<DeviceView[]> {
    return inWords(async () =>
      (await this.host.requireClient().devices()).map((d) => ({
        deviceId: d.deviceId,
        name: d.name,
        createdAt: d.createdAt,
        current: d.current,
        ...(d.lastSeenAt === undefined ? {} : { lastSeenAt: d.lastSeenAt }),
      })),
    );
  }

  async revokeDevice(deviceId: string): Promise<void> {
    if (deviceId === this.host.state().me?.deviceId) return this.host.logout();
    await inWords(() => this.host.requireClient().revokeDevice(deviceId));
  }
}
