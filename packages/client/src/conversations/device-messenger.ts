/**
 * @module The signed-in device's Messenger, made once and shared: built from the profile's keys
 * and started, forgotten when the device leaves, and fed the server's pushes while anyone listens.
 */
import { ErrorCode, ParleyError, type DeviceRef } from '@parley/protocol';
import type { Connection } from '../connection/connection.js';
import type { Requester } from '../connection/requester.js';
import type { ClientStore } from '../store/client-store.js';
import type { ProfileStore } from '../store/profile.js';
import type { Directory } from '../trust/directory.js';
import { deviceMember } from '../trust/mls-credentials.js';
import type { ConversationEvent } from './events.js';
import { Messenger } from './messenger.js';

/** What the device's messenger takes from the client. */
export interface DeviceMessengerDeps {
  request: Requester;
  store: ClientStore;
  profiles: ProfileStore;
  directory: Directory;
  /** The signed-in device; resumes the session if needed. */
  self(): Promise<DeviceRef>;
  /** Where the server's pushes come from. */
  pushes: Pick<Connection, 'onEvent'>;
}

export class DeviceMessenger {
  private ready: Promise<Messenger> | undefined;
  private now: Messenger | undefined;
  /** Pushes are applied from the first listener on, for the client's life. */
  private applyingPushes = false;
  private readonly pushErrors = new Set<(error: unknown) => void>();

  constructor(private readonly deps: DeviceMessengerDeps) {}

  /** The device's messenger; the first call (again after a failure or `forget`) makes and starts it. */
  get(options: { newDevice?: boolean } = {}): Promise<Messenger> {
    this.ready ??= this.create(options).catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async create(options: { newDevice?: boolean }): Promise<Messenger> {
    const self = await this.deps.self();
    const { account } = await this.deps.profiles.load();
    const secrets = await this.deps.profiles.loadSecrets();
    if (!account || !secrets) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in');
    const member = deviceMember(account, secrets);
    const { request, store, directory } = this.deps;
    const messenger = new Messenger({ request, store, self, member, directory });
    await messenger.start(options);
    this.now = messenger;
    return messenger;
  }

  /**
   * `listener` hears the messenger's events. From the first listener on, the server's pushes are
   * applied as they arrive, and `onError` hears failures that are not one entry's. Returns a function that stops.
   */
  listen(listener: (event: ConversationEvent) => void, onError?: (error: unknown) => void): () => void {
    if (onError) this.pushErrors.add(onError);
    if (!this.applyingPushes) {
      this.applyingPushes = true;
      this.deps.pushes.onEvent((event) => {
        void this.get()
          .then((messenger) => (messenger.live ? messenger.receive(event) : undefined))
          .catch((error: unknown) => this.failed(error));
      });
    }
    let stopped = false;
    let stop: () => void = () => void (stopped = true);
    // Subscribed at once when the messenger exists, so nothing it does next goes unheard.
    if (this.now) stop = this.now.onEvent(listener);
    else void this.get().then((messenger) => void (stopped || (stop = messenger.onEvent(listener))), onError);
    return () => {
      stop();
      if (onError) this.pushErrors.delete(onError);
    };
  }

  /** Tells every listener's `onError` of a failure no caller awaits. */
  failed(error: unknown): void {
    for (const report of this.pushErrors) report(error);
  }

  /** The device left: the next `get` makes a new messenger. */
  forget(): void {
    this.ready = undefined;
    this.now = undefined;
  }
}
