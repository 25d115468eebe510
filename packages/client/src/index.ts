/**
 * @module @parley/client: the Parley SDK. Isomorphic; Node adapters live in `@parley/client/node`,
 * and the store conformance suite for adapters in `@parley/client/conformance`.
 */
export { ParleyClient, type ClientOptions } from './client.js';
export { checkNewPassword } from './account/password.js';
export { withProofOfWork, type PowProgress, type PowSolver } from './account/pow.js';
export type { Registration, SignInOptions } from './account/sign-in.js';
// For a Web Worker that solves proofs of work off the page's thread (ClientOptions.solvePow).
export { solvePow } from '@parley/crypto';
export { Connection, type ConnectOptions } from './connection/connection.js';
export { serverOrigin, websocketUrl, type SocketFactory, type SocketLike } from './connection/socket.js';
export type { ConversationError, ConversationEvent, HistoryChunkReceived, MembershipChange, SyncResult } from './conversations/events.js';
export { brokenReason } from './conversations/broken-groups.js';
export { Messenger } from './conversations/messenger.js';
export { DirectSessions, type DirectDecision, type DirectOptions } from './direct/sessions.js';
export { DirectSession, type DirectState, type DirectStateChange } from './direct/session.js';
export { fingerprintText, type PeerLink, type PeerLinkEvents, type PeerLinkFactory } from './direct/peer-link.js';
export { solveLockedMessage, solveSlice, type SliceRunner, type SolveOptions, type SolveProgress } from './conversations/puzzle-solver.js';
export type { MessageRequest } from './conversations/requests.js';
export type { SealedText, SendOptions } from './conversations/sending.js';
export { countUnread, lockedMessages, markShown, unread as unreadMessages, type ConversationSummary, type Message } from './conversations/views.js';
// For a Web Worker that runs puzzle slices (SolveOptions.runSlice), and the state it passes along.
export type { TimelockSolveState } from '@parley/crypto';
export type { SignedTreeHead, TimelockPuzzle } from '@parley/protocol';
export type {
  ClientStore,
  ConversationRecord,
  ConversationUpdate,
  KeyPackageSecret,
  MessageLock,
  PendingRelease,
  SolveCheckpoint,
  StoredMessage,
  UnlockedBy,
} from './store/client-store.js';
export { MemoryClientStore } from './store/memory-client-store.js';
export { MemoryProfileStore, type DeviceAccount, type DeviceSecrets, type Profile, type ProfileStore } from './store/profile.js';
export type { SafetyState } from './trust/safety.js';
export { equalBytes, ErrorCode, groupIdText, ParleyError, parseGroupId, type DeviceRef } from '@parley/protocol';
