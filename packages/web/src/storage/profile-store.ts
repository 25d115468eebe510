/**
 * @module The browser's profile: pinned server keys, this device's account and its private keys,
 * a recovery key the user has not confirmed saving yet, and how history is shared with the
 * account's other devices, in IndexedDB. The account and its secrets are saved (or forgotten) in one transaction.
 *
 * Why raw private keys and not non-extractable WebCrypto keys: the SDK signs with @noble/curves
 * from 32-byte Ed25519 seeds (`ProfileStore.loadSecrets()` returns bytes), and the device key is
 * also the MLS signature key, which ts-mls takes as bytes. A non-extractable CryptoKey could not
 * be handed to either. The keys are kept the way the Node adapter keeps them (a 0600 file): in
 * storage only this origin can read. Same-origin script can read them, as it could use a
 * non-extractable key; the defence against that is the page's Content-Security-Policy.
 */
import type { DeviceAccount, DeviceSecrets, Profile, ProfileStore } from '@parley/client';
import { inTransaction, openDatabase, requestResult } from './idb.js';

export const PROFILE_DB_NAME = 'parley-profile';
const VERSION = 1;
const STORE = 'profile';

// Out-of-line keys in the one store; the rows carry a version so later releases can migrate them.
const PINS = 'pins';
const ACCOUNT = 'account';
const SECRETS = 'secrets';
/** A recovery key the user has not yet confirmed saving: shown again on every open until they do. */
const UNCONFIRMED_RECOVERY = 'unconfirmedRecovery';
const HISTORY = 'history';

/** Sharing message history between this account's devices, as this browser is set up for it. */
export interface HistorySettings {
  /** Send history to a newer device of the account without asking. */
  autoSend: boolean;
  /** Newer devices already sent history or declined, by device id: not asked about again. */
  answered: string[];
  /** This device joined an existing account: its earlier messages are on the other devices until one sends them. */
  expected: boolean;
}

export const NO_HISTORY_SETTINGS: HistorySettings = { autoSend: false, answered: [], expected: false };

interface HistoryRow extends HistorySettings {
  v: 1;
}

interface PinsRow {
  v: 1;
  pins: Record<string, string>;
}

interface AccountRow extends DeviceAccount {
  v: 1;
}

interface RecoveryRow {
  v: 1;
  recoveryKey: string;
}

interface SecretsRow {
  v: 1;
  identityPrivateKey: Uint8Array;
  devicePrivateKey: Uint8Array;
}

function upgrade(db: IDBDatabase, oldVersion: number): void {
  if (oldVersion < 1) db.createObjectStore(STORE);
}

const own = (bytes: Uint8Array): Uint8Array => bytes.slice();

export class IndexedDbProfileStore implements ProfileStore {
  private opened: Promise<IDBDatabase> | undefined;

  constructor(readonly name: string = PROFILE_DB_NAME) {}

  private db(): Promise<IDBDatabase> {
    this.opened ??= openDatabase(this.name, VERSION, upgrade);
    return this.opened;
  }

  async load(): Promise<Profile> {
    const db = await this.db();
    const [pins, account] = await inTransaction(db, [STORE], 'readonly', (tx) => {
      const store = tx.objectStore(STORE);
      return Promise.all([requestResult<PinsRow | undefined>(store.get(PINS)), requestResult<AccountRow | undefined>(store.get(ACCOUNT))]);
    });
    const profile: Profile = { pins: { ...(pins?.pins ?? {}) } };
    if (account) {
      const { v: _version, ...rest } = account;
      profile.account = rest;
    }
    return profile;
  }

  async savePins(pins: Record<string, string>): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [STORE], 'readwrite', (tx) => requestResult(tx.objectStore(STORE).put({ v: 1, pins: { ...pins } } satisfies PinsRow, PINS)));
  }

  async saveAccount(account: DeviceAccount | undefined, secrets: DeviceSecrets | undefined): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [STORE], 'readwrite', async (tx) => {
      const store = tx.objectStore(STORE);
      if (!account || !secrets) {
        await Promise.all([requestResult(store.delete(ACCOUNT)), requestResult(store.delete(SECRETS)), requestResult(store.delete(UNCONFIRMED_RECOVERY)), requestResult(store.delete(HISTORY))]);
        return;
      }
      const accountRow: AccountRow = {
        v: 1,
        server: account.server,
        username: account.username,
        deviceId: account.deviceId,
        deviceName: account.deviceName,
        identityPublicKey: own(account.identityPublicKey),
        devicePublicKey: own(account.devicePublicKey),
        deviceCertificate: own(account.deviceCertificate),
      };
      const secretsRow: SecretsRow = { v: 1, identityPrivateKey: own(secrets.identityPrivateKey), devicePrivateKey: own(secrets.devicePrivateKey) };
      await Promise.all([requestResult(store.put(accountRow, ACCOUNT)), requestResult(store.put(secretsRow, SECRETS))]);
    });
  }

  async loadSecrets(): Promise<DeviceSecrets | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [STORE], 'readonly', (tx) => requestResult<SecretsRow | undefined>(tx.objectStore(STORE).get(SECRETS)));
    return row && { identityPrivateKey: row.identityPrivateKey, devicePrivateKey: row.devicePrivateKey };
  }

  /** Keep the recovery key until the user confirms they saved it (`undefined` forgets it). */
  async saveUnconfirmedRecoveryKey(recoveryKey: string | undefined): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [STORE], 'readwrite', async (tx) => {
      const store = tx.objectStore(STORE);
      if (recoveryKey === undefined) await requestResult(store.delete(UNCONFIRMED_RECOVERY));
      else await requestResult(store.put({ v: 1, recoveryKey } satisfies RecoveryRow, UNCONFIRMED_RECOVERY));
    });
  }

  async loadUnconfirmedRecoveryKey(): Promise<string | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [STORE], 'readonly', (tx) => requestResult<RecoveryRow | undefined>(tx.objectStore(STORE).get(UNCONFIRMED_RECOVERY)));
    return row?.recoveryKey;
  }

  async loadHistorySettings(): Promise<HistorySettings> {
    const db = await this.db();
    const row = await inTransaction(db, [STORE], 'readonly', (tx) => requestResult<HistoryRow | undefined>(tx.objectStore(STORE).get(HISTORY)));
    return row ? { autoSend: row.autoSend, answered: [...row.answered], expected: row.expected } : { ...NO_HISTORY_SETTINGS };
  }

  async saveHistorySettings(settings: HistorySettings): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [STORE], 'readwrite', (tx) => requestResult(tx.objectStore(STORE).put({ v: 1, ...settings, answered: [...settings.answered] } satisfies HistoryRow, HISTORY)));
  }

  close(): void {
    const opened = this.opened;
    this.opened = undefined;
    void opened?.then((db) => db.close()).catch(() => undefined);
  }
}
