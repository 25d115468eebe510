/**
 * @module Message history between this account's devices (DESIGN §5, the SDK's history transfer):
 * a device that finds a newer device of the account asks the user whether to send it the history
 * kept here, or sends it by itself when set to; a new device says its earlier messages are on the
 * other devices until they arrive, and how far they are.
 */
import type { ConversationEvent, HistoryChunkReceived, Messenger, ParleyClient } from '@parley/client';
import type { HistorySettings, IndexedDbProfileStore } from '../storage/profile-store.js';
import { describeError, isConnectionError } from './errors.js';
import type { AppState, HistoryView } from './state.js';

export interface HistoryHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  /** The signed-in connection's client and messenger; undefined while offline. */
  client(): ParleyClient | undefined;
  messenger(): Messenger | undefined;
  profiles(): IndexedDbProfileStore;
}

/** Conversation changes come in bursts; look at the account's devices at most this often because of them. */
const CHANGE_CHECK_INTERVAL_MS = 3_000;

export class HistorySharing {
  private lastCheck = 0;
  private checking: Promise<void> | undefined;
  private checkAgain = false;
  private laterCheck: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: HistoryHost) {}

  private show(patch: Partial<HistoryView>): void {
    this.host.set((state) => ({ history: { ...state.history, ...patch } }));
  }

  private async settings(change?: (settings: HistorySettings) => HistorySettings): Promise<HistorySettings> {
    const profiles = this.host.profiles();
    const current = await profiles.loadHistorySettings();
    if (!change) return current;
    const changed = change(current);
    await profiles.saveHistorySettings(changed);
    this.show({ autoSend: changed.autoSend, expected: changed.expected });
    return changed;
  }

  /** Signed in on a connection: show the settings, and look for newer devices of the account. */
  async start(): Promise<void> {
    const { autoSend, expected } = await this.settings();
    this.show({ autoSend, expected });
    await this.checkDevices();
  }

  handle(event: ConversationEvent): void {
    if (event.kind === 'history') void this.received(event.chunk);
    // A new device of mine joins my groups by external commit, which changes them.
    else if (event.kind === 'changed') this.checkSoon();
  }

  /** At most one look per interval; one asked for within it happens at its end, not never. */
  private checkSoon(): void {
    if (this.laterCheck !== undefined) return;
    const wait = Math.max(0, this.lastCheck + CHANGE_CHECK_INTERVAL_MS - Date.now());
    this.laterCheck = setTimeout(() => {
      this.laterCheck = undefined;
      void this.checkDevices();
    }, wait);
  }

  /** Offer (or send, if set to) this browser's history to each newer device of the account not answered yet. */
  checkDevices(): Promise<void> {
    // Asked again while looking: look once more afterwards, as the device list may have changed since.
    if (this.checking) {
      this.checkAgain = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.checkAgain = false;
        try {
          await this.lookForNewDevices();
        } catch (error) {
          if (!isConnectionError(error)) this.host.set({ notice: `Could not look for your new devices: ${describeError(error)}` });
        }
      } while (this.checkAgain);
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async lookForNewDevices(): Promise<void> {
    const client = this.host.client();
    if (!client || !this.host.messenger()) return;
    this.lastCheck = Date.now();
    const devices = await client.devices();
    const me = devices.find((device) => device.current);
    const { autoSend, answered } = await this.settings();
    const newer = devices.filter((device) => me && !device.current && device.createdAt > me.createdAt && !answered.includes(device.deviceId));
    if (autoSend) {
      for (const device of newer) await this.send(device.deviceId);
      return;
    }
    const first = newer[0];
    if (first && !this.host.state().history.offer) this.show({ offer: { deviceId: first.deviceId, name: first.name } });
  }

  async send(deviceId: string): Promise<void> {
    const messenger = this.host.messenger();
    if (!messenger) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    this.show({ offer: undefined, sending: { sent: 0, total: 1 } });
    try {
      await messenger.sendHistory(deviceId, (sent, total) => this.show({ sending: { sent, total } }));
    } catch (error) {
      this.show({ sending: undefined });
      throw new Error(describeError(error), { cause: error });
    }
    await this.answered(deviceId);
    // Another new device may be waiting to be asked about.
    void this.checkDevices();
  }

  async decline(deviceId: string): Promise<void> {
    this.show({ offer: undefined });
    await this.answered(deviceId);
    void this.checkDevices();
  }

  async setAutoSend(autoSend: boolean): Promise<void> {
    // Shown at once: the checkbox follows the click, not the write that follows it.
    this.show({ autoSend });
    await this.settings((settings) => ({ ...settings, autoSend }));
    if (autoSend) void this.checkDevices();
  }

  private async answered(deviceId: string): Promise<void> {
    await this.settings((settings) => ({ ...settings, answered: [...new Set([...settings.answered, deviceId])] }));
  }

  private async received(chunk: HistoryChunkReceived): Promise<void> {
    this.show({ receiving: { received: chunk.received, total: chunk.total } });
    if (chunk.received === chunk.total) await this.settings((settings) => ({ ...settings, expected: false }));
  }
}
