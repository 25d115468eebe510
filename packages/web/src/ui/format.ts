/** @module Formatting for the screens: times and counts in the user's locale. */

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayAndTime = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const fullDate = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "14:05" today, "Mon 3 Feb 14:05" before. */
export function messageTime(epochMs: number, now: Date = new Date()): string {
  const date = new Date(epochMs);
  return sameDay(date, now) ? timeOnly.format(date) : dayAndTime.format(date);
}

/** "14:05": where day separators already say the day. */
export function clockTime(epochMs: number): string {
  return timeOnly.format(new Date(epochMs));
}

export function longDate(epochMs: number): string {
  return fullDate.format(new Date(epochMs));
}

export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** Split "alice, bob carol" into distinct usernames, case-folded. */
export function parseUsernames(input: string): string[] {
  return [...new Set(input.split(/[\s,;]+/).map((name) => name.trim().toLowerCase()).filter((name) => name.length > 0))];
}
