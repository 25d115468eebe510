/** @module Direct sessions on screen (DESIGN §9): "Go direct" and the indicator in a 1:1 chat, the prompt when a contact asks. */
import type { Actions, AppState } from '../app/state.js';
import { useAction } from './hooks.js';
import './direct.css';

/** In a 1:1 chat's header: Go direct, Connecting…, or the "direct" indicator with End; then how it ended. */
export function DirectBar({ peer, state, actions }: { peer: string; state: AppState; actions: Actions }) {
  const { busy, error, run } = useAction();
  const session = state.direct.sessions[peer];
  if (session?.state === 'open') {
    return (
      <span className="direct-bar" role="status" aria-label={`Direct session with ${peer}`}>
        <span className="tag direct" title="Messages go device to device, not through the server">
          direct
        </span>
        <button type="button" className="secondary small" onClick={() => void run(() => actions.endDirect(peer))}>
          End direct
        </button>
      </span>
    );
  }
  const connecting = busy || session?.state === 'connecting';
  const ended = session?.state === 'closed' ? `Direct session ended: ${session.reason ?? 'ended'}` : undefined;
  return (
    <span className="direct-bar">
      {(error ?? ended) && (
        <span role="status" className="hint direct-ended">
          {error ?? ended}
        </span>
      )}
      <button type="button" className="secondary small" disabled={connecting} onClick={() => void run(() => actions.goDirect(peer))}>
        {connecting ? 'Connecting…' : 'Go direct'}
      </button>
    </span>
  );
}

/** Contacts asking to go direct, each with Accept and Decline. */
export function DirectPrompts({ state, actions }: { state: AppState; actions: Actions }) {
  return (
    <>
      {state.direct.asking.map((peer) => (
        <div key={peer} role="alertdialog" aria-label={`${peer} asks to go direct`} className="notice banner direct-prompt">
          <span>
            <strong>{peer}</strong> asks to connect directly: your messages would go device to device, not through the server.
          </span>
          <button type="button" onClick={() => actions.answerDirect(peer, true)}>
            Accept
          </button>
          <button type="button" className="secondary" onClick={() => actions.answerDirect(peer, false)}>
            Decline
          </button>
        </div>
      ))}
    </>
  );
}
