/**
 * @module Errors of conversations as the web shows them (issue #11 §1): a system line in the
 * conversation's chat, and a notice when there is no chat to show it in (a Welcome refused for a
 * group never joined) or when it is about a time-locked message.
 */
import type { ConversationEvent } from '@parley/client';
import type { AppState } from './state.js';
import { lockFailureNotice } from './timelocks.js';

export function conversationError(state: AppState, event: Extract<ConversationEvent, { kind: 'error' }>, serial: number): Partial<AppState> {
  const groupId = event.conversation;
  const patch: Partial<AppState> = {};
  if (groupId !== undefined) {
    const line = { key: `${groupId}:error:${serial}`, code: event.code, message: event.message };
    patch.conversationErrors = { ...state.conversationErrors, [groupId]: [...(state.conversationErrors[groupId] ?? []), line] };
  }
  const inList = groupId !== undefined && state.conversations.some((c) => c.groupId === groupId);
  const notice = lockFailureNotice(event.code) ?? (inList ? undefined : `Something sent to you could not be read, so it was skipped (${event.code}: ${event.message}).`);
  if (notice) patch.notice = notice;
  return patch;
}
