/**
 * @module Time-locked messages on screen (DESIGN §8): a locked message's countdown and "Open now"
 * (the solver's progress, the time left and a cancel), how an opened one was opened, and the
 * composer's choice of an unlock time.
 */
import { useEffect, useState } from 'react';
import type { Actions, ChatMessage, SolvingView } from '../app/state.js';
import { isoTime, longDate } from './format.js';
import { LinkedText } from './LinkedText.js';
import './timelock.css';

/** The current time, ticking every `everyMs` while the component is shown. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** "18 s", "4 min 20 s", "2 h 5 min", "3 days 4 h". */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days ${hours % 24} h`;
}

/** The text of a message, or, while it is time-locked, when it opens and a way to open it now. */
export function MessageBody({ message, solving, actions }: { message: ChatMessage; solving: SolvingView | undefined; actions: Pick<Actions, 'openNow' | 'cancelOpen'> }) {
  if (!message.lock?.locked)
    return (
      <p className="text">
        <LinkedText text={message.text} />
      </p>
    );
  return <LockedBody unlockAt={message.lock.unlockAt} solving={solving} onOpenNow={() => void actions.openNow(message)} onCancel={() => actions.cancelOpen(message)} />;
}

function LockedBody({ unlockAt, solving, onOpenNow, onCancel }: { unlockAt: number; solving: SolvingView | undefined; onOpenNow(): void; onCancel(): void }) {
  const now = useNow(1000);
  const left = unlockAt - now;
  return (
    <div className="locked">
      <p className="text">
        Time-locked until{' '}
        <time dateTime={isoTime(unlockAt)} title={longDate(unlockAt)}>
          {longDate(unlockAt)}
        </time>
      </p>
      {solving ? (
        <div className="solving">
          <progress aria-label="Opening" max={solving.total || 1} value={solving.done} />
          <span role="status">
            {solving.total === 0 ? 'Starting…' : `${Math.floor((solving.done / solving.total) * 100)}%`}
            {solving.perSecond > 0 && ` · about ${duration(((solving.total - solving.done) / solving.perSecond) * 1000)} left`}
          </span>
          <button type="button" className="link" onClick={onCancel}>
            Cancel
          </button>
        </div>
      ) : (
        <div className="unlock-row">
          <span role="timer" aria-label="Time until it opens">
            {left > 0 ? `Opens in ${duration(left)}` : 'Waiting for the server to release it…'}
          </span>
          <button type="button" className="secondary small" onClick={onOpenNow}>
            Open now
          </button>
        </div>
      )}
    </div>
  );
}

/** Beside the time of a message that was time-locked: until when, and how it opened. */
export function LockTag({ message }: { message: ChatMessage }) {
  const lock = message.lock;
  if (!lock || lock.locked) return null;
  const how = lock.unlockedBy === 'server' ? 'opened at its time' : lock.unlockedBy === 'puzzle' ? 'opened by solving its puzzle' : `locked until ${longDate(lock.unlockAt)}`;
  return <span className="tag lock-tag">time-locked, {how}</span>;
}

/** The composer's unlock time: none, a while from when it is sent, or a chosen date and time. */
export type UnlockChoice = { kind: 'none' } | { kind: 'after'; ms: number } | { kind: 'at'; at: number };

export const NO_LOCK: UnlockChoice = { kind: 'none' };

const AFTER: [string, number][] = [
  ['Opens in 1 minute', 60_000],
  ['Opens in 1 hour', 3_600_000],
  ['Opens in 1 day', 86_400_000],
  ['Opens in 1 week', 7 * 86_400_000],
];

/** The send options for a choice, at the moment of sending. */
export function unlockOptions(choice: UnlockChoice, now = Date.now()): { unlockAt?: number } {
  if (choice.kind === 'after') return { unlockAt: now + choice.ms };
  if (choice.kind === 'at') return { unlockAt: choice.at };
  return {};
}

/** A date-time input's value (local time, to the minute). */
function localInput(ms: number): string {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 16);
}

export function UnlockTimeOption({ choice, onChange }: { choice: UnlockChoice; onChange(choice: UnlockChoice): void }) {
  const value = choice.kind === 'none' ? '' : choice.kind === 'at' ? 'at' : String(choice.ms);
  return (
    <div className="unlock-option">
      <select
        aria-label="Time lock"
        value={value}
        onChange={(event) => {
          const selected = event.target.value;
          if (selected === '') onChange(NO_LOCK);
          else if (selected === 'at') onChange({ kind: 'at', at: Date.now() + 3_600_000 });
          else onChange({ kind: 'after', ms: Number(selected) });
        }}
      >
        <option value="">Not time-locked</option>
        {AFTER.map(([label, ms]) => (
          <option key={ms} value={String(ms)}>
            {label}
          </option>
        ))}
        <option value="at">Opens at a chosen time…</option>
      </select>
      {choice.kind === 'at' && (
        <input
          type="datetime-local"
          aria-label="Unlock time"
          value={localInput(choice.at)}
          min={localInput(Date.now())}
          onChange={(event) => {
            const at = new Date(event.target.value).getTime();
            if (Number.isFinite(at)) onChange({ kind: 'at', at });
          }}
        />
      )}
    </div>
  );
}
