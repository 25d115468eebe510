/**
 * @module The Verify screen of a direct chat (DESIGN §11): the safety number both sides see, as
 * digits and as a QR code, whether it was compared, and a clear warning when the key changed.
 */
import { useEffect, useRef, useState } from 'react';
import type { Actions, AppState, SafetyView } from '../app/state.js';
import { useAction } from './hooks.js';

/** What the QR code carries; the CLI's `parley verify` shows the same. */
const safetyPayload = (digits: string): string => `parley-safety:v1:${digits}`;

export function SafetyPanel({ peer, state, actions, onBack }: { peer: string; state: AppState; actions: Actions; onBack(): void }) {
  const [view, setView] = useState<SafetyView>();
  const { busy: loading, error: loadError, run: runLoad } = useAction();
  const change = useAction();
  const online = state.connectivity.state === 'online';
  const statusRef = useRef<HTMLDivElement>(null);

  // Looked up again whenever the connection comes back: the directory is the server's to change.
  useEffect(() => {
    if (online) void runLoad(async () => setView(await actions.safety(peer)));
  }, [online, peer, actions, runLoad]);

  const mark = (trustNewKey: boolean) =>
    void change.run(async () => {
      setView(await actions.markVerified(peer, { trustNewKey }));
      // The button just pressed is gone: keep the keyboard where the new status is.
      statusRef.current?.focus();
    });

  return (
    <section className="panel" aria-label={`Verify ${peer}`}>
      <header className="chat-header safety-header">
        <button type="button" className="link" onClick={onBack}>
          ‹ Back to chat
        </button>
        <h2>Safety number with {peer}</h2>
      </header>
      <div className="pad safety">
        {loadError && (
          <p role="alert" className="error">
            {loadError}
          </p>
        )}
        {!view && !loadError && <p>{online ? 'Looking up the safety number…' : 'Not connected: the safety number needs the server’s directory. Parley keeps trying.'}</p>}
        {view && (
          <>
            <div ref={statusRef} tabIndex={-1}>
              <SafetyStatus view={view} />
            </div>
            <div className="safety-codes">
              <div className="safety-number" role="group" aria-label="Safety number">
                {view.digits.match(/\d{5}/g)?.map((group, index) => (
                  // Groups of five, in the same order on both sides; spaces so a copy reads as printed.
                  <span key={index}>{index === 0 ? group : ` ${group}`}</span>
                ))}
              </div>
              <SafetyQr payload={safetyPayload(view.digits)} label={`QR code of the safety number with ${peer}`} />
            </div>
            <p className="hint">
              Ask {peer} to open “Verify safety number” on their side (or to run <code>parley verify {state.me?.username ?? 'USERNAME'}</code>), then compare the two
              numbers in person or on a call you trust, digit by digit or the QR codes side by side. They are the same only if nobody is in between.
            </p>
            <div className="row">
              {view.keyChanged ? (
                <button type="button" className="danger" disabled={change.busy || loading} onClick={() => mark(true)}>
                  Trust new key
                </button>
              ) : (
                !view.verified && (
                  <button type="button" disabled={change.busy || loading} onClick={() => mark(false)}>
                    Mark as verified
                  </button>
                )
              )}
            </div>
            {change.error && (
              <p role="alert" className="error">
                {change.error}
              </p>
            )}
          </>
        )}
      </div>
    </section>
  );
}

function SafetyStatus({ view }: { view: SafetyView }) {
  const peer = view.username;
  if (view.keyChanged) {
    return (
      <div role="alert" className="safety-status changed">
        <p>
          <strong>KEY CHANGED.</strong> {peer}’s identity key is not the one this browser saw before, so your safety number changed too.
        </p>
        <p>
          Someone may be impersonating {peer} or reading your messages, or {peer} set up their account again. Nothing is sent to {peer} until you compare the new
          number below with them and trust the new key.
        </p>
      </div>
    );
  }
  if (view.verified) {
    return (
      <p role="status" className="safety-status verified">
        <span aria-hidden="true">✓ </span>
        <strong>Verified.</strong> You compared this number with {peer}. If their key ever changes, Parley warns you before sending anything.
      </p>
    );
  }
  return (
    <p role="status" className="safety-status unverified">
      <strong>Not verified.</strong> You have not yet compared this number with {peer}.
    </p>
  );
}

/** The payload as a QR code: an SVG drawn from the module matrix, with a quiet zone of four modules. */
function SafetyQr({ payload, label }: { payload: string; label: string }) {
  const [code, setCode] = useState<{ size: number; path: string }>();
  useEffect(() => {
    let current = true;
    // Its own chunk: only this screen needs the encoder.
    void import('qrcode').then(({ create }) => {
      if (current) setCode(qrPath(create(payload, { errorCorrectionLevel: 'M' }).modules));
    });
    return () => {
      current = false;
    };
  }, [payload]);
  if (!code) return <div className="safety-qr" aria-busy="true" />;
  const side = code.size + 2 * QUIET_ZONE;
  return (
    <svg className="safety-qr" role="img" aria-label={label} viewBox={`0 0 ${side} ${side}`} shapeRendering="crispEdges">
      {/* Dark on light whatever the colour scheme: scanners expect it. */}
      <rect width={side} height={side} fill="#fff" />
      <path d={code.path} fill="#000" />
    </svg>
  );
}

const QUIET_ZONE = 4;

/** One `M x y h n v 1 h -n z` rectangle per horizontal run of dark modules. */
function qrPath(modules: { size: number; get(row: number, col: number): number }): { size: number; path: string } {
  const parts: string[] = [];
  for (let row = 0; row < modules.size; row++) {
    for (let col = 0; col < modules.size; ) {
      if (!modules.get(row, col)) {
        col++;
        continue;
      }
      let run = 1;
      while (col + run < modules.size && modules.get(row, col + run)) run++;
      parts.push(`M${col + QUIET_ZONE} ${row + QUIET_ZONE}h${run}v1h-${run}z`);
      col += run;
    }
  }
  return { size: modules.size, path: parts.join('') };
}
