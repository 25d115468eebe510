/**
 * @module What the screens render: one immutable snapshot, replaced on every change. No SDK
 * imports at run time, so the UI shell loads and paints before the SDK chunk (crypto, WASM).
 */

/** `queued`: in the outbox, waiting for the connection; `failed`: it cannot be sent as it is (Retry or Delete). */
export type Delivery = 'queued' | 'sending' | 'sent' | 'failed' | 'received';

export interface ChatMessage {
  /** Stable React key: `groupId:seq` once the server numbered it, a local id before. */
  key: string;
  groupId: string;
  seq?: number;
  sender: string;
  sentAt: number;
  text: string;
  mine: boolean;
  delivery: Delivery;
  /** Why it was not sent, in words. */
  error?: string;
  /** Still in this browser's outbox (not accepted by the server yet). */
  outboxId?: string;
  /** A time-locked message (DESIGN §8); `text` is empty while it is locked. */
  lock?: LockView;
}

/**
 * A line in a chat that is not a message: someone added, removed or gone, a new device, a changed
 * safety number. Other kinds of line (an error, say) take the same shape with their own text.
 */
export interface SystemLine {
  key: string;
  groupId: string;
  /** It comes after the message numbered this (0: before all of them). */
  afterSeq: number;
  at: number;
  text: string;
  /** `warning` asks the reader to act (a changed safety number). */
  tone: 'info' | 'warning';
}

/** How this browser tells of new messages while Parley's tab is hidden; kept in this browser. */
export interface NotificationSettings {
  /** What the browser allows; `unsupported` when it has no notifications. */
  permission: NotificationPermission | 'unsupported';
  enabled: boolean;
  /** Show the message's text in the notification (off: only who wrote). */
  showText: boolean;
  /** The user answered the offer to turn them on (yes or not now): it is not offered again. */
  offered: boolean;
}

export interface LockView {
  unlockAt: number;
  /** Its text is not here yet: the server has not released its key, nor has this browser solved its puzzle. */
  locked: boolean;
  unlockedBy?: 'server' | 'puzzle';
}

/** How far this browser got opening a locked message by solving its puzzle. */
export interface SolvingView {
  done: number;
  total: number;
  /** Squarings a second lately, for the time left. */
  perSecond: number;
}

export interface ConversationView {
  groupId: string;
  kind: 'direct' | 'group';
  /** The other user for a direct chat; the group's title otherwise. */
  name: string;
  unread: number;
  lastActivityAt: number;
  active: boolean;
  /** Why this browser can no longer follow the group (it could not rejoin it), if so. */
  broken?: string;
  preview?: string;
  /** The other user of a direct chat. */
  peer?: string;
  /** A direct chat whose peer I marked verified, with the identity key this browser knows for them. */
  verified?: boolean;
  /** A message request (DESIGN §6 consent): who it is from. Shown apart from chats, with no composer, until accepted. */
  request?: string;
}

/** The safety number I share with another user (DESIGN §11), as the Verify screen shows it. */
export interface SafetyView {
  username: string;
  /** 60 digits, without spaces. */
  digits: string;
  verified: boolean;
  /** Their identity key differs from the one this browser saw first: nothing is sent to them until trusted. */
  keyChanged: boolean;
}

export interface GroupMembers {
  members: string[];
  admins: string[];
  createdBy: string;
}

export interface DeviceView {
  deviceId: string;
  name: string;
  createdAt: number;
  lastSeenAt?: number;
  current: boolean;
}

/** Message history between my devices (DESIGN §5): what this browser sends, and what it waits for. */
export interface HistoryView {
  /** Send my history to my new devices without asking. */
  autoSend: boolean;
  /** This device is new: its earlier messages are on my other devices until one sends them. */
  expected: boolean;
  /** A newer device of mine that may want my history, until I answer. */
  offer?: { deviceId: string; name: string };
  /** Sending my history to another device: parts accepted so far. */
  sending?: { sent: number; total: number };
  /** History coming in from another of my devices. */
  receiving?: { received: number; total: number };
}

/** What the user is looking at in the main screen. */
export type Selection = { kind: 'none' } | { kind: 'chat'; groupId: string } | { kind: 'draft'; peer: string };

export type Screen =
  | { name: 'starting' }
  | { name: 'signed-out' }
  /** Just registered: the recovery key, shown on every open until the user confirms saving it. */
  | { name: 'recovery'; recoveryKey: string }
  | { name: 'main' }
  /** Another tab of this browser is this device; two would race on the same MLS state. */
  | { name: 'other-tab' }
  | { name: 'failed'; message: string; serverKeyChanged?: boolean };

export type Connectivity =
  | { state: 'connecting' }
  | { state: 'online' }
  /** `reason` is empty when the network or server is simply unreachable; `retryAt` 0 means no retry. */
  | { state: 'offline'; reason: string; retryAt: number };

