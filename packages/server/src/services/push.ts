/**
 * @module Pushing protocol events to devices through the bus, so the node a device is connected
 * to delivers it (DESIGN §6: online devices get a push at once). Pushes are a courtesy: what they
 * announce is already stored, and a device that misses one fetches it on reconnect.
 */
import { encodeEvent, type EventKind, type EventOf, type DeviceRef } from '@parley/protocol';
import type { Bus } from '../bus/index.js';
import type { Logger } from '../logger.js';

export class Push {
  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  async toDevices<K extends EventKind>(devices: readonly DeviceRef[], kind: K, body: EventOf<K>): Promise<void> {
    if (devices.length === 0) return;
    try {
      await this.bus.publish('deliver', {
        devices: devices.map(({ username, deviceId }) => ({ username, deviceId })),
        kind,
        envelope: encodeEvent(kind, body),
      });
    } catch (error) {
      // The state is stored; the devices will fetch it. Never fail the request for a lost push.
      this.log.warn({ err: error, event: 'push.failed', kind, devices: devices.length }, 'push not published');
    }
  }
}
