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
 * - idle = the law at λ = 0 (one request alone), times the calibration, and at most the measured quantile at λ
 *   where the fleet measured it (latency does not fall as load rises);
 * - one latency-versus-load curve per chip, whatever λ is asked about ({@link fitCurve}): where the
 *   fleet measured the pair at some loads, the law is pinned to those measurements by scaling the
 *   arrival rate (the fleet's server also queues other models), moved so that the highest load
 *   within the SLO contradicts the fewest measured loads (none when the measured outcomes are
 *   monotone in load); idle and max_rps_within_slo come from that curve, so they do not move with
 *   the requested λ;
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
import type { ChipInfo, ChipRecommendation, Evidence, RecommendResponse } from './types.ts';

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
  /** The service time is a lower bound (a catalog chip faster than every chip it was moved from): a meet is "may miss". */
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

/** The reason line's clause on shadow deployments ('' without any). */
function shadowNote(sh: Evidence['shadow']): string {
  if (!sh) return '';
  const counts = ([['BETTER', sh.better], ['WORSE', sh.worse], ['EQUIVALENT', sh.equivalent], ['INCONCLUSIVE', sh.inconclusive]] as const).filter(([, n]) => n > 0).map(([v, n]) => `${v} ${n}`).join(', ');
  const ratios = sh.against.map((b) => `${b.median_ratio === null ? 'no ratio' : b.median_ratio.toFixed(2)} against ${b.chip} (${b.windows})`);
  return `; shadow deployments: ${counts} of ${sh.windows} window(s) (${sh.pairs} paired requests), median latency ratio ${ratios.join(', ')}`;
}

/** A rate for a reason line: 3 significant digits, no exponent below 10^15. */
const rate = (r: number): string => (Number.isInteger(r) && r < 1e15 ? String(r) : r >= 100 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : String(Number(r.toPrecision(3))));

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

/** The law's curve for one chip: latency(λ) = law(λ · rateScale) · calibration (per percentile). */
export interface FittedCurve {
  /** Multiplier of the arrival rate (> 0): the fleet's server queues the model behind other traffic. */
  rateScale: number;
  /** Multiplier of the law's latency per percentile (> 0). */
  calibration: { p50: number; p90: number; p99: number };
  /** Measured loads the curve was pinned to (0: the law as calibrated by the candidate). */
  points: number;
}

/**
 * Pin the queueing law to the fleet's measured loads of a (model, chip), independent of the rate asked about.
 * - Each measured load r (≥ {@link MIN_MEASURED_REQUESTS} requests) whose SLO percentile y lies above the idle law
 *   gives a pin m_r: the effective rate at which the law's percentile equals y (`maxRateWithin`), / r.
 *   A load measured at or below the idle law pins m_r = 0.
 * - When more than half the loads lie above the idle law, rateScale = the lower median of the pins, then moved so
 *   that the load up to which the curve meets the SLO contradicts the fewest measured loads (one that met the SLO
 *   above it, or one that missed at or below it; none when the outcomes are monotone in load), the nearest to the
 *   median's on ties; calibration 1.
 * - Otherwise (the law overestimates the service time) rateScale 1 and the candidate's calibration.
 * @returns The curve; `points` = 0 when nothing was measured.
 */
export function fitCurve(c: ChipCandidate, slo: RecommendInput['slo']): FittedCurve {
  const sloName = slo.percentile === 0.9 ? 'p90' : 'p99';
  const pts = c.curve.filter((p) => p.n >= MIN_MEASURED_REQUESTS && p.ratePerS > 0 && p[sloName] > 0);
  const scaled: FittedCurve = { rateScale: 1, calibration: { ...c.calibration }, points: pts.length };
  if (pts.length === 0) return scaled;
  const idle = latencyQuantile(c.service, 0, c.workers, slo.percentile);
  // The pin of a load: the highest rate at which the law's percentile is within the measured one (the law's own bisection).
  const pins = pts.map((p) => (p[sloName] > idle ? maxRateWithin(c.service, c.workers, slo.percentile, p[sloName]) / p.ratePerS : 0)).sort((a, b) => a - b);
  if (2 * pins.filter((m) => m > 0).length <= pins.length) return scaled; // then the lower median would be 0: no queueing to pin
  let m = pins[Math.floor((pins.length - 1) / 2)]!;
  const lawMax = maxRateWithin(c.service, c.workers, slo.percentile, slo.ms);
  if (lawMax > 0) {
    // The curve meets the SLO up to t = lawMax / m. Move t to the value that contradicts the fewest measured loads
    // (a load that met it lies above t, or one that missed lies at or below it), the nearest to the median's t on ties:
    // none when the outcomes are monotone in load.
    const met = pts.filter((p) => p[sloName] <= slo.ms).map((p) => p.ratePerS);
    const missed = pts.filter((p) => p[sloName] > slo.ms).map((p) => p.ratePerS);
    const contradictions = (t: number): number => met.filter((r) => r > t).length + missed.filter((r) => r <= t).length;
    const t0 = lawMax / m;
    let best = t0;
    for (const t of [...met, ...missed.map((r) => r * (1 - 1e-6))]) {
      const d = contradictions(t) - contradictions(best);
      if (d < 0 || (d === 0 && Math.abs(Math.log(t / t0)) < Math.abs(Math.log(best / t0)))) best = t;
    }
    m = lawMax / best;
  }
  return { rateScale: Math.max(1e-6, m), calibration: { p50: 1, p90: 1, p99: 1 }, points: pts.length };
}

function rankOne(c: ChipCandidate, input: RecommendInput): Omit<ChipRecommendation, 'rank'> & { capacity: number } {
  const { rps, slo } = input;
  const sloName = slo.percentile === 0.9 ? 'p90' : 'p99';
  // At 0 req/s the answer is the idle one: the fleet's requests in the lowest load bucket ran beside
  // their servers' other traffic (a server at 0.3 req/s of this model may be busy with another).
  const useMeasured = rps > 0 && c.measured !== null && c.measured.n >= MIN_MEASURED_REQUESTS;
  const { rateScale, calibration, points } = fitCurve(c, slo);
  const law = (rate: number) => ordered(Object.fromEntries(QUANTILES.map(([n, a]) => [n, latencyQuantile(c.service, rate * rateScale, c.workers, a) * calibration[n]])) as { p50: number; p90: number; p99: number });
  const atLoad = useMeasured ? ordered({ p50: c.measured!.p50, p90: c.measured!.p90, p99: c.measured!.p99 }) : law(rps);
  // Latency does not fall as load rises: a measurement at the load below the law's idle figure bounds it (a trial:
  // bert-99 on the Orin, idle p99 10.04 ms by the law against 9.81 ms measured at 6 req/s).
  const lawIdle = law(0);
  const idle = useMeasured ? ordered({ p50: Math.min(lawIdle.p50, atLoad.p50), p90: Math.min(lawIdle.p90, atLoad.p90), p99: Math.min(lawIdle.p99, atLoad.p99) }) : lawIdle;
  // Six significant digits, rounded down: the bisection's and the pin's float noise (3.9999960000040007) are not figures.
  // A rough estimate's highest load within the SLO is the one it keeps one sd slower, as its meets_slo (below).
  // `evidence.estimate_log_sd` (a catalog estimate): the SLO counts as met only when it is also met with the compute e^{sd} slower.
  const sd = c.evidence.estimate_log_sd;
  const slowed = sd === undefined ? null : { ...c.service, computeMedianMs: c.service.computeMedianMs * Math.exp(sd) };
  const maxRps = floorSignificant(maxRateWithin(slowed ?? c.service, c.workers, slo.percentile, slo.ms, calibration[sloName]) / rateScale, 6);
  // The load at which the curve saturates (a dedicated chip's c/E[S], divided by the rate scale of the fleet's traffic).
  const capacity = (c.workers / serviceMoments(c.service).meanMs) * 1000 / rateScale;
  // A measurement at this load that meets the SLO above the load the curve through all the fleet's loads allows is
  // outvoted by them (a trial: xavier met p99 50 ms at 15 req/s in one bucket, missed it at 12, and saturates at 16):
  // a deployment decision takes the miss. A measured miss below that load stays a miss (measured beats predicted).
  const outvoted = useMeasured && atLoad[sloName] <= slo.ms && rps > maxRps;
  // A rough estimate meets the SLO only if it also does one sd slower (a trial: a catalog chip "met" p99 1.2 ms at 1.07).
  const slower = slowed === null ? null : latencyQuantile(slowed, rps * rateScale, c.workers, slo.percentile) * calibration[sloName];
  const unsure = atLoad[sloName] <= slo.ms && !outvoted && ((slower !== null && !(slower <= slo.ms)) || c.lowerBound === true);
  const meets = atLoad[sloName] <= slo.ms && !outvoted && !unsure;
  const costRate = rps > 0 ? rps : maxRps;
  const perMillion = c.chip.price_per_hour !== null && costRate > 0 && Number.isFinite(atLoad[sloName]) ? (c.chip.price_per_hour / (3600 * costRate)) * 1e6 : null;
  const cost = perMillion !== null && Number.isFinite(perMillion) ? perMillion : null;
  const how = useMeasured ? `measured in the fleet (${c.measured!.n} requests at this load${c.measured!.dedicated ? ' on servers running only this model' : ', other models\' traffic included'})` : `${rps === 0 ? 'idle, ' : ''}predicted from ${c.basis}`;
  // The curve's points are all of one kind of traffic (evidence.ts `measuredByTraffic`).
  const dedicatedCurve = c.curve.some((p) => p.dedicated);
  const curveTraffic = dedicatedCurve ? 'on servers running only this model' : "its server's other traffic included";
  const level = Number.isFinite(atLoad[sloName]) ? `${sloName} ${fmt(atLoad[sloName])} ms` : (rateScale === 1 ? `the load exceeds the chip's capacity of ${rate(capacity)} req/s` : `the load exceeds the ${rate(capacity)} req/s the chip carries ${dedicatedCurve ? "by the curve through the fleet's measured loads" : "under the fleet's traffic"}`);
  // From an upper bound a miss is not shown, only possible.
  const verdict = meets ? 'meets' : c.upperBound || outvoted || unsure ? 'may miss' : 'misses';
  const reason = `${verdict} ${sloName} ${fmt(slo.ms)} ms at ${rate(rps)} req/s: ${level}, ${how}; `
    + (maxRps > 0 ? `meets it up to ${floorSignificant(maxRps, MAX_RPS_DIGITS)} req/s by the law${points > 0 ? ` fitted to the fleet's ${points} measured load(s) (${curveTraffic})` : ''}` : `even one request alone exceeds it by the law${c.upperBound ? ' at this upper bound' : ''}`)
    + (outvoted ? `; the measurement at this load meets the SLO, but the curve through all measured loads does not: counted as a miss` : '')
    + (unsure && c.lowerBound ? '; the estimate meets the SLO, but it is a lower bound: counted as a miss' : '')
    + (unsure && !c.lowerBound ? `; the estimate meets the SLO, but one sd slower (compute ×${Math.exp(sd!).toFixed(1)}) its ${sloName} is ${Number.isFinite(slower!) ? `${fmt(slower!)} ms` : 'unbounded'}: counted as a miss` : '')
    + (useMeasured && !meets && !outvoted && rps <= maxRps ? '; the measurement at this load misses the SLO although the curve through all measured loads meets it' : '')
    + shadowNote(c.evidence.shadow);
  const finite = (q: { p50: number; p90: number; p99: number }) => ({ p50: fin(q.p50), p90: fin(q.p90), p99: fin(q.p99) });
  return {
    chip: c.chip.chip, kind: c.chip.kind, vendor: c.chip.vendor,
    at_load: finite(atLoad), idle: finite(idle), meets_slo: meets, max_rps_within_slo: maxRps, cost_per_million: cost, evidence: c.evidence, reason, capacity,
  };
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
    || b.max_rps_within_slo - a.max_rps_within_slo || b.capacity - a.capacity || a.chip.localeCompare(b.chip));
  return {
    model: input.model, slo: { ...input.slo }, rps: input.rps, queueing_law: QUEUEING_LAW,
    chips: rows.map(({ capacity: _capacity, ...r }, i) => ({ rank: i + 1, ...r })), skipped,
  };
}
