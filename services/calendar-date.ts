/**
 * The calendar check of ISO 8601 dates that `Date.parse` does not make:
 * V8 reads `2024-02-30` as 1 March and `2023-02-29` as 1 March, instead of
 * refusing a day that does not exist.
 */

/** `YYYY-MM-DD`, then optionally `T` or a space and `hh:mm[:ss[.fff]]`. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?/;

/** Days of a month (1..12) of a year of the proleptic Gregorian calendar. */
function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/**
 * Say why the date and time of day an ISO 8601 text starts with do not exist, if they do not.
 *
 * Behaviour: reads a leading `YYYY-MM-DD` and an optional `[T ]hh:mm[:ss[.fff]]` (what follows, such as
 * `Z` or an offset, is not looked at); the month must be 01..12, the day 01 up to the month's length
 * (29 February in leap years only), the hour 00..23 or 24 as `24:00[:00[.000]]` (ISO 8601's end of a day,
 * which `Date.parse` reads as the next midnight), the minute and second 00..59. Check with this before
 * `Date.parse`, which rolls a day that does not exist over into the next month.
 * @param text  An ISO 8601 date or date-time as given, e.g. `2024-02-29T10:00:00Z`.
 * @returns     null when the fields exist or the text does not start with `YYYY-MM-DD` (the caller's format
 *              check refuses that); otherwise why not, e.g. `day 30 of 2024-02 does not exist (the month has 29 days)`.
 * @example see test/unit/services/calendar-date.test.ts
 */
export function calendarDateProblem(text: string): string | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return `month ${m[2]} does not exist`;
  const days = daysIn(year, month);
  if (day < 1 || day > days) return `day ${m[3]} of ${m[1]}-${m[2]} does not exist (the month has ${days} days)`;
  if (m[4] === undefined) return null;
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (hour === 24 && (minute !== 0 || second !== 0 || /[1-9]/.test(m[7] ?? ''))) return `${m[4]}:${m[5]}${m[6] === undefined ? '' : `:${m[6]}`} does not exist (hour 24 is only 24:00:00, the end of a day)`;
  if (hour > 24) return `hour ${m[4]} does not exist`;
  if (minute > 59) return `minute ${m[5]} does not exist`;
  if (second > 59) return `second ${m[6]} does not exist`;
  return null;
}
