/**
 * Run work written as a generator of rounds (`yield` between rounds, `return` the result): at once, or
 * giving the event loop a turn whenever a slice of rounds has held it for {@link SLICE_MS}, so timers,
 * sockets and heartbeats go on while a model trains in a serving process.
 */

/** Longest the rounds hold the event loop before `runRoundsYielding` gives it a turn, ms. */
export const SLICE_MS = 20;

/** Run every round at once and return the generator's result. */
export function runRounds<T>(rounds: Generator<void, T, void>): T {
  for (;;) {
    const r = rounds.next();
    if (r.done) return r.value;
  }
}

/**
 * Run the rounds, giving the event loop a turn (`setImmediate`: pending I/O and timers run first) each
 * time they have run for `sliceMs` since the last turn; resolves to the generator's result.
 * @param sliceMs  Longest run between turns, ms. @default SLICE_MS
 * @throws what the rounds throw (the promise rejects).
 */
export async function runRoundsYielding<T>(rounds: Generator<void, T, void>, sliceMs = SLICE_MS): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = rounds.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}

/**
 * `xs.map(f)` in rounds of `perRound` elements (a round per slice: to run with {@link runRoundsYielding}, so
 * building 20,000 feature rows, 1.5 s here, does not hold the event loop).
 * @param perRound  Elements mapped between pauses (≥ 1). @default 256
 */
export function* mapRounds<T, U>(xs: readonly T[], f: (x: T, i: number) => U, perRound = 256): Generator<void, U[], void> {
  const out: U[] = new Array<U>(xs.length);
  for (let i = 0; i < xs.length; i++) {
    out[i] = f(xs[i]!, i);
    if ((i + 1) % perRound === 0) yield;
  }
  return out;
}
