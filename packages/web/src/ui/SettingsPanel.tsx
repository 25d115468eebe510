/** @module Settings: notifications in this browser, the account's password, and sending message history to new devices without asking. */
import { useState, type FormEvent } from 'react';
import type { Actions, AppState } from '../app/state.js';
import { NotificationSettings } from './attention.js';
import { ErrorLine } from './dialogs.js';
import { useAction } from './hooks.js';
import { PanelHeader } from './panels.js';

export function SettingsPanel({ state, actions, onBack }: { state: AppState; actions: Actions; onBack(): void }) {
  const { error, run } = useAction();
  return (
    <section className="panel" aria-label="Settings">
      <PanelHeader title="Settings" onBack={onBack} />
      <div className="pad">
        <NotificationSettings state={state} actions={actions} />
        <ChangePassword actions={actions} />
        <h3>Your other devices</h3>
        <label className="check">
          <input type="checkbox" checked={state.history.autoSend} onChange={(event) => void run(() => actions.setAutoSendHistory(event.target.checked))} />
          Send my message history to my new devices without asking
        </label>
        <p className="hint">When you log in on another browser or terminal, this browser sends it the messages kept here, end-to-end encrypted, while both are online.</p>
        <ErrorLine error={error} />
      </div>
    </section>
  );
}

function ChangePassword({ actions }: { actions: Actions }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [changed, setChanged] = useState(false);
  const { busy, error, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setChanged(false);
    if (await run(() => actions.changePassword(current, next))) {
      setCurrent('');
      setNext('');
      setChanged(true);
    }
  };
  return (
    <form aria-label="Change password" onSubmit={(event) => void submit(event)}>
      <h3>Change password</h3>
      <p className="hint">Your other devices stay logged in. The old password stops working at once; your recovery key still works.</p>
      <label>
        Current password
        <input type="password" autoComplete="current-password" required value={current} onChange={(event) => setCurrent(event.target.value)} />
      </label>
      <label>
        New password
        <input type="password" autoComplete="new-password" required value={next} onChange={(event) => setNext(event.target.value)} />
      </label>
      <ErrorLine error={error} />
      {changed && (
        <p role="status" className="hint">
          Password changed.
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Changing…' : 'Change password'}
      </button>
    </form>
  );
}
