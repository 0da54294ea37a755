/**
 * The calendar check of ISO 8601 dates that `Date.parse` does not make:
 * V8 reads `2024-02-30` as 1 March and `2023-02-29` as 1 March, instead of
 * refusing a day that does not exist. The calendar is the proleptic Gregorian one of ECMAScript's Date
 * (ECMA-262 §21.4.1: a year is a leap year when divisible by 4, except centuries not divisible by 400); the
 * unit test checks it against zod's `z.iso.date()` and `z.iso.time()` on every day and time of day, which
 * this module does not load (about 95 modules: every command's start-up reads a time flag through here).
 */

/** `YYYY-MM-DD`, then optionally `T` or a space and `hh:mm[:ss[.fff]]`. */
const DATE_TIME = /^((\d{4})-(\d{2})-(\d{2}))(?:[T ]((\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?))?/;

/**
 * Days in a month of the proleptic Gregorian calendar: day 0 of the next month is the last day of this one.
 * (`setUTCFullYear`, not `Date.UTC`, which reads years 0–99 as 1900–1999.)
 * @param year   0..9999.
 * @param month  1..12.
 */
function daysInMonth(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/**
 * Say why the date and time of day an ISO 8601 text starts with do not exist, if they do not.
 *
 * Behaviour: reads a leading `YYYY-MM-DD` and an optional `[T ]hh:mm[:ss[.fff]]` (what follows, such as
 * `Z` or an offset, is not looked at); the date must be a day of the Gregorian calendar and the time a
 * time of day (00:00 to 23:59:59.999…), as zod's `z.iso.date()` and `z.iso.time()` check them. Check
 * with this before `Date.parse`, which rolls a day that does not exist over into the next month.
 * @param text  An ISO 8601 date or date-time as given, e.g. `2024-02-29T10:00:00Z`.
 * @returns     null when the fields exist or the text does not start with `YYYY-MM-DD` (the caller's format
 *              check refuses that); otherwise why not, e.g. `day 30 of 2024-02 does not exist (the month has 29 days)`.
 * @example see test/unit/services/calendar-date.test.ts
 */
export function calendarDateProblem(text: string): string | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const [, , year, month, day, time, hour, minute, second] = m;
  if (!(Number(month) >= 1 && Number(month) <= 12)) return `month ${month} does not exist`;
  const days = daysInMonth(Number(year), Number(month));
  if (!(Number(day) >= 1 && Number(day) <= days)) return `day ${day} of ${year}-${month} does not exist (the month has ${days} days)`;
  if (time === undefined) return null;
  if (Number(hour) > 23) return `hour ${hour} does not exist${hour === '24' ? ' (write 00:00 of the next day)' : ''}`;
  if (Number(minute) > 59) return `minute ${minute} does not exist`;
  if (second !== undefined && Number(second) > 59) return `second ${second} does not exist`;
  return null;
}

/** Epoch-ms values from here up to {@link SECONDS_LIKE_BELOW_MS} read as epoch seconds of 2001–5138 (ms: 12 days to 3 years after 1970). */
const SECONDS_LIKE_FROM_MS = 1e9;
/** Epoch ms from here on are 1973-03-03 and later: taken as milliseconds. */
const SECONDS_LIKE_BELOW_MS = 1e11;

/**
 * Say why a time given as digits looks like epoch seconds where epoch milliseconds are asked for, if it does:
 * 10 or 11 digits from 1e9 (1717236300 is 2024-06-01T10:05:00Z in seconds, but 1970-01-20 in ms, which a
 * filter then lets everything through). Other texts, and digits outside [1e9, 1e11), give null.
 * @param text  The value as given (trimmed).
 * @returns e.g. `1717236300 looks like epoch seconds (2024-06-01T10:05:00.000Z): epoch ms is 1717236300000`.
 */
export function epochSecondsProblem(text: string): string | null {
  // With a fraction too (1717236300.5): seconds with their milliseconds.
  if (!/^\d+(\.\d*)?$/.test(text)) return null;
  const n = Number(text);
  if (!(n >= SECONDS_LIKE_FROM_MS && n < SECONDS_LIKE_BELOW_MS)) return null;
  const ms = n * 1000;
  return `${text} looks like epoch seconds (${new Date(Math.round(ms)).toISOString()}): epoch ms is ${Number.isInteger(n) ? `${n}000` : String(Math.round(ms))}`;
}

/** ISO 8601 date or date-time (`2026-11-30`, `2026-11-30T08:00:00Z`, a space for T, with a zone offset or a fraction). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Times are before this, epoch ms (2300-01-01): what a Date and a ClickHouse DateTime64 hold. */
export const TIME_LIMIT_MS = Date.UTC(2300, 0, 1);

/**
 * Read a time given as text, as the CLI's `--since` / `--until` and the API's `since` take it: epoch milliseconds in
 * decimal digits (10–11 digits from 1e9 are refused as epoch seconds: {@link epochSecondsProblem}), or an ISO 8601
 * date or date-time (at most millisecond precision: digits past it must be zeros); without a zone, UTC (never the
 * machine's local time); before 2300. Anything else is refused:
 * `Date.parse` also reads `2024/06/01 10:20` and `06/01/2024` in local time, and `12` as the year 2001.
 * @param given  The value as given (trimmed by the caller); RFC 3339's lower-case `t` and `z` are read as `T` and `Z`.
 * @returns Epoch ms, or why the text is not a time (without the value: the caller names field and value).
 */
export function parseTimeText(given: string): { ms: number } | { problem: string } {
  // RFC 3339 (5.6) allows a lower-case "t" and "z".
  const text = given.replace(/^(\d{4}-\d{2}-\d{2})t(?=\d)/, '$1T').replace(/(\d)z$/, '$1Z');
  const seconds = epochSecondsProblem(text);
  if (seconds !== null) return { problem: `takes epoch ms or an ISO 8601 time: ${seconds}` };
  let ms = Number.NaN;
  // Eight digits that spell a date (20240601) are a compact ISO 8601 date, not 5.6 h of 1970 in ms (a re-test).
  const compact = /^(1[89]|2[0-2])\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/.exec(text);
  if (compact) return { problem: `looks like the date ${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6)} (write it so); as epoch ms it is ${new Date(Number(text)).toISOString()}` };
  if (/^\d{1,15}$/.test(text)) ms = Number(text);
  // Epoch ms out of range are named as such (a trial: 9999999999999999 and -86400000 were told to be "an ISO 8601 time or epoch ms").
  else if (/^\d+$/.test(text)) ms = Number.POSITIVE_INFINITY;
  else if (/^-\d+$/.test(text)) return { problem: 'as epoch ms must be 0 or more (1970-01-01 on; an earlier time as ISO 8601)' };
  // Epoch ms with a fraction: finer than event times, as an ISO time's fraction below the millisecond (a trial was told
  // only "must be an ISO 8601 time or epoch ms").
  else if (/^\d+\.\d*$/.test(text)) {
    return { problem: /^\d+\.0*$/.test(text) ? `as epoch ms is whole milliseconds: write ${text.replace(/\.0*$/, '')}` : 'as epoch ms has a fraction of a millisecond: times are whole milliseconds, as event times are' };
  }
  else if (ISO_8601.test(text)) {
    const impossible = calendarDateProblem(text);
    if (impossible !== null) return { problem: `must be a date and time that exist: ${impossible}` };
    // Date.parse drops digits past the millisecond: 10:00:00.0005 would be read as 10:00:00.000, which an inclusive
    // --since then let an earlier event through.
    const fraction = /:\d{2}\.(\d+)/.exec(text)?.[1] ?? '';
    if (/[1-9]/.test(fraction.slice(3))) return { problem: `has a fraction of a millisecond (.${fraction}): times are whole milliseconds, as event times are` };
    ms = Date.parse(text.replace(' ', 'T').replace(/T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/, '$&Z'));
  }
  if (Number.isNaN(ms)) return { problem: 'must be an ISO 8601 time (e.g. 2024-06-01T10:00:00Z; UTC unless it names a zone) or epoch ms' };
  if (ms >= TIME_LIMIT_MS) return { problem: `must be before 2300-01-01 (epoch ms < ${TIME_LIMIT_MS})` };
  return { ms };
}
