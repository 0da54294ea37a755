/**
 * What the warehouse knows about a model on each chip, for the recommender:
 * the chip catalog, the fleet's measurements (inference_enriched) and the
 * benchmarks' (benchmark_latency). Every query has bound parameters.
 *
 * Rules (stated, used by services/predictor/recommend.ts):
 * - Fleet service time of a pair: median io_ms, and compute_ms's p50/p90
 *   (lognormal σ = ln(p90/p50)/z90), over the pair's successful requests.
 * - Workers c of a chip: the largest `concurrency` any of its servers reported
 *   (requests in service at once); 1 when the fleet never ran the chip.
 * - Load bucket of a rate r: requests whose server's requests_per_s is within
 *   max(0.5, 0.1·r) of r ({@link loadBucket}); the requests of server-minutes in
 *   which the server served the model alone when there are enough of them
 *   (then the rate is the model's own), else every server's.
 * - Benchmark service time: nearest-rank lower medians over systems of the
 *   SingleStream p50 and p90; with p90 only (MLPerf imports), p50 =
 *   p90·e^(−z90·σ) with σ = {@link DEFAULT_SIGMA}.
 */
import { msToDateTime64, type Warehouse } from '../warehouse/types.ts';
import type { ChipInfo, ShadowEvidence } from './types.ts';
import type { FleetIo } from './gate-factor.ts';
import { currentBenchmarkRow, USABLE_BENCHMARK_ROW } from '../model/benchmark-rows.ts';
import { idsNamed } from '../names.ts';

export { currentBenchmarkRow, USABLE_BENCHMARK_ROW };

/** Log-sd assumed for a benchmark with a p90 only (MLPerf SingleStream spreads are small: p90/p50 ≈ 1.1). */
export const DEFAULT_SIGMA = 0.08;

/** Least requests of a pair in a load bucket for its measured quantiles to be used as they are (a p99 from fewer than 100 is the maximum). */
export const MIN_MEASURED_REQUESTS = 100;

/**
 * Load bucket around a rate: [r − h, r + h], h = max(0.5, 0.1·r) requests/s.
 * @param ratePerS  Requests/s ≥ 0.
 */
export function loadBucket(ratePerS: number): { lo: number; hi: number } {
  const h = Math.max(0.5, 0.1 * ratePerS);
  return { lo: Math.max(0, ratePerS - h), hi: ratePerS + h };
}

/** Fleet measurements of one (model, chip). Times in ms. */
export interface FleetPair {
  chip: string;
  requests: number;
  ioMedianMs: number;
  computeP50Ms: number;
  computeP90Ms: number;
}

/**
 * Latency quantiles of the requests in one load bucket, ms: nearest rank, the value at 1-based rank ⌈p·N⌉
 * of the N sorted latencies, as in `report`, the demo summary, the gate and the what-if (ClickHouse's
 * quantileExactHigh, rank ⌊p·N⌋ + 1, had read one rank higher where p·N is whole: a trial).
 */
export interface MeasuredQuantiles {
  chip: string;
  /** Centre of the bucket, requests/s. */
  ratePerS: number;
  n: number;
  p50: number;
  p90: number;
  p99: number;
  /** Of the n, requests that failed (status timeout or error): counted at the latency they took, as every request is. */
  failed: number;
  /**
   * true: only requests from server-minutes in which the server served this model alone ({@link dedicatedMinutes}),
   * so the bucket's rate is the model's own, as on the dedicated chip the recommender prices; false: every
   * server's requests, other models' traffic included (no bucket of the chip had enough dedicated requests:
   * {@link measuredByTraffic}).
   */
  dedicated: boolean;
}

/**
 * A ClickHouse boolean expression over inference_enriched's row: the request's server served no other model in
 * the request's minute (toStartOfMinute(ts)), among the servers that ran model `{m:String}`. The load samples'
 * requests_per_s is the server's, so only there is a load bucket the model's own rate, and its queue the model's
 * own: a server shared with a heavier model queued a light one behind it (a demo: mobilenet-v2 on rk3588 at
 * 6 req/s, p99 42 ms on the server running it alone, 332 ms on the one shared with resnet50).
 */
