/** @module Message history between my devices: the question for a new device, and how far a transfer is. */
import type { Actions, AppState } from '../app/state.js';
import { useAction } from './hooks.js';

export function HistoryBanner({ state, actions }: { state: AppState; actions: Actions }) {
  const { busy, error, run } = useAction();
  const { offer, sending, receiving, expected } = state.history;
  if (offer) {
    return (
      <div role="region" aria-label="Message history" className="notice banner">
        <span>
          A new device, <strong>{offer.name}</strong>, was added to your account. Send it the messages kept in this browser? They go end-to-end
          encrypted, to that device only.
        </span>
        {error && (
          <span role="alert" className="error">
            {error}
          </span>
        )}
        <span className="row">
          <button type="button" className="small" disabled={busy} onClick={() => void run(() => actions.sendHistory(offer.deviceId))}>
            Send history
          </button>
          <button type="button" className="secondary small" disabled={busy} onClick={() => void run(() => actions.declineHistory(offer.deviceId))}>
            Don’t send
          </button>
        </span>
      </div>
    );
  }
  const progress = sending
    ? sending.sent >= sending.total
      ? 'Message history sent to your new device.'
      : `Sending message history to your new device: part ${sending.sent + 1} of ${sending.total}…`
    : receiving
      ? receiving.received >= receiving.total
        ? 'Earlier messages arrived from your other device.'
        : `Earlier messages are arriving from your other device: part ${receiving.received} of ${receiving.total}…`
      : expected
        ? 'Earlier messages are on your other devices. They are copied here when one of them is online and sends them.'
        : undefined;
  return progress ? (
    <p role="status" className="hint pad">
      {progress}
    </p>
  ) : null;
}
