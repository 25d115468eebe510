/**
 * @module The signed-in screen: conversations on the left, the open chat or panel on the right.
 * At phone width one column shows at a time, with a Back button.
 */
import { useEffect, useState } from 'react';
import type { Panel } from '../app/routes.js';
import type { Actions, AppState, ConversationView } from '../app/state.js';
import { useUnreadInTitle } from './attention.js';
import { ChatView } from './ChatView.js';
import { DirectPrompts } from './Direct.js';
import { Modal, NewChatDialog, NewGroupDialog } from './dialogs.js';
import { messageTime } from './format.js';
import { HistoryBanner } from './HistoryBanner.js';
import { useAction } from './hooks.js';
import { DevicesPanel, OnlinePanel, ServerPanel } from './panels.js';
import { chatsOnly, RequestsSection } from './Requests.js';
import { SettingsPanel } from './SettingsPanel.js';
import { useRoute } from './useRoute.js';

type Dialog = 'none' | 'new-chat' | 'new-group' | 'log-out';

export function MainScreen({ state, actions }: { state: AppState; actions: Actions }) {
  const [panel, setPanel] = useState<Panel>('chats');
  const [dialog, setDialog] = useState<Dialog>('none');
  /** Bumped when a dialog opened a chat: the composer takes the focus once the dialog is gone. */
  const [composerFocus, setComposerFocus] = useState(0);
  const showingPane = panel !== 'chats' || state.selection.kind !== 'none';
  useUnreadInTitle(state.conversations);
  const chatStarted = () => {
    setPanel('chats');
    setComposerFocus((count) => count + 1);
  };
  useRoute(state.selection, panel, setPanel, actions);
  // A chat opened from elsewhere (a notification's click) shows even if a panel was open.
  useEffect(() => {
    if (state.selection.kind !== 'none') setPanel('chats');
  }, [state.selection]);

  const openPanel = (next: Panel) => {
    setPanel(next);
    if (next !== 'chats') actions.select({ kind: 'none' });
  };
  const back = () => {
    setPanel('chats');
    actions.select({ kind: 'none' });
  };

  return (
    <div className={`app ${showingPane ? 'pane-open' : 'list-open'}`}>
      <ConnectionBanner state={state} actions={actions} />
      <DirectPrompts state={state} actions={actions} />
      {state.notice && (
        <div role="status" className="notice banner">
          <span>{state.notice}</span>
          <button type="button" className="link" onClick={() => actions.dismissNotice()}>
            Dismiss
          </button>
        </div>
      )}
      <aside className="sidebar">
        <header className="sidebar-header">
          <h1 className="brand">Parley</h1>
          <span className="me" title="Signed in as">
            {state.me?.username}
          </span>
        </header>
        <div className="row actions">
          <button type="button" onClick={() => setDialog('new-chat')}>
            New chat
          </button>
          <button type="button" className="secondary" onClick={() => setDialog('new-group')}>
            New group
          </button>
        </div>
        <HistoryBanner state={state} actions={actions} />
        <RequestsSection
          state={state}
          actions={actions}
          onOpen={(groupId) => {
            setPanel('chats');
            actions.select({ kind: 'chat', groupId });
          }}
        />
        <ConversationList
          state={state}
          onOpen={(groupId) => {
            setPanel('chats');
            actions.select({ kind: 'chat', groupId });
          }}
        />
        <nav className="sidebar-nav" aria-label="More">
          <button type="button" className="link" aria-current={panel === 'online' ? 'page' : undefined} onClick={() => openPanel('online')}>
            Online{state.online.length > 0 ? ` (${state.online.length})` : ''}
          </button>
          <button type="button" className="link" aria-current={panel === 'devices' ? 'page' : undefined} onClick={() => openPanel('devices')}>
            Devices
          </button>
          <button type="button" className="link" aria-current={panel === 'server' ? 'page' : undefined} onClick={() => openPanel('server')}>
            Server key
          </button>
          <button type="button" className="link" aria-current={panel === 'settings' ? 'page' : undefined} onClick={() => openPanel('settings')}>
            Settings
          </button>
          <button type="button" className="link" onClick={() => setDialog('log-out')}>
            Log out
          </button>
        </nav>
      </aside>
      <main className="pane">
        {panel === 'online' ? (
          <OnlinePanel
            state={state}
            actions={actions}
            onBack={back}
            onChat={(user) => {
              setPanel('chats');
              void actions.startChat(user);
            }}
          />
        ) : panel === 'devices' ? (
          <DevicesPanel actions={actions} onBack={back} />
        ) : panel === 'server' ? (
          <ServerPanel state={state} onBack={back} />
        ) : panel === 'settings' ? (
          <SettingsPanel state={state} actions={actions} onBack={back} />
        ) : state.selection.kind !== 'none' ? (
          <ChatView state={state} actions={actions} onBack={back} focusRequest={composerFocus} />
        ) : (
          <div className="empty">
            <p>Choose a conversation, or start one with New chat.</p>
          </div>
        )}
      </main>
      {dialog === 'new-chat' && <NewChatDialog actions={actions} onClose={() => setDialog('none')} onStarted={chatStarted} />}
      {dialog === 'new-group' && <NewGroupDialog actions={actions} onClose={() => setDialog('none')} onCreated={chatStarted} />}
      {dialog === 'log-out' && <LogOutDialog unsent={Object.values(state.messages).flat().filter((m) => m.outboxId !== undefined).length} actions={actions} onClose={() => setDialog('none')} />}
    </div>
  );
}

