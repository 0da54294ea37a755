/**
 * intFlag: integer CLI flags in decimal digits (or scientific notation of an integer) within bounds; the message says
 * the bound that was broken, JavaScript's largest safe integer included.
 */
import { InvalidArgumentError, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { choicesAnyCase, idFlag, intFlag, numberFlag } from '../../../services/cli/common.ts';

describe('intFlag', () => {
  it('reads decimal digits within the bounds', () => {
    expect(intFlag('--seed', 0)('42')).toBe(42);
    expect(intFlag('--seed', 0)('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(intFlag('--k', 1, 64)('64')).toBe(64);
    // Scientific notation whose value is an integer (a trial: `--input-bytes 1e6` was "not an integer").
    expect([intFlag('--input-bytes', 1)('1e6'), intFlag('--input-bytes', 1)('2.5E3'), intFlag('--seed', 0)('1e3')]).toEqual([1_000_000, 2500, 1000]);
  });

  it.each([
    ['--seed', 0, undefined, '-1', '--seed must be an integer >= 0, got "-1"'],
    ['--seed', 0, undefined, '1.5', '--seed must be an integer >= 0, got "1.5"'],
    ['--seed', 0, undefined, '1e-3', '--seed must be an integer >= 0, got "1e-3"'],
    ['--seed', 0, undefined, '0x10', '--seed must be an integer >= 0, got "0x10"'],
    ['--seed', 0, undefined, '1e400', '--seed must be an integer from 0 to 9007199254740991 (2^53 − 1), got "1e400"'],
    ['--seed', 0, undefined, '1e16', '--seed must be an integer from 0 to 9007199254740991 (2^53 − 1), got "1e16"'],
    ['--seed', 0, undefined, '9007199254740993', '--seed must be an integer from 0 to 9007199254740991 (2^53 − 1), got "9007199254740993"'],
    ['--k', 1, 64, '65', '--k must be an integer from 1 to 64, got "65"'],
    // Below the bound the message is the same as for any other low value (a trial: 0 got the 2^53 range, −5 ">= 1").
    ['--rate', 1, undefined, '0', '--rate must be an integer >= 1, got "0"'],
    ['--rate', 1, undefined, '-5', '--rate must be an integer >= 1, got "-5"'],
  ])('%s %s..%s refuses %j: %s', (name, min, max, value, message) => {
    const parse = intFlag(name as string, min as number, max as number | undefined);
    expect(() => parse(value as string)).toThrow(InvalidArgumentError);
    expect(() => parse(value as string)).toThrow(message as string);
  });
});

describe('numberFlag', () => {
  it('says a value past the largest double is not finite (a trial: 1e400 was told "must be a number > 0")', () => {
    expect(() => numberFlag('--slo-p99-ms', 0)('1e400')).toThrow('--slo-p99-ms must be a number > 0 and finite (at most about 1.8e308), got "1e400"');
    expect(() => numberFlag('--slo-p99-ms', 0)('0')).toThrow('--slo-p99-ms must be a number > 0, got "0"');
    expect(() => numberFlag('--lateness', 0, true, 10)('1e400')).toThrow('--lateness must be a number >= 0 and <= 10, got "1e400"');
    expect(numberFlag('--slo-p99-ms', 0)('1.5e2')).toBe(150);
  });
});

describe('idFlag', () => {
  it('takes an id of up to 256 characters (the API\'s limit) and names the flag and the length beyond it (a trial: a 40,000-character --chip crashed onnxruntime)', () => {
    const chip = idFlag('--chip');
    expect(chip('a'.repeat(256))).toBe('a'.repeat(256));
    expect(chip('rk3588-mali-g610')).toBe('rk3588-mali-g610');
    expect(() => chip('a'.repeat(257))).toThrow(new InvalidArgumentError('--chip must be at most 256 characters, got 257'));
    expect(() => chip(' ')).toThrow(new InvalidArgumentError('--chip must not be empty, got " "'));
    expect(() => chip('a\nb')).toThrow(new InvalidArgumentError('--chip must not hold control characters (a line break, a tab), got "a\\nb"'));
    // A right-to-left override reorders the message it is echoed in (a re-test: whatif --server "edge-02\u202e").
    expect(() => idFlag('--server')('edge-02\u202e')).toThrow(new InvalidArgumentError('--server must not hold bidirectional or line-separator marks, got U+202E'));
  });
});

describe('choicesAnyCase', () => {
  it('takes a choice in any case as the choice it spells, mixed-case ones too (a re-test: csvWithNames was refused)', () => {
    const option = choicesAnyCase(new Option('--format <format>'), ['table', 'csv', 'csvWithNames']);
    const parse = (v: string): unknown => option.parseArg!(v, undefined);
    expect(['CSV', 'csv', 'Table', 'csvWithNames', 'CSVWITHNAMES', 'csvwithnames', ' Csv '].map(parse)).toEqual(['csv', 'csv', 'table', 'csvWithNames', 'csvWithNames', 'csvWithNames', 'csv']);
    expect(() => parse('xml')).toThrow(new InvalidArgumentError('Allowed choices are table, csv, csvWithNames.'));
    expect(option.argChoices).toEqual(['table', 'csv', 'csvWithNames']);
  });
});