function dedicatedMinutes(database: string): string {
  return `(edge_server_id, toStartOfMinute(ts)) NOT IN (
       SELECT edge_server_id, toStartOfMinute(ts) FROM ${database}.inference_enriched
       WHERE edge_server_id IN (SELECT DISTINCT edge_server_id FROM ${database}.inference_enriched WHERE model_id = {m:String})
       GROUP BY edge_server_id, toStartOfMinute(ts) HAVING uniqExact(model_id) > 1)`;
}

/**
 * The quantile columns of a bucket, over every request (n, p50, …, failed) and over dedicated minutes only (n_own,
 * p50_own, …, failed_own); `failed` counts the requests whose status is not ok.
 */
const BUCKET_FIGURES = [
  'count() AS n', ...[50, 90, 99].map((p) => `${nearestRankSql(p, 'groupArray(total_ms)', 'count()')} AS p${p}`), "countIf(status != 'ok') AS failed",
  'countIf(own) AS n_own', ...[50, 90, 99].map((p) => `${nearestRankSql(p, 'groupArrayIf(total_ms, own)', 'countIf(own)')} AS p${p}_own`), "countIf(own AND status != 'ok') AS failed_own",
].join(', ');

/**
 * A ClickHouse expression: the nearest-rank `pct`-th percentile of an array aggregate, the element at 1-based
 * rank ⌈pct·n/100⌉ (integer arithmetic: ⌊(pct·n + 99) / 100⌋) of the sorted values; 0 for an empty one.
 * @param pct    Percentile, integer 1..99.
 * @param array  Aggregate giving the values (e.g. `groupArray(total_ms)`).
 * @param count  Aggregate giving their number (e.g. `count()`).
 */
export function nearestRankSql(pct: number, array: string, count: string): string {
  if (!Number.isInteger(pct) || pct < 1 || pct > 99) throw new RangeError(`pct: expected an integer in [1, 99], got ${JSON.stringify(pct)}`);
  return `arrayElement(arraySort(${array}), toUInt64(intDiv(${pct} * ${count} + 99, 100)))`;
}

/** One load bucket of a (model, chip), measured two ways: every server's requests, and those of dedicated server-minutes only. */
export interface BucketFigures {
  chip: string;
  /** Centre of the bucket, requests/s. */
  ratePerS: number;
  /** Every server's requests (other models' traffic on shared servers included), ms; `failed` of them not ok. */
  pooled: { n: number; p50: number; p90: number; p99: number; failed: number };
  /** Only the requests of minutes in which their server ran this model alone ({@link dedicatedMinutes}), ms; n may be 0. */
  dedicated: { n: number; p50: number; p90: number; p99: number; failed: number };
}

const bucketFigures = (r: Record<string, unknown>, ratePerS: number): BucketFigures => ({
  chip: String(r.chip), ratePerS,
  pooled: { n: num(r.n), p50: num(r.p50), p90: num(r.p90), p99: num(r.p99), failed: num(r.failed) },
  dedicated: { n: num(r.n_own), p50: num(r.p50_own), p90: num(r.p90_own), p99: num(r.p99_own), failed: num(r.failed_own) },
});

/** Benchmark evidence of one (model, chip): lower-median p50/p90 over systems, ms. */
export interface BenchmarkPair {
  chip: string;
  rows: number;
  p50Ms: number | null;
  p90Ms: number;
  /** The systems' fastest p90, ms, and the system that ran it (software stacks differ: TensorRT against a reference PyTorch on one T4, 6.0 against 81–96 ms). */
  fastestP90Ms?: number;
  fastestSystem?: string;
  /** The systems' slowest p90, ms. */
  slowestP90Ms?: number;
}

