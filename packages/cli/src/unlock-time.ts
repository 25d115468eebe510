/** @module The WHEN of `--unlock-at WHEN` (CLI contract): an ISO 8601 time, or +N followed by s, m, h or d. */
import { ErrorCode, ParleyError } from '@parley/protocol';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const RELATIVE = /^\+(\d{1,12})([smhd])$/;
// A date, or a date and a time with an optional fraction and zone: the ISO 8601 forms Date.parse reads the same everywhere.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))?)?$/;

/** Every field in range, the day within its month: Date.parse would roll 2030-02-31 over into March. */
function realDate(text: string): boolean {
  const [, year, month, day, , hour = '0', minute = '0', , second = '0', , , zoneHour = '0', zoneMinute = '0'] = ISO_8601.exec(text) ?? [];
  const [y, mo, d] = [Number(year), Number(month), Number(day)];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && Number(hour) <= 23 && Number(minute) <= 59 && Number(second) <= 59 && Number(zoneHour) <= 23 && Number(zoneMinute) <= 59;
}

const badInput = (message: string) => new ParleyError(ErrorCode.BAD_INPUT, message);

/**
 * Unix milliseconds for WHEN, which must be in the future. How far ahead the server allows is
 * its own setting (a year by default): it answers BAD_INPUT beyond it.
 */
export function parseUnlockAt(when: string, now: number = Date.now()): number {
  const text = when.trim();
  const relative = RELATIVE.exec(text);
  let at: number;
  if (relative) at = now + Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  else if (ISO_8601.test(text)) at = realDate(text) ? Date.parse(text.replace(/(\.\d{3})\d+/, '$1')) : NaN;
  else throw badInput(`--unlock-at ${JSON.stringify(when)}: give an ISO 8601 time (2030-01-31T18:00:00Z) or +N with s, m, h or d (+30s, +2h, +3d)`);
  if (Number.isNaN(at)) throw badInput(`--unlock-at ${JSON.stringify(when)} is not a valid date and time`);
  if (!Number.isSafeInteger(at)) throw badInput(`--unlock-at ${JSON.stringify(when)} is too far ahead`);
  if (at <= now) throw badInput(`--unlock-at ${JSON.stringify(when)} is not in the future`);
  return at;
}
