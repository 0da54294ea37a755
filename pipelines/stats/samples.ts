/**
 * Input checks shared by the functions that take samples of measurements (latencies ms, ratios, logs):
 * a NaN sorts to one end and an Infinity wins every maximum, so either would turn into a plausible wrong
 * figure; these name the first bad value instead (a trial: `median([3, NaN, 1])` was NaN, and
 * `nearestRankQuantile([3, NaN, 1, 2], 0.5)` quietly 2).
 */

/**
 * Throw unless every value is a finite number at least `min`.
 * @param values  The sample.
 * @param what    Name of the function or field, for the message.
 * @param min     Smallest allowed value. @default -Infinity (any finite number)
 * @throws {RangeError} naming the index and the value: `median: value 1 is NaN, expected a finite number`.
 */
export function assertFiniteSample(values: ArrayLike<number>, what: string, min = Number.NEGATIVE_INFINITY): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`${what}: value ${i} is ${String(v)}, expected a finite number`);
    if (v < min) throw new RangeError(`${what}: value ${i} is ${v}, expected at least ${min}`);
  }
}
