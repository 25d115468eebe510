/** @module Create an account or log in: one form, two buttons; or reset a forgotten password. */
import { useId, useState, type FormEvent } from 'react';
import type { Actions, AppState } from '../app/state.js';
import { ConnectionBanner } from './MainScreen.js';
import { useAction } from './hooks.js';
import { RecoverForm } from './RecoverForm.js';

export function AuthScreen({ state, actions }: { state: AppState; actions: Actions }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [mode, setMode] = useState<'login' | 'register' | 'recover'>('login');
  const { busy, error, setError, run } = useAction();
  const errorId = useId();
  const hintId = useId();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    // The button that submitted decides; Enter in a field means "Log in".
    const submitter = (event.nativeEvent as SubmitEvent).submitter;
    const chosen = submitter?.getAttribute('value') === 'register' ? 'register' : 'login';
    setMode(chosen);
    void run(() => (chosen === 'register' ? actions.register(username, password) : actions.login(username, password)));
  };

  return (
    <main className="auth">
      <ConnectionBanner state={state} actions={actions} />
      <div className="auth-card">
        <h1 className="brand">Parley</h1>
        <p className="tagline">End-to-end encrypted chat. The server only ever sees ciphertext.</p>
        {state.notice && (
          <p role="status" className="notice">
            {state.notice}
          </p>
        )}
        {mode === 'recover' ? (
          <RecoverForm state={state} actions={actions} onCancel={() => setMode('login')} />
        ) : (
          <form onSubmit={submit} aria-describedby={error ? errorId : undefined}>
            <label>
              Username
              <input
                name="username"
                autoComplete="username"
                autoCapitalize="none"
                spellCheck={false}
                required
                value={username}
                onChange={(event) => {
                  setUsername(event.target.value);
                  setError(undefined);
                }}
              />
            </label>
            <label>
              Password
              <input
                name="password"
                type="password"
                autoComplete={mode === 'register' ? 'new-password' : 'current-password'}
                required
                value={password}
                aria-describedby={hintId}
                onChange={(event) => {
                  setPassword(event.target.value);
                  setError(undefined);
                }}
              />
            </label>
            <p id={hintId} className="hint">
              New here? Pick a username (a–z, 0–9, _ . -) and a password of at least 8 characters, then Create account.
            </p>
            {error && (
              <p id={errorId} role="alert" className="error">
                {error}
              </p>
            )}
            <div className="row">
              <button type="submit" name="action" value="login" disabled={busy}>
                Log in
              </button>
              <button type="submit" name="action" value="register" className="secondary" disabled={busy}>
                Create account
              </button>
            </div>
            <button type="button" className="link" onClick={() => setMode('recover')}>
              Forgot password?
            </button>
            {busy && (
              <p role="status" className="hint">
                {state.proofOfWork !== undefined
                  ? `The server is busy, so it asks for a small proof of work first: about ${Math.round(state.proofOfWork * 100)}% done…`
                  : mode === 'register'
                    ? 'Creating your account and keys…'
                    : 'Checking your password…'}
              </p>
            )}
          </form>
        )}
      </div>
      {state.serverFingerprint && (
        <footer className="fingerprint">
          Server key <code>{state.serverFingerprint}</code>
        </footer>
      )}
    </main>
  );
}