const num = (v: unknown): number => Number(v);
const nullable = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * The clause for a chip id nothing knows that the chip catalog's names of a chip hold ({@link idsNamed}), e.g.
 * `a name the chip catalog gives jetson-agx-orin: ask for it by its id`, or null (a re-test: "Jetson AGX Orin 64GB", a name of the
 * catalog, was an unknown chip with other chips suggested).
 * @param named  The chip ids whose names hold it (at most 3 are named).
 */
export function catalogNameClause(named: readonly string[]): string | null {
  // Said as what to do (a trial: "found in the chip catalog's names of rk3588-mali-g610" beside "unknown chip" read as
  // a contradiction).
  return named.length === 0 ? null : `a name the chip catalog gives ${named.slice(0, 3).join(', ')}${named.length > 3 ? ` and ${named.length - 3} more` : ''}: ask for ${named.length === 1 ? 'it' : 'one of them'} by its id`;
}

/** The chips whose catalog names hold `chip` (names.ts {@link idsNamed}), read from table `chips`. */
export async function chipsNamed(w: Warehouse, chip: string): Promise<string[]> {
  return idsNamed(chip, (await loadCatalog(w)).map((c) => ({ id: c.chip, names: c.names })));
}

/** Read the chip catalog (table `chips`), sorted by id. */
export async function loadCatalog(w: Warehouse): Promise<ChipInfo[]> {
  const rows = await w.query<Record<string, unknown>>(
    `SELECT chip, kind, vendor, names, peak_ops_per_s, memory_bw_bytes_s, power_w, price_per_hour FROM ${w.database}.chips FINAL ORDER BY chip`);
  return rows.map((r) => ({
    chip: String(r.chip), kind: String(r.kind) as ChipInfo['kind'], vendor: String(r.vendor), names: (r.names as string[]) ?? [],
    peak_ops_per_s: nullable(r.peak_ops_per_s), memory_bw_bytes_s: nullable(r.memory_bw_bytes_s),
    power_w: nullable(r.power_w), price_per_hour: nullable(r.price_per_hour),
  }));
}

/**
 * Catalog rows as `chips` takes them, stamped with an `updated_at` that wins: now, or 1 ms after the latest
 * `updated_at` stored for the catalog when a row written by hand (`sql --write`) carries a later one (the table is a
 * ReplacingMergeTree(updated_at): a row stamped now by the column default lost to it, and `chips import` said
 * "wrote" while the old row stayed).
 * @param now  Epoch ms, UTC. @default Date.now()
 * @returns The rows with `updated_at` as DateTime64(3) text.
 */
export async function stampedCatalogRows(w: Warehouse, rows: readonly ChipInfo[], now = Date.now()): Promise<Record<string, unknown>[]> {
  if (rows.length === 0) return [];
  const [latest] = await w.query<{ ms: number | string | null }>(`SELECT toUnixTimestamp64Milli(max(updated_at)) AS ms FROM ${w.database}.chips`);
  const stamp = msToDateTime64(Math.max(now, Number(latest?.ms ?? 0) + 1));
  return rows.map((r) => ({ ...r, updated_at: stamp }));
}

/** A verdict window with both sides' p99 (a production p99 of 0 ms gives no ratio). */
const TAILS = 'shadow_p99_ms IS NOT NULL AND production_p99_ms > 0';

/**
 * Shadow verdicts of a model per shadow chip, each against the production chips it was paired with (one
 * ratio per baseline: a ratio against a Xavier and one against an AI100 are not one figure), counting only
 * windows where the shadow ran the production's version and measured a request (a verdict of 0 pairs and 0 failed
 * pairs says the shadow was silent, not how fast it is). Per baseline also the median of the windows' p99 ratios
 * (shadow p99 / production p99) and the largest verdict tolerance.
 * @returns shadow chip → evidence (chips without such windows are absent).
 */
