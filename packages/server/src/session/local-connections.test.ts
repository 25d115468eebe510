import { decodeServerMessage, type DeviceRef } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/index.js';
import type { Connection } from './connection.js';
import { LocalConnections } from './local-connections.js';

/** A connection that records the presence events it is sent, as encoded envelopes. */
function fakeConnection(session: DeviceRef) {
  const events: string[] = [];
  const sendEncodedEvent = (envelope: Uint8Array) => {
    const message = decodeServerMessage(envelope);
    if (message.type === 'event' && message.event.kind === 'presence') events.push(`${message.event.body.username} ${message.event.body.online}`);
  };
  return { connection: { session, sendEncodedEvent } as unknown as Connection, events };
}

describe('LocalConnections', () => {
  it("passes presence changes to the user's peers here, dropping one older than a change already passed on", async () => {
    const bus = new MemoryBus();
    const local = new LocalConnections();
    local.listen(bus);
    const bob = { username: 'bob', deviceId: 'b1' };
    const { connection, events } = fakeConnection(bob);
    local.add(connection, bob);
    // Two nodes published alice's changes; the later one (version 5) overtook the earlier one.
    await bus.publish('presence', { username: 'alice', online: true, audience: ['bob'], version: 5 });
    await bus.publish('presence', { username: 'alice', online: false, audience: ['bob'], version: 4 });
    await bus.publish('presence', { username: 'alice', online: false, audience: ['bob'], version: 6 });
    await bus.publish('presence', { username: 'carol', online: true, audience: ['dave'], version: 7 });
    await bus.publish('presence', { username: 'erin', online: true, audience: 'all' });
    expect(events).toEqual(['alice true', 'alice false', 'erin true']);
  });
});
