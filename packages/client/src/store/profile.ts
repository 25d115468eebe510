/** @module What a client keeps between runs: pinned server keys, and this device's account and keys. */

export interface DeviceAccount {
  server: string;
  username: string;
  deviceId: string;
  deviceName: string;
  identityPublicKey: Uint8Array;
  devicePublicKey: Uint8Array;
  /** The identity key's signature over this device's certificate: goes into MLS credentials. */
  deviceCertificate: Uint8Array;
}

export interface DeviceSecrets {
  identityPrivateKey: Uint8Array;
  devicePrivateKey: Uint8Array;
}

export interface Profile {
  /** Server origin → pinned key fingerprint (trust on first use, or given explicitly). */
  pins: Record<string, string>;
  account?: DeviceAccount;
}

/** Where a client keeps its profile. Node: a directory (0600 key files); browser: IndexedDB. */
export interface ProfileStore {
  load(): Promise<Profile>;
  savePins(pins: Record<string, string>): Promise<void>;
  /** Saves the account and its secrets together, or forgets both (`undefined`). */
  saveAccount(account: DeviceAccount | undefined, secrets: DeviceSecrets | undefined): Promise<void>;
  loadSecrets(): Promise<DeviceSecrets | undefined>;
}

/** A profile that lives only as long as the process: for tests and throwaway sessions. */
export class MemoryProfileStore implements ProfileStore {
  private profile: Profile = { pins: {} };
  private secrets: DeviceSecrets | undefined;

  async load(): Promise<Profile> {
    return structuredClone(this.profile);
  }

  async savePins(pins: Record<string, string>): Promise<void> {
    this.profile.pins = { ...pins };
  }

  async saveAccount(account: DeviceAccount | undefined, secrets: DeviceSecrets | undefined): Promise<void> {
    this.profile.account = account && structuredClone(account);
    this.secrets = secrets && structuredClone(secrets);
  }

  async loadSecrets(): Promise<DeviceSecrets | undefined> {
    return this.secrets && structuredClone(this.secrets);
  }
}
