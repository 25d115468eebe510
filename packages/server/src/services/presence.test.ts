import { describe, expect, it } from 'vitest';
import { MemoryBus, type BusEvents } from '../bus/index.js';
import { createLogger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import { PresenceService } from './presence.js';

// Alice and Bob share a group; Carol shares none.
const peers: Record<string, string[]> = { alice: ['alice', 'bob'], bob: ['alice', 'bob'], carol: [] };
const storage = { listGroupPeers: async (username: string) => peers[username] ?? [] } as unknown as Storage;
const device = (username: string, n = 1) => ({ username, deviceId: `${username}-dev${n}` });

function setup(openDirectory: boolean) {
  const bus = new MemoryBus();
  const announced: BusEvents['presence'][] = [];
  bus.subscribe('presence', (message) => announced.push(message));
  const presence = new PresenceService(storage, bus, createLogger('silent'), { openDirectory });
  return { presence, announced };
}

describe('PresenceService', () => {
  it("announces a user's first device online and last offline, to its group peers only", async () => {
    const { presence, announced } = setup(false);
    presence.connected(device('alice'));
    presence.connected(device('alice', 2));
    presence.connected(device('alice', 2)); // a second connection of the same device
    presence.connected(device('carol')); // no peers: nobody to tell
    presence.disconnected(device('alice', 2));
    presence.disconnected(device('alice'));
    presence.disconnected(device('alice', 2));
    presence.disconnected(device('alice', 2)); // already gone: ignored
    await presence.settled();
    expect(announced).toEqual([
      { username: 'alice', online: true, audience: ['bob'] },
      { username: 'alice', online: false, audience: ['bob'] },
    ]);
    expect(presence.isOnline('alice')).toBe(false);
    expect(presence.isOnline('carol')).toBe(true);
  });

  it('lists online peers and the caller, sorted and paged; everyone online on an open server', async () => {
    const closed = setup(false).presence;
    const open = setup(true);
    for (const presence of [closed, open.presence]) for (const name of ['carol', 'bob', 'alice']) presence.connected(device(name));
    expect(await closed.list(device('alice'), {})).toEqual({ users: ['alice', 'bob'] });
    expect(await closed.list(device('carol'), {})).toEqual({ users: ['carol'] });
    expect(await open.presence.list(device('carol'), { limit: 2 })).toEqual({ users: ['alice', 'bob'], next: 'bob' });
    expect(await open.presence.list(device('carol'), { limit: 2, after: 'bob' })).toEqual({ users: ['carol'] });
    await open.presence.settled();
    expect(open.announced.map((a) => a.audience)).toEqual(['all', 'all', 'all']);
  });
});
