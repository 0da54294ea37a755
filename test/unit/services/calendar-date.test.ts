/**
 * calendarDateProblem: days and times that do not exist are named (where
 * `Date.parse` rolls them over into the next month or day), real ones pass,
 * and text that is not an ISO 8601 date is left to the caller's format check.
 */
import { describe, expect, it } from 'vitest';
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
