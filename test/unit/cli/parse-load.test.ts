/** parseLoad (`predict --load key=value`): each key once, within its range; a key given twice is refused, not overwritten. */
import { describe, expect, it } from 'vitest';
import { parseLoad } from '../../../services/cli/model.ts';

describe('parseLoad', () => {
  it('reads key=value pairs of the load features', () => {
    expect(parseLoad(['gpu_util=0.5', 'requests_per_s=4'])).toEqual({ gpu_util: 0.5, requests_per_s: 4 });
    expect(parseLoad([])).toEqual({});
  });

  it('refuses a key given twice, naming both values (the last one won without a word)', () => {
    expect(() => parseLoad(['gpu_util=0.5', 'gpu_util=0.9'])).toThrow('--load gpu_util is given twice (0.5 and 0.9): give it once');
  });

  it('refuses an unknown key and a utilisation above 1', () => {
    expect(() => parseLoad(['foo=1'])).toThrow(/^--load "foo=1": expected key=value with key one of /);
    expect(() => parseLoad(['gpu_util=1.5'])).toThrow(/^--load gpu_util: a utilisation is a fraction 0\.\.1, got 1\.5$/);
    // A percentage is named as one (a trial: gpu_util=60); beyond 100 it cannot be one.
    expect(() => parseLoad(['gpu_util=60'])).toThrow('--load gpu_util: a utilisation is a fraction 0..1, got 60 (a percentage? 60 % is gpu_util=0.6)');
    expect(() => parseLoad(['cpu_util=101'])).toThrow(/^--load cpu_util: a utilisation is a fraction 0\.\.1, got 101$/);
    // With its sign too (a re-test).
    expect(() => parseLoad(['gpu_util=60%'])).toThrow('--load gpu_util: expected a fraction 0..1, got "60%": 60% is gpu_util=0.6');
    expect(() => parseLoad(['gpu_util'])).toThrow(/^--load "gpu_util": expected key=value with key one of /);
  });

  it('names the missing value of a known key (a trial: `gpu_util=` was told its key was not one of the known)', () => {
    expect(() => parseLoad(['gpu_util='])).toThrow('--load gpu_util: no value after "=": expected a fraction 0..1 (gpu_util=0.6)');
    // Each example is one its key takes (a re-test: queue_depth=0.6 was suggested, and refused as not whole).
    expect(() => parseLoad(['queue_depth='])).toThrow('--load queue_depth: no value after "=": expected a whole number ≥ 0 (queue_depth=2)');
    expect(() => parseLoad(['requests_per_s='])).toThrow('--load requests_per_s: no value after "=": expected a number ≥ 0 (requests_per_s=4)');
    expect(parseLoad(['queue_depth=2', 'requests_per_s=4', 'gpu_util=0.6', 'concurrency=2'])).toEqual({ queue_depth: 2, requests_per_s: 4, gpu_util: 0.6, concurrency: 2 });
  });

  it('refuses a fractional queue_depth or concurrency: counts of requests, as a load sample carries them', () => {
    expect(() => parseLoad(['concurrency=0.5'])).toThrow('--load concurrency: a count of requests is a whole number, got 0.5');
    expect(() => parseLoad(['queue_depth=2.5'])).toThrow('--load queue_depth: a count of requests is a whole number, got 2.5');
    expect(parseLoad(['concurrency=2', 'queue_depth=1e1', 'requests_per_s=0.5'])).toEqual({ concurrency: 2, queue_depth: 10, requests_per_s: 0.5 });
  });

  it('takes decimal notation only: 0x1, 0b1, Infinity and blanks are refused, naming the value', () => {
    for (const bad of ['0x1', '0b1', '0o1', 'Infinity', ' ', '1_000', '-1']) {
      expect(() => parseLoad([`requests_per_s=${bad}`])).toThrow(`--load requests_per_s: expected a number ≥ 0, got ${JSON.stringify(bad)}`);
    }
    expect(parseLoad(['requests_per_s=1e2', 'gpu_util=.5', 'cpu_util=+0.25'])).toEqual({ requests_per_s: 100, gpu_util: 0.5, cpu_util: 0.25 });
    // A utilisation's range is its own (a trial: "≥ 0" was said of gpu_util).
    expect(() => parseLoad(['gpu_util=-0.1'])).toThrow('--load gpu_util: expected a fraction 0..1, got "-0.1"');
  });

  it('says that pairs joined in one argument go in one --load each (a trial: gpu_util=0.6,requests_per_s=4)', () => {
    expect(() => parseLoad(['gpu_util=0.6,requests_per_s=4'])).toThrow('--load gpu_util: expected one value, got "0.6,requests_per_s=4": give each key=value as its own --load (--load gpu_util=0.6 --load requests_per_s=…)');
    expect(() => parseLoad(['requests_per_s=4 queue_depth=2'])).toThrow('--load requests_per_s: expected one value, got "4 queue_depth=2": give each key=value as its own --load (--load requests_per_s=4 --load queue_depth=…)');
    // A comma alone is a bad number, not a joined pair.
    expect(() => parseLoad(['requests_per_s=4,5'])).toThrow('--load requests_per_s: expected a number ≥ 0, got "4,5"');
  });
});
