/** @module The server's services, built once over one storage and one bus. */
import type { Bus, PresenceStore } from '../bus/index.js';
import type { Logger } from '../logger.js';
import type { Services } from '../session/handlers.js';
import type { Storage } from '../storage/index.js';
import { AccountService } from './accounts.js';
import { ConsentService } from './consent.js';
import { PasswordService } from './passwords.js';
import { DeliveryService } from './delivery.js';
import { DirectService, type DirectOptions } from './direct.js';
import { DirectoryService, type DirectoryTamper } from './directory.js';
import { GroupService } from './groups.js';
import { KeyPackageService } from './key-packages.js';
import type { PowService } from './pow.js';
import { PresenceService } from './presence.js';
import { Push } from './push.js';
import { TimelockModuli, type TimelockModuliOptions } from './timelock-moduli.js';
import { TimelockService, type TimelockOptions } from './timelock.js';
import { TransparencyLog } from './transparency.js';

export interface ServiceOptions {
  storage: Storage;
  bus: Bus;
  /** Who is online: this node's connections (MemoryPresenceStore) or every node's (RedisPresenceStore). */
  presenceStore: PresenceStore;
  log: Logger;
  opaqueSetup: string;
  /** The Noise static private key, which also signs the key log's tree heads (DESIGN §11). */
  serverPrivateKey: Uint8Array;
  openDirectory: boolean;
  retentionMs: number;
  deviceBacklogQuota: number;
  maxGroupDevices: number;
  maxGroupsPerUser: number;
  fetchBytesPerSecond: number;
  /** Proof of work before registration and login; built by the server, which runs its clock. */
  pow: PowService;
  /** Time-locked messages: reference speed, horizon, limits, and the moduli's size, rotation and sealing key. */
  timelock: Omit<TimelockOptions, 'retentionMs'> & TimelockModuliOptions;
  /** Direct sessions: ICE servers for clients and signalling limits. */
  direct: DirectOptions;
  /** Only for tests of a malicious server: rewrites directory answers (see DirectoryTamper). */
  directoryTamper?: DirectoryTamper;
}

export function createServices({ storage, bus, presenceStore, log, opaqueSetup, serverPrivateKey, openDirectory, retentionMs, deviceBacklogQuota, maxGroupDevices, maxGroupsPerUser, fetchBytesPerSecond, pow, timelock, direct, directoryTamper }: ServiceOptions): Services {
  const push = new Push(bus, log.child({ module: 'push' }));
  const presence = new PresenceService(storage, bus, presenceStore, log.child({ module: 'presence' }), { openDirectory });
  const consent = new ConsentService(storage, log.child({ module: 'consent' }), presence);
  const transparency = new TransparencyLog(storage, serverPrivateKey);
  return {
    accounts: new AccountService(storage, bus, opaqueSetup, log.child({ module: 'accounts' })),
    passwords: new PasswordService(storage, opaqueSetup, log.child({ module: 'passwords' })),
    directory: new DirectoryService(storage, transparency, directoryTamper),
    transparency,
    keyPackages: new KeyPackageService(storage, consent, log.child({ module: 'key-packages' })),
    groups: new GroupService(storage, consent, push, log.child({ module: 'groups' }), { deviceBacklogQuota, maxGroupDevices, maxGroupsPerUser }),
    delivery: new DeliveryService(storage, consent, push, log.child({ module: 'delivery' }), { retentionMs, deviceBacklogQuota, fetchBytesPerSecond }),
    presence,
    consent,
    pow,
    direct: new DirectService(storage, bus, presenceStore, push, consent, log.child({ module: 'direct' }), direct),
    timelock: new TimelockService(storage, push, new TimelockModuli(storage, log.child({ module: 'timelock-moduli' }), timelock), log.child({ module: 'timelock' }), { ...timelock, retentionMs }),
  };
}
