/**
 * `timeFlag`: the CLI's --since/--until parser. A time is ISO 8601 (no zone: UTC) or epoch ms; a day or
 * time of day that does not exist is refused, not rolled over into the next month as Date.parse does.
 */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { timeFlag } from '../../../services/cli/common.ts';

const since = timeFlag('--since');

describe('timeFlag', () => {
  it.each([
    ['2024-06-01T10:00:00Z', Date.UTC(2024, 5, 1, 10)],
    ['2024-06-01 10:00', Date.UTC(2024, 5, 1, 10)],
    ['2024-02-29T23:59:59.5', Date.UTC(2024, 1, 29, 23, 59, 59, 500)],
    ['2024-06-01T10:00:00+02:00', Date.UTC(2024, 5, 1, 8)],
    ['1717236000000', 1_717_236_000_000],
  ])('%j is %d ms', (text, ms) => {
    expect(since(text)).toBe(ms);
  });

  it.each([
    ['2024-02-30T00:00:00Z', 'day 30 of 2024-02 does not exist (the month has 29 days)'],
    ['2023-02-29 10:00', 'day 29 of 2023-02 does not exist (the month has 28 days)'],
    ['2024-04-31T10:00:00+02:00', 'day 31 of 2024-04 does not exist (the month has 30 days)'],
  ])('refuses %j: %s', (text, why) => {
    expect(() => since(text)).toThrow(new InvalidArgumentError(`--since must be a date and time that exist: ${why}, got ${JSON.stringify(text)}`));
  });

  it('refuses epoch seconds, which read as ms are a day of January 1970 (a trial: the filter let everything through)', () => {
    // 1717236300 s = 2024-06-01T10:05:00Z: 19,875 days and 36,300 s after 1970-01-01.
    expect(() => since('1717236300')).toThrow(new InvalidArgumentError('--since takes epoch ms or an ISO 8601 time: 1717236300 looks like epoch seconds (2024-06-01T10:05:00.000Z): epoch ms is 1717236300000, got "1717236300"'));
    expect(() => since(' 99999999999 ')).toThrow(/99999999999 looks like epoch seconds \(5138-11-16T09:46:39\.000Z\)/);
    expect(() => since('01717236300')).toThrow(/: epoch ms is 1717236300000, got "01717236300"$/);
    expect(since('100000000000')).toBe(1e11); // 1973-03-03 in ms: taken as ms
    expect(since('1717236300000')).toBe(1_717_236_300_000);
  });

  it('refuses a text that is no time, naming the flag', () => {
    expect(() => since('yesterday')).toThrow('--since must be an ISO 8601 time (e.g. 2024-06-01T10:00:00Z; UTC unless it names a zone) or epoch ms, got "yesterday"');
  });

  it('refuses date forms Date.parse reads in the machine\'s local time (a trial: TZ=Asia/Tokyo moved --until 9 hours), and the year 2300 on', () => {
    for (const text of ['2024/06/01 10:20', '06/01/2024 10:05', '1 June 2024 10:05', 'Sat Jun 01 2024', '2024-06-01T10:00:00 GMT']) {
      expect(() => since(text)).toThrow(`--since must be an ISO 8601 time (e.g. 2024-06-01T10:00:00Z; UTC unless it names a zone) or epoch ms, got ${JSON.stringify(text)}`);
    }
    expect(() => since('2300-01-01')).toThrow('--since must be before 2300-01-01 (epoch ms < 10413792000000), got "2300-01-01"');
  });

  it('reads short digits as epoch ms, as the API\'s since does (a trial: 12 was read as the year 2001, 1000 refused)', () => {
    expect([since('0'), since('12'), since('1000'), since('20241301')]).toEqual([0, 12, 1000, 20_241_301]);
    // Eight digits that spell a date are refused, not read as 5.6 h of 1970 (a re-test).
    expect(() => since('20240601')).toThrow('--since looks like the date 2024-06-01 (write it so); as epoch ms it is 1970-01-01T05:37:20.601Z, got "20240601"');
  });
});
