/**
 * intFlag: integer CLI flags in decimal digits within bounds; the message says
 * the bound that was broken, JavaScript's largest safe integer included.
 */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { intFlag } from '../../../services/cli/common.ts';

describe('intFlag', () => {
  it('reads decimal digits within the bounds', () => {
    expect(intFlag('--seed', 0)('42')).toBe(42);
    expect(intFlag('--seed', 0)('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(intFlag('--k', 1, 64)('64')).toBe(64);
  });

  it.each([
    ['--seed', 0, undefined, '-1', '--seed must be an integer >= 0, got "-1"'],
    ['--seed', 0, undefined, '1e3', '--seed must be an integer >= 0, got "1e3"'],
    ['--seed', 0, undefined, '9007199254740993', '--seed must be an integer from 0 to 9007199254740991 (2^53 − 1), got "9007199254740993"'],
    ['--k', 1, 64, '65', '--k must be an integer from 1 to 64, got "65"'],
  ])('%s %s..%s refuses %j: %s', (name, min, max, value, message) => {
    const parse = intFlag(name as string, min as number, max as number | undefined);
    expect(() => parse(value as string)).toThrow(InvalidArgumentError);
    expect(() => parse(value as string)).toThrow(message as string);
  });
});
