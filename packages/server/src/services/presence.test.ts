import { describe, expect, it } from 'vitest';
import { MemoryBus, MemoryPresenceStore, type BusEvents, type PresenceChange, type PresenceStore } from '../bus/index.js';
import { createLogger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import { PresenceService } from './presence.js';

// Alice and Bob are each other's contacts; Carol is nobody's.
const contacts: Record<string, string[]> = { alice: ['bob'], bob: ['alice'], carol: [] };
const storage = { listMutualContacts: async (username: string) => contacts[username] ?? [] } as unknown as Storage;
const device = (username: string, n = 1) => ({ username, deviceId: `${username}-dev${n}` });

function setup(openDirectory: boolean, store: PresenceStore = new MemoryPresenceStore()) {
  const bus = new MemoryBus();
  const announced: BusEvents['presence'][] = [];
  bus.subscribe('presence', (message) => announced.push(message));
  const presence = new PresenceService(storage, bus, store, createLogger('silent'), { openDirectory });
  return { presence, announced, store };
}

describe('PresenceService', () => {
  it("announces a user's first device online and last offline, to its mutual contacts only", async () => {
    const { presence, announced, store } = setup(false);
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
      { username: 'alice', online: true, audience: ['bob'], version: 1 },
      { username: 'alice', online: false, audience: ['bob'], version: 3 },
    ]);
    expect(await store.filterOnline(['alice', 'carol'])).toEqual(['carol']);
  });

  it('lists online peers and the caller, sorted and paged; everyone online on an open server', async () => {
    const closed = setup(false).presence;
    const open = setup(true);
    for (const presence of [closed, open.presence]) for (const name of ['carol', 'bob', 'alice']) presence.connected(device(name));
    await closed.settled();
    expect(await closed.list(device('alice'), {})).toEqual({ users: ['alice', 'bob'] });
    expect(await closed.list(device('alice'), { limit: 1 })).toEqual({ users: ['alice'], next: 'alice' });
    expect(await closed.list(device('alice'), { limit: 1, after: 'alice' })).toEqual({ users: ['bob'] });
    expect(await closed.list(device('carol'), {})).toEqual({ users: ['carol'] });
    expect(await open.presence.list(device('carol'), { limit: 2 })).toEqual({ users: ['alice', 'bob'], next: 'bob' });
    expect(await open.presence.list(device('carol'), { limit: 2, after: 'bob' })).toEqual({ users: ['carol'] });
    await open.presence.settled();
    expect(open.announced.map((a) => a.audience)).toEqual(['all', 'all', 'all']);
  });

  it('announces what the heartbeat reports (users of an expired node), and keeps serving when the store fails', async () => {
    const store = new MemoryPresenceStore();
    let beats = 0;
    const expiring: PresenceStore = Object.assign(Object.create(store) as PresenceStore, {
      heartbeatIntervalMs: 20,
      heartbeat: async (): Promise<PresenceChange[]> => {
        beats++;
        if (beats === 2) throw new Error('store unreachable');
        return beats === 3 ? [{ username: 'bob', online: false, version: 7 }] : [];
      },
    });
    const { presence, announced } = setup(false, expiring);
    const stop = presence.startHeartbeat();
    while (beats < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    await stop();
    await presence.settled();
    expect(announced).toEqual([{ username: 'bob', online: false, audience: ['alice'], version: 7 }]);
  });

  it('leaving announces the users still registered for this node', async () => {
    const { presence, announced } = setup(true);
    presence.connected(device('alice'));
    await presence.leave();
    expect(announced.map(({ username, online }) => `${username} ${online}`)).toEqual(['alice true', 'alice false']);
  });
});
