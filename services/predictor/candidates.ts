/**
 * Build the recommender's candidates for one model from the warehouse: per
 * chip, the service time and its evidence, in this order of preference:
 * 1. fleet: the pair's own requests (io median, compute p50/p90), calibrated
 *    to the fleet's measured quantiles per load bucket;
 * 2. shadow: where no production server runs it on the chip, its shadow deployments' requests there
 *    (shadow_results: the production's requests served again on that chip; same figures as the fleet's,
 *    no load curve of its own);
 * 3. benchmark: the pair's SingleStream rows, which time the model alone, moved into service by
 *    {@link inServiceCorrection} (where some chip has both), plus the model's median i/o on the chips that
 *    measured it (0 where none did);
 * 4. predicted: a benchmark predictor (`predictBenchmark`; the backend passes
 *    the MLPerf system predictor over the warehouse's benchmarks,
 *    benchmark-predictor.ts; the model's i/o added as for a benchmark), else, for a model known only by its
 *    profile, or a known model with published MACs (a reference model itself), MACs scaling from the (other)
 *    reference models measured on the chip: a
 *    least-squares line of ln latency on ln MACs through the references (slope
 *    clamped to [0.3, 1.2]; with one reference, proportional to MACs). The
 *    references' MACs are published figures (data/model-profiles/reference-macs.csv).
 *    Its i/o is the median of the references' fleet i/o medians on the chip
 *    (where no reference ran there in the fleet: the median over every fleet chip; 0 with no fleet data).
 *    Below the smallest reference's MACs the line is held there (fixed costs dominate); above the largest it grows in
 *    proportion to the MACs from there; never below the chip's catalog peak's bound ({@link peakOpsFloorMs}).
 * 5. catalog: nothing measured on the chip, but its catalog peak ops/s (`chips import`): the model's
 *    median compute on the chips it was measured (or scaled) on and that have a peak, moved by the
 *    peaks ({@link scaleByPeakOps}); the model's i/o added as for a benchmark. A rough estimate (left out in turn, each of
 *    the 17 MLPerf medians on the six catalog chips came out within ×2.1 in the median, ×4.8 at worst:
 *    README), so it is ranked after the chips with evidence that meet the SLO alike.
 * A profile always counts as a new model (MACs scaling), even when its id
 * names a model the warehouse knows: give `model` to use the measurements.
 * Chips with none of these are skipped with a reason.
 */
import { normaliseChip } from '../model/chips.ts';
import { nearestRankQuantile } from '../model/gbt.ts';
import { median } from '../model/metrics.ts';
import { MAX_PREDICTION_LOG_SD } from './benchmark-predictor.ts';
import { readReferenceMacs } from '../simulator/reference-macs.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { uncountedSummary } from '../profiler/uncounted.ts';
import { validChips } from './chip-catalog.ts';
import {
  DEFAULT_SIGMA, supersededBenchmarkRounds, loadBenchmarkPairs, loadCatalog, loadFleetPairs, loadMeasuredAt, loadMeasuredCurve, loadShadowEvidence, measuredByTraffic, loadShadowPairs, loadWorkers, MIN_MEASURED_REQUESTS,
  type BenchmarkPair, type FleetPair,
} from './evidence.ts';
import { serviceFromPercentiles, Z90, type ServiceTime } from './queueing-law.ts';
import { calibrate, type ChipCandidate } from './recommend.ts';
import type { ChipInfo, ModelProfile, ShadowEvidence } from './types.ts';

/** Longest service time the recommender works with, ms (about 11.6 days: beyond it a prediction is not meaningful). */
export const MAX_SERVICE_MS = 1e9;

/** Published MACs of the reference models, by model id. */
export const REFERENCE_MACS: ReadonlyMap<string, number> = readReferenceMacs();

/** A benchmark latency predicted for a pair nobody measured: p90 ms and how many rows supported it. */
export type BenchmarkPredictor = (model: string, chip: string) => { p90Ms: number; rows: number; logSd?: number } | null;

