/**
 * Command-line options of the benchmark scripts: node:util `parseArgs`, strict (an unknown option is refused),
 * with `--help`, and every problem told in one line with the script's usage, exit 64 (EX_USAGE), before anything
 * runs or a results file is written. A trial: unknown options were ignored, `--seeds abc` ran seed NaN, and bad
 * values ended in a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Stop with the usage line and a reason: exit 64. */
export function usageExit(usage: string, reason: string): never {
  process.stderr.write(`${reason}\nusage: ${usage}\n`);
  process.exit(64);
}

/**
 * Parse `process.argv` against `options` (string or boolean options; `--help` added), or stop (exit 64) naming the
 * problem: an unknown option, a missing value, a positional argument. `--help` prints the usage and exits 0.
 * @param usage  e.g. `npm run bench:chip-sd [-- --seeds 1,2,3]`.
 * @returns The values, as `parseArgs` gives them.
 */
export function benchArgs<O extends Options>(usage: string, options: O): ReturnType<typeof parseArgs<{ options: O & { help: { type: 'boolean' } } }>>['values'] {
  let parsed;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  } catch (error) {
    // parseArgs reads `--minutes -5` as two options; `--minutes=-5` reaches the range check.
    usageExit(usage, (error as Error).message);
  }
  if ((parsed.values as Record<string, unknown>).help) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  return parsed.values as never;
}

/**
 * A number option within [min, max] (an integer when `integer`), or stop (exit 64) naming it.
 * @param name  The option's name without dashes. @param text  Its value as given.
 */
export function numberArg(usage: string, name: string, text: string | undefined, min: number, max: number, integer = false): number {
  // Decimal only: Number() reads "0x5" as 5.
  const v = text === undefined || !/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? Number.NaN : Number(text);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    usageExit(usage, `--${name}: expected ${integer ? 'an integer' : 'a number'} ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** Most seeds one run takes (a range of 10^9 had exhausted the heap). */
export const MAX_SEEDS = 1000;

/**
 * A seed list, `a,b,c` or a range `a-b` (a ≤ b), of non-negative safe integers, at most {@link MAX_SEEDS}, none twice;
 * or stop (exit 64) naming the problem (`5,,6` had run seed 0; `5-3` had run nothing).
 */
export function seedsArg(usage: string, text: string | undefined): number[] {
  const bad = (why: string): never => usageExit(usage, `--seeds: ${why}, got ${JSON.stringify(text)}`);
  if (text === undefined || text.trim() === '') return bad('expected seeds a,b,c or a range a-b');
  const range = /^(\d+)-(\d+)$/.exec(text.trim());
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) return bad('expected safe integers');
    if (a > b) return bad(`a range a-b needs a ≤ b`);
    if (b - a + 1 > MAX_SEEDS) return bad(`at most ${MAX_SEEDS} seeds`);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => !/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)))) return bad('expected non-negative integers a,b,c (or a range a-b), none empty');
  const seeds = items.map(Number);
  if (new Set(seeds).size !== seeds.length) return bad('a seed is given twice');
  if (seeds.length > MAX_SEEDS) return bad(`at most ${MAX_SEEDS} seeds`);
  return seeds;
}
