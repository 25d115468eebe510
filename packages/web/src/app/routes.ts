/**
 * @module Where the user is, as a URL hash, so a reload reopens it and Back and Forward walk it:
 * `#/chat/<group id>`, `#/new/<username>` (a chat its first message creates), `#/online`,
 * `#/devices`, `#/server`, `#/settings`, and `#/` for the conversation list.
 */
import type { Selection } from './state.js';

export const PANELS = ['online', 'devices', 'server', 'settings'] as const;
export type Panel = 'chats' | (typeof PANELS)[number];

export interface Route {
  panel: Panel;
  selection: Selection;
}

const LIST: Route = { panel: 'chats', selection: { kind: 'none' } };
// Group ids are base64url and usernames [a-z0-9_.-]: neither needs escaping, but a hand-edited URL might.
const PART = /^[A-Za-z0-9_.-]{1,64}$/;

export function parseRoute(hash: string): Route {
  const [first, second, ...rest] = hash.replace(/^#\/?/, '').split('/');
  if (rest.length > 0) return LIST;
  const panel = PANELS.find((name) => name === first);
  if (panel && second === undefined) return { panel, selection: { kind: 'none' } };
  if (second === undefined || !PART.test(second)) return LIST;
  if (first === 'chat') return { panel: 'chats', selection: { kind: 'chat', groupId: second } };
  if (first === 'new') return { panel: 'chats', selection: { kind: 'draft', peer: second } };
  return LIST;
}

export function routeHash({ panel, selection }: Route): string {
  if (panel !== 'chats') return `#/${panel}`;
  if (selection.kind === 'chat') return `#/chat/${selection.groupId}`;
  if (selection.kind === 'draft') return `#/new/${selection.peer}`;
  return '#/';
}

export function sameSelection(a: Selection, b: Selection): boolean {
  return routeHash({ panel: 'chats', selection: a }) === routeHash({ panel: 'chats', selection: b });
}