/** What to build candidates for. */
export interface CandidateRequest {
  /** Model id (a known one, or the profile's). */
  model: string;
  /** The model's profile when it is not a known model (MACs scaling). */
  profile?: ModelProfile;
  /** Requested rate, requests/s. */
  rps: number;
  /** Candidate chip ids; default the catalog plus every chip the fleet or a benchmark ran the model on. */
  chips?: string[];
  predictBenchmark?: BenchmarkPredictor;
}

/** A benchmark's p50, ms: its own, else from its p90 with the default spread. */
const benchP50 = (b: BenchmarkPair): number => (b.p50Ms !== null && b.p50Ms <= b.p90Ms ? b.p50Ms : b.p90Ms * Math.exp(-Z90 * DEFAULT_SIGMA));

const benchService = (b: BenchmarkPair): ServiceTime => serviceFromPercentiles(benchP50(b), b.p90Ms);

/** Factor between a chip's fastest and slowest system's p90 of one model beyond which the answer names the spread. */
export const STACK_SPREAD_FACTOR = 3;

/**
 * The spread of a chip's systems where it is wide: `; the systems' p90 range 6.01–95.7 ms (the systems differ in software stack, OS or settings;
 * the fastest: v1.1/closed/Lenovo/T4x1_TRT)`, else `''`. The answer reads the lower median over systems; a trial read
 * a T4's bert-99 at 83 ms from four reference PyTorch/ONNX Runtime runs beside two TensorRT ones at 6.0 ms, and nothing
 * said so.
 */
export function stackSpreadText(b: BenchmarkPair): string {
  if (b.rows < 2 || b.fastestP90Ms === undefined || b.slowestP90Ms === undefined || !(b.slowestP90Ms > STACK_SPREAD_FACTOR * b.fastestP90Ms)) return '';
  const ms = (v: number): string => String(Number(v.toPrecision(3)));
  return `; the systems' p90 range ${ms(b.fastestP90Ms)}–${ms(b.slowestP90Ms)} ms (the systems differ in software stack, OS or settings; the fastest: ${b.fastestSystem})`;
}

const fleetService = (f: FleetPair): ServiceTime =>
  serviceFromPercentiles(f.ioMedianMs + f.computeP50Ms, f.ioMedianMs + Math.max(f.computeP50Ms, f.computeP90Ms), f.ioMedianMs);


/**
 * How a lab benchmark of the model moves into service, from the chips where both its in-service compute
 * (fleet or shadow requests) and a benchmark with a p50 are known. A benchmark times the kernel alone on
 * a quiet system; in service the runtime, the input and the host's other work multiply into it. For
 * independent log-normal factors the log-medians and the log-variances add (the reproductive property of
 * the lognormal: Aitchison & Brown, The Lognormal Distribution, 1957), so per chip i
 * - the in-service factor is ln fᵢ = ln(compute p50 in service / benchmark p50),
 * - the host's log-variance is vᵢ = max(0, σ²_service − σ²_bench), with σ = ln(p90 / p50) / z₀.₉₀,
 * and the model's correction is their medians over those chips (the gate's chip change adds the host's
 * part the same way: gate-replay.ts `benchmarkSpreadRatio`). A trial: after an MLPerf import, chips known
 * only from benchmarks ranked above measured chips of their class on kernel time with a lab spread
 * (σ ≈ 0.02 against ≈ 0.1 in the fleet).
 * @param inService  Per chip, the model's in-service compute p50 / p90, ms (> 0).
 * @param bench      Per chip, the model's benchmark pair (a p90-only pair does not count).
 * @returns `factor` (× the benchmark's compute, > 0), `hostVariance` (added to σ², ≥ 0) and the chips
 *          used; null when no chip has both.
 */
