/**
 * @module Getting the user's attention: the unread count in the tab's title and favicon, the
 * offer to turn notifications on (shown once a chat has been opened, never at page load), and
 * their settings.
 */
import { useEffect, useId } from 'react';
import type { Actions, AppState, ConversationView } from '../app/state.js';
import { useAction } from './hooks.js';

const TITLE = 'Parley';
const ICON = '/favicon.svg';

/** The favicon with a red badge holding the count ("99+" past 99). */
function badgedIcon(count: number): string {
  const label = count > 99 ? '99+' : String(count);
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">' +
    '<rect width="64" height="64" rx="14" fill="#2f5bea"/>' +
    '<path d="M16 18h32a4 4 0 0 1 4 4v16a4 4 0 0 1-4 4H30l-10 8v-8h-4a4 4 0 0 1-4-4V22a4 4 0 0 1 4-4z" fill="#fff"/>' +
    '<circle cx="46" cy="18" r="18" fill="#d32f2f"/>' +
    `<text x="46" y="25" font-family="sans-serif" font-weight="700" font-size="${label.length > 2 ? 14 : 20}" fill="#fff" text-anchor="middle">${label}</text>` +
    '</svg>';
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/** "(3) Parley" and a badged favicon while there are unread messages. */
export function useUnreadInTitle(conversations: ConversationView[]): void {
  const unread = conversations.reduce((sum, conversation) => sum + conversation.unread, 0);
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${TITLE}` : TITLE;
    const icon = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
    if (icon) {
      icon.type = 'image/svg+xml';
      icon.href = unread > 0 ? badgedIcon(unread) : ICON;
    }
  }, [unread]);
  useEffect(
    () => () => {
      document.title = TITLE;
      document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.setAttribute('href', ICON);
    },
    [],
  );
}

/** Offered once, after a chat has been opened: the browser's own prompt comes only on "Turn on". */
export function NotificationOffer({ state, actions }: { state: AppState; actions: Actions }) {
  const { busy, error, run } = useAction();
  const settings = state.notifications;
  const possible = settings.permission === 'default' || settings.permission === 'granted';
  if (!possible || settings.offered || settings.enabled) return null;
  return (
    <div role="region" aria-label="Notifications offer" className="notice offer">
      <span>Get a notification when a message comes while Parley is in the background?</span>
      {error && (
        <span role="alert" className="error">
          {error}
        </span>
      )}
      <button type="button" className="small" disabled={busy} onClick={() => void run(() => actions.setNotifications({ enabled: true }))}>
        Turn on notifications
      </button>
      <button type="button" className="link" onClick={() => actions.declineNotifications()}>
        Not now
      </button>
    </div>
  );
}

/** The Notifications part of Settings: on or off, with or without the text. */
export function NotificationSettings({ state, actions }: { state: AppState; actions: Actions }) {
  const { busy, error, run } = useAction();
  const settings = state.notifications;
  const hintId = useId();
  return (
    <section aria-label="Notifications">
      <h3>Notifications</h3>
      <p className="hint" id={hintId}>
        While Parley’s tab is in the background, each new message shows a notification from this browser, and the tab’s title counts the unread ones.
      </p>
      {settings.permission === 'unsupported' && <p>This browser cannot show notifications.</p>}
      {settings.permission === 'denied' && <p>This browser blocks notifications from Parley. Allow them in the site settings (the icon beside the address).</p>}
      <label className="check">
        <input
          type="checkbox"
          aria-describedby={hintId}
          checked={settings.enabled && settings.permission === 'granted'}
          disabled={busy || settings.permission === 'unsupported'}
          onChange={(event) => void run(() => actions.setNotifications({ enabled: event.target.checked }))}
        />
        Notify me of new messages
      </label>
      <label className="check">
        <input type="checkbox" checked={settings.showText} disabled={busy} onChange={(event) => void run(() => actions.setNotifications({ showText: event.target.checked }))} />
        Show the message text in notifications
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
