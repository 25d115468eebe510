/**
 * @module The account side of the engine: registering, logging in or recovering this browser as a
 * device (with proof-of-work progress), the recovery key until the user confirms saving it,
 * changing the password, and the account's devices. Logging out and forgetting the device stay
 * with the connection side, which owns the connection they end.
 */
import { ErrorCode, serverOrigin, type DeviceRef, type ParleyClient, type SignInOptions } from '@parley/client';
import type { IndexedDbClientStore } from '../storage/client-store.js';
import { NO_HISTORY_SETTINGS, type IndexedDbProfileStore } from '../storage/profile-store.js';
import { browserDeviceName } from './device-name.js';
import { describeError, isCode } from './errors.js';
import type { AppState, DeviceView } from './state.js';

export interface AccountHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  /** The current connection's client, or a clear error while offline. */
  requireClient(): ParleyClient;
  store(): IndexedDbClientStore;
  profiles(): IndexedDbProfileStore;
  /** The signed-in device is ready: show the main screen and start receiving. */
  signedIn(session: DeviceRef): Promise<void>;
  /** End this device's session (for revoking this very device). */
  logout(): Promise<void>;
  /** Start over on a fresh connection. */
  reconnect(): Promise<void>;
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

  /**
   * Sign this browser in as a device by `enrol`, which starts from an empty store: a new device
   * has no history or group state from an earlier account. An old notice ("You are logged out")
   * goes as soon as the user tries again, so it never stands beside a new error.
   */
  private async signIn<T extends DeviceRef>(enrol: (client: ParleyClient) => Promise<T>, enrolled: (session: T) => Promise<void> = async () => undefined): Promise<void> {
    this.host.set({ notice: undefined });
    try {
      await inWords(async () => {
        const client = this.host.requireClient();
        await this.host.store().clear();
        const session = await enrol(client);
        await enrolled(session);
        await this.host.signedIn(session);
      });
    } finally {
      this.host.set({ proofOfWork: undefined });
    }
  }

  register(username: string, password: string): Promise<void> {
    return this.signIn(
      (client) => client.register(username, password, this.signInOptions()),
      async ({ recoveryKey }) => {
        // Kept until the user confirms saving it, so closing the tab now does not lose it.
        await this.host.profiles().saveUnconfirmedRecoveryKey(recoveryKey);
        this.host.set({ screen: { name: 'recovery', recoveryKey } });
      },
    );
  }

  /** Closing the tab on the recovery-key screen does not skip it: it shows until confirmed. */
  async showPendingRecoveryKey(): Promise<void> {
    const recoveryKey = await this.host.profiles().loadUnconfirmedRecoveryKey();
    if (recoveryKey) this.host.set({ screen: { name: 'recovery', recoveryKey } });
  }

  /** The user was told the server's key changed and chose to trust the new one: forget the pin, connect again. */
  async trustNewServerKey(server: string): Promise<void> {
    const profiles = this.host.profiles();
    const { [serverOrigin(server)]: _old, ...pins } = (await profiles.load()).pins;
    await profiles.savePins(pins);
    this.host.set({ screen: { name: 'starting' } });
    await this.host.reconnect();
  }

  async finishRegistration(): Promise<void> {
    await this.host.profiles().saveUnconfirmedRecoveryKey(undefined);
    this.host.set({ screen: { name: 'main' } });
  }

  login(username: string, password: string): Promise<void> {
    return this.signIn((client) => client.login(username, password, this.signInOptions()), () => this.expectHistory());
  }

  /** Forgot the password: set a new one with the recovery key, and sign this browser in as a new device. */
  recover(username: string, recoveryKey: string, newPassword: string): Promise<void> {
    return this.signIn((client) => client.recover(username, recoveryKey.trim(), newPassword, { deviceName: browserDeviceName(globalThis.navigator?.userAgent ?? '') }), () => this.expectHistory());
  }

  /** A new device of an existing account: its earlier messages are on the other devices until one sends them. */
  private async expectHistory(): Promise<void> {
    await this.host.profiles().saveHistorySettings({ ...NO_HISTORY_SETTINGS, expected: true });
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    try {
      await this.host.requireClient().changePassword(currentPassword, newPassword);
    } catch (error) {
      // Here only the password can be wrong: say so, not "username or password".
      if (isCode(error, ErrorCode.AUTH_FAILED)) throw new Error('The current password is wrong, so the password was not changed.', { cause: error });
      throw new Error(describeError(error), { cause: error });
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
