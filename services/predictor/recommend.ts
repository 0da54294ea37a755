/**
 * Rank chips for a model under an SLO and a load (pure; the warehouse part is
 * services/predictor/evidence.ts, the law services/predictor/queueing-law.ts).
 *
 * Per chip, at the requested rate λ:
 * - the latency quantiles are the fleet's measured ones when the fleet ran the
 *   pair in λ's load bucket with ≥ {@link MIN_MEASURED_REQUESTS} requests
 *   (measured beats predicted); otherwise the queueing law's, times the pair's
 *   fleet calibration (the geometric mean of measured / law over the fleet's
 *   load buckets of the pair; 1 when the fleet never ran it);
 * - idle = the curve's figure at λ = 0 (one request alone by the law, times the calibration), so it does not move
 *   with λ and agrees with max_rps_within_slo; a measured figure at a load can be below it;
 * - one latency-versus-load curve per chip, whatever λ or SLO target is asked about ({@link fitCurve}):
 *   where the fleet measured the pair at some loads, the law is pinned to those measurements (made
 *   non-decreasing in load) by an effective arrival rate per load, linear between them (the fleet's
 *   server also queues other models); idle and max_rps_within_slo come from that curve, so they do
 *   not move with the requested λ, and the latency at a load does not move with the SLO's target;
 * - a chip dedicated to the model queues at least its own requests: where the curve's loads are shared servers'
 *   (their rate, other models' traffic included), the law is read at no less than λ itself, so the chip carries at
 *   most c/E[S] (utilisation law) and a shared servers' measurement at a λ past that is not shown;
 * - max_rps_within_slo = the highest λ at which the curve meets the SLO;
 * - cost per million inferences = price_per_hour / (3600 · λ) · 10⁶ for a chip
 *   dedicated to this model (λ = max_rps_within_slo when the requested λ is 0).
 * - meets_slo: the SLO percentile at λ is within the target and, when it is a measurement, λ is within
 *   max_rps_within_slo too (a measured bucket that meets the SLO above the curve's limit is outvoted by the
 *   fleet's other loads: "may miss"); a measured miss is a miss wherever the curve puts the limit.
 * Chips that meet the SLO at λ come first; within each group the chips with evidence come before
 * catalog estimates (`evidence.kind` 'catalog': nothing measured on the chip), then the lower SLO
 * percentile at λ ranks first (`objective: 'cost'`: the lower cost first among
 * the chips that meet it).
 */
import { MIN_MEASURED_REQUESTS, type MeasuredQuantiles } from './evidence.ts';
import { latencyQuantile, maxRateWithin, QUEUEING_LAW, serviceMoments, type ServiceTime } from './queueing-law.ts';
import type { ChipInfo, ChipRecommendation, Evidence, RecommendResponse, ShadowBaseline } from './types.ts';
import { byCodeUnits } from '../names.ts';

/** Percentiles every recommendation reports. */
const QUANTILES = [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]] as const;

/** Everything known about one candidate chip for the model. */
export interface ChipCandidate {
  chip: ChipInfo;
  /** Service time on the chip (one request alone). */
  service: ServiceTime;
  /** Parallel workers c, integer ≥ 1. */
  workers: number;
  evidence: Evidence;
  /** Multiplier of the law per percentile (fleet calibration), each > 0. */
  calibration: { p50: number; p90: number; p99: number };
  /** Fleet quantiles in the requested rate's load bucket, if measured there. */
  measured: MeasuredQuantiles | null;
  /** Fleet quantiles of the pair at every measured load (integer-centred buckets); [] when the fleet never ran it. */
  curve: readonly MeasuredQuantiles[];
  /** What the service time came from, for the reason line, e.g. "MLPerf, 4 systems". */
  basis: string;
  /** The service time is an upper bound (a model below its references' MACs, held there): a miss is "may miss". */
  upperBound?: boolean;
  /**
   * The service time is a lower bound (a catalog chip faster than every chip it was moved from; a profile with nodes
   * not counted): a meet is "may miss". With `upperBound` too, neither holds: a meet and a miss are both "may miss".
   */
  lowerBound?: boolean;
}