export async function loadShadowEvidence(w: Warehouse, model: string): Promise<Map<string, ShadowEvidence>> {
  const rows = await w.query<{ chip: string; against: string; windows: number; pairs: number; better: number; worse: number; equivalent: number; inconclusive: number; ratio: number | null; p99: number | null; tolerance: number }>(
    `SELECT shadow_chip AS chip, production_chip AS against, count() AS windows, sum(pairs) AS pairs, countIf(verdict = 'BETTER') AS better,
            countIf(verdict = 'WORSE') AS worse, countIf(verdict = 'EQUIVALENT') AS equivalent, countIf(verdict = 'INCONCLUSIVE') AS inconclusive,
            if(countIf(ratio IS NOT NULL) = 0, NULL, quantileExactLowIf(0.5)(ratio, ratio IS NOT NULL)) AS ratio,
            if(countIf(${TAILS}) = 0, NULL, quantileExactLowIf(0.5)(shadow_p99_ms / production_p99_ms, ${TAILS})) AS p99, max(tolerance) AS tolerance
     FROM ${w.database}.shadow_verdicts AS v
     WHERE model_id = {m:String} AND production_chip != 'unknown' AND shadow_version = production_version AND v.pairs + v.failed_pairs > 0
     GROUP BY shadow_chip, production_chip ORDER BY shadow_chip, production_chip`, { m: model });
  const out = new Map<string, ShadowEvidence>();
  for (const r of rows) {
    const e = out.get(r.chip) ?? { windows: 0, pairs: 0, better: 0, worse: 0, equivalent: 0, inconclusive: 0, against: [] };
    e.windows += Number(r.windows);
    e.pairs += Number(r.pairs);
    e.better += Number(r.better);
    e.worse += Number(r.worse);
    e.equivalent += Number(r.equivalent);
    e.inconclusive += Number(r.inconclusive);
    e.against.push({
      chip: r.against, windows: Number(r.windows), pairs: Number(r.pairs), median_ratio: r.ratio === null ? null : Number(r.ratio),
      median_p99_ratio: r.p99 === null ? null : Number(r.p99), tolerance: Number(r.tolerance),
    });
    out.set(r.chip, e);
  }
  return out;
}

/** Columns of a {@link FleetPair} per chip, over a table of requests (`inference_enriched` or `shadow_results`). */
const PAIR_FIGURES = 'chip, count() AS n, quantileExact(0.5)(io_ms) AS io, quantileExact(0.5)(compute_ms) AS c50, quantileExact(0.9)(compute_ms) AS c90';
const toPair = (r: Record<string, unknown>): FleetPair => ({ chip: String(r.chip), requests: num(r.n), ioMedianMs: num(r.io), computeP50Ms: num(r.c50), computeP90Ms: num(r.c90) });

/** Fleet service-time figures of a model on every chip that served it. */
export async function loadFleetPairs(w: Warehouse, model: string): Promise<FleetPair[]> {
  const rows = await w.query<Record<string, unknown>>(
    `SELECT ${PAIR_FIGURES} FROM ${w.database}.inference_enriched WHERE model_id = {m:String} AND status = 'ok' AND compute_ms > 0 GROUP BY chip ORDER BY chip`, { m: model });
  return rows.map(toPair);
}

/**
 * Fewest requests a median of a (model, chip) rests on where it comes from shadows or from the fleet's
 * unloaded requests (shadow service times, i/o medians).
 */
export const MIN_MEDIAN_REQUESTS = 20;

/**
 * Service-time figures of a model from its shadow deployments (`shadow_results`, status ok), per shadow
 * chip with at least {@link MIN_MEDIAN_REQUESTS} requests: the same figures as {@link loadFleetPairs}.
 * A shadow serves the production's requests again on its own chip, so where no production server runs
 * the model on that chip these are its measured service times there. Only versions production runs
 * count (a shadow often runs a candidate version: another cost), unless production runs none.
 */
export async function loadShadowPairs(w: Warehouse, model: string): Promise<FleetPair[]> {
  const rows = await w.query<Record<string, unknown>>(
    `SELECT ${PAIR_FIGURES} FROM ${w.database}.shadow_results WHERE model_id = {m:String} AND status = 'ok' AND compute_ms > 0
       AND (model_version IN (SELECT DISTINCT model_version FROM ${w.database}.inference_enriched WHERE model_id = {m:String})
            OR (SELECT count() FROM ${w.database}.inference_enriched WHERE model_id = {m:String}) = 0)
     GROUP BY chip HAVING n >= {min:UInt32} ORDER BY chip`,
    { m: model, min: MIN_MEDIAN_REQUESTS });
  return rows.map(toPair);
}

