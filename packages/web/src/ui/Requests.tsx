/**
 * @module Message requests (DESIGN §6 consent), apart from chats: who wants to talk, with Accept,
 * Decline and Block. Opening one shows its messages; it has no composer until accepted.
 */
import { useState } from 'react';
import type { Actions, AppState, ConversationView } from '../app/state.js';
import './requests.css';

/** Pending requests: declined ones are inactive and shown nowhere. */
export const pendingRequests = (state: AppState): ConversationView[] => state.conversations.filter((c) => c.request !== undefined && c.active);

/** The chats list leaves requests out, pending or declined. */
export const chatsOnly = (state: AppState): ConversationView[] => state.conversations.filter((c) => c.request === undefined);

export function RequestsSection({ state, actions, onOpen }: { state: AppState; actions: Actions; onOpen(groupId: string): void }) {
  const requests = pendingRequests(state);
  if (requests.length === 0) return null;
  return (
    <section className="requests" aria-label="Message requests">
      <h2 className="requests-title">Requests ({requests.length})</h2>
      <ul>
        {requests.map((request) => (
          <RequestItem key={request.groupId} request={request} actions={actions} onOpen={onOpen} />
        ))}
      </ul>
    </section>
  );
}

function RequestItem({ request, actions, onOpen }: { request: ConversationView; actions: Actions; onOpen(groupId: string): void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const from = request.request ?? '';
  const where = request.kind === 'group' ? `group ${request.name}` : 'a chat';
  const act = (task: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    task().then(
      () => setBusy(false),
      (failure: unknown) => {
        setBusy(false);
        setError(failure instanceof Error ? failure.message : String(failure));
      },
    );
  };
  return (
    <li className="request">
      <button type="button" className="conversation" aria-label={`Request from ${from}: ${where}`} onClick={() => onOpen(request.groupId)}>
        <span className="conversation-name">
          {from} {request.kind === 'group' && <span className="hint">in # {request.name}</span>}
        </span>
        <span className="preview">{request.preview ?? 'No messages yet'}</span>
      </button>
      <span className="row actions">
        <button type="button" className="small" disabled={busy} aria-label={`Accept request from ${from}`} onClick={() => act(() => actions.acceptRequest(request.groupId))}>
          Accept
        </button>
        <button type="button" className="secondary small" disabled={busy} aria-label={`Decline request from ${from}`} onClick={() => act(() => actions.declineRequest(request.groupId))}>
          Decline
        </button>
        <button type="button" className="secondary small danger" disabled={busy} aria-label={`Block ${from}`} onClick={() => act(() => actions.blockUser(from))}>
          Block
        </button>
      </span>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </li>
  );
}

/** In place of the composer while the open conversation is a request. */
export function RequestNotice({ from }: { from: string }) {
  return (
    <p className="hint pad" role="status">
      This is a message request from {from}. Nothing is sent and {from} does not see you online until you accept it in Requests.
    </p>
  );
}
