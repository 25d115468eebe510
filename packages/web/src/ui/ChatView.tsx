/** @module One conversation: its messages, live, and the composer. */
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { Actions, AppState, ChatMessage, SolvingView } from '../app/state.js';
import { ConversationErrors } from './ConversationErrors.js';
import { MembersDialog } from './dialogs.js';
import { DirectBar } from './Direct.js';
import { isoTime, longDate, messageTime } from './format.js';
import { RequestNotice } from './Requests.js';
import { SafetyPanel } from './SafetyPanel.js';
import { LockTag, MessageBody, NO_LOCK, unlockOptions, UnlockTimeOption, type UnlockChoice } from './TimeLock.js';

export function ChatView({ state, actions, onBack }: { state: AppState; actions: Actions; onBack(): void }) {
  const selection = state.selection;
  const [text, setText] = useState('');
  const [unlock, setUnlock] = useState<UnlockChoice>(NO_LOCK);
  const [showMembers, setShowMembers] = useState(false);
  const [sendError, setSendError] = useState<string>();
  /** The peer whose Verify screen is open in place of the chat. */
  const [verifying, setVerifying] = useState<string>();
  const listRef = useRef<HTMLOListElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  const key = selection.kind === 'chat' ? selection.groupId : selection.kind === 'draft' ? `draft:${selection.peer}` : '';
  const conversation = selection.kind === 'chat' ? state.conversations.find((c) => c.groupId === selection.groupId) : undefined;
  const name = selection.kind === 'draft' ? selection.peer : (conversation?.name ?? '…');
  const isGroup = conversation?.kind === 'group';
  const peer = conversation?.peer;
  const keyChanged = peer !== undefined && state.keyChanged.includes(peer);
  const active = selection.kind === 'draft' || (conversation?.active ?? true);
  const messages = state.messages[key] ?? [];

  // Keep the newest message in view as messages arrive.
  useLayoutEffect(() => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
  }, [messages.length, key, verifying]);

  useEffect(() => {
    inputRef.current?.focus();
  }, [key, verifying]);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const body = text.trim();
    if (body.length === 0) return;
    setText('');
    // A time lock is for one message: the next one is not locked unless chosen again.
    setUnlock(NO_LOCK);
    setSendError(undefined);
    // Not even kept in the outbox: give the text back, and say why.
    actions.send(body, unlockOptions(unlock)).catch((error: unknown) => {
      setText(body);
      setSendError(error instanceof Error ? error.message : String(error));
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // Enter sends; Shift+Enter starts a new line.
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  if (peer && verifying === peer) return <SafetyPanel peer={peer} state={state} actions={actions} onBack={() => setVerifying(undefined)} />;

  return (
    <section className="chat" aria-label={isGroup ? `Group ${name}` : `Chat with ${name}`}>
      <header className="chat-header">
        <button type="button" className="link back" onClick={onBack} aria-label="Back to conversations">
          ‹ Back
        </button>
        <h2>
          {isGroup && <span aria-hidden="true"># </span>}
          {name}
          {conversation?.verified && !keyChanged && (
            <>
              {' '}
              <span className="tag verified">verified</span>
            </>
          )}
        </h2>
        {peer && conversation?.active && <DirectBar peer={peer} state={state} actions={actions} />}
        {peer && (
          <button type="button" className="secondary small" aria-label="Verify safety number" onClick={() => setVerifying(peer)}>
            Verify
          </button>
        )}
        {isGroup && conversation?.active && (
          <button type="button" className="secondary small" onClick={() => setShowMembers(true)}>
            Members
          </button>
        )}
      </header>
      {keyChanged && (
        <div role="alert" className="key-changed">
          <span>
            <strong>{peer}’s identity key changed.</strong> Nothing will be sent to {peer} until you compare safety numbers and trust the new key.
          </span>
          <button type="button" className="link" onClick={() => setVerifying(peer)}>
            Compare safety numbers
          </button>
        </div>
      )}
      {selection.kind === 'draft' && <p className="hint pad">Your first message starts an end-to-end encrypted chat with {selection.peer}.</p>}
      {selection.kind === 'chat' && messages.length === 0 && state.history.expected && (
        <p className="hint pad">Earlier messages of this chat are on your other devices. They appear here when one of them is online and sends them.</p>
      )}
      <ol className="messages" ref={listRef} role="log" aria-label="History" aria-live="polite">
        {messages.map((message) => (
          <MessageItem key={message.key} message={message} showSender={isGroup || !message.mine} actions={actions} solving={state.solving[message.key]} />
        ))}
      </ol>
      {selection.kind === 'chat' && <ConversationErrors lines={state.conversationErrors[selection.groupId]} />}
      {sendError && (
        <p role="alert" className="error pad">
          {sendError}
        </p>
      )}
      {conversation?.request !== undefined ? (
        <RequestNotice from={conversation.request} />
      ) : active ? (
        <form className="composer" onSubmit={submit}>
          <label className="visually-hidden" htmlFor="composer-input">
            Message
          </label>
          <textarea
            id="composer-input"
            ref={inputRef}
            rows={1}
            placeholder={`Message ${name}`}
            value={text}
            maxLength={16000}
            onChange={(event) => setText(event.target.value)}
            onKeyDown={onKeyDown}
          />
          <UnlockTimeOption choice={unlock} onChange={setUnlock} />
          <button type="submit" disabled={text.trim().length === 0}>
            Send
          </button>
        </form>
      ) : (
        <p className="hint pad" role="status">
          {conversation?.broken ? `This browser can no longer follow this group, so nothing can be sent to it (${conversation.broken}).` : 'You are no longer a member of this group.'}
        </p>
      )}
      {showMembers && conversation && <MembersDialog state={state} actions={actions} groupId={conversation.groupId} name={name} onClose={() => setShowMembers(false)} />}
    </section>
  );
}

function MessageItem({ message, showSender, actions, solving }: { message: ChatMessage; showSender: boolean; actions: Actions; solving: SolvingView | undefined }) {
  return (
    <li className={`message ${message.mine ? 'mine' : 'theirs'} ${message.delivery}`}>
      {showSender && <span className="sender">{message.mine ? 'You' : message.sender}</span>}
      <MessageBody message={message} solving={solving} actions={actions} />
      <span className="meta">
        <LockTag message={message} />
        <time dateTime={isoTime(message.sentAt)} title={longDate(message.sentAt)}>
          {messageTime(message.sentAt)}
        </time>
        {message.mine && <DeliveryState message={message} actions={actions} />}
      </span>
    </li>
  );
}

function DeliveryState({ message, actions }: { message: ChatMessage; actions: Actions }) {
  switch (message.delivery) {
    case 'queued':
      return <span className="delivery">Waiting to send</span>;
    case 'sending':
      return <span className="delivery">Sending…</span>;
    case 'sent':
      return <span className="delivery">Sent</span>;
    case 'failed':
      return (
        <span className="delivery failed" role="alert">
          Not sent: {message.error}{' '}
          <button type="button" className="link" onClick={() => void actions.retry(message)}>
            Retry
          </button>{' '}
          <button type="button" className="link" onClick={() => void actions.discard(message)}>
            Delete
          </button>
        </span>
      );
    case 'received':
      return null;
  }
}