/** Workers c per chip: the largest `concurrency` its servers reported. */
export async function loadWorkers(w: Warehouse): Promise<Map<string, number>> {
  const rows = await w.query<{ chip: string; c: number }>(
    `SELECT chip, max(concurrency) AS c FROM ${w.database}.inference_enriched WHERE matched GROUP BY chip`);
  return new Map(rows.map((r) => [r.chip, Math.max(1, num(r.c))]));
}

/**
 * Latency quantiles of a model per chip in the load bucket of `ratePerS` ({@link loadBucket}), over every request
 * (errors and timeouts too: they are what a user sees), pooled and dedicated ({@link BucketFigures});
 * {@link measuredByTraffic} picks one per chip.
 */
export async function loadMeasuredAt(w: Warehouse, model: string, ratePerS: number): Promise<BucketFigures[]> {
  const { lo, hi } = loadBucket(ratePerS);
  const rows = await w.query<Record<string, unknown>>(
    `SELECT chip, ${BUCKET_FIGURES}
     FROM (SELECT chip, total_ms, status, ${dedicatedMinutes(w.database)} AS own FROM ${w.database}.inference_enriched
           WHERE model_id = {m:String} AND matched AND requests_per_s >= {lo:Float64} AND requests_per_s <= {hi:Float64})
     GROUP BY chip ORDER BY chip`, { m: model, lo, hi });
  return rows.map((r) => bucketFigures(r, ratePerS));
}

/**
 * Measured quantiles of a model per chip at every whole rate r of the fleet whose load bucket ({@link loadBucket}:
 * r ± max(0.5, 0.1·r), the bucket of the figure at a requested load too) holds at least
 * {@link MIN_MEASURED_REQUESTS} requests (the points the law is calibrated to), pooled and dedicated
 * ({@link BucketFigures}); {@link measuredByTraffic} picks one per chip. The buckets widen with the rate, as the
 * figure at a load does, so the curve reaches the loads that figure reaches (a re-test: with buckets of ±0.5 the
 * Xavier's resnet50 curve stopped at 10 req/s and called 16 req/s saturated, between measured 14 and 18 req/s).
 */
export async function loadMeasuredCurve(w: Warehouse, model: string): Promise<BucketFigures[]> {
  const rows = await w.query<Record<string, unknown>>(
    `SELECT chip, r, ${BUCKET_FIGURES}
     FROM (SELECT chip, r, total_ms, status, own FROM (
             SELECT chip, requests_per_s AS x, total_ms, status, ${dedicatedMinutes(w.database)} AS own,
                    arrayJoin(range(toUInt64(greatest(0, floor((x - 0.5) / 1.1) - 1)), toUInt64(ceil((x + 0.5) / 0.9) + 2))) AS r
             FROM ${w.database}.inference_enriched
             WHERE model_id = {m:String} AND matched AND requests_per_s IS NOT NULL)
           WHERE x >= greatest(0, r - greatest(0.5, 0.1 * r)) AND x <= r + greatest(0.5, 0.1 * r))
     GROUP BY chip, r HAVING n >= {min:UInt32} ORDER BY chip, r`, { m: model, min: MIN_MEASURED_REQUESTS });
  return rows.map((r) => bucketFigures(r, num(r.r)));
}

/**
 * One kind of traffic per chip for both the figure at the requested load and the load curve, so that they never
 * disagree (a review: a dedicated curve met the SLO up to 12.7 req/s while the pooled figure at 3 req/s, from a
 * shared server, missed it). A chip is measured dedicated when any of its buckets, at the load or on the curve, has
 * ≥ {@link MIN_MEASURED_REQUESTS} dedicated requests; then only its dedicated buckets with that many count (the figure
 * at the load may then be missing: the law pinned to the dedicated curve answers); otherwise every server's buckets
 * with that many requests.
 * @returns The figures at the load (a chip without one is absent) and the curves' points, `dedicated` set per chip.
 */
