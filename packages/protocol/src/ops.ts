/** @module The op registry: one request and one response schema per op, shared by server and clients. */
import { accountOps } from './account.js';
import { contactOps } from './contacts.js';
import { directEvents, directOps } from './direct.js';
import { directoryOps } from './directory.js';
import { groupOps, logEntrySchema, mailboxEntrySchema } from './groups.js';
import { usernameSchema } from './identifiers.js';
import { empty, op, type OpSpec } from './op-parts.js';
import { boolean, object, string, uint, type Infer, type Schema } from './schema.js';
import { timelockOps } from './timelock.js';
import { transparencyOps } from './transparency.js';

// The capability modules' schemas and types the package publishes; their op tables stay internal.
export {
  deviceCertificateSchema,
  deviceInfoSchema,
  powChallengeSchema,
  powContextSchema,
  powSolutionSchema,
  sessionSchema,
  type DeviceCertificate,
  type DeviceInfo,
  type PowContext,
  type PowSolution,
} from './account.js';
export { MAX_BLOCKS, MAX_CONTACTS, contactListsSchema, type ContactLists } from './contacts.js';
export { directoryEntrySchema, type DirectoryEntry } from './directory.js';
export {
  fetchRangeSchema,
  gapSchema,
  groupIdSchema,
  groupKindSchema,
  groupSummarySchema,
  logEntrySchema,
  mailboxEntrySchema,
  type FetchRange,
  type Gap,
  type GroupKind,
  type GroupSummary,
  type LogEntry,
  type MailboxEntry,
} from './groups.js';

export const ops = {
  /** Liveness check; also what a client sends to keep an idle connection open. */
  ping: op(empty, object({ time: uint() })),
  ...accountOps,
  ...directoryOps,
  ...groupOps,
  ...timelockOps,
  ...contactOps,
  ...directOps,
  ...transparencyOps,
} as const satisfies Record<string, OpSpec>;

export type OpName = keyof typeof ops;
export type RequestOf<O extends OpName> = Infer<(typeof ops)[O]['request']>;
export type ResponseOf<O extends OpName> = Infer<(typeof ops)[O]['response']>;

export function isOpName(value: unknown): value is OpName {
  return typeof value === 'string' && Object.hasOwn(ops, value);
}

/** Pushes from the server, outside any request. */
export const events = {
  /** This device was revoked or logged out elsewhere; the server closes the connection next. */
  'session.revoked': object({ reason: string({ max: 200 }) }),
  /** A new entry in one of this device's groups. */
  message: logEntrySchema,
  /** A new mailbox entry for this device. */
  mailbox: mailboxEntrySchema,
  /** A visible user came online or went offline. */
  presence: object({ username: usernameSchema, online: boolean() }),
  ...directEvents,
} as const satisfies Record<string, Schema<unknown>>;

export type EventKind = keyof typeof events;
export type EventOf<K extends EventKind> = Infer<(typeof events)[K]>;

export function isEventKind(value: unknown): value is EventKind {
  return typeof value === 'string' && Object.hasOwn(events, value);
}
