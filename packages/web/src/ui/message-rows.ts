/**
 * @module What the message list shows, row by row: messages grouped into runs by one sender,
 * system lines between them, a separator for each new day, and "New messages" before the first
 * unread one. Pure, so the (virtualised) list only draws rows.
 */
import type { ChatMessage, SystemLine } from '../app/state.js';

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'new-messages'; key: string }
  | { kind: 'system'; key: string; line: SystemLine }
  /** `first`: the first of a run of messages by one sender (where a group shows the name). */
  | { kind: 'message'; key: string; message: ChatMessage; first: boolean };

/** Messages closer than this, by one sender, on one day, with nothing between them, form a run. */
const RUN_GAP_MS = 5 * 60_000;

const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

function dayKey(epochMs: number): string {
  const date = new Date(epochMs);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** "Today", "Yesterday", or the full date. */
export function dayName(epochMs: number, now: Date = new Date()): string {
  const key = dayKey(epochMs);
  if (key === dayKey(now.getTime())) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (key === dayKey(yesterday.getTime())) return 'Yesterday';
  return dayLabel.format(new Date(epochMs));
}

export function messageRows(messages: readonly ChatMessage[], lines: readonly SystemLine[], options: { firstUnreadSeq?: number; now?: Date } = {}): Row[] {
  const rows: Row[] = [];
  const pendingLines = [...lines].sort((a, b) => a.afterSeq - b.afterSeq || a.at - b.at);
  let nextLine = 0;
  let lastDay = '';
  let previous: ChatMessage | undefined;
  let dividerShown = false;

  const startDay = (at: number) => {
    const day = dayKey(at);
    if (day === lastDay) return;
    lastDay = day;
    rows.push({ kind: 'day', key: `day:${day}`, label: dayName(at, options.now) });
    previous = undefined;
  };
  const linesUpTo = (seq: number) => {
    while (nextLine < pendingLines.length && (pendingLines[nextLine]?.afterSeq ?? Infinity) < seq) {
      const line = pendingLines[nextLine++] as SystemLine;
      startDay(line.at);
      rows.push({ kind: 'system', key: `system:${line.key}`, line });
      previous = undefined;
    }
  };

  for (const message of messages) {
    // Lines that happened before this message; one still sending comes after all of them.
    linesUpTo(message.seq ?? Infinity);
    startDay(message.sentAt);
    if (!dividerShown && options.firstUnreadSeq !== undefined && message.seq !== undefined && message.seq >= options.firstUnreadSeq && !message.mine) {
      dividerShown = true;
      rows.push({ kind: 'new-messages', key: 'new-messages' });
      previous = undefined;
    }
    const first = !previous || previous.sender !== message.sender || message.sentAt - previous.sentAt > RUN_GAP_MS;
    rows.push({ kind: 'message', key: message.key, message, first });
    previous = message;
  }
  linesUpTo(Infinity);
  return rows;
}
