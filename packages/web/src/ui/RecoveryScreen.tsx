/** @module Right after registration, and on every open until confirmed: the recovery key, with a way to copy it. */
import { useState } from 'react';

export function RecoveryScreen({ recoveryKey, onDone }: { recoveryKey: string; onDone(): void }) {
  const [saved, setSaved] = useState(false);
  const [copyState, setCopyState] = useState<'idle' | 'copied' | 'failed'>('idle');

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(recoveryKey);
      setCopyState('copied');
    } catch {
      setCopyState('failed');
    }
  };

  return (
    <main className="centered recovery">
      <h1>Save your recovery key</h1>
      <p>
        If you forget your password, this key is the only way back into your account. Parley shows it until you confirm you saved it, then never again:
        store it in a password manager or on paper, somewhere safe. With it, “Forgot password?” on the login screen sets a new password.
      </p>
      <code className="recovery-key" aria-label="Recovery key">
        {recoveryKey}
      </code>
      <div className="row">
        <button type="button" className="secondary" onClick={() => void copy()}>
          Copy
        </button>
        <span role="status" className="hint">
          {copyState === 'copied' ? 'Copied to the clipboard.' : copyState === 'failed' ? 'Copying is blocked here: select the key and copy it by hand.' : ''}
        </span>
      </div>
      <label className="check">
        <input type="checkbox" checked={saved} onChange={(event) => setSaved(event.target.checked)} />I have saved my recovery key
      </label>
      <button type="button" disabled={!saved} onClick={onDone}>
        Continue
      </button>
    </main>
  );
}
