/** @module The server's services, built once over one storage and one bus. */
import type { Bus } from '../bus/index.js';
import type { Logger } from '../logger.js';
import type { Services } from '../session/handlers.js';
import type { Storage } from '../storage/index.js';
import { AccountService } from './accounts.js';
import { DeliveryService } from './delivery.js';
import { DirectoryService } from './directory.js';
import { GroupService } from './groups.js';
import { KeyService } from './keys.js';
import { PresenceService } from './presence.js';
import { Push } from './push.js';

export interface ServiceOptions {
  storage: Storage;
  bus: Bus;
  log: Logger;
  opaqueSetup: string;
  openDirectory: boolean;
  retentionMs: number;
}

export function createServices({ storage, bus, log, opaqueSetup, openDirectory, retentionMs }: ServiceOptions): Services {
  const push = new Push(bus, log.child({ module: 'push' }));
  return {
    accounts: new AccountService(storage, bus, opaqueSetup, log.child({ module: 'accounts' })),
    directory: new DirectoryService(storage),
    keys: new KeyService(storage, log.child({ module: 'keys' })),
    groups: new GroupService(storage, push, log.child({ module: 'groups' })),
    delivery: new DeliveryService(storage, push, log.child({ module: 'delivery' }), { retentionMs }),
    presence: new PresenceService(storage, bus, log.child({ module: 'presence' }), { openDirectory }),
  };
}
