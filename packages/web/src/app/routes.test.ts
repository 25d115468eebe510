import { describe, expect, it } from 'vitest';
import { parseRoute, routeHash, type Route } from './routes.js';

describe('routes', () => {
  const routes: Route[] = [
    { panel: 'chats', selection: { kind: 'none' } },
    { panel: 'chats', selection: { kind: 'chat', groupId: 'AAECAwQFBgcICQoLDA0ODw' } },
    { panel: 'chats', selection: { kind: 'draft', peer: 'bob.smith' } },
    { panel: 'online', selection: { kind: 'none' } },
    { panel: 'settings', selection: { kind: 'none' } },
  ];

  it('reads back every route it writes', () => {
    for (const route of routes) expect(parseRoute(routeHash(route))).toEqual(route);
  });

  it('takes anything it does not know for the conversation list', () => {
    for (const hash of ['', '#', '#/', '#/nowhere', '#/chat/', '#/chat/a/b', '#/chat/<script>', '#/online/x', `#/new/${'a'.repeat(65)}`]) {
      expect(parseRoute(hash), hash).toEqual({ panel: 'chats', selection: { kind: 'none' } });
    }
  });
});
