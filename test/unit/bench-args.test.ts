/**
 * The benchmarks' options (bench/args.ts): a value they cannot read stops the script with its usage and exit 64
 * before anything runs or a results file is written. A trial: `--seeds abc` ran seed NaN, `5,,6` ran seed 0 too,
 * `5-3` ran nothing and exited 0, `1-999999999` ran out of heap, unknown options were ignored.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { benchArgs, numberArg, seedsArg } from '../../bench/args.ts';

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

describe('bench/args.ts', () => {
  let stderr = '';
  const argv = process.argv;
  beforeEach(() => {
    stderr = '';
    vi.spyOn(process, 'exit').mockImplementation(((code: number) => { throw new Exit(code); }) as never);
    vi.spyOn(process.stderr, 'write').mockImplementation(((s: string) => { stderr += s; return true; }) as never);
  });
  afterEach(() => {
    process.argv = argv;
    vi.restoreAllMocks();
  });
  const exitOf = (fn: () => unknown): number => {
    try {
      fn();
    } catch (e) {
      if (e instanceof Exit) return e.code;
      throw e;
    }
    return -1;
  };

  it('reads seed lists and ranges, and refuses every other form with exit 64 naming it', () => {
    expect(seedsArg('u', '1,2,3')).toEqual([1, 2, 3]);
    expect(seedsArg('u', '4-7')).toEqual([4, 5, 6, 7]);
    expect(seedsArg('u', ' 9 ')).toEqual([9]);
    const list = 'expected non-negative integers a,b,c (or a range a-b), none empty';
    for (const [text, why] of [['abc', list], ['5,,6', list], ['5-3', 'a range a-b needs a ≤ b'], ['1-999999999', 'at most 1000 seeds'],
      ['-1', list], ['1.5', list], ['2,2', 'a seed is given twice'], ['', 'expected seeds a,b,c or a range a-b'], [undefined, 'expected seeds a,b,c or a range a-b'],
      ['1-99999999999999999', 'expected safe integers']] as const) {
      stderr = '';
      expect(exitOf(() => seedsArg('npm run x', text)), String(text)).toBe(64);
      expect(stderr).toBe(`--seeds: ${why}, got ${JSON.stringify(text)}\nusage: npm run x\n`);
    }
  });

  it('reads a number within its range, an integer where asked; anything else is exit 64 naming the option', () => {
    expect(numberArg('u', 'runs', '9', 1, 1000, true)).toBe(9);
    expect(numberArg('u', 'minutes', '0.5', 0.1, 1440)).toBe(0.5);
    for (const text of ['0', '1.5', 'abc', '', '1e9', '0x5', undefined]) {
      stderr = '';
      expect(exitOf(() => numberArg('u', 'runs', text, 1, 1000, true)), String(text)).toBe(64);
      expect(stderr).toBe(`--runs: expected an integer 1..1000, got ${JSON.stringify(text)}\nusage: u\n`);
    }
  });

  it('refuses unknown options and positional arguments; --help prints the usage and exits 0', () => {
    process.argv = ['node', 'x.ts', '--bogus'];
    expect(exitOf(() => benchArgs('u', { seeds: { type: 'string', default: '1' } }))).toBe(64);
    expect(stderr).toBe("Unknown option '--bogus'\nusage: u\n");
    process.argv = ['node', 'x.ts', 'extra'];
    expect(exitOf(() => benchArgs('u', {}))).toBe(64);
    process.argv = ['node', 'x.ts', '--seeds', '4'];
    expect(benchArgs('u', { seeds: { type: 'string', default: '1' } }).seeds).toBe('4');
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((() => true) as never);
    process.argv = ['node', 'x.ts', '--help'];
    expect(exitOf(() => benchArgs('u', {}))).toBe(0);
    process.argv = ['node', 'x.ts', '-h'];
    expect(exitOf(() => benchArgs('u', {}))).toBe(0);
    expect(out).toHaveBeenCalledWith('usage: u\n');
  });
});
