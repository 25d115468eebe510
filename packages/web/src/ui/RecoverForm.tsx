/** @module "Forgot password?": the recovery key and a new password sign this browser in again. */
import { useId, useState, type FormEvent } from 'react';
import type { Actions, AppState } from '../app/state.js';
import { useAction } from './hooks.js';

export function RecoverForm({ state, actions, onCancel }: { state: AppState; actions: Actions; onCancel(): void }) {
  const [username, setUsername] = useState('');
  const [recoveryKey, setRecoveryKey] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  const errorId = useId();
  const hintId = useId();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void run(() => actions.recover(username, recoveryKey, password));
  };

  return (
    <form onSubmit={submit} aria-label="Reset password" aria-describedby={error ? errorId : undefined}>
      <h2>Reset your password</h2>
      <p id={hintId} className="hint">
        Enter the recovery key you saved when you created the account, and choose a new password of at least 8 characters. Your other devices stay
        logged in; this browser becomes a new device.
      </p>
      <label>
        Username
        <input name="username" autoComplete="username" autoCapitalize="none" spellCheck={false} required value={username} onChange={(event) => setUsername(event.target.value)} />
      </label>
      <label>
        Recovery key
        <textarea name="recovery-key" autoCapitalize="none" spellCheck={false} required rows={2} value={recoveryKey} onChange={(event) => setRecoveryKey(event.target.value)} />
      </label>
      <label>
        New password
        <input name="new-password" type="password" autoComplete="new-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
      </label>
      {error && (
        <p id={errorId} role="alert" className="error">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={busy}>
          Set new password
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Back to log in
        </button>
      </div>
      {busy && (
        <p role="status" className="hint">
          {state.proofOfWork !== undefined ? `The server is busy, so it asks for a small proof of work first: about ${Math.round(state.proofOfWork * 100)}% done…` : 'Checking the recovery key…'}
        </p>
      )}
    </form>
  );
}
