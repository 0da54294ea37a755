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

/**
 * Lower quantile of a non-empty sample: the ⌊q·(n − 1)⌋-th smallest (0-based; q = 0.5 is the lower
 * median, as ClickHouse's quantileExactLow; at other q that function takes the ⌊q·n⌋-th, one place
 * higher at q = 0.9 for most n: SQL that must agree uses {@link lowerQuantileSql}). The sample is not modified.
 * @throws {RangeError} on an empty sample or a value that is not finite.
 */
export function lowerQuantile(v: readonly number[], q: number): number {
  if (v.length === 0) throw new RangeError('lowerQuantile: empty sample');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`lowerQuantile: q must be in [0, 1], got ${String(q)}`);
  assertFiniteSample(v, 'lowerQuantile');
  // A typed array sorts numerically without a comparator call per comparison (the backtest's hot spot).
  const s = Float64Array.from(v).sort();
  return s[Math.floor((s.length - 1) * q)]!;
}

/**
 * ClickHouse SQL of {@link lowerQuantile} over a column in an aggregation: the ⌊q·(n − 1)⌋-th smallest (0-based),
 * the same double arithmetic for the index. NULL over no rows.
 * @param column  A numeric column or expression (SQL text, trusted).
 * @param q       Quantile fraction 0..1.
 * @throws {RangeError} if q is outside 0..1.
 */
export function lowerQuantileSql(column: string, q: number): string {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`lowerQuantileSql: q must be in [0, 1], got ${String(q)}`);
  return `if(count(${column}) = 0, NULL, arrayElement(arraySort(groupArray(${column})), toUInt64(floor((count(${column}) - 1) * ${q})) + 1))`;
}