function ConversationList({ state, onOpen }: { state: AppState; onOpen(groupId: string): void }) {
  const selected = state.selection.kind === 'chat' ? state.selection.groupId : undefined;
  return (
    <nav className="conversations" aria-label="Conversations">
      {chatsOnly(state).length === 0 ? (
        <p className="hint pad">No conversations yet.</p>
      ) : (
        <ul>
          {chatsOnly(state).map((conversation) => (
            <ConversationItem
              key={conversation.groupId}
              conversation={conversation}
              selected={conversation.groupId === selected}
              keyChanged={conversation.peer !== undefined && state.keyChanged.includes(conversation.peer)}
              historyElsewhere={state.history.expected}
              onOpen={onOpen}
            />
          ))}
        </ul>
      )}
    </nav>
  );
}

/** One entry of the list; its accessible name says what the badges show (group, verified or key changed, unread). */
function ConversationItem({
  conversation,
  selected,
  keyChanged,
  historyElsewhere,
  onOpen,
}: {
  conversation: ConversationView;
  selected: boolean;
  keyChanged: boolean;
  /** This device is new: an empty chat's earlier messages are on my other devices. */
  historyElsewhere: boolean;
  onOpen(groupId: string): void;
}) {
  const trust = keyChanged ? 'key changed' : conversation.verified ? 'verified' : undefined;
  return (
    <li>
      <button
        type="button"
        className="conversation"
        aria-current={selected ? 'true' : undefined}
        aria-label={`${conversation.name}${conversation.kind === 'group' ? ' (group)' : ''}${trust ? `, ${trust}` : ''}${conversation.unread > 0 ? `, ${conversation.unread} unread` : ''}`}
        onClick={() => onOpen(conversation.groupId)}
      >
        <span className="conversation-top">
          <span className="conversation-name">
            {conversation.kind === 'group' && <span aria-hidden="true"># </span>}
            {conversation.name}
            {trust && (
              <span className={`tag ${trust === 'verified' ? 'verified' : 'changed'}`} aria-hidden="true">
                {trust}
              </span>
            )}
          </span>
          <time className="conversation-time">{messageTime(conversation.lastActivityAt)}</time>
        </span>
        <span className="conversation-bottom">
          <span className="preview">{conversation.active ? (conversation.preview ?? (historyElsewhere ? 'Earlier messages are on your other devices' : 'No messages yet')) : 'You are no longer a member'}</span>
          {conversation.unread > 0 && (
            <span className="badge" aria-hidden="true">
              {conversation.unread}
            </span>
          )}
        </span>
      </button>
    </li>
  );
}

/** Logging out forgets this browser's keys and messages: say so, and ask first. */
function LogOutDialog({ unsent, actions, onClose }: { unsent: number; actions: Actions; onClose(): void }) {
  const { busy, error, run } = useAction();
  return (
    <Modal title="Log out of this browser?" onClose={onClose}>
      <p>
        This browser forgets your keys and every message kept in it. Your account, your other devices and the messages on them stay as they are.
      </p>
      {unsent > 0 && (
        <p role="alert" className="error">
          {unsent === 1 ? '1 message you wrote here is not sent yet and' : `${unsent} messages you wrote here are not sent yet and`} will be lost.
        </p>
      )}
      <p className="hint">
        Logging in here again makes this browser a new device: it gets earlier messages from another of your devices while that one is online.
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="row end">
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void run(() => actions.logout())}>
          Log out
        </button>
      </div>
    </Modal>
  );
}

/** "Connection lost" with a countdown to the next attempt, and a way to try at once. */
export function ConnectionBanner({ state, actions }: { state: AppState; actions: Actions }) {
  const connectivity = state.connectivity;
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (connectivity.state !== 'offline') return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [connectivity]);
  if (connectivity.state === 'online') return null;
  if (connectivity.state === 'connecting') {
    return state.screen.name === 'main' ? (
      <div role="status" className="banner connecting">
        Connecting…
      </div>
    ) : null;
  }
  const seconds = Math.max(0, Math.ceil((connectivity.retryAt - now) / 1000));
  return (
    <div role="alert" className="banner offline">
      <span>
        {connectivity.reason ? `Connection lost: ${connectivity.reason}` : 'Connection lost.'}
        {connectivity.retryAt > 0 && (seconds > 0 ? ` Reconnecting in ${seconds} s…` : ' Reconnecting…')}
      </span>
      <button type="button" className="link" onClick={() => actions.reconnectNow()}>
        Reconnect now
      </button>
    </div>
  );
}