export function inServiceCorrection(inService: ReadonlyMap<string, { computeP50Ms: number; computeP90Ms: number }>, bench: ReadonlyMap<string, BenchmarkPair>): { factor: number; hostVariance: number; chips: string[] } | null {
  const rows = [...inService].flatMap(([chip, s]) => {
    const b = bench.get(chip);
    if (!b || b.p50Ms === null || !(b.p50Ms > 0) || !(b.p90Ms >= b.p50Ms) || !(s.computeP50Ms > 0) || !(s.computeP90Ms >= s.computeP50Ms)) return [];
    const sigma = (p50: number, p90: number) => Math.log(p90 / p50) / Z90;
    return [{ chip, lnF: Math.log(s.computeP50Ms / b.p50Ms), v: Math.max(0, sigma(s.computeP50Ms, s.computeP90Ms) ** 2 - sigma(b.p50Ms, b.p90Ms) ** 2) }];
  });
  if (rows.length === 0) return null;
  return { factor: Math.exp(median(rows.map((r) => r.lnF))), hostVariance: median(rows.map((r) => r.v)), chips: rows.map((r) => r.chip).sort() };
}

/** Median compute of a model on a chip from any evidence, ms; null when unmeasured. */
function measuredMedian(fleet: FleetPair | undefined, bench: BenchmarkPair | undefined): number | null {
  if (fleet) return fleet.computeP50Ms;
  if (bench) return benchService(bench).computeMedianMs;
  return null;
}

/**
 * Predict a profiled model's median compute on a chip by MACs scaling (module doc). Below the smallest
 * reference's MACs the line is held at that reference's MACs: a model that small is dominated by fixed
 * costs (kernel launches, copies) the line does not see, and extrapolating it down gave microseconds. Above the
 * largest reference's MACs the latency grows in proportion to the MACs from the line's value there: the fixed costs
 * that make the line flatter than proportional among the references are spent, and more work runs at the largest
 * reference's rate (a trial: 30× bert-99's MACs came out at 5× its latency, faster than the chip's peak ops/s allows;
 * a re-test: a line steeper than proportional, slope up to 1.2, had grown 12× a decade where the reason said "in proportion").
 * @param refs  (MACs, median ms) of reference models measured on the chip.
 * @returns ms, or null without references or MACs.
 */
export function scaleByMacs(macs: number, refs: readonly { macs: number; ms: number }[]): number | null {
  if (!(macs > 0) || !Number.isFinite(macs) || refs.length === 0) return null;
  const largest = Math.max(...refs.map((r) => r.macs));
  const at = Math.min(Math.max(macs, Math.min(...refs.map((r) => r.macs))), largest);
  const xs = refs.map((r) => Math.log(r.macs));
  const ys = refs.map((r) => Math.log(r.ms));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const slope = sxx > 1e-9 ? Math.min(1.2, Math.max(0.3, xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / sxx)) : 1;
  const beyond = macs > largest ? Math.log(macs / largest) : 0;
  return Math.exp(my + slope * (Math.log(at) - mx) + beyond);
}

/**
 * The least median compute a chip's catalog peak allows, ms: 2 operations a multiply-add at the peak ops/s
 * (a roofline's compute bound, Williams, Waterman, Patterson, CACM 52(4), 2009); null without a peak.
 * @param macs     The model's MACs a request.
 * @param peakOps  The chip's peak ops/s from the catalog, or null.
 */
export function peakOpsFloorMs(macs: number, peakOps: number | null): number | null {
  return peakOps !== null && peakOps > 0 && Number.isFinite(peakOps) && macs > 0 ? (2 * macs / peakOps) * 1000 : null;
}

/**
 * Least log-sd given for a peak-ops transfer (also with fewer than 3 chips): the leave-one-out rms of
 * ln(predicted / measured) over the 17 (model, chip) MLPerf SingleStream medians of the six catalog
 * chips, 0.84 (median error ×2.1, worst ×4.8: README).
 */
export const PEAK_OPS_LOG_SD = 0.84;

