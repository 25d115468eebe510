/** @module What the store conformance checks share: the check shape, assertions and sample records. */
import type { ConversationRecord, StoredMessage } from './client-store.js';

export interface Check<S> {
  name: string;
  /** Only for stores that persist: atomicity under a failing write. */
  persistentOnly?: boolean;
  run(create: () => Promise<S>): Promise<void>;
}

class ConformanceError extends Error {
  override name = 'ConformanceError';
}

function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    // Missing and undefined fields are the same thing to callers.
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

export function same(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(normalize(actual));
  const e = JSON.stringify(normalize(expected));
  if (a !== e) throw new ConformanceError(`${what}: expected ${e}, got ${a}`);
}

export async function rejects(promise: Promise<unknown>, what: string): Promise<void> {
  try {
    await promise;
  } catch {
    return;
  }
  throw new ConformanceError(`${what}: expected a rejection`);
}

export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

export function conversation(groupId: string, changes: Partial<ConversationRecord> = {}): ConversationRecord {
  return {
    groupId,
    kind: 'group',
    title: `group ${groupId}`,
    state: bytes(1, 2, 3),
    processedSeq: 0,
    active: true,
    createdAt: 1_700_000_000_000,
    lastActivityAt: 1_700_000_000_000,
    ...changes,
  };
}

export function message(groupId: string, seq: number, changes: Partial<StoredMessage> = {}): StoredMessage {
  return { groupId, seq, sender: 'bob', senderDevice: 'device-b1', sentAt: 1_700_000_000_000 + seq, text: `message ${seq}`, read: false, ...changes };
}

export async function withStore<S>(create: () => Promise<S>, run: (store: S) => Promise<void>): Promise<void> {
  const store = await create();
  try {
    await run(store);
  } finally {
    // ClientStore has close(); a ProfileStore may (the IndexedDB one does).
    await (store as { close?: () => unknown }).close?.();
  }
}
