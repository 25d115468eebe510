import { describe, expect, it } from 'vitest';
import { parseUnlockAt } from './unlock-time.js';

const now = Date.parse('2030-01-01T12:00:00Z');

describe('--unlock-at WHEN', () => {
  it('reads +N with s, m, h or d from now', () => {
    expect(parseUnlockAt('+30s', now)).toBe(now + 30_000);
    expect(parseUnlockAt('+90m', now)).toBe(now + 90 * 60_000);
    expect(parseUnlockAt('+2h', now)).toBe(now + 2 * 3_600_000);
    expect(parseUnlockAt(' +3d ', now)).toBe(now + 3 * 86_400_000);
  });

  it('reads ISO 8601 times, with or without a zone or seconds, and dates', () => {
    expect(parseUnlockAt('2030-01-31T18:00:00Z', now)).toBe(Date.UTC(2030, 0, 31, 18));
    expect(parseUnlockAt('2030-01-31T18:00:00.123456Z', now)).toBe(Date.UTC(2030, 0, 31, 18, 0, 0, 123));
    expect(parseUnlockAt('2030-01-31T18:00+02:00', now)).toBe(Date.UTC(2030, 0, 31, 16));
    expect(parseUnlockAt('2030-02-01', now)).toBe(Date.UTC(2030, 1, 1));
    // Without a zone, the local time (as ISO 8601 says and Date.parse does).
    expect(parseUnlockAt('2030-01-31T18:00:00', now)).toBe(new Date(2030, 0, 31, 18).getTime());
  });

  it('refuses what it cannot read, and times not in the future, with BAD_INPUT', () => {
    for (const when of ['tomorrow', '', '+', '+5', '+5w', '+-5s', '5s', '+1.5h', '2030-13-45T99:99:99Z', '2030/01/31', 'Jan 31 2030', '+9999999999999d']) {
      expect(() => parseUnlockAt(when, now), when).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    }
    for (const when of ['2030-02-31T10:00:00Z', '2030-02-29', '2030-04-31', '2030-01-01T24:00Z', '2030-01-31T18:60Z', '2030-01-31T18:00+25:00']) {
      expect(() => parseUnlockAt(when, now), when).toThrow(/not a valid date and time/);
    }
    expect(parseUnlockAt('2032-02-29', now)).toBe(Date.UTC(2032, 1, 29));
    expect(() => parseUnlockAt('+999999999999d', now)).toThrow(/too far ahead/);
    expect(() => parseUnlockAt('+0s', now)).toThrow(/not in the future/);
    expect(() => parseUnlockAt('2029-12-31T23:59:59Z', now)).toThrow(/not in the future/);
    expect(() => parseUnlockAt('2030-01-01T12:00:00Z', now)).toThrow(/not in the future/);
  });
});
