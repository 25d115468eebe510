/**
 * @module One chat's history on screen, virtualised (@tanstack/react-virtual: only the rows in
 * view are in the page, so 10,000 messages scroll as easily as ten). It opens at the first unread
 * message, follows new ones only while the reader is at the bottom, and otherwise offers
 * "Jump to latest" with how many came since.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Actions, ChatMessage, SolvingView, SystemLine } from '../app/state.js';
import { clockTime, isoTime, longDate } from './format.js';
import { messageRows, type Row } from './message-rows.js';
import { LockTag, MessageBody } from './TimeLock.js';

/** Closer to the bottom than this (px) counts as reading the newest messages. */
const BOTTOM_SLACK = 48;

export interface MessageListProps {
  /** Which conversation: a new one lands afresh. */
  conversationKey: string;
  messages: ChatMessage[];
  lines: SystemLine[];
  /** The history is loaded and the first unread known: where to land. */
  ready: boolean;
  firstUnreadSeq: number | undefined;
  isGroup: boolean;
  solving: Record<string, SolvingView>;
  actions: Actions;
}

export function MessageList({ conversationKey, messages, lines, ready, firstUnreadSeq, isGroup, solving, actions }: MessageListProps) {
  const rows = useMemo(() => messageRows(messages, lines, firstUnreadSeq === undefined ? {} : { firstUnreadSeq }), [messages, lines, firstUnreadSeq]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (index) => (rows[index]?.kind === 'message' ? 64 : 36),
    getItemKey: (index) => rows[index]?.key ?? index,
    overscan: 8,
    paddingStart: 12,
    paddingEnd: 12,
  });
  /** Read in scroll and layout handlers, so a ref, not state. */
  const atBottom = useRef(true);
  const landedOn = useRef<string>(undefined);
  const counted = useRef(0);
  const [scrolledUp, setScrolledUp] = useState(false);
  /** Messages from others that came while the reader was scrolled up. */
  const [unseen, setUnseen] = useState(0);
  const [announcement, setAnnouncement] = useState('');

  const noteScroll = useCallback(() => {
    const list = scrollRef.current;
    if (!list) return;
    const bottom = list.scrollHeight - list.scrollTop - list.clientHeight <= BOTTOM_SLACK;
    atBottom.current = bottom;
    setScrolledUp(!bottom);
    if (bottom) setUnseen(0);
  }, []);

  const toLatest = useCallback(() => {
    const list = scrollRef.current;
    atBottom.current = true;
    if (list) list.scrollTop = list.scrollHeight;
    setScrolledUp(false);
    setUnseen(0);
  }, []);

  // Opening a chat: land on "New messages" if there is one, else at the newest message.
  useLayoutEffect(() => {
    if (!ready || landedOn.current === conversationKey) return;
    landedOn.current = conversationKey;
    counted.current = messages.length;
    setUnseen(0);
    const divider = rows.findIndex((row) => row.kind === 'new-messages');
    if (divider >= 0) {
      atBottom.current = false;
      virtualizer.scrollToIndex(divider, { align: 'start' });
      requestAnimationFrame(noteScroll);
    } else {
      toLatest();
    }
  }, [ready, conversationKey, rows, messages.length, virtualizer, noteScroll, toLatest]);

  // New messages: followed at the bottom (and always after sending one), counted when scrolled up.
  useLayoutEffect(() => {
    if (landedOn.current !== conversationKey) return;
    const added = messages.slice(counted.current);
    counted.current = messages.length;
    if (added.length === 0) return;
    const fromOthers = added.filter((message) => !message.mine);
    const last = fromOthers.at(-1);
    if (last) setAnnouncement(`${last.sender}: ${last.lock?.locked ? 'a time-locked message' : last.text}`);
    // A message of mine not numbered yet is one just sent (or queued): the writer wants to see it.
    if (atBottom.current || added.some((message) => message.mine && message.seq === undefined)) toLatest();
    else if (fromOthers.length > 0) setUnseen((count) => count + fromOthers.length);
  }, [messages, conversationKey, toLatest]);

  // Rows are measured as they render, which changes the height: stay at the bottom meanwhile.
  const totalSize = virtualizer.getTotalSize();
  useLayoutEffect(() => {
    const list = scrollRef.current;
    if (list && atBottom.current) list.scrollTop = list.scrollHeight;
  }, [totalSize]);

  useEffect(() => setAnnouncement(''), [conversationKey]);

  return (
    <div className="messages-frame">
      <div className="messages" ref={scrollRef} onScroll={noteScroll}>
        {/* Not live itself: rows enter the page as they scroll into view. The status below tells of new ones. */}
        <ol className="message-rows" role="log" aria-label="History" aria-live="off" style={{ height: totalSize }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              <li key={item.key} data-index={item.index} ref={virtualizer.measureElement} className={rowClass(row)} style={{ transform: `translateY(${item.start}px)` }} {...rowRole(row)}>
                <RowContent row={row} isGroup={isGroup} solving={solving} actions={actions} />
              </li>
            );
          })}
        </ol>
      </div>
      {scrolledUp && (
        <button type="button" className="jump-to-latest" onClick={toLatest}>
          Jump to latest{unseen > 0 ? ` (${unseen} new)` : ''}
        </button>
      )}
      <p className="visually-hidden" role="status">
        {announcement}
      </p>
    </div>
  );
}

