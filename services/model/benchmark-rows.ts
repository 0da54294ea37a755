/**
 * Which `benchmark_latency` rows the answers read (recommend's evidence, the benchmark predictor, the latency
 * model's priors), as SQL conditions shared by their queries.
 */

/**
 * The benchmark rows the answers read: a latency above 0 and finite, as `import benchmark` takes them; a row written
 * past it (sql --write) is left out (a trial's -3 ms row made every `recommend` of the model fail on its percentiles).
 */
export const USABLE_BENCHMARK_ROW = 'latency_ms > 0 AND isFinite(latency_ms)';

/** Factor between a model's latencies on the same chips in two MLPerf rounds beyond which the rounds ran different workloads. */
export const WORKLOAD_CHANGE_FACTOR = 3;

/**
 * Workload changes MLCommons made under a kept benchmark name, by model id as stored (`-99.9` read as `-99`): the first
 * round of the new workload, major × 1000 + minor. 3d-unet ran BraTS 2019 up to v1.1 and KiTS19 from v2.0 (MLPerf
 * Inference v2.0 release notes; mlcommons/inference `vision/medical_imaging/3d-unet-kits19`). Read beside the data's own
 * rule: an import of a slice can hold the two workloads on no common chip (a trial: a T4 measured on v1.1 only ranked
 * first at 158 ms beside an L4 measured on v3.0 at 725 ms).
 */
export const MLPERF_WORKLOAD_CHANGES: Readonly<Record<string, number>> = { '3d-unet-99': 2000 };

/** SQL of an MLPerf row's round as a number, major × 1000 + minor (`v2.1/closed/…` or `2.1/closed/…` → 2001), from its `system` key; 0 for other sources. */
const ROUND_KEY = "if(match(system, '^v?[0-9]+[.][0-9]+/'), toUInt32OrZero(extract(system, '^v?([0-9]+)[.]')) * 1000 + toUInt32OrZero(extract(system, '^v?[0-9]+[.]([0-9]+)/')), 0)";

/**
 * SQL condition (on `benchmark_latency` columns, no alias) of the benchmark rows the answers read: {@link USABLE_BENCHMARK_ROW},
 * and for an MLPerf model, only rounds of the workload it has now. MLPerf kept some benchmark names while changing the
 * workload under them: 3d-unet-99 ran BraTS 2019 up to v1.1 and KiTS19 from v2.0, about 25× the compute (a trial: an
 * A100's median mixed its v1.1 25.7 ms with its ~560 ms since, and a T4 measured only on v1.1 ranked first at 158 ms).
 * Rule: each round a of a model is compared with the model's next round b that shares a chip with it (SingleStream
 * p90, batch 1, median per chip and round); when the lower median over their shared chips of b/a is beyond
 * {@link WORKLOAD_CHANGE_FACTOR} either way the rounds ran different workloads, and the model's rows of round a and
 * earlier are left out. Next rounds only: software gains add up over rounds (10 → 3.2 ms over four rounds, each step
 * within 1.6×, is one workload), and the lower median keeps two chips of one noisy pair (rnnt v1.1 → v3.0: 1.57 and
 * 3.21) from outvoting it. A change with no chip measured on both sides of it is not seen by that rule; the changes
 * MLCommons documents ({@link MLPERF_WORKLOAD_CHANGES}) leave out a model's earlier rounds wherever it has a row of the
 * new workload. Rows of other sources (HELP) are kept.
 * @param db  The database name.
 */
export function currentBenchmarkRow(db: string): string {
  const per = `SELECT model_id, chip, ${ROUND_KEY} AS rk, quantileExactLow(0.5)(latency_ms) AS ms FROM ${db}.benchmark_latency FINAL
       WHERE scenario = 'SingleStream' AND batch = 1 AND percentile = 0.9 AND ${USABLE_BENCHMARK_ROW} AND rk > 0 GROUP BY model_id, chip, rk`;
  // Per (model, a, b > a sharing a chip): the lower median of the shared chips' ratios; then per (model, a) the nearest b's.
  const pairs = `SELECT a.model_id AS model_id, a.rk AS ra, b.rk AS rb, quantileExactLow(0.5)(b.ms / a.ms) AS ratio
       FROM (${per}) AS a INNER JOIN (${per}) AS b ON a.model_id = b.model_id AND a.chip = b.chip
       WHERE a.rk < b.rk GROUP BY model_id, ra, rb`;
  const stale = `SELECT model_id, max(ra) AS upto FROM (
       SELECT model_id, ra, argMin(ratio, rb) AS next_ratio FROM (${pairs}) GROUP BY model_id, ra
       HAVING next_ratio > ${WORKLOAD_CHANGE_FACTOR} OR next_ratio < 1 / ${WORKLOAD_CHANGE_FACTOR}) GROUP BY model_id`;
  const models = Object.keys(MLPERF_WORKLOAD_CHANGES);
  const known = `SELECT model_id, toUInt32(any(change) - 1) AS upto FROM (
       SELECT model_id, ${ROUND_KEY} AS rk, transform(model_id, [${models.map((m) => `'${m}'`).join(', ')}], [${models.map((m) => MLPERF_WORKLOAD_CHANGES[m]).join(', ')}], 0) AS change
       FROM ${db}.benchmark_latency FINAL WHERE ${USABLE_BENCHMARK_ROW}) WHERE change > 0 AND rk >= change GROUP BY model_id`;
  const leftOut = `SELECT model_id, max(upto) AS upto FROM (${stale} UNION ALL ${known}) GROUP BY model_id`;
  return `${USABLE_BENCHMARK_ROW} AND (${ROUND_KEY} = 0 OR ${ROUND_KEY} > (SELECT CAST((groupArray(model_id), groupArray(upto)), 'Map(String, UInt32)') FROM (${leftOut}))[model_id])`;
}