/** A recommendation request after validation. */
export interface RecommendInput {
  model: string;
  slo: { percentile: 0.9 | 0.99; ms: number };
  rps: number;
  objective?: 'latency' | 'cost';
}

/** JSON has no ∞: an unbounded latency (saturated queue) is null. */
const fin = (ms: number): number | null => (Number.isFinite(ms) ? ms : null);
const inf = (ms: number | null): number => ms ?? Number.POSITIVE_INFINITY;

/**
 * ", p99 ratio 1.13: a slower tail" where a baseline's median p99 ratio is above 1 + the verdicts' tolerance while its
 * median ratio is not (the medians equivalent or better, the tail worse: a trial read EQUIVALENT at a ratio of 1.01
 * beside shadow p99s of 92.6–94.6 ms against 81–83 ms, and an SLO is on the tail); '' otherwise.
 */
function slowerTail(b: ShadowBaseline): string {
  const limit = 1 + b.tolerance;
  const p99 = b.median_p99_ratio;
  if (p99 === null || !(p99 > limit) || b.median_ratio === null || b.median_ratio > limit) return '';
  // Digits enough to read above the limit (a re-test: 1.1004 at tolerance 0.1 read "p99 ratio 1.10: a slower tail").
  let digits = 2;
  while (digits < 6 && Number(p99.toFixed(digits)) <= limit) digits++;
  return `, p99 ratio ${p99.toFixed(digits)}: a slower tail`;
}

/** The reason line's clause on shadow deployments ('' without any). */
function shadowNote(sh: Evidence['shadow']): string {
  if (!sh) return '';
  const counts = ([['BETTER', sh.better], ['WORSE', sh.worse], ['EQUIVALENT', sh.equivalent], ['INCONCLUSIVE', sh.inconclusive]] as const).filter(([, n]) => n > 0).map(([v, n]) => `${v} ${n}`).join(', ');
  const ratios = sh.against.filter((b) => b.median_ratio !== null).map((b) => `${b.median_ratio!.toFixed(2)} against ${b.chip} (${b.windows}${slowerTail(b)})`);
  // A baseline whose windows gave no ratio (INCONCLUSIVE without one) is said as such (a trial read "median latency ratio no ratio against …").
  const none = sh.against.filter((b) => b.median_ratio === null).map((b) => `${b.chip} (${b.windows})`);
  return `; shadow deployments: ${counts} of ${sh.windows} window(s) (${sh.pairs} paired requests)`
    + `${ratios.length ? `, median latency ratio ${ratios.join(', ')}` : ''}${none.length ? `, no latency ratio yet against ${none.join(', ')}` : ''}`;
}

/**
 * The clause for a chip whose shadow verdicts point the other way from its rank: ranked below a production chip its
 * shadows beside it measured faster (median ratio < 1), or above one they measured slower (> 1). Both can hold: the
 * rank is by the predicted percentile at the requested rate, the verdicts compare medians of the same requests at
 * those servers' own loads (a trial read a BETTER 8 of 8, ratio 0.69, below the chip it was measured against as a
 * contradiction). '' when nothing points the other way.
 * @param rankOf  Chip id → its rank (1 = first) in this answer.
 * @param input   The request (the percentile, rate and objective the rank is by).
 */
function shadowRankNote(row: { chip: string; evidence: Evidence; meets_slo: boolean }, rankOf: ReadonlyMap<string, number>, input: RecommendInput): string {
  const mine = rankOf.get(row.chip)!;
  const against = (row.evidence.shadow?.against ?? []).filter((b) => {
    const theirs = rankOf.get(b.chip);
    return b.median_ratio !== null && theirs !== undefined && ((b.median_ratio < 1 && theirs < mine) || (b.median_ratio > 1 && theirs > mine));
  });
  if (against.length === 0) return '';
  const which = against.map((b) => `${b.median_ratio! < 1 ? 'below' : 'above'} ${b.chip}, though beside its servers this chip's shadows took ${b.median_ratio!.toFixed(2)}× their latency on the same requests (median ratio)`).join('; ');
  // With objective cost, chips that meet the SLO go by cost; those that miss it by the predicted percentile, as without (a re-test).
  const percentile = `the predicted ${input.slo.percentile === 0.9 ? 'p90' : 'p99'} at ${rate(input.rps)} req/s`;
  const by = input.objective === 'cost' ? (row.meets_slo ? 'the SLO, then the cost' : `the SLO, then (missing it) ${percentile}`) : percentile;
  return `; ranked ${which}: the rank is by ${by}, the shadows' ratio by the median at those servers' own loads`;
}

