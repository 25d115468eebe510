/** @module Side panels: who is online, my devices, and the server's key. */
import { useCallback, useEffect, useState } from 'react';
import type { Actions, AppState, DeviceView } from '../app/state.js';
import { longDate } from './format.js';
import { useAction } from './hooks.js';

export function PanelHeader({ title, onBack }: { title: string; onBack(): void }) {
  return (
    <header className="chat-header">
      <button type="button" className="link back" onClick={onBack} aria-label="Back to conversations">
        ‹ Back
      </button>
      <h2>{title}</h2>
    </header>
  );
}

export function OnlinePanel({ state, actions, onBack, onChat }: { state: AppState; actions: Actions; onBack(): void; onChat(user: string): void }) {
  const { busy, error, run } = useAction();
  useEffect(() => {
    void run(() => actions.refreshOnline());
  }, [run, actions]);
  return (
    <section className="panel" aria-label="Online">
      <PanelHeader title="Online now" onBack={onBack} />
      <div className="pad">
        <p className="hint">People you share a conversation with, while they are connected.</p>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {state.online.length === 0 ? (
          <p>{busy ? 'Looking…' : 'Nobody else is online.'}</p>
        ) : (
          <ul className="people" aria-label="Online users">
            {state.online.map((user) => (
              <li key={user}>
                <span className="online-dot" aria-hidden="true" />
                <span className="grow">{user}</span>
                <button type="button" className="secondary small" aria-label={`Chat with ${user}`} onClick={() => onChat(user)}>
                  Chat
                </button>
              </li>
            ))}
          </ul>
        )}
        <button type="button" className="secondary" disabled={busy} onClick={() => void run(() => actions.refreshOnline())}>
          Refresh
        </button>
      </div>
    </section>
  );
}

export function DevicesPanel({ actions, onBack }: { actions: Actions; onBack(): void }) {
  const [devices, setDevices] = useState<DeviceView[]>();
  const [confirming, setConfirming] = useState<string>();
  const { busy, error, run } = useAction();
  const reload = useCallback(() => run(async () => setDevices(await actions.devices())), [run, actions]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const revoke = async (deviceId: string) => {
    setConfirming(undefined);
    if (await run(() => actions.revokeDevice(deviceId))) await reload();
  };

  return (
    <section className="panel" aria-label="Devices">
      <PanelHeader title="Your devices" onBack={onBack} />
      <div className="pad">
        <p className="hint">Every browser or terminal you logged in from. Revoke one you lost: it is logged out at once and can no longer read new messages.</p>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {!devices && !error && <p>Loading…</p>}
        {devices && (
          <ul className="devices" aria-label="Devices">
            {devices.map((device) => (
              <li key={device.deviceId}>
                <div className="grow">
                  <strong>{device.name}</strong> {device.current && <span className="tag">this device</span>}
                  <div className="hint">
                    Added {longDate(device.createdAt)}
                    {device.lastSeenAt !== undefined && ` · last seen ${longDate(device.lastSeenAt)}`} · <code>{device.deviceId}</code>
                  </div>
                </div>
                {device.current ? (
                  <button type="button" className="secondary small" disabled={busy} onClick={() => void run(() => actions.logout())}>
                    Log out this device
                  </button>
                ) : confirming === device.deviceId ? (
                  <span className="row">
                    <button type="button" className="danger small" disabled={busy} onClick={() => void revoke(device.deviceId)}>
                      Confirm revoke
                    </button>
                    <button type="button" className="secondary small" onClick={() => setConfirming(undefined)}>
                      Keep
                    </button>
                  </span>
                ) : (
                  <button type="button" className="secondary small" aria-label={`Revoke ${device.name} (${device.deviceId})`} onClick={() => setConfirming(device.deviceId)}>
                    Revoke
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

export function ServerPanel({ state, onBack }: { state: AppState; onBack(): void }) {
  return (
    <section className="panel" aria-label="Server">
      <PanelHeader title="Server key" onBack={onBack} />
      <div className="pad">
        <p>
          This browser talks to <strong>{globalThis.location.host}</strong> over an encrypted channel, and trusts only this server key:
        </p>
        <p>
          <code className="fingerprint-value" aria-label="Server key fingerprint">
            {state.serverFingerprint ?? 'not connected yet'}
          </code>
        </p>
        <p className="hint">
          Compare it with the “server key” line that <code>parley serve</code> printed, or ask the server’s operator. If the server ever presents a different key,
          Parley stops and tells you.
        </p>
      </div>
    </section>
  );
}
