/** @module Keeps the URL hash and what the main screen shows in step, both ways (see app/routes.ts). */
import { useEffect, useRef } from 'react';
import { parseRoute, routeHash, sameSelection, type Panel } from '../app/routes.js';
import type { Actions, Selection } from '../app/state.js';

export function useRoute(selection: Selection, panel: Panel, setPanel: (panel: Panel) => void, actions: Actions): void {
  const shown = useRef({ selection, panel });
  shown.current = { selection, panel };

  // The URL leads on opening (a reload reopens the chat) and on Back or Forward.
  useEffect(() => {
    const follow = () => {
      const route = parseRoute(globalThis.location.hash);
      setPanel(route.panel);
      if (!sameSelection(route.selection, shown.current.selection)) actions.select(route.selection);
    };
    follow();
    globalThis.addEventListener('popstate', follow);
    return () => globalThis.removeEventListener('popstate', follow);
  }, [actions, setPanel]);

  // Otherwise the screen leads: each place the user goes is a history entry.
  const hash = routeHash({ panel, selection });
  const opened = useRef(false);
  useEffect(() => {
    // The first render shows nothing yet; the URL it opened with decides (above).
    if (!opened.current) {
      opened.current = true;
      return;
    }
    const current = globalThis.location.hash || '#/';
    if (current === hash) return;
    // A draft's first message turns it into its chat: the same place, so no new history entry.
    if (current.startsWith('#/new/') && hash.startsWith('#/chat/')) globalThis.history.replaceState(null, '', hash);
    else globalThis.history.pushState(null, '', hash);
  }, [hash]);
}
