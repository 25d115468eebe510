import { describe, expect, it } from 'vitest';
import { messageTime, parseUsernames } from './format.js';

describe('parseUsernames', () => {
  it('splits on commas and spaces, folds case and drops repeats', () => {
    expect(parseUsernames(' Alice, bob  carol;alice ,, ')).toEqual(['alice', 'bob', 'carol']);
    expect(parseUsernames('')).toEqual([]);
  });
});

describe('messageTime', () => {
  it('shows only the time for today, and the day too before', () => {
    const now = new Date(2026, 0, 15, 18, 0);
    const today = messageTime(new Date(2026, 0, 15, 9, 5).getTime(), now);
    const earlier = messageTime(new Date(2026, 0, 12, 9, 5).getTime(), now);
    expect(today).toMatch(/09:05|9:05/);
    expect(earlier.length).toBeGreaterThan(today.length);
    expect(earlier).toMatch(/12/);
  });
});
