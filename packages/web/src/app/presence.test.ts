import { describe, expect, it } from 'vitest';
import { Presence } from './presence.js';
import type { AppState } from './state.js';

/** A presence.list answer the test releases when it wants, as a slow server reply. */
function deferred() {
  let resolve: (users: string[]) => void = () => undefined;
  const promise = new Promise<string[]>((done) => (resolve = done));
  return { promise, resolve };
}

function setup() {
  let online: string[] = [];
  const answers: ReturnType<typeof deferred>[] = [];
  const state = () => ({ me: { username: 'alice' }, online }) as unknown as AppState;
  const presence = new Presence({
    state,
    set: (patch) => {
      const changes = typeof patch === 'function' ? patch(state()) : patch;
      if (changes.online) online = changes.online;
    },
    client: () => ({
      onlineUsers: () => {
        const answer = deferred();
        answers.push(answer);
        return answer.promise;
      },
    }),
  });
  return { presence, answers, online: () => online };
}

describe('presence', () => {
  it('keeps a push heard while the list was in flight over the list the server made before it', async () => {
    const { presence, answers, online } = setup();
    const refreshed = presence.refresh();
    // Bob goes offline and carol comes online while the list is on its way; the list predates both.
    presence.changed('bob', false);
    presence.changed('carol', true);
    answers[0]?.resolve(['alice', 'bob']);
    await refreshed;
    expect(online()).toEqual(['carol']);
    // Once no list is in flight, a later list is taken as it is.
    const again = presence.refresh();
    answers[1]?.resolve(['alice', 'bob']);
    await again;
    expect(online()).toEqual(['bob']);
  });

  it('drops an older list answered after a newer one', async () => {
    const { presence, answers, online } = setup();
    const first = presence.refresh();
    const second = presence.refresh();
    answers[1]?.resolve(['dave']);
    await second;
    answers[0]?.resolve(['bob', 'dave']);
    await first;
    expect(online()).toEqual(['dave']);
  });
});