/** The rate asked about: as {@link rate} where that reads its value, else as given (rounded, 3.86 read "3.9": a trial). */
const askedRate = (r: number): string => (Number(rate(r)) === r ? rate(r) : String(Number(r.toPrecision(9))));

/** The SLO: as {@link fmt} where that reads its value, else as given (rounded, 49.96 read "50.0" beside a p99 of 50.0: a trial). */
const sloText = (ms: number): string => (Number(fmt(ms)) === ms ? fmt(ms) : String(Number(ms.toPrecision(9))));

/**
 * A latency printed as `text` beside the SLO it is judged against, ms: `text` where it reads on the latency's side of the
 * SLO, else the latency with as many significant digits as put it there (49.95 against 49.96 read "50.0": a trial).
 */
export function onItsSide(text: string, ms: number, sloMs: number): string {
  for (let digits = 3; Number.isFinite(ms) && (ms <= sloMs) !== (Number(text) <= sloMs) && digits <= 17; digits++) text = String(Number(ms.toPrecision(digits)));
  return text;
}

/** A latency beside the SLO it is judged against, ms: as {@link fmt}, on its side ({@link onItsSide}). */
const levelText = (ms: number, sloMs: number): string => onItsSide(fmt(ms), ms, sloMs);

/** A rate for a reason line: 3 significant digits, no exponent below 10^15. */
const rate = (r: number): string => (Number.isInteger(r) && r < 1e15 ? String(r) : r >= 100 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : String(Number(r.toPrecision(3))));

/** Why a recommendation ranked and skipped no chip: the warehouse knows none (the CLI's exit 2, the API's 503). */
export const NO_CHIP_KNOWN = 'no chip is known: import a benchmark (`edgelat import benchmark`), import a chip catalog (`edgelat chips import`) or run the demo';

/**
 * A rate rounded down to `digits` significant digits (a highest load within the SLO must not read as a load that
 * misses it: 3.999996 is 3.99, not 4.0). 0 and non-finite rates are returned as they are.
 */
export function floorSignificant(r: number, digits: number): number {
  if (!(r > 0) || !Number.isFinite(r)) return r;
  const unit = 10 ** (Math.floor(Math.log10(r)) - digits + 1);
  const down = Math.floor(r / unit + 1e-9) * unit;
  return Number(down.toPrecision(digits));
}

/**
 * Significant digits of the highest load within the SLO wherever it is printed: the reason's "meets it up to …
 * req/s" and the `max rps` column of `edgelat recommend` (both rounded down by {@link floorSignificant}).
 */
export const MAX_RPS_DIGITS = 4;

/**
 * A measured figure at the load this far from the curve through all the fleet's measured loads (either way, as a
 * ratio) has the reason give the curve's figure beside it: a nearest-rank p99 of a few hundred requests is one of
 * their slowest few, so neighbouring buckets' figures can differ several-fold (a trial: the Xavier's resnet50 p99 was
 * measured 28.2 ms at 0.5 req/s and 40.9 at 1.5, where the curve gives 16.9 ms at 1).
 */
export const NOISY_MEASURED_RATIO = 1.25;

const fmt = (ms: number): string => (!Number.isFinite(ms) ? '∞' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 0.01 ? ms.toFixed(2) : ms.toPrecision(2));

/**
 * Geometric-mean calibration of the law to measured points, per percentile, clamped to [0.25, 4].
 * @param points  Measured quantiles at rates (requests/s); points where the law saturates are skipped.
 */
