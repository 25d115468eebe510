/** @module One conversation: its messages, live, and the composer. */
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { Actions, AppState, SystemLine } from '../app/state.js';
import { NotificationOffer } from './attention.js';
import { ConversationErrors } from './ConversationErrors.js';
import { MembersDialog } from './dialogs.js';
import { DirectBar } from './Direct.js';
import { MessageList } from './MessageList.js';
import { RequestNotice } from './Requests.js';
import { SafetyPanel } from './SafetyPanel.js';
import { NO_LOCK, unlockOptions, UnlockTimeOption, type UnlockChoice } from './TimeLock.js';

const NO_LINES: SystemLine[] = [];

/** `focusRequest` changes when something (a dialog that started this chat) asks for the composer. */
export function ChatView({ state, actions, onBack, focusRequest }: { state: AppState; actions: Actions; onBack(): void; focusRequest: number }) {
  const selection = state.selection;
  const [text, setText] = useState('');
  const [unlock, setUnlock] = useState<UnlockChoice>(NO_LOCK);
  const [showMembers, setShowMembers] = useState(false);
  const [sendError, setSendError] = useState<string>();
  /** The peer whose Verify screen is open in place of the chat. */
  const [verifying, setVerifying] = useState<string>();
  const inputRef = useRef<HTMLTextAreaElement>(null);

  const key = selection.kind === 'chat' ? selection.groupId : selection.kind === 'draft' ? `draft:${selection.peer}` : '';
  const conversation = selection.kind === 'chat' ? state.conversations.find((c) => c.groupId === selection.groupId) : undefined;
  const name = selection.kind === 'draft' ? selection.peer : (conversation?.name ?? '…');
  const isGroup = conversation?.kind === 'group';
  const peer = conversation?.peer;
  const keyChanged = peer !== undefined && state.keyChanged.includes(peer);
  const active = selection.kind === 'draft' || (conversation?.active ?? true);
  const messages = state.messages[key];
  const firstUnread = selection.kind === 'chat' && state.firstUnread?.groupId === selection.groupId ? state.firstUnread : undefined;
  const lines = state.systemLines[key] ?? NO_LINES;
  const onlyMe = isGroup && state.groupMembers[key]?.length === 1;
  const emptyGroup = isGroup && messages?.length === 0 && lines.length === 0 && !state.history.expected;

  useEffect(() => {
    inputRef.current?.focus();
  }, [key, verifying, focusRequest]);

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
      {/* Offered in a chat, the moment notifications make sense; never on arrival. */}
      <NotificationOffer state={state} actions={actions} />
      {selection.kind === 'draft' && <p className="hint pad">Your first message starts an end-to-end encrypted chat with {selection.peer}.</p>}
      {selection.kind === 'chat' && messages?.length === 0 && state.history.expected && (
        <p className="hint pad">Earlier messages of this chat are on your other devices. They appear here when one of them is online and sends them.</p>
      )}
      {active && (onlyMe || emptyGroup) && (
        <p className="hint pad">
          {onlyMe ? 'Only you are in this group so far. Add people with Members: they see what is sent from then on.' : 'No messages yet. Everyone in the group sees what you send from now on.'}
        </p>
      )}
      <MessageList
        conversationKey={key}
        messages={messages ?? []}
        lines={lines}
        ready={selection.kind === 'draft' || (messages !== undefined && firstUnread !== undefined)}
        firstUnreadSeq={firstUnread?.seq}
        isGroup={isGroup}
        solving={state.solving}
        actions={actions}
      />
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
