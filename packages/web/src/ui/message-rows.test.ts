import { describe, expect, it } from 'vitest';
import type { ChatMessage, SystemLine } from '../app/state.js';
import { dayName, messageRows, type Row } from './message-rows.js';

const day1 = new Date(2026, 2, 3, 9, 0).getTime();
const day2 = new Date(2026, 2, 4, 9, 0).getTime();

function message(seq: number | undefined, sender: string, sentAt: number): ChatMessage {
  return {
    key: seq === undefined ? `local:${sentAt}` : `g:${seq}`,
    groupId: 'g',
    ...(seq === undefined ? {} : { seq }),
    sender,
    sentAt,
    text: `text ${seq}`,
    mine: sender === 'me',
    delivery: seq === undefined ? 'sending' : sender === 'me' ? 'sent' : 'received',
  };
}

function line(afterSeq: number, at: number, text: string): SystemLine {
  return { key: text, groupId: 'g', afterSeq, at, text, tone: 'info' };
}

/** A row in a few characters, to compare whole lists at a glance. */
function short(row: Row): string {
  if (row.kind === 'day') return `day ${row.label}`;
  if (row.kind === 'new-messages') return 'new';
  if (row.kind === 'system') return `line ${row.line.text}`;
  return `${row.first ? '*' : ' '}${row.message.sender} ${row.message.seq ?? 'pending'}`;
}

describe('messageRows', () => {
  it('runs consecutive messages by one sender, and starts a new run after a gap, a line or another sender', () => {
    const messages = [
      message(1, 'bob', day1),
      message(2, 'bob', day1 + 60_000),
      message(3, 'me', day1 + 120_000),
      message(4, 'bob', day1 + 180_000),
      message(5, 'bob', day1 + 30 * 60_000),
      message(6, 'bob', day1 + 31 * 60_000),
    ];
    const rows = messageRows(messages, [line(5, day1 + 30 * 60_000, 'carol was added')], { now: new Date(day2) });
    expect(rows.map(short)).toEqual(['day Yesterday', '*bob 1', ' bob 2', '*me 3', '*bob 4', '*bob 5', 'line carol was added', '*bob 6']);
  });

  it('separates days, and marks the first unread message that is not mine', () => {
    const messages = [message(1, 'bob', day1), message(2, 'me', day2), message(3, 'bob', day2 + 1000), message(undefined, 'me', day2 + 2000)];
    const rows = messageRows(messages, [line(0, day1 - 1000, 'group created'), line(9, day2 + 1500, 'bob has a new device')], { firstUnreadSeq: 2, now: new Date(day2) });
    expect(rows.map(short)).toEqual(['day Yesterday', 'line group created', '*bob 1', 'day Today', '*me 2', 'new', '*bob 3', 'line bob has a new device', '*me pending']);
    expect(new Set(rows.map((row) => row.key)).size).toBe(rows.length);
  });

  it('names days before yesterday in full', () => {
    expect(dayName(day1, new Date(2026, 2, 10))).toMatch(/2026/);
  });
});