export function calibrate(service: ServiceTime, workers: number, points: readonly MeasuredQuantiles[]): { p50: number; p90: number; p99: number } {
  const out = { p50: 1, p90: 1, p99: 1 };
  for (const [name, alpha] of QUANTILES) {
    const logs: number[] = [];
    for (const pt of points) {
      const law = latencyQuantile(service, pt.ratePerS, workers, alpha);
      if (Number.isFinite(law) && law > 0 && pt[name] > 0) logs.push(Math.log(pt[name] / law));
    }
    if (logs.length > 0) out[name] = Math.min(4, Math.max(0.25, Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length)));
  }
  return out;
}

/** p50 ≤ p90 ≤ p99 (independent calibrations of the percentiles must not cross). */
const ordered = (q: { p50: number; p90: number; p99: number }) => ({ p50: q.p50, p90: Math.max(q.p50, q.p90), p99: Math.max(q.p50, q.p90, q.p99) });

/**
 * The law's curve for one chip: latency(λ) = law(effectiveRate(λ)) · calibration (per percentile), ms.
 * `knots` empty: effectiveRate(λ) = λ (the law as calibrated by the candidate). Otherwise the effective
 * rate (requests/s the law queues: the fleet's server also queues other traffic) is piecewise linear
 * through the knots (rate, effective rate), non-decreasing, proportional to λ below the first knot and
 * above the last.
 */
export interface FittedCurve {
  /** (rate, effective rate) pairs, requests/s, rates increasing and effective rates non-decreasing; empty: the plain law. */
  knots: readonly { rate: number; effective: number }[];
  /** Multiplier of the law's latency per percentile (> 0). */
  calibration: { p50: number; p90: number; p99: number };
  /** Measured loads the curve was pinned to (0: the law as calibrated by the candidate). */
  points: number;
}

/**
 * Weighted isotonic (non-decreasing) regression by pool-adjacent-violators (Barlow, Bartholomew, Bremner &
 * Brunk, Statistical Inference under Order Restrictions, 1972, ch. 1): the non-decreasing sequence closest
 * to `y` in weighted least squares.
 * @param y  Values in order.
 * @param w  Weights (> 0), same length.
 * @returns  The fitted values, same length.
 */
export function isotonic(y: readonly number[], w: readonly number[]): number[] {
  const blocks: { mean: number; weight: number; size: number }[] = [];
  y.forEach((v, i) => {
    blocks.push({ mean: v, weight: w[i]!, size: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2]!.mean > blocks[blocks.length - 1]!.mean) {
      const b = blocks.pop()!;
      const a = blocks[blocks.length - 1]!;
      a.mean = (a.mean * a.weight + b.mean * b.weight) / (a.weight + b.weight);
      a.weight += b.weight;
      a.size += b.size;
    }
  });
  return blocks.flatMap((b) => Array<number>(b.size).fill(b.mean));
}

/** The effective rate of a curve at λ (requests/s; see {@link FittedCurve}). */
export function effectiveRate(curve: FittedCurve, rate: number): number {
  const k = curve.knots;
  if (k.length === 0) return rate;
  const first = k[0]!;
  if (rate <= first.rate) return (rate * first.effective) / first.rate;
  for (let i = 1; i < k.length; i++) {
    const a = k[i - 1]!;
    const b = k[i]!;
    if (rate <= b.rate) return a.effective + ((rate - a.rate) * (b.effective - a.effective)) / (b.rate - a.rate);
  }
  const last = k[k.length - 1]!;
  return (rate * last.effective) / last.rate;
}

/**
 * The highest λ whose effective rate is at most `effective` (requests/s): the inverse of
 * {@link effectiveRate}, which is non-decreasing; Infinity when no λ reaches it.
 */
export function rateAtEffective(curve: FittedCurve, effective: number): number {
  const k = curve.knots;
  if (k.length === 0) return effective;
  const last = k[k.length - 1]!;
  if (effective >= last.effective) return last.effective > 0 ? (effective * last.rate) / last.effective : Number.POSITIVE_INFINITY;
  // The first knot above it bounds the answer; the segment up to it (or the proportional part) holds it.
  const i = k.findIndex((x) => x.effective > effective);
  const b = k[i]!;
  const a = i === 0 ? { rate: 0, effective: 0 } : k[i - 1]!;
  return a.rate + ((effective - a.effective) * (b.rate - a.rate)) / (b.effective - a.effective);
}

