/** @module Small hooks shared by the screens. */
import { useCallback, useState } from 'react';

/** Run an async action with a busy flag and its error (already in words) kept for display. */
export function useAction(): { busy: boolean; error: string | undefined; setError(error: string | undefined): void; run(action: () => Promise<void>): Promise<boolean> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