export function measuredByTraffic(atLoad: readonly BucketFigures[], curve: readonly BucketFigures[]): { atLoad: MeasuredQuantiles[]; curve: MeasuredQuantiles[] } {
  const enough = (q: BucketFigures['pooled']): boolean => q.n >= MIN_MEASURED_REQUESTS;
  const dedicatedChips = new Set([...atLoad, ...curve].filter((b) => enough(b.dedicated)).map((b) => b.chip));
  const pick = (b: BucketFigures): MeasuredQuantiles[] => {
    const own = dedicatedChips.has(b.chip);
    const q = own ? b.dedicated : b.pooled;
    return enough(q) ? [{ chip: b.chip, ratePerS: b.ratePerS, n: q.n, p50: q.p50, p90: q.p90, p99: q.p99, failed: q.failed, dedicated: own }] : [];
  };
  return { atLoad: atLoad.flatMap(pick), curve: curve.flatMap(pick) };
}

/**
 * The MLPerf rounds of a model's benchmark rows that {@link currentBenchmarkRow} leaves out, per chip (rounds of a
 * workload the benchmark has since changed), so a chip measured only then is skipped saying so, not as never measured.
 * @returns chip → its rounds left out (`v1.1`, …), sorted; chips with none absent.
 */
export async function supersededBenchmarkRounds(w: Warehouse, model: string): Promise<Map<string, string[]>> {
  const rows = await w.query<{ chip: string; rounds: string[] }>(
    `SELECT chip, arraySort(groupUniqArray(splitByChar('/', system)[1])) AS rounds FROM ${w.database}.benchmark_latency FINAL
     WHERE model_id = {m:String} AND scenario = 'SingleStream' AND batch = 1 AND ${USABLE_BENCHMARK_ROW} AND NOT (${currentBenchmarkRow(w.database)})
     GROUP BY chip`, { m: model });
  return new Map(rows.map((r) => [String(r.chip), r.rounds.map(String)]));
}

/** Benchmark evidence of a model per chip (SingleStream rows of every source, {@link currentBenchmarkRow}). */
export async function loadBenchmarkPairs(w: Warehouse, model: string): Promise<BenchmarkPair[]> {
  const rows = await w.query<Record<string, unknown>>(
    `SELECT chip, uniqExact(system) AS n,
            if(countIf(percentile = 0.5) = 0, NULL, quantileExactLowIf(0.5)(latency_ms, percentile = 0.5)) AS p50,
            quantileExactLowIf(0.5)(latency_ms, percentile = 0.9) AS p90,
            minIf(latency_ms, percentile = 0.9) AS fastest, argMinIf(system, latency_ms, percentile = 0.9) AS fastest_system,
            maxIf(latency_ms, percentile = 0.9) AS slowest
     FROM ${w.database}.benchmark_latency FINAL
     WHERE model_id = {m:String} AND scenario = 'SingleStream' AND batch = 1 AND ${currentBenchmarkRow(w.database)}
     GROUP BY chip HAVING countIf(percentile = 0.9) > 0 ORDER BY chip`, { m: model });
  return rows.map((r) => ({
    chip: String(r.chip), rows: num(r.n), p50Ms: nullable(r.p50), p90Ms: num(r.p90),
    fastestP90Ms: num(r.fastest), fastestSystem: String(r.fastest_system), slowestP90Ms: num(r.slowest),
  }));
}

/** A model's benchmark latency on one chip at one percentile (lower median over systems), ms. */
export interface BenchmarkPoint { chip: string; percentile: number; ms: number }

/**
 * The benchmark latencies of a model on two chips at one percentile both have, for a chip ratio:
 * the SingleStream p50 when both chips have it, else the p90 (MLPerf imports carry p90 only), else
 * the first other percentile both have.
 * @param points  The model's benchmark points (any chips, percentiles 0..1).
 * @returns `{ percentile, a, b }` (ms > 0 on chip `a` and `b`), or null when no percentile is on both.
 */