/**
 * Pin the queueing law to the fleet's measured loads of a (model, chip): one curve per chip, pinned at the
 * measured p99s, whatever the SLO (target or percentile) or the rate asked about (a trial: the Pi's resnet50 at 6 req/s was
 * unbounded at an SLO of 50 ms, 164 s at 5 s and unbounded again at 100 s, when the rate scale moved with the target).
 * - The measured p99s (loads with ≥ {@link MIN_MEASURED_REQUESTS} requests, in rate order) are made
 *   non-decreasing in load: isotonic regression of their logs weighted by the requests ({@link isotonic}), so a
 *   noisy bucket does not make latency fall as load rises.
 * - Each load r gets the effective rate at which the law's percentile equals its fitted value
 *   (`maxRateWithin`; 0 at or below the idle law); the curve is linear between loads and proportional below
 *   the first and above the last ({@link FittedCurve}). It passes through every fitted value, so where the
 *   measured outcomes are monotone in load, the highest load within any SLO lies between the highest load
 *   that met it and the lowest that missed it.
 * - When at most half the loads lie above the idle law (the law overestimates the service time): the plain
 *   law times the candidate's calibration.
 * @returns The curve; `points` = 0 when nothing was measured.
 */
export function fitCurve(c: ChipCandidate): FittedCurve {
  // Pinned at the measured p99s whatever the SLO's percentile: queueing shows most in the tail, and one curve
  // gives one latency at a load (a re-test: bert-99 on the AI 100 at 40 req/s was unbounded under a p99 SLO and
  // 190 ms at p99 under a p90 one, when each percentile drew its own curve).
  const sloName = 'p99';
  const slo = { percentile: 0.99 };
  const pts = c.curve.filter((p) => p.n >= MIN_MEASURED_REQUESTS && p.ratePerS > 0 && p[sloName] > 0).sort((a, b) => a.ratePerS - b.ratePerS);
  const plain: FittedCurve = { knots: [], calibration: { ...c.calibration }, points: pts.length };
  if (pts.length === 0) return plain;
  const idle = latencyQuantile(c.service, 0, c.workers, slo.percentile);
  if (2 * pts.filter((p) => p[sloName] > idle).length <= pts.length) return plain;
  const fitted = isotonic(pts.map((p) => Math.log(p[sloName])), pts.map((p) => p.n)).map(Math.exp);
  // Loads measured at one rate twice (dedicated and pooled are never mixed, but buckets may repeat) keep the last.
  const knots: { rate: number; effective: number }[] = [];
  pts.forEach((p, i) => {
    const effective = fitted[i]! > idle ? maxRateWithin(c.service, c.workers, slo.percentile, fitted[i]!) : 0;
    if (knots.length > 0 && knots[knots.length - 1]!.rate === p.ratePerS) knots[knots.length - 1]!.effective = Math.max(knots[knots.length - 1]!.effective, effective);
    else knots.push({ rate: p.ratePerS, effective: Math.max(effective, knots[knots.length - 1]?.effective ?? 0) });
  });
  return { knots, calibration: { p50: 1, p90: 1, p99: 1 }, points: pts.length };
}