/**
 * A model's median compute on a chip from its catalog peak ops/s: t = exp(median ln(tᵢ·Pᵢ)) / P over the
 * chips i it was measured on (a roofline's compute bound t = work / (efficiency · P), with the work over
 * efficiency taken from the other chips; Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009).
 * Every such chip counts: preferring chips of the target's kind gave the same leave-one-out error on the
 * MLPerf medians (median ×2.1 either way). Its log-sd: the sample sd of ln(tᵢ·Pᵢ) over those chips, at
 * least {@link PEAK_OPS_LOG_SD} (also with fewer than 3 chips).
 * @param peakOps  The chip's peak ops/s (> 0).
 * @param others   (peak ops/s, median compute ms) of the chips the model was measured on.
 * Above the fastest of those chips' peaks it is a lower bound (`beyond`: how many times that peak): a
 * request's fixed costs (launches, copies, a small model that cannot fill the chip) do not shrink with
 * peak ops/s (a trial: mobilenet moved from CPU boards to an Orin came out at 0.005 ms of compute).
 * @returns ms with the chips used, the log-sd and `beyond` (> 1: a lower bound); null without a peak or any chip to move from.
 */
export function scaleByPeakOps(peakOps: number | null, others: readonly { chip: string; peakOps: number; ms: number }[]): { ms: number; chips: string[]; logSd: number; beyond: number } | null {
  if (peakOps === null || !(peakOps > 0) || !Number.isFinite(peakOps)) return null;
  const from = others.filter((o) => o.peakOps > 0 && Number.isFinite(o.peakOps) && o.ms > 0 && Number.isFinite(o.ms));
  if (from.length === 0) return null;
  const work = from.map((o) => Math.log(o.ms * o.peakOps)).sort((a, b) => a - b);
  const mid = work.length % 2 ? work[(work.length - 1) / 2]! : (work[work.length / 2 - 1]! + work[work.length / 2]!) / 2;
  const mean = work.reduce((a, b) => a + b, 0) / work.length;
  const sd = work.length >= 3 ? Math.sqrt(work.reduce((a, b) => a + (b - mean) ** 2, 0) / (work.length - 1)) : 0;
  return { ms: Math.exp(mid) / peakOps, chips: from.map((o) => o.chip).sort(), logSd: Math.max(PEAK_OPS_LOG_SD, sd), beyond: peakOps / Math.max(...from.map((o) => o.peakOps)) };
}

/**
 * Gather the candidates and the skipped chips for a model.
 * @throws {Error} only on warehouse failures (unknown chips are skipped with a reason).
 */
