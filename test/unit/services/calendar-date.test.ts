/**
 * calendarDateProblem: days and times that do not exist are named (where
 * `Date.parse` rolls them over into the next month or day), real ones pass,
 * and text that is not an ISO 8601 date is left to the caller's format check.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { calendarDateProblem, parseTimeText } from '../../../services/calendar-date.ts';

describe('calendarDateProblem', () => {
  it.each([
    ['2024-02-30T00:00:00Z', 'day 30 of 2024-02 does not exist (the month has 29 days)'],
    ['2024-02-30', 'day 30 of 2024-02 does not exist (the month has 29 days)'],
    ['2023-02-29', 'day 29 of 2023-02 does not exist (the month has 28 days)'],
    ['1900-02-29T10:00Z', 'day 29 of 1900-02 does not exist (the month has 28 days)'],
    ['2024-04-31 08:00:00', 'day 31 of 2024-04 does not exist (the month has 30 days)'],
    ['2024-06-00', 'day 00 of 2024-06 does not exist (the month has 30 days)'],
    ['2024-13-01', 'month 13 does not exist'],
    ['2024-00-01', 'month 00 does not exist'],
    ['2024-06-01T25:00:00Z', 'hour 25 does not exist'],
    ['2024-06-01T24:30Z', 'hour 24 does not exist (write 00:00 of the next day)'],
    ['2024-06-01T24:00:00Z', 'hour 24 does not exist (write 00:00 of the next day)'],
    ['2024-06-01T10:60:00Z', 'minute 60 does not exist'],
    ['2024-06-01T10:00:60Z', 'second 60 does not exist'],
  ])('%s: %s', (text, problem) => {
    expect(calendarDateProblem(text)).toBe(problem);
    // Date.parse reads most of these as another day (the flaw this check is for), or refuses them.
    if (text.startsWith('2024-02-30')) expect(new Date(Date.parse(text)).toISOString()).toBe('2024-03-01T00:00:00.000Z');
  });

  it("agrees with zod's z.iso.date() on every day of years 0000–0003, 1896–1904, 1996–2004, 2096–2104, 2396–2404 and 9996–9999, months 00–13, days 00–32", () => {
    const isoDate = z.iso.date();
    const two = (n: number): string => String(n).padStart(2, '0');
    const nine = (from: number): number[] => Array.from({ length: 9 }, (_, i) => from + i);
    const years = [0, 1, 2, 3, ...nine(1896), ...nine(1996), ...nine(2096), ...nine(2396), 9996, 9997, 9998, 9999];
    const disagree: string[] = [];
    let valid = 0;
    for (const y of years) {
      for (let mo = 0; mo <= 13; mo++) {
        for (let d = 0; d <= 32; d++) {
          const text = `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}`;
          const ok = isoDate.safeParse(text).success;
          if (ok) valid++;
          if ((calendarDateProblem(text) === null) !== ok) disagree.push(text);
        }
      }
    }
    // 365 or 366 days a year; 12 leap years: 0000, 1896, 1904, 1996, 2000, 2004, 2096, 2104, 2396, 2400, 2404, 9996 (not 1900, 2100).
    expect([disagree, valid]).toEqual([[], 365 * years.length + 12]);
  });

  it("agrees with zod's z.iso.time() on every hh:mm from 00:00 to 25:61, alone and with seconds 00, 01, 58–61 and fractions", () => {
    const isoTime = z.iso.time();
    const two = (n: number): string => String(n).padStart(2, '0');
    const disagree: string[] = [];
    for (let h = 0; h <= 25; h++) {
      for (let mi = 0; mi <= 61; mi++) {
        for (const tail of ['', ':00', ':01', ':58', ':59', ':60', ':61', ':59.5', ':60.25', ':00.000001']) {
          const time = `${two(h)}:${two(mi)}${tail}`;
          if ((calendarDateProblem(`2024-06-01T${time}Z`) === null) !== isoTime.safeParse(time).success) disagree.push(time);
        }
      }
    }
    expect(disagree).toEqual([]);
  });

  it.each(['2024-02-29T00:00:00Z', '2000-02-29', '2024-12-31T23:59:59.999+02:00', '2024-06-01 10:00', '2024-06-01T23:59:59.5Z', 'yesterday', '1717236000000', ''])(
    '%j: null', (text) => expect(calendarDateProblem(text)).toBeNull(),
  );
});

describe('parseTimeText: precision', () => {
  it('reads up to milliseconds, with trailing zeros past them, exactly', () => {
    expect(parseTimeText('2024-06-01T10:00:00.001Z')).toEqual({ ms: Date.UTC(2024, 5, 1, 10, 0, 0, 1) });
    expect(parseTimeText('2024-06-01T10:00:00.123000Z')).toEqual({ ms: Date.UTC(2024, 5, 1, 10, 0, 0, 123) });
    expect(parseTimeText('2024-06-01 10:00:00.5')).toEqual({ ms: Date.UTC(2024, 5, 1, 10, 0, 0, 500) });
  });

  it('refuses a fraction of a millisecond, which Date.parse would drop (an inclusive --since let an earlier event in)', () => {
    expect(parseTimeText('2024-06-01T10:00:00.0005Z')).toEqual({ problem: 'has a fraction of a millisecond (.0005): times are whole milliseconds, as event times are' });
    expect(parseTimeText('2024-06-01T10:00:00.123456+02:00')).toEqual({ problem: 'has a fraction of a millisecond (.123456): times are whole milliseconds, as event times are' });
    // Epoch ms with a fraction, and epoch seconds with their milliseconds (a trial: told only "an ISO 8601 time or epoch ms").
    expect(parseTimeText('1717236300000.5')).toEqual({ problem: 'as epoch ms has a fraction of a millisecond: times are whole milliseconds, as event times are' });
    expect(parseTimeText('1717236300000.')).toEqual({ problem: 'as epoch ms is whole milliseconds: write 1717236300000' });
    expect(parseTimeText('1717236300.5')).toEqual({ problem: 'takes epoch ms or an ISO 8601 time: 1717236300.5 looks like epoch seconds (2024-06-01T10:05:00.500Z): epoch ms is 1717236300500' });
  });
});

describe('parseTimeText: RFC 3339 letters', () => {
  it('reads a lower-case t and z as T and Z (RFC 3339 5.6), as a trial expected', () => {
    expect(parseTimeText('2024-06-01t10:05:00z')).toEqual({ ms: Date.UTC(2024, 5, 1, 10, 5) });
    expect(parseTimeText('2024-06-01t10:05:00+02:00')).toEqual({ ms: Date.UTC(2024, 5, 1, 8, 5) });
  });
});

describe('parseTimeText: epoch ms out of range', () => {
  it('names the range of epoch ms, not the format (a trial: 9999999999999999 and -86400000 were "not ISO 8601 or epoch ms")', () => {
    expect(parseTimeText('9999999999999999')).toEqual({ problem: 'must be before 2300-01-01 (epoch ms < 10413792000000)' });
    expect(parseTimeText('99999999999999999999999')).toEqual({ problem: 'must be before 2300-01-01 (epoch ms < 10413792000000)' });
    expect(parseTimeText('-86400000')).toEqual({ problem: 'as epoch ms must be 0 or more (1970-01-01 on; an earlier time as ISO 8601)' });
    expect(parseTimeText('0')).toEqual({ ms: 0 });
    expect(parseTimeText('1969-12-31T00:00:00Z')).toEqual({ ms: -86_400_000 });
    expect(parseTimeText('-1x')).toEqual({ problem: 'must be an ISO 8601 time (e.g. 2024-06-01T10:00:00Z; UTC unless it names a zone) or epoch ms' });
  });
});