function rankOne(c: ChipCandidate, input: RecommendInput): Omit<ChipRecommendation, 'rank'> & { capacity: number } {
  const { rps, slo } = input;
  const sloName = slo.percentile === 0.9 ? 'p90' : 'p99';
  // At 0 req/s the answer is the idle one: the fleet's requests in the lowest load bucket ran beside
  // their servers' other traffic (a server at 0.3 req/s of this model may be busy with another).
  const curve = fitCurve(c);
  const { calibration, points } = curve;
  // The curve's points are all of one kind of traffic (evidence.ts `measuredByTraffic`).
  const dedicatedCurve = c.curve.some((p) => p.dedicated);
  // A chip dedicated to the model queues at least its own requests: its effective rate at λ is at least λ. Where the
  // curve's loads are its servers' (other models' traffic included), their rate is not the model's own, and the curve
  // can read less queueing at λ than λ alone makes (a trial: resnet50 on the RK3588 "met" p99 5 s at 20 req/s, where
  // its one worker at 91.5 ms a request on average carries 10.9).
  const effective = (rate: number): number => (dedicatedCurve ? effectiveRate(curve, rate) : Math.max(rate, effectiveRate(curve, rate)));
  const ownCapacity = (c.workers / serviceMoments(c.service).meanMs) * 1000;
  // A measured figure of shared servers at a load a chip dedicated to the model cannot carry is not its figure there.
  const useMeasured = rps > 0 && c.measured !== null && c.measured.n >= MIN_MEASURED_REQUESTS && (c.measured.dedicated || rps < ownCapacity);
  const law = (rate: number) => ordered(Object.fromEntries(QUANTILES.map(([n, a]) => [n, latencyQuantile(c.service, effective(rate), c.workers, a) * calibration[n]])) as { p50: number; p90: number; p99: number });
  const atLoad = useMeasured ? ordered({ p50: c.measured!.p50, p90: c.measured!.p90, p99: c.measured!.p99 }) : law(rps);
  // Idle is the law's, one request alone, whatever load is asked about: the same curve gives it, the highest load
  // within the SLO and "one request alone exceeds it". (Trials: capped at the figure measured at the requested load,
  // the RK3588's idle p50 was 90.8, 85.3 and 89.8 ms at 0, 0.5 and 3 req/s; capped at the lowest measured at any
  // load, bert-99 on the Orin showed idle p99 9.45 ms within an SLO of 10 ms beside "one request alone exceeds it".)
  // A bucket's measured figure can be below it where the law reads the chip a little slow.
  const idle = law(0);
  // Six significant digits, rounded down: the bisection's and the pin's float noise (3.9999960000040007) are not figures.
  // A rough estimate's highest load within the SLO is the one it keeps one sd slower, as its meets_slo (below).
  // `evidence.estimate_log_sd` (a catalog estimate): the SLO counts as met only when it is also met with the compute e^{sd} slower.
  const sd = c.evidence.estimate_log_sd;
  const slowed = sd === undefined ? null : { ...c.service, computeMedianMs: c.service.computeMedianMs * Math.exp(sd) };
  const lawMax = maxRateWithin(slowed ?? c.service, c.workers, slo.percentile, slo.ms, calibration[sloName]);
  // The highest λ whose effective rate is within the law's limit (≤ that limit itself unless the curve is the model's own).
  const rateAt = (limit: number): number => (dedicatedCurve ? rateAtEffective(curve, limit) : Math.min(limit, rateAtEffective(curve, limit)));
  const maxRps = lawMax > 0 ? floorSignificant(rateAt(lawMax), 6) : 0;
  // Whether that highest load is a dedicated chip's own (its own requests' queue), below the curve's.
  const ownMax = !dedicatedCurve && curve.knots.length > 0 && lawMax > 0 && lawMax < rateAtEffective(curve, lawMax);
  // The load at which the curve saturates (where its effective rate reaches a dedicated chip's c/E[S]).
  const capacity = rateAt(ownCapacity);
  // Whether that load is the chip's own limit (its workers over its mean service time), not the curve's.
  const ownLimit = !dedicatedCurve && curve.knots.length > 0 && capacity === ownCapacity;
  // A measurement at this load that meets the SLO above the load the curve through all the fleet's loads allows is
  // outvoted by them (a trial: xavier met p99 50 ms at 15 req/s in one bucket, missed it at 12, and saturates at 16):
  // a deployment decision takes the miss. A measured miss below that load stays a miss (measured beats predicted).
  const outvoted = useMeasured && atLoad[sloName] <= slo.ms && rps > maxRps;
  // A rough estimate meets the SLO only if it also does one sd slower (a trial: a catalog chip "met" p99 1.2 ms at 1.07).
  const slower = slowed === null ? null : latencyQuantile(slowed, effective(rps), c.workers, slo.percentile) * calibration[sloName];
  const unsure = atLoad[sloName] <= slo.ms && !outvoted && ((slower !== null && !(slower <= slo.ms)) || c.lowerBound === true);
  const meets = atLoad[sloName] <= slo.ms && !outvoted && !unsure;
  // At 0 req/s the cost is priced at the highest load within the SLO, where one is vouched for: a rough estimate that
  // "may miss" even idle vouches for none (a trial: a catalog chip counted as a miss was priced at its 520 req/s).
  const costRate = rps > 0 ? rps : meets ? maxRps : 0;
  const perMillion = c.chip.price_per_hour !== null && costRate > 0 && Number.isFinite(atLoad[sloName]) ? (c.chip.price_per_hour / (3600 * costRate)) * 1e6 : null;
  const cost = perMillion !== null && Number.isFinite(perMillion) ? perMillion : null;
  // Failed requests are in the figures at the latency they took (what callers waited): said, so that a p99 within the SLO
  // with 2 % timed out does not read as a clean pass (a trial).
  const failed = useMeasured && c.measured!.failed > 0 ? `, ${c.measured!.failed} of them failed (timeout or error) and count at the latency they took` : '';
  const how = useMeasured ? `measured in the fleet (${c.measured!.n} requests at this load${c.measured!.dedicated ? ' on servers running only this model' : ', other models\' traffic included'}${failed})` : `${rps === 0 ? 'idle, ' : ''}predicted from ${c.basis}`;
  const curveTraffic = dedicatedCurve ? 'on servers running only this model' : "its server's other traffic included";
  const level = Number.isFinite(atLoad[sloName]) ? `${sloName} ${levelText(atLoad[sloName], slo.ms)} ms` : (curve.knots.length === 0 ? `the load exceeds the chip's capacity of ${rate(capacity)} req/s` : ownLimit
    ? `the load exceeds the ${rate(capacity)} req/s a chip dedicated to the model carries (${c.workers} worker(s), ${fmt(serviceMoments(c.service).meanMs)} ms a request on average; the fleet's loads of it are its servers', other models' traffic included)`
    : `the load exceeds the ${rate(capacity)} req/s the chip carries ${dedicatedCurve ? "by the curve through the fleet's measured loads" : "under the fleet's traffic"}`);
  // From an upper bound a miss is not shown, only possible.
  const verdict = meets ? 'meets' : c.upperBound || outvoted || unsure ? 'may miss' : 'misses';
  const reason = `${verdict} ${sloName} ${sloText(slo.ms)} ms at ${askedRate(rps)} req/s: ${level}, ${how}; `
    + (maxRps > 0 ? `meets it up to ${floorSignificant(maxRps, MAX_RPS_DIGITS)} req/s by the law${points > 0 ? ` fitted to the fleet's ${points} measured load(s) (${curveTraffic})` : ''}` : `even one request alone exceeds it by the law${c.upperBound ? ' at this upper bound' : ''}`)
    + (outvoted ? (ownMax
      ? `; the measurement at this load (its servers' traffic) meets the SLO, but a chip dedicated to the model, queueing its own ${rate(rps)} req/s, meets it only up to ${floorSignificant(maxRps, MAX_RPS_DIGITS)}: counted as a miss`
      : `; the measurement at this load meets the SLO, but the curve through all measured loads does not: counted as a miss`) : '')
    + (unsure && c.lowerBound ? `; the estimate meets the SLO, but it is ${c.upperBound ? 'no bound either way' : 'a lower bound'}: counted as a miss` : '')
    + (unsure && !c.lowerBound ? `; the estimate meets the SLO, but one sd slower (compute ×${Math.exp(sd!).toFixed(1)}) its ${sloName} is ${Number.isFinite(slower!) ? `${fmt(slower!)} ms` : 'unbounded'}: counted as a miss` : '')
    + (useMeasured && !meets && !outvoted && rps <= maxRps ? '; the measurement at this load misses the SLO although the curve through all measured loads meets it' : '')
    + noisyNote(useMeasured ? c.measured : null, curve.knots.length > 0 ? law(rps)[sloName] : null, sloName, slo.percentile, atLoad[sloName])
    + shadowNote(c.evidence.shadow);
  const finite = (q: { p50: number; p90: number; p99: number }) => ({ p50: fin(q.p50), p90: fin(q.p90), p99: fin(q.p99) });
  return {
    chip: c.chip.chip, kind: c.chip.kind, vendor: c.chip.vendor,
    at_load: finite(atLoad), idle: finite(idle), meets_slo: meets, max_rps_within_slo: maxRps, cost_per_million: cost, price_per_hour: c.chip.price_per_hour,
    evidence: useMeasured ? { ...c.evidence, measured_requests: c.measured!.n, measured_failed: c.measured!.failed } : c.evidence, reason, capacity,
  };
}

/**
 * The reason's note on a measured figure at the load far from the curve through all the fleet's measured loads
 * (beyond {@link NOISY_MEASURED_RATIO} either way): the curve's figure, and how few requests the measured one rests on
 * (nearest rank: the ⌈p·n⌉-th of n, so n − ⌈p·n⌉ + 1 requests at or above it). '' otherwise.
 * @param measured  The measured bucket at the load, or null when the figure is not a measurement.
 * @param curveMs   The curve's figure at the load, ms, or null when no curve is pinned to measured loads.
 */
function noisyNote(measured: MeasuredQuantiles | null, curveMs: number | null, name: string, p: number, measuredMs: number): string {
  if (measured === null || curveMs === null || !Number.isFinite(curveMs) || !(curveMs > 0) || !(measuredMs > 0)) return '';
  if (Math.abs(Math.log(measuredMs / curveMs)) <= Math.log(NOISY_MEASURED_RATIO)) return '';
  const tail = measured.n - Math.ceil(p * measured.n - 1e-9) + 1;
  return `; the measured ${name} is the ${tail === 1 ? 'slowest' : `${ordinal(tail)} slowest`} of ${measured.n} requests, and the curve through all measured loads gives ${fmt(curveMs)} ms here`;
}

/** 2 → "2nd", 3 → "3rd", 11 → "11th", 22 → "22nd". */
function ordinal(k: number): string {
  const teen = k % 100 >= 11 && k % 100 <= 13;
  return `${k}${teen ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[k % 10] ?? 'th'}`;
}

/**
 * Rank candidate chips (see the module doc for the rules).
 * @throws {RangeError} if slo.ms ≤ 0 or rps < 0 (validated before, so a programmer error).
 */
export function recommendChips(input: RecommendInput, candidates: readonly ChipCandidate[], skipped: { chip: string; reason: string }[] = []): RecommendResponse {
  if (!(input.slo.ms > 0)) throw new RangeError(`slo.ms: expected > 0, got ${JSON.stringify(input.slo.ms)}`);
  if (!(input.rps >= 0)) throw new RangeError(`rps: expected ≥ 0, got ${JSON.stringify(input.rps)}`);
  const sloName = input.slo.percentile === 0.9 ? 'p90' : 'p99';
  const rows = candidates.map((c) => rankOne(c, input));
  // Among chips that cannot carry the load (all ∞), the one closest to carrying it first.
  const key = (r: Omit<ChipRecommendation, 'rank'>): number => (input.objective === 'cost' && r.meets_slo ? (r.cost_per_million ?? Number.POSITIVE_INFINITY) : inf(r.at_load[sloName]));
  const order = (x: number, y: number): number => (x === y ? 0 : x < y ? -1 : 1);
  // A catalog estimate (nothing measured on the chip) ranks after the chips with evidence that meet the SLO alike.
  const rough = (r: Omit<ChipRecommendation, 'rank'>): number => Number(r.evidence.kind === 'catalog');
  rows.sort((a, b) => Number(b.meets_slo) - Number(a.meets_slo) || rough(a) - rough(b) || order(key(a), key(b)) || order(inf(a.at_load[sloName]), inf(b.at_load[sloName]))
    || b.max_rps_within_slo - a.max_rps_within_slo || b.capacity - a.capacity || byCodeUnits(a.chip, b.chip));
  const rankOf = new Map(rows.map((r, i) => [r.chip, i + 1]));
  return {
    model: input.model, slo: { ...input.slo }, rps: input.rps, queueing_law: QUEUEING_LAW,
    chips: rows.map(({ capacity: _capacity, ...r }, i) => ({ rank: i + 1, ...r, reason: r.reason + shadowRankNote(r, rankOf, input) })), skipped,
  };
}