export async function gatherCandidates(w: Warehouse, req: CandidateRequest): Promise<{ candidates: ChipCandidate[]; skipped: { chip: string; reason: string }[] }> {
  // A profile is a new model: its numbers come from its own MACs, even when its id names a known model.
  const known = req.profile === undefined;
  const [catalog, fleet, bench, workers, curveBuckets, loadBuckets, shadows, shadowPairs, superseded] = await Promise.all([
    loadCatalog(w), known ? loadFleetPairs(w, req.model) : [], known ? loadBenchmarkPairs(w, req.model) : [], loadWorkers(w),
    known ? loadMeasuredCurve(w, req.model) : [], known ? loadMeasuredAt(w, req.model, req.rps) : [],
    known ? loadShadowEvidence(w, req.model) : new Map<string, ShadowEvidence>(), known ? loadShadowPairs(w, req.model) : [],
    known ? supersededBenchmarkRounds(w, req.model) : new Map<string, string[]>(),
  ]);
  // Dedicated or pooled, one choice per chip for the figure at the load and the curve alike.
  const { atLoad, curve } = measuredByTraffic(loadBuckets, curveBuckets);
  // A catalog row that breaks the import's rules (written with sql --write: a negative price) is no evidence: its chip
  // is skipped naming it, as `chips list` leaves it out (a trial: a price of -1 gave "$/1M -46.30" and ranked first by cost).
  const { chips: usable, invalid } = validChips(catalog);
  const invalidBy = new Map(invalid.map((i) => [i.chip, i.problem]));
  const byChip = new Map<string, ChipInfo>(usable.map((c) => [c.chip, c]));
  const fleetBy = new Map(fleet.map((f) => [f.chip, f]));
  const benchBy = new Map(bench.map((b) => [b.chip, b]));
  const shadowBy = new Map(shadowPairs.map((s) => [s.chip, s]));
  const chipIds = [...new Set(req.chips ?? [...byChip.keys(), ...invalidBy.keys(), ...fleetBy.keys(), ...shadowBy.keys(), ...benchBy.keys()])].sort();
  // References for MACs scaling: known models with published MACs, per chip.
  const refs = new Map<string, { macs: number; ms: number }[]>();
  // The i/o of a new model on a chip: the median of the reference models' i/o medians there (fleet only).
  const refIo = new Map<string, number[]>();
  // The model's MACs: its profile's, or for a known model its published figure (data/model-profiles/reference-macs.csv),
  // which scales it from the other references on a chip nothing else of it reached (a trial: mobilenet-v2-int8 on the
  // fleet's Orin, where resnet50, ssd-mobilenet and bert-99 ran, was a catalog estimate "nothing was measured on this chip").
  const ownMacs = req.profile?.macs ?? REFERENCE_MACS.get(req.model);
  if (ownMacs !== undefined) {
    for (const [ref, macs] of REFERENCE_MACS) {
      if (known && ref === req.model) continue; // its own measurements are evidence of their own
      const [rf, rb] = await Promise.all([loadFleetPairs(w, ref), loadBenchmarkPairs(w, ref)]);
      const rfBy = new Map(rf.map((f) => [f.chip, f]));
      const rbBy = new Map(rb.map((b) => [b.chip, b]));
      // Every catalog chip too: a chip with nothing measured is moved from the others by its peak ops/s.
      for (const chip of new Set([...chipIds, ...byChip.keys()])) {
        const ms = measuredMedian(rfBy.get(chip), rbBy.get(chip));
        if (ms !== null) refs.set(chip, [...(refs.get(chip) ?? []), { macs, ms }]);
        const io = rfBy.get(chip)?.ioMedianMs;
        if (io !== undefined && io > 0) refIo.set(chip, [...(refIo.get(chip) ?? []), io]);
      }
    }
  }
  // Every chip's reference i/o medians together: the estimate for a chip where no reference ran in the fleet.
  const fleetIo = [...refIo.values()].flat();
  const fleetIoChips = refIo.size;
  // The model's i/o where nothing measured it on the chip (benchmarks and the estimates from them time the model
  // alone): the median of its i/o on the chips that measured it (the references' for a profile). A trial: after the
  // README's MLPerf import, datacenter chips ranked on kernel time alone (0.13 ms) above the fleet's chips (~1 ms i/o).
  const modelIos = req.profile ? fleetIo : [...fleet, ...shadowPairs].map((p) => p.ioMedianMs).filter((x) => x > 0);
  const modelIoMs = modelIos.length ? nearestRankQuantile(modelIos, 0.5) : 0;
  const modelIoText = modelIos.length ? `i/o ${modelIoMs.toPrecision(3)} ms, the median of ${req.profile ? 'the reference models\'' : 'its'} i/o on the fleet's chips` : 'no i/o measured anywhere, taken as 0';
  // A benchmark's kernel time moved into service: the fleet's (and shadows') compute against the benchmarks.
  const inService = known ? inServiceCorrection(new Map([...shadowPairs, ...fleet].map((p) => [p.chip, p])), benchBy) : null;
  const inServiceText = inService
    ? `; ×${inService.factor.toFixed(2)} and a host spread of σ ${Math.sqrt(inService.hostVariance).toFixed(3)} in service (its compute measured against its benchmarks on ${inService.chips.length} chip(s))`
    : '';
  /** A service time from a benchmark's compute p50 / p90, moved into service, with the model's i/o added. */
  const withModelIo = (p50: number, p90: number): ServiceTime => {
    const f = inService?.factor ?? 1;
    const s = serviceFromPercentiles(f * p50 + modelIoMs, f * p90 + modelIoMs, modelIoMs);
    return inService ? { ...s, sigma: Math.sqrt(s.sigma ** 2 + inService.hostVariance) } : s;
  };
  // The chips the model was measured (or scaled) on that have a catalog peak ops/s, for a chip with nothing measured
  // (moved from all of them but itself). Made once: made per chip over every chip known, with a search for repeats,
  // it grew with the cube of the catalog (a trial: 2,000 chips took 30 s, 10,000 did not answer in 9 minutes).
  const measuredWithPeak = [...new Set([...chipIds, ...byChip.keys()])].flatMap((o) => {
    const info = byChip.get(o);
    const inServiceAt = fleetBy.get(o) ?? shadowBy.get(o);
    const ms = req.profile ? scaleByMacs(req.profile.macs, refs.get(o) ?? []) : measuredMedian(inServiceAt, benchBy.get(o));
    // A benchmark's median moved into service as the chip's own candidate is.
    const scaled = ms !== null && !req.profile && !inServiceAt ? ms * (inService?.factor ?? 1) : ms;
    return info?.peak_ops_per_s && scaled !== null ? [{ chip: o, peakOps: info.peak_ops_per_s, ms: scaled }] : [];
  });
  const candidates: ChipCandidate[] = [];
  const skipped: { chip: string; reason: string }[] = [];
  for (const id of chipIds) {
    const problem = invalidBy.get(id);
    if (problem !== undefined) {
      skipped.push({ chip: id, reason: `its catalog row breaks the catalog's rules (${problem}): fix it with \`edgelat chips import\` or sql --write` });
      continue;
    }
    const guess = normaliseChip(id);
    const chip = byChip.get(id) ?? { chip: id, kind: guess.kind, vendor: guess.vendor, names: [], peak_ops_per_s: null, memory_bw_bytes_s: null, power_w: null, price_per_hour: null };
    const f = fleetBy.get(id);
    const b = benchBy.get(id);
    const c = workers.get(id) ?? 1;
    const evidence = { fleet_requests: f?.requests ?? 0, benchmark_rows: b?.rows ?? 0, shadow: shadows.get(id) ?? null };
    const measured = atLoad.find((m) => m.chip === id && m.n >= MIN_MEASURED_REQUESTS) ?? null;
    if (f) {
      const service = fleetService(f);
      const mine = curve.filter((p) => p.chip === id);
      const traffic = [...(measured ? [measured] : []), ...mine].map((p): 'dedicated' | 'pooled' => (p.dedicated ? 'dedicated' : 'pooled'))[0];
      candidates.push({ chip, service, workers: c, evidence: { kind: 'fleet', ...evidence, ...(traffic ? { measured_traffic: traffic } : {}) }, calibration: calibrate(service, c, mine), measured, curve: mine, basis: `the fleet's ${f.requests} requests` });
      continue;
    }
    const one = { p50: 1, p90: 1, p99: 1 };
    // Measured by its shadows on the chip (a trial: a shadow-only Orin ranked first on its benchmark's 0.78 ms
    // p99, without i/o, where its shadows had measured 6.5 ms).
    const s = shadowBy.get(id);
    if (s) {
      candidates.push({ chip, service: fleetService(s), workers: c, evidence: { kind: 'shadow', ...evidence }, calibration: one, measured: null, curve: [], basis: `its shadow deployments' ${s.requests} requests on the chip (no production server runs it there)` });
      continue;
    }
    if (b) {
      candidates.push({ chip, service: withModelIo(benchP50(b), b.p90Ms), workers: c, evidence: { kind: 'benchmark', ...evidence }, calibration: one, measured: null, curve: [], basis: `benchmarks (${b.rows} system${b.rows === 1 ? '' : 's'}: the model alone${stackSpreadText(b)})${inServiceText}; ${modelIoText}` });
      continue;
    }
    const predicted = req.predictBenchmark?.(req.model, id) ?? null;
    if (predicted) {
      const p50 = predicted.p90Ms * Math.exp(-Z90 * DEFAULT_SIGMA);
      candidates.push({ chip, service: withModelIo(p50, predicted.p90Ms), workers: c, evidence: { kind: 'predicted', ...evidence }, calibration: one, measured: null, curve: [], basis: `the MLPerf system predictor (${predicted.rows} benchmark rows of the model on other chips; the chip's rows of other models as shots${predicted.logSd === undefined ? '' : `; ×${Math.exp(predicted.logSd).toFixed(2)} at one sd`})${inServiceText}; ${modelIoText}` });
      continue;
    }
    const line = ownMacs !== undefined ? scaleByMacs(ownMacs, refs.get(id) ?? []) : null;
    // Never faster than the chip's peak ops/s allows (a trial: 3.7e12 MACs met 100 ms at 74.5 ms on a chip of 70e12 ops/s, ≥ 105 ms).
    const floor = line !== null ? peakOpsFloorMs(ownMacs!, chip.peak_ops_per_s) : null;
    const scaled = line !== null && floor !== null && floor > line ? floor : line;
    if (scaled !== null && scaled > MAX_SERVICE_MS) {
      skipped.push({ chip: id, reason: `MACs scaling predicts ${scaled.toPrecision(3)} ms per request, beyond ${MAX_SERVICE_MS} ms` });
      continue;
    }
    if (scaled !== null) {
      const ios = refIo.get(id) ?? [];
      // Unknown on the chip: the fleet's i/o of the references on the other chips, so a chip is not ranked first for lacking a measurement.
      // The lower median (nearest rank 0.5): the middle value, or the lower of the two middle ones.
      const ioMs = ios.length ? nearestRankQuantile(ios, 0.5) : fleetIo.length ? nearestRankQuantile(fleetIo, 0.5) : 0;
      const ioBasis = ios.length ? `; i/o ${ioMs.toPrecision(3)} ms, the median of ${ios.length} reference model(s) in the fleet`
        : fleetIo.length ? `; i/o ${ioMs.toPrecision(3)} ms, the median of the reference models' i/o on the ${fleetIoChips} fleet chip(s) (none ran on this chip)`
          : '; i/o unknown (no reference model ran in the fleet), taken as 0';
      const smallest = Math.min(...refs.get(id)!.map((r) => r.macs));
      const largest = Math.max(...refs.get(id)!.map((r) => r.macs));
      const held = ownMacs! < smallest ? `; its ${ownMacs!.toPrecision(3)} MACs are below the smallest reference's ${smallest.toPrecision(3)}, so its compute is held at that reference's (fixed costs dominate there; an upper bound)` : '';
      const above = ownMacs! > largest ? `; its ${ownMacs!.toPrecision(3)} MACs are ${(ownMacs! / largest).toPrecision(3)}× the largest reference's ${largest.toPrecision(3)}: scaled in proportion from there` : '';
      const roof = scaled === floor && floor !== null ? `; held at the chip's peak, 2·MACs / ${chip.peak_ops_per_s!.toPrecision(3)} ops/s = ${floor.toPrecision(3)} ms (the catalog's; the line gave ${line!.toPrecision(3)} ms)` : '';
      candidates.push({ chip, service: { ioMs, computeMedianMs: scaled, sigma: DEFAULT_SIGMA }, workers: c, evidence: { kind: 'predicted', ...evidence }, calibration: one, measured: null, curve: [], basis: `MACs scaling${known ? ` (its published ${ownMacs!.toPrecision(3)} MACs)` : ''} from ${refs.get(id)!.length} ${known ? 'other ' : ''}reference model(s) measured on the chip${held}${above}${roof}${ioBasis}`, upperBound: held !== '' });
      continue;
    }
    // Nothing measured on the chip: its catalog peak against the chips the model was measured (or scaled) on.
    const onOthers = measuredWithPeak.filter((m) => m.chip !== id);
    const byPeak = scaleByPeakOps(chip.peak_ops_per_s, onOthers);
    if (byPeak !== null && byPeak.ms <= MAX_SERVICE_MS) {
      // A profile below a chip's smallest reference was held there (an upper bound): so is what moves from it.
      const held = req.profile !== undefined && byPeak.chips.some((o) => req.profile!.macs < Math.min(...(refs.get(o) ?? []).map((r) => r.macs)));
      // I/O is not compute: the model's i/o on the chips that measured it.
      candidates.push({
        chip, service: { ioMs: modelIoMs, computeMedianMs: byPeak.ms, sigma: DEFAULT_SIGMA }, workers: c, evidence: { kind: 'catalog', ...evidence, estimate_log_sd: byPeak.logSd }, calibration: one, measured: null, curve: [],
        basis: `the chip catalog's peak ops/s (${chip.peak_ops_per_s!.toPrecision(3)}) against the ${byPeak.chips.length} chip(s) ${req.profile ? 'the model was scaled to' : 'it was measured on'} (${byPeak.chips.join(', ')}: median of latency × peak ops/s); ${req.profile ? 'no reference model was' : 'the model was not'} measured on this chip: a rough estimate, compute ×${Math.exp(byPeak.logSd).toFixed(1)} at one sd`
          + `; ${modelIoText}`
          + `${held ? '; its MACs are below the smallest reference\'s there, so the compute moved is held at that reference\'s (an upper bound)' : ''}`
          + `${byPeak.beyond > 1 ? `; its peak is ${byPeak.beyond.toPrecision(3)}× the fastest of those chips', and fixed costs do not shrink with peak ops/s: a lower bound` : ''}`,
        upperBound: held, lowerBound: byPeak.beyond > 1 && !held,
      });
      continue;
    }
    if (byPeak !== null) {
      skipped.push({ chip: id, reason: `${req.profile ? 'no reference model was' : 'the model was not'} measured on this chip, and its catalog peak ops/s (${chip.peak_ops_per_s!.toPrecision(3)}) gives ${byPeak.ms.toPrecision(3)} ms per request, beyond ${MAX_SERVICE_MS} ms (check the catalog's peak_ops_per_s)` });
      continue;
    }
    const why = !byChip.has(id) && !f && !b ? `unknown chip ${JSON.stringify(id)}`
      : req.profile && !(req.profile.macs > 0) ? `the profile has no countable MACs (${(req.profile.unknown_shape_nodes?.length ?? 0) > 0 ? `${req.profile.unknown_shape_nodes!.length} node(s) of unknown shape` : 'none of its nodes multiplies-and-adds: no Conv, Gemm, MatMul, RNN or Einsum'}), so nothing scales`
        : req.profile ? `no reference model (${[...REFERENCE_MACS.keys()].join(', ')}) was measured on this chip`
          : `no fleet requests or benchmark rows of ${JSON.stringify(req.model)} on this chip${superseded.has(id) ? ` (its rows of MLPerf ${superseded.get(id)!.join(', ')} are of a workload the benchmark has since changed, and left out)` : ''}${req.predictBenchmark ? `, and the MLPerf system predictor cannot link it to the chip's benchmarked models (no common system, or a one-sd factor above ×${Math.exp(MAX_PREDICTION_LOG_SD).toFixed(1)})` : ''}`
            + (byChip.has(id) && !(chip.peak_ops_per_s && chip.peak_ops_per_s > 0) ? '; nor a peak_ops_per_s in the chip catalog to estimate it from (`edgelat chips import`)' : '');
    skipped.push({ chip: id, reason: why });
  }
  // Nodes the profile could not count (a custom operator, a Loop of unknown trip count): its MACs, and every latency
  // scaled from them, are lower bounds (a trial: "body counted once" ranked as meeting the SLO without a word).
  const uncounted = req.profile?.unknown_shape_nodes ?? [];
  if (uncounted.length > 0) {
    for (const c of candidates) {
      // Held at a reference's compute (an upper bound only while its MACs are below that reference's), the nodes not
      // counted may lift it above: neither bound holds, and a meet is as unsure as a miss (a trial: both said, yet "meets").
      c.basis += `; the profile's MACs are a lower bound (${uncountedSummary(uncounted)}), ${c.upperBound ? "and with them its MACs may exceed the reference's it is held at: this latency bounds it neither way" : 'so is this latency'}`;
      c.lowerBound = true;
    }
  }
  return { candidates, skipped };
}