export function commonBenchmark(points: readonly BenchmarkPoint[], a: string, b: string): { percentile: number; a: number; b: number } | null {
  const at = (chip: string, p: number) => points.find((x) => x.chip === chip && x.percentile === p && x.ms > 0)?.ms;
  const shared = [...new Set(points.map((x) => x.percentile))].sort((x, y) => Math.abs(x - 0.5) - Math.abs(y - 0.5) || x - y);
  for (const p of shared) {
    const [pa, pb] = [at(a, p), at(b, p)];
    if (pa !== undefined && pb !== undefined) return { percentile: p, a: pa, b: pb };
  }
  return null;
}

/**
 * ln(p90 / p50) of a model's benchmark latency per chip that has both percentiles: the spread of its
 * kernel time there (for a lognormal, σ = ln(p90 / p50) / 1.2816).
 * @param points  The model's benchmark points (any chips, percentiles 0..1).
 * @returns chip → ln(p90 / p50) (> 0); chips without both percentiles, or with p90 ≤ p50, are left out.
 */
export function benchmarkSpread(points: readonly BenchmarkPoint[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p50 of points.filter((p) => p.percentile === 0.5 && p.ms > 0)) {
    const p90 = points.find((p) => p.chip === p50.chip && p.percentile === 0.9);
    if (p90 && p90.ms > p50.ms) out.set(p50.chip, Math.log(p90.ms / p50.ms));
  }
  return out;
}

/**
 * SQL of models' benchmark points per chip and percentile (lower median over systems), ms; parameter `m` (model ids).
 * Rows: {@link BenchmarkPoint} with `model_id`.
 */
export function benchmarkPointsSql(db: string): string {
  return `SELECT chip, model_id, percentile, quantileExactLow(0.5)(latency_ms) AS ms FROM ${db}.benchmark_latency
     WHERE has({m:Array(String)}, model_id) AND ${currentBenchmarkRow(db)} GROUP BY chip, model_id, percentile`;
}

/**
 * Unloaded i/o medians per (model, chip), ms, any version (i/o does not depend on it): the fleet's
 * successful requests under a busy-worker fraction of `unloadedUtil` (`inference_enriched`); for a
 * (model, chip) the fleet has fewer than {@link MIN_MEDIAN_REQUESTS} such requests of, its shadows' (`shadow_results`, status
 * ok, requests that found a free worker: queue_ms = 0, the nearest a shadow comes to unloaded; its
 * i/o still carries the contention of the others in service, so it errs high). A shadow of a model
 * on a chip no production server runs is then evidence of that chip's i/o (bytes over its bandwidth).
 * @param fromMs        Only requests from this epoch ms on (null: all).
 * @param unloadedUtil  Busy-worker fraction below which a fleet request counts as unloaded, 0..1.
 * @returns Entries with n ≥ {@link MIN_MEDIAN_REQUESTS}, `source` 'fleet' or 'shadow'.
 */
export async function loadIoMedians(w: Warehouse, fromMs: number | null, unloadedUtil: number): Promise<FleetIo[]> {
  const db = w.database;
  const since = fromMs === null ? '' : 'AND ts >= fromUnixTimestamp64Milli({from:Int64})';
  const rows = await w.query<{ model: string; chip: string; n: number; io: number; shadow: number }>(
    `SELECT model_id AS model, chip, count() AS n, quantileExactLow(0.5)(io_ms) AS io, 0 AS shadow
     FROM ${db}.inference_enriched WHERE status = 'ok' AND gpu_util < {u:Float64} ${since} GROUP BY model, chip
     UNION ALL
     SELECT model_id AS model, chip, count() AS n, quantileExactLow(0.5)(io_ms) AS io, 1 AS shadow
     FROM ${db}.shadow_results WHERE status = 'ok' AND queue_ms = 0 ${since} GROUP BY model, chip`,
    { u: unloadedUtil, ...(fromMs === null ? {} : { from: fromMs }) });
  const out = new Map<string, FleetIo>();
  for (const r of [...rows].sort((a, b) => Number(a.shadow) - Number(b.shadow))) {
    const key = `${r.model}\u0000${r.chip}`;
    if (Number(r.n) < MIN_MEDIAN_REQUESTS || out.has(key)) continue;
    out.set(key, { model: r.model, chip: r.chip, io: Number(r.io), n: Number(r.n), source: Number(r.shadow) ? 'shadow' : 'fleet' });
  }
  return [...out.values()];
}