function rowClass(row: Row): string {
  if (row.kind === 'message') return `row message-row ${row.message.mine ? 'mine' : 'theirs'}${row.first ? ' first' : ''}`;
  return `row ${row.kind}${row.kind === 'system' ? ` ${row.line.tone}` : ''}`;
}

/** Separators are not items of the history; they say where a day or the unread messages begin. */
function rowRole(row: Row): { role?: 'separator'; 'aria-label'?: string } {
  if (row.kind === 'day') return { role: 'separator', 'aria-label': row.label };
  if (row.kind === 'new-messages') return { role: 'separator', 'aria-label': 'New messages' };
  return {};
}

function RowContent({ row, isGroup, solving, actions }: { row: Row; isGroup: boolean; solving: Record<string, SolvingView>; actions: Actions }) {
  switch (row.kind) {
    case 'day':
      return <span className="day-label">{row.label}</span>;
    case 'new-messages':
      return <span className="new-messages-label">New messages</span>;
    case 'system':
      return (
        <p className="system-text">
          {row.line.text}{' '}
          <time dateTime={isoTime(row.line.at)} title={longDate(row.line.at)}>
            {clockTime(row.line.at)}
          </time>
        </p>
      );
    case 'message':
      return <MessageItem message={row.message} showSender={isGroup && row.first && !row.message.mine} solving={solving[row.message.key]} actions={actions} />;
  }
}

function MessageItem({ message, showSender, solving, actions }: { message: ChatMessage; showSender: boolean; solving: SolvingView | undefined; actions: Actions }) {
  const sender = message.mine ? 'You' : message.sender;
  return (
    <div className={`message ${message.mine ? 'mine' : 'theirs'} ${message.delivery}`}>
      {/* The name shows at the head of a run in a group; a screen reader hears it on every message. */}
      {showSender ? <span className="sender">{sender}</span> : <span className="visually-hidden">{sender}: </span>}
      <MessageBody message={message} solving={solving} actions={actions} />
      <span className="meta">
        <LockTag message={message} />
        <time dateTime={isoTime(message.sentAt)} title={longDate(message.sentAt)}>
          {clockTime(message.sentAt)}
        </time>
        {message.mine && <DeliveryState message={message} actions={actions} />}
      </span>
    </div>
  );
}

function DeliveryState({ message, actions }: { message: ChatMessage; actions: Actions }) {
  switch (message.delivery) {
    case 'queued':
      return <span className="delivery">Waiting to send</span>;
    case 'sending':
      return <span className="delivery">Sending…</span>;
    case 'sent':
      return <span className="delivery">Sent</span>;
    case 'failed':
      return (
        <span className="delivery failed" role="alert">
          Not sent: {message.error}{' '}
          <button type="button" className="link" onClick={() => void actions.retry(message)}>
            Retry
          </button>{' '}
          <button type="button" className="link" onClick={() => void actions.discard(message)}>
            Delete
          </button>
        </span>
      );
    case 'received':
      return null;
  }
}