export interface AppState {
  screen: Screen;
  connectivity: Connectivity;
  me?: { username: string; deviceId: string };
  serverFingerprint?: string;
  conversations: ConversationView[];
  /** History of the conversations opened so far, oldest first. */
  messages: Record<string, ChatMessage[]>;
  selection: Selection;
  online: string[];
  /** Users whose identity key the server's directory shows changed since this browser first saw it. */
  keyChanged: string[];
  /** While a busy server makes us solve a proof of work before signing in: roughly how far along (0..1). */
  proofOfWork?: number;
  /** A one-line message for the user (removed from a group, messages dropped, signed out…). */
  notice?: string;
  /** Locked messages this browser is opening now ("Open now"), by ChatMessage key. */
  solving: Record<string, SolvingView>;
  /** Lines that are not messages, by conversation, in the order they happened. */
  systemLines: Record<string, SystemLine[]>;
  /** The open chat's first unread message as it was opened: where "New messages" goes. */
  firstUnread?: { groupId: string; seq?: number };
  /** Members of the groups this browser looked at, by username, in name order. */
  groupMembers: Record<string, string[]>;
  notifications: NotificationSettings;
  history: HistoryView;
  /** What went wrong in each conversation this session (entries skipped, a group that broke), by group id. */
  conversationErrors: Record<string, ConversationErrorLine[]>;
  /** Direct sessions (DESIGN §9): each peer's latest, and contacts waiting for an answer. */
  direct: { sessions: Record<string, DirectSessionView>; asking: string[] };
}

/** One error of a conversation, shown as a system line in its chat (issue #11 §1). */
export interface ConversationErrorLine {
  key: string;
  code: string;
  message: string;
}

/** A direct session with one peer: being set up, open, or how it ended. */
export interface DirectSessionView {
  state: 'connecting' | 'open' | 'closed';
  reason?: string;
}

export const initialState: AppState = {
  screen: { name: 'starting' },
  connectivity: { state: 'connecting' },
  conversations: [],
  messages: {},
  selection: { kind: 'none' },
  online: [],
  keyChanged: [],
  solving: {},
  systemLines: {},
  groupMembers: {},
  notifications: { permission: 'unsupported', enabled: false, showText: true, offered: false },
  history: { autoSend: false, expected: false },
  conversationErrors: {},
  direct: { sessions: {}, asking: [] },
};

/** The operations the screens call. Each rejects with an Error whose message is fit to show. */
export interface Actions {
  register(username: string, password: string): Promise<void>;
  login(username: string, password: string): Promise<void>;
  /** Forgot the password: set a new one with the recovery key; this browser becomes a new device. */
  recover(username: string, recoveryKey: string, newPassword: string): Promise<void>;
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /** The user saved the recovery key: forget it here and go on. */
  finishRegistration(): Promise<void>;
  logout(): Promise<void>;
  select(selection: Selection): void;
  /** Open the direct chat with `username`, or a draft that the first message creates. */
  startChat(username: string): Promise<void>;
  /** Send to the selected conversation; `unlockAt` time-locks the message until then. */
  send(text: string, options?: { unlockAt?: number }): Promise<void>;
  /** Open a locked message now, by solving its puzzle in a worker; progress shows in `solving`. */
  openNow(message: ChatMessage): Promise<void>;
  /** Stop opening it (what was done is kept for the next time). */
  cancelOpen(message: ChatMessage): void;
  /** Send a message that failed again, now. */
  retry(message: ChatMessage): Promise<void>;
  /** Give up on a message that was not sent: it leaves the outbox. */
  discard(message: ChatMessage): Promise<void>;
  createGroup(title: string, members: string[]): Promise<void>;
  groupMembers(groupId: string): Promise<GroupMembers>;
  addMembers(groupId: string, usernames: string[]): Promise<void>;
  removeMember(groupId: string, username: string): Promise<void>;
  leaveGroup(groupId: string): Promise<void>;
  /** Message requests (see app/requests.ts): accept makes them contacts; decline leaves; block also declines. */
  acceptRequest(groupId: string): Promise<void>;
  declineRequest(groupId: string): Promise<void>;
  blockUser(username: string): Promise<void>;
  devices(): Promise<DeviceView[]>;
  revokeDevice(deviceId: string): Promise<void>;
  refreshOnline(): Promise<void>;
  /** The safety number with `username`, looked up in the server's directory. */
  safety(username: string): Promise<SafetyView>;
  /** Record that the numbers matched; `trustNewKey` also accepts a changed identity key. */
  markVerified(username: string, options?: { trustNewKey?: boolean }): Promise<SafetyView>;
  /** Send this browser's history to a newer device of mine. */
  sendHistory(deviceId: string): Promise<void>;
  /** Do not send history to that device (nor ask again). */
  declineHistory(deviceId: string): Promise<void>;
  setAutoSendHistory(on: boolean): Promise<void>;
  reconnectNow(): void;
  trustNewServerKey(): Promise<void>;
  dismissNotice(): void;
  /** Turn notifications on (asking the browser's permission) or off, or show or hide their text. */
  setNotifications(change: Partial<Pick<NotificationSettings, 'enabled' | 'showText'>>): Promise<void>;
  /** "Not now" to the offer to turn notifications on. */
  declineNotifications(): void;
  /** Ask `peer` for a direct session; resolves once it is open and proven. */
  goDirect(peer: string): Promise<void>;
  /** Accept or decline `peer`'s request to go direct. */
  answerDirect(peer: string, accept: boolean): void;
  endDirect(peer: string): Promise<void>;
}
