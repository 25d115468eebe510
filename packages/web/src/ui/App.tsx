/** @module The top of the UI: load the engine (its own chunk), then show the screen it asks for. */
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { Controller } from '../app/controller.js';
import { AuthScreen } from './AuthScreen.js';
import { MainScreen } from './MainScreen.js';
import { RecoveryScreen } from './RecoveryScreen.js';

// One engine per page, even when React runs effects twice (StrictMode in development).
let engine: Promise<Controller> | undefined;
/** Fetch and start the engine (the SDK chunk); main.tsx calls this first, so it loads while React starts. */
export function loadEngine(): Promise<Controller> {
  engine ??= import('../app/controller.js').then(({ createController }) => {
    const controller = createController({ server: globalThis.location.origin });
    void controller.start();
    return controller;
  });
  return engine;
}

export function App() {
  const [controller, setController] = useState<Controller>();
  const [failure, setFailure] = useState<string>();
  useEffect(() => {
    loadEngine().then(setController, (error: unknown) => setFailure(error instanceof Error ? error.message : String(error)));
  }, []);
  if (failure) return <Failed message={`Parley could not load: ${failure}`} />;
  if (!controller) return <Splash />;
  return <Screens controller={controller} />;
}

function Screens({ controller }: { controller: Controller }) {
  const state = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  const screen = state.screen.name;
  useEffect(() => {
    // The moment the first real screen shows: what "page load" means to a user (read by the tests).
    if ((screen === 'signed-out' || screen === 'main') && performance.getEntriesByName('parley:interactive').length === 0) performance.mark('parley:interactive');
  }, [screen]);
  switch (state.screen.name) {
    case 'starting':
      return <Splash />;
    case 'signed-out':
      return <AuthScreen state={state} actions={controller} />;
    case 'recovery':
      return <RecoveryScreen recoveryKey={state.screen.recoveryKey} onDone={() => void controller.finishRegistration()} />;
    case 'main':
      return <MainScreen state={state} actions={controller} />;
    case 'other-tab':
      return (
        <main className="centered">
          <h1>Parley is open in another tab</h1>
          <p>This browser is one device, and one tab at a time can use it. Close the other tab and this one takes over.</p>
        </main>
      );
    case 'failed':
      return <Failed message={state.screen.message} {...(state.screen.serverKeyChanged ? { onTrust: () => void controller.trustNewServerKey() } : {})} />;
  }
}

function Splash() {
  return (
    <main className="centered" aria-busy="true">
      <h1 className="brand">Parley</h1>
      <p>Starting…</p>
    </main>
  );
}

function Failed({ message, onTrust }: { message: string; onTrust?: () => void }) {
  return (
    <main className="centered">
      <h1>Parley cannot continue</h1>
      <p role="alert">{message}</p>
      {onTrust && (
        <button type="button" className="danger" onClick={onTrust}>
          Trust the new server key
        </button>
      )}
    </main>
  );
}
