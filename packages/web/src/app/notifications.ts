/**
 * @module Notifications of new messages while Parley's tab is hidden. The browser's permission is
 * asked only when the user turns them on (an offer after a chat opens, or the Notifications
 * panel), never at page load. The settings are this browser's, in localStorage: no secret is in them.
 */
import type { ConversationEvent, Message } from '@parley/client';
import type { AppState, NotificationSettings, Selection } from './state.js';

const SETTINGS_KEY = 'parley.notifications';

export interface NotifierHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  select(selection: Selection): void;
}

type Saved = Pick<NotificationSettings, 'enabled' | 'showText' | 'offered'>;

function loadSaved(): Saved {
  const fallback: Saved = { enabled: false, showText: true, offered: false };
  try {
    const saved: unknown = JSON.parse(globalThis.localStorage?.getItem(SETTINGS_KEY) ?? 'null');
    if (typeof saved !== 'object' || saved === null) return fallback;
    const { enabled, showText, offered } = saved as Partial<Saved>;
    return { enabled: enabled === true, showText: showText !== false, offered: offered === true };
  } catch {
    // Unreadable settings: start from the defaults, as on a first visit.
    return fallback;
  }
}

function permission(): NotificationSettings['permission'] {
  return 'Notification' in globalThis ? Notification.permission : 'unsupported';
}

export class Notifier {
  /** Reads the settings, and what the browser allows now (the user may have changed it in the site settings). */
  constructor(private readonly host: NotifierHost) {
    this.host.set({ notifications: { ...loadSaved(), permission: permission() } });
  }

  private save(change: Partial<NotificationSettings>): void {
    const next = { ...this.host.state().notifications, ...change, permission: permission() };
    const saved: Saved = { enabled: next.enabled, showText: next.showText, offered: next.offered };
    globalThis.localStorage?.setItem(SETTINGS_KEY, JSON.stringify(saved));
    this.host.set({ notifications: next });
  }

  async setNotifications(change: Partial<Pick<NotificationSettings, 'enabled' | 'showText'>>): Promise<void> {
    if (change.enabled === true) {
      if (permission() === 'unsupported') throw new Error('This browser cannot show notifications.');
      // Asked here, in answer to the user's click: browsers ignore or block requests made without one.
      const answer = Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission;
      if (answer !== 'granted') {
        this.save({ enabled: false, offered: true });
        throw new Error('This browser blocks notifications from Parley. Allow them in the site settings (the icon beside the address), then turn them on here.');
      }
    }
    this.save({ ...change, offered: true });
  }

  decline(): void {
    this.save({ offered: true });
  }

  handle(event: ConversationEvent): void {
    if (event.kind === 'message') this.notify(event.message);
  }

  private notify(message: Message): void {
    const { me, notifications } = this.host.state();
    if (message.sender === me?.username || document.visibilityState === 'visible') return;
    if (!notifications.enabled || permission() !== 'granted') return;
    const title = message.kind === 'group' ? `${message.sender} in ${message.conversation}` : message.sender;
    const text = message.text === undefined ? 'A time-locked message' : message.text;
    let shown: Notification;
    try {
      // One notification per chat: a newer message replaces the older one (same tag).
      shown = new Notification(title, { body: notifications.showText ? text : 'New message', tag: message.groupId, icon: '/favicon.svg' });
    } catch (error) {
      // Some browsers (Chrome on Android) allow notifications only from a service worker: say so, and stop trying.
      this.save({ enabled: false });
      this.host.set({ notice: `This browser cannot show Parley’s notifications (${error instanceof Error ? error.message : String(error)}).` });
      return;
    }
    shown.onclick = () => {
      globalThis.focus();
      this.host.select({ kind: 'chat', groupId: message.groupId });
      shown.close();
    };
  }
}