/** What each of two chips has of a model, for a message: fleet requests and benchmark percentiles. */
export function evidenceOnChips(model: string, a: string, b: string, fleetN: (chip: string) => number, points: readonly BenchmarkPoint[]): string {
  const one = (chip: string): string => {
    const ps = [...new Set(points.filter((x) => x.chip === chip).map((x) => `p${Math.round(x.percentile * 100)}`))].sort();
    return `${JSON.stringify(chip)} has ${fleetN(chip)} unloaded fleet request(s) and ${ps.length ? `benchmark ${ps.join('/')}` : 'no benchmark'}`;
  };
  return `model ${JSON.stringify(model)}: ${one(a)}; ${one(b)} — a ratio needs ≥ ${MIN_MEDIAN_REQUESTS} fleet requests on both or a benchmark percentile on both`;
}

/**
 * Chip ids the warehouse knows (the fleet's requests, benchmark rows or the chip catalog), sorted. `rankable`: the
 * chips `recommend` ranks by default (candidates.ts `gatherCandidates`) instead: the shadows' too (shadow_verdicts),
 * and no HELP device (scenario `help`: not chips of the catalog); `--chips` takes any of them (a trial: a chip only a
 * SingleStream import knew was ranked by default and refused by name).
 */
export async function knownChips(w: Warehouse, options: { rankable?: boolean } = {}): Promise<string[]> {
  const db = w.database;
  const rows = await w.query<{ chip: string }>(
    `SELECT DISTINCT chip FROM (SELECT chip FROM ${db}.inference_enriched UNION ALL SELECT chip FROM ${db}.benchmark_latency${options.rankable ? ` WHERE scenario != 'help'` : ''}
     UNION ALL SELECT chip FROM ${db}.chips${options.rankable ? ` UNION ALL SELECT shadow_chip AS chip FROM ${db}.shadow_verdicts` : ''}) ORDER BY chip`);
  return rows.map((r) => String(r.chip));
}

/** Model ids the warehouse knows (fleet requests or benchmark rows), sorted. */
export async function knownModels(w: Warehouse): Promise<string[]> {
  const rows = await w.query<{ m: string }>(
    `SELECT DISTINCT model_id AS m FROM (SELECT model_id FROM ${w.database}.inference_enriched UNION ALL SELECT model_id FROM ${w.database}.benchmark_latency WHERE scenario != 'help') ORDER BY m`);
  return rows.map((r) => r.m);
}

/**
 * Whether the warehouse holds HELP rows of `model` (`import benchmark --format help`: scenario `help`, on HELP's
 * devices, which are not catalog chips): such a model can be evaluated (`model evaluate --format help`) and queried,
 * not ranked on chips. A trial's `recommend --model help-nasbench201:0` skipped all 55 chips, one line each.
 */
export async function isHelpModel(w: Warehouse, model: string): Promise<boolean> {
  const [row] = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.benchmark_latency WHERE model_id = {m:String} AND scenario = 'help'`, { m: model });
  return Number(row?.n ?? 0) > 0;
}

/** The fleet's median requests_per_s over load-matched requests; null with no data. */
export async function fleetMedianRate(w: Warehouse): Promise<number | null> {
  const [row] = await w.query<{ r: number | null }>(
    `SELECT if(count() = 0, NULL, quantileExactLow(0.5)(requests_per_s)) AS r FROM ${w.database}.inference_enriched WHERE matched AND requests_per_s IS NOT NULL`);
  return row?.r === null || row?.r === undefined ? null : num(row.r);
}
