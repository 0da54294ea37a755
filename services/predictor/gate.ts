/**
 * The deployment gate (issue 7, F3): should a model version on a chip roll
 * out to these servers? For each target server, the p99 the model would have
 * at the server's observed peak load (gate-replay.ts) with an uncertainty
 * band, against the deployment's p99 SLO:
 *
 *   ALLOW        the band's top is within the SLO;
 *   BLOCK        the band's bottom is above it, or what runs now breaches it at
 *                its peaks and the candidate is no faster on the same chip;
 *   NEED_SHADOW  the SLO is inside the band (or nothing tells the candidate's
 *                cost): run it as a shadow on that server first.
 *
 * The candidate's service time relative to now (`FactorEstimate`) comes from
 * the best evidence there is, in this order: shadow verdicts of that version
 * on that chip beside the server (the same requests measured on both); the
 * fleet (unloaded medians of both versions, or of the model on both chips);
 * the versions' profiles (MACs ratio) and MLPerf benchmarks (p50 ratio of the
 * two chips; the i/o on the new chip from the fleet's other models measured on
 * both, `ioMapAcrossChips`). Each kind carries a log-sd (GATE_DEFAULTS, assumptions
 * documented there). The band: the factor e^{±z·sd} (on the compute; on the
 * i/o too only where it was estimated, after a chip change or from a shadow),
 * the day-to-day variation of the peak p99 (the device's own days shrunk
 * toward the fleet's), and the candidate's extra sensitivity to a peak
 * ×(1 + margin) higher than the one observed.
 * Over servers: BLOCK if any server blocks, else NEED_SHADOW if any needs one, else ALLOW.
 */
import { dayP99Band, lowerQuantile, MIN_PEAK_REQUESTS, modelPeakWindow, movedDevice, p99Band, prepareReplay, replayPrepared, benchmarkSpreadRatio, spreadRatio, type LoadSensitivity, type PeakReplay } from './gate-replay.ts';
import type { ServerObservations } from './whatif.ts';
import { MIN_MEDIAN_REQUESTS } from './evidence.ts';
import { shellWord } from '../names.ts';

/** The gate's answer; CLI exit codes 0 / 1 / 2. */
export type GateAnswer = 'ALLOW' | 'BLOCK' | 'NEED_SHADOW';

/** Exit code of each answer (for CI/CD pipelines). */
export const GATE_EXIT_CODES: Readonly<Record<GateAnswer, number>> = { ALLOW: 0, BLOCK: 1, NEED_SHADOW: 2 };

/** Tunables of the gate, with their defaults. */
export interface GateOptions {
  /**
   * Normal quantile of each side of the band. @default 0.95 (one-sided 83 %). First chosen at 0.842
   * over backtests of seeds 1–16 (0.5 / 0.84 / 1.0 / 1.28 gave mean specificity 0.96 / 0.94 / 0.93 /
   * 0.90 at recall 0.93 / 0.95 / 0.95 / 0.96). Re-chosen over 136 histories (seeds 1–120 and 16
   * round numbers) once the band stopped pushing the i/o of a new version and idle devices took the
   * fleet's load sensitivity: 0.842 / 0.95 / 1.0 met recall and specificity ≥ 0.9 on 135 / 136 / 135
   * (1.0: on the histories before the load-sensitivity change); a rollback weighs ~7× a kept rollout in
   * its rate (~20 against ~140 a history). Held-out seeds 121–200 then gave 79 of 80 at 0.95. Once a
   * p99 at peak was read over ≥ 100 requests (`modelPeakWindow`, in the simulator's rollback rule and
   * here), 0.842 / 0.95 met it on 213 / 214 of 215 histories (seeds 1–200 and 15 round numbers):
   * 0.842 failed seeds 110 and 137 on recall (so did 0.9), 0.95 seed 5 on specificity, 0.893. With each
   * service unloaded at the utilisation it started under (`measuredContention`), 0.95 met it on 214 of
   * the same 215 (seed 5) and on 49 of held-out seeds 201–250 (seed 238: recall 0.85; README).
   */
  z: number;
  /** Relative margin on the observed peak load, fraction. @default 0.1 */
  loadMargin: number;
  /** Peak window, ms. @default 300000 */
  peakWindowMs: number;
  /** Log-sd of a factor measured in the fleet (unloaded medians of ≥ 20 requests each). @default 0.05 */
  fleetSd: number;
  /** Log-sd of compute scaled by a MACs ratio within one model (kernel efficiency varies). @default 0.12 */
  profileSd: number;
  /** Log-sd of compute between two versions with the same MACs (a retrain of one architecture: same kernels). @default 0.03 */
  retrainSd: number;
  /** Log-sd of a chip ratio taken from MLPerf benchmarks (other systems, other software). @default 0.15 */
  benchmarkSd: number;
  /** Weight, in degrees of freedom, of the fleet's day-to-day sd against the device's own days. @default 4 */
  daySdDof: number;
  /** Day-to-day log-sd of peak p99 assumed when the fleet has fewer than 2 comparable days. @default 0.2 */
  daySdPrior: number;
}

/** Defaults of {@link GateOptions}. */
export const GATE_DEFAULTS: Readonly<GateOptions> = Object.freeze({ z: 0.95, loadMargin: 0.1, peakWindowMs: 300_000, fleetSd: 0.05, profileSd: 0.12, retrainSd: 0.03, benchmarkSd: 0.15, daySdDof: 4, daySdPrior: 0.2 });

/** The candidate's unloaded service time over the running one: compute and i/o multipliers and their log-sd. */
export interface FactorEstimate {
  compute: number;
  /** I/O: each request's unloaded i/o t becomes io·t + ioOffsetMs (ms; 0 but after a chip change, `ioMapAcrossChips`). */
  io: number;
  ioOffsetMs: number;
  /**
   * Log-spread of the unloaded compute, new over now (> 0; 1 when unchanged or unknown): the ratio of
   * ln(p90 / p50) of the model's compute on the new chip and on the running one (ReplayChange.spread).
   */
  spread: number;
  /** Log-sd of the compute multiplier (the band pushes it by e^{±z·logSd}). */
  logSd: number;
  /**
   * Whether the i/o multiplier carries `logSd` too: true after a chip change or from a shadow ratio
   * (the i/o was estimated); false after a version change alone (i/o does not depend on the
   * version: the running one's measured i/o stays, and the band does not push it).
   */
  ioUncertain: boolean;
  /** Where each part came from, in words. */
  sources: string[];
}

/**
 * A {@link FactorEstimate} as the gate reports it (CLI `--json`, `POST /v1/gate`), in the report's
 * snake_case: compute and i/o multipliers (dimensionless), `io_offset_ms` (ms), `spread` (ratio of
 * ln(p90/p50)), `log_sd` (log-sd of the compute multiplier), `io_uncertain`, `sources` (words).
 */
export interface GateFactor {
  compute: number;
  io: number;
  io_offset_ms: number;
  spread: number;
  log_sd: number;
  io_uncertain: boolean;
  sources: string[];
}

/** A factor estimate in the report's keys ({@link GateFactor}). */
export function gateFactor(f: FactorEstimate): GateFactor {
  return { compute: f.compute, io: f.io, io_offset_ms: f.ioOffsetMs, spread: f.spread, log_sd: f.logSd, io_uncertain: f.ioUncertain, sources: [...f.sources] };
}

/** Unloaded medians of one (version, chip) of the model in the fleet, and its compute's p90 when known, ms. */
export interface FleetMedian { version: string; chip: string; io: number; compute: number; computeP90?: number; n: number }

/**
 * Unloaded i/o median of one model on one chip (any version: i/o does not depend on it), ms, over n
 * requests: of the fleet's production servers, or (`source: 'shadow'`) of shadows where the fleet has
 * too few (`loadIoMedians`).
 */
export interface FleetIo { model: string; chip: string; io: number; n: number; source?: 'fleet' | 'shadow' }

/** A per-request map of i/o time between two chips, ms: t_to = offset + slope·t_from. */
export interface IoMap { slope: number; offset: number; models: number }

/**
 * How a model's i/o times on chip `from` map to chip `to`, request by request. I/O is a fixed cost
 * plus bytes over bandwidth, t = t₀ + n/r (Hockney, "The communication challenge for MPP", Parallel
 * Computing 20, 1994), so the same request on two chips lies on a line t_to = α + β·t_from, the same
 * for every model: a large input is scaled by β, not by the ratio of the medians.
 * - The model measured on both (`ioTo`): the least-squares slope through its medians and the other
 *   models' on both chips (≥ 2 distinct t_from), the line anchored at its own medians; else their ratio.
 * - Not measured on `to`: the least-squares line through the other models' medians (≥ 2 distinct
 *   t_from); else (one model) their median ratio.
 * A line is used only with β > 0 that keeps half the model's median i/o positive; else the ratio.
 * @param ioFrom  The model's i/o median on `from`, ms (> 0).
 * @param ioTo    Its i/o median on `to`, ms, or null when never measured there.
 * @param fleetIo The fleet's i/o medians per model and chip (entries with n < 20 or io ≤ 0 are ignored).
 * @returns The map and the number of other models it rests on; null when `ioTo` is null and no other model ran on both.
 */
export function ioMapAcrossChips(model: string, ioFrom: number, ioTo: number | null, from: string, to: string, fleetIo: readonly FleetIo[]): IoMap | null {
  const on = (c: string) => new Map(fleetIo.filter((f) => f.chip === c && f.model !== model && f.n >= MIN_MEDIAN_REQUESTS && f.io > 0).map((f) => [f.model, f.io]));
  const a = on(from);
  const b = on(to);
  const others = [...a].filter(([m]) => b.has(m)).map(([m, x]) => ({ x, y: b.get(m)! }));
  const pts = ioTo === null ? others : [...others, { x: ioFrom, y: ioTo }];
  if (pts.length === 0) return null;
  const mx = pts.reduce((t, p) => t + p.x, 0) / pts.length;
  const my = pts.reduce((t, p) => t + p.y, 0) / pts.length;
  const sxx = pts.reduce((t, p) => t + (p.x - mx) ** 2, 0);
  if (pts.length >= 2 && sxx > 0) {
    const slope = pts.reduce((t, p) => t + (p.x - mx) * (p.y - my), 0) / sxx;
    const offset = ioTo === null ? my - slope * mx : ioTo - slope * ioFrom;
    if (slope > 0 && offset + (slope * ioFrom) / 2 > 0) return { slope, offset, models: others.length };
  }
  if (ioTo !== null) return { slope: ioTo / ioFrom, offset: 0, models: 0 };
  return { slope: lowerQuantile(others.map((p) => p.y / p.x), 0.5), offset: 0, models: others.length };
}

/**
 * An i/o map for a message: "i/o 0.2 ms + 0.298× per request (through 2 other model(s) on both: …)",
 * naming the chips whose i/o of the model was measured by shadows (`shadowChips`).
 */
export function ioMapText(m: IoMap, shadowChips: readonly string[] = []): string {
  return `i/o ${m.offset !== 0 ? `${m.offset >= 0 ? '' : '−'}${msText(Math.abs(m.offset))} ms + ` : ''}${m.slope.toFixed(3)}× per request`
    + `${m.models ? ` (through ${m.models} other model(s) on both: fixed cost + bytes / bandwidth)` : ''}`
    + `${shadowChips.length ? ` (its i/o on ${shadowChips.join(' and ')} measured by shadows)` : ''}`;
}

/** The i/o text when nothing tells how it moves to the new chip (gate and what-if). */
export const IO_UNCHANGED = 'i/o unchanged (never measured on both chips, nor another model)';

/** What is known about the candidate before it ships. */
export interface CandidateEvidence {
  model: string;
  versionNow: string;
  chipNow: string;
  version: string;
  chip: string;
  /** Unloaded medians (≥ 20 requests) of the model per (version, chip) in the fleet. */
  fleet: readonly FleetMedian[];
  /** Benchmark latency of the model per chip at `benchmarkPercentile`, ms (SingleStream; lower median over systems). */
  benchmark: ReadonlyMap<string, number>;
  /** Percentile of `benchmark`, 0..1. @default 0.5 */
  benchmarkPercentile?: number;
  /** ln(p90 / p50) of the model's benchmark latency per chip, where both are known (the spread of its kernel time). */
  benchmarkSpread?: ReadonlyMap<string, number>;
  /** MACs of versions of the model (profiles). */
  macs: ReadonlyMap<string, number>;
  /**
   * Unloaded i/o medians (≥ 20 requests) of every model of the fleet per chip, ms: when the model's
   * own i/o was never measured on the candidate chip, the other models measured on both chips tell it
   * ({@link ioMapAcrossChips}).
   */
  fleetIo?: readonly FleetIo[];
  /** Shadow verdicts of this version on this chip beside the server, pooled: ratio shadow/production and its CI. */
  shadow?: ShadowEvidence | null;
}

/**
 * Shadow verdicts of the candidate beside one server, pooled: the paired latency ratio shadow/production
 * and its 95 % interval; and, where ≥ 20 paired requests carry both parts, each part's own ratio (medians
 * of the paired requests' i/o and compute) and the compute's spread ratio (ln(p90/p50) shadow over
 * production): i/o and compute do not scale alike across chips (a trial: one total ratio of 0.368 scaled
 * an i/o tail that the shadow measured at 0.58×, and the gate's p99 came out 4.47 ms against 6.47 measured).
 */
export interface ShadowEvidence {
  /** Pooled ratio and its 95 % interval; 0 when the verdict windows gave none (too few pairs). */
  ratio: number;
  low: number;
  high: number;
  /** Verdict windows, and their paired requests ok on both sides, over every window (those that gave no ratio too). */
  windows: number;
  pairs: number;
  /** Windows the ratio rests on (those that gave one), when fewer than `windows`. @default windows */
  ratioWindows?: number;
  /** Requests measured on both sides but not ok on one or both (time-outs, errors), over the same windows: not in the ratio. @default 0 */
  failed?: number;
  parts?: { compute: number; io: number; spread: number; pairs: number } | null;
}

/**
 * Why a shadow of the candidate beside the server gives the gate no factor, or null when it gives one: its
 * windows gave no ratio, or more of its requests failed than paired ok (a ratio of the few survivors of a
 * shadow that timed out says little of the candidate: a trial's shadow had 25 pairs and 445 failed).
 */
export function shadowUnusable(s: ShadowEvidence): string | null {
  const failed = s.failed ?? 0;
  const counts = `${s.windows} verdict window(s), ${s.pairs} paired requests, ${failed} failed on one side or both`;
  if (failed > s.pairs) return `its shadow beside this server is no evidence of its service time: ${counts}; the ratio of the few that did not fail would rest on the fastest (find why the shadow fails or times out)`;
  if (!(s.ratio > 0 && s.low > 0)) return `its shadow beside this server gave no ratio yet (${counts}): keep it running`;
  return null;
}

/**
 * The candidate's factor, or why none can be given.
 * @param suggest  For the `edgelat recommend` command a missing reason suggests: the SLO, ms, and the model's
 *                 request rate at the peak, req/s (called only for that reason). @default none (the SLO flag without a value, no --rps)
 * @returns `{ factor }` or `{ missing }` (a reason naming what to provide).
 */
export function estimateFactor(e: CandidateEvidence, opt: GateOptions = GATE_DEFAULTS, suggest: FactorSuggest = {}): { factor: FactorEstimate } | { missing: string } {
  const unusable = e.shadow ? shadowUnusable(e.shadow) : null;
  if (e.shadow && unusable === null) {
    const sd = Math.log(e.shadow.high / e.shadow.low) / (2 * 1.96);
    const p = e.shadow.parts;
    const failed = e.shadow.failed ? ` (+${e.shadow.failed} failed, not in the ratio)` : '';
    const from = e.shadow.ratioWindows !== undefined && e.shadow.ratioWindows < e.shadow.windows ? ` (from the ${e.shadow.ratioWindows} window(s) that gave one)` : '';
    const head = `shadow: ${e.shadow.windows} verdict window(s), ${e.shadow.pairs} paired requests${failed}, ratio ${e.shadow.ratio.toFixed(3)} [${e.shadow.low.toFixed(3)}, ${e.shadow.high.toFixed(3)}]${from}`;
    if (p && p.compute > 0 && p.io > 0) {
      return { factor: { compute: p.compute, io: p.io, ioOffsetMs: 0, spread: p.spread, logSd: sd, ioUncertain: true,
        sources: [`${head}; compute ×${p.compute.toFixed(3)}, i/o ×${p.io.toFixed(3)}${p.spread !== 1 ? `, compute spread ×${p.spread.toFixed(2)}` : ''} (medians of ${p.pairs} paired requests' parts)`] } };
    }
    return { factor: { compute: e.shadow.ratio, io: e.shadow.ratio, ioOffsetMs: 0, spread: 1, logSd: sd, ioUncertain: true, sources: [head] } };
  }
  // A shadow that gives no factor is said, beside the evidence used instead or in the reason none was found.
  const est = estimateWithoutShadow(e, opt, suggest);
  if (unusable === null) return est;
  // A shadow is there already: the advice to run one gives way to what its windows say ("keep it running").
  return 'missing' in est ? { missing: `${est.missing.replace(/; or run it as a shadow$/, '')}; ${unusable}` } : { factor: { ...est.factor, sources: [...est.factor.sources, `shadow not used: ${unusable}`] } };
}

/** {@link estimateFactor} from the fleet, profiles and benchmarks alone. */
/** What the command a missing factor's reason suggests is given: the SLO, ms, and the model's rate at its peak, req/s (undefined: unknown). */
export interface FactorSuggest { sloP99Ms?: number; rps?: () => number | undefined }

function estimateWithoutShadow(e: CandidateEvidence, opt: GateOptions, suggest: FactorSuggest): { factor: FactorEstimate } | { missing: string } {
  const med = (v: string, c: string) => e.fleet.find((f) => f.version === v && f.chip === c && f.n >= MIN_MEDIAN_REQUESTS && f.compute > 0 && f.io > 0);
  let compute = 1;
  let io = 1;
  let ioOffsetMs = 0;
  let spread = 1;
  let variance = 0;
  const sources: string[] = [];
  if (e.version !== e.versionNow) {
    const chip = [e.chipNow, ...new Set(e.fleet.map((f) => f.chip))].find((c) => med(e.version, c) && med(e.versionNow, c));
    const a = e.macs.get(e.versionNow);
    const b = e.macs.get(e.version);
    if (chip) {
      compute *= med(e.version, chip)!.compute / med(e.versionNow, chip)!.compute;
      variance += opt.fleetSd ** 2;
      sources.push(`version: fleet medians of ${e.version} and ${e.versionNow} on ${chip}`);
    } else if (a && b) {
      if (!(b / a <= MAX_MACS_RATIO && a / b <= MAX_MACS_RATIO)) {
        return { missing: `the MACs of ${e.version} (${b.toExponential(3)}) are ${(b / a).toPrecision(3)}× those of the running ${e.versionNow} (${a.toExponential(3)}): beyond ×1/${MAX_MACS_RATIO}..×${MAX_MACS_RATIO}, a profile scales no replay that far (is it this model's? check the MACs given: --macs or --onnx, and --macs-now; macs and macs_now over HTTP); or run it as a shadow` };
      }
      compute *= b / a;
      variance += (a === b ? opt.retrainSd : opt.profileSd) ** 2;
      sources.push(`version: MACs ${b.toExponential(3)} / ${a.toExponential(3)} (profiles${a === b ? ': the same architecture' : ''})`);
    } else {
      const lacking = [
        ...(b ? [] : [`${e.version} (pass --macs or --onnx; macs over HTTP)`]),
        ...(a ? [] : [`the running ${e.versionNow} (pass --macs-now; macs_now over HTTP: ${e.model} has no published MACs)`]),
      ];
      return { missing: `no measurement of ${e.model} ${e.version} in the fleet and no profile (MACs) of ${lacking.join(' nor of ')}; or run it as a shadow` };
    }
  }
  if (e.chip !== e.chipNow) {
    const v = [e.versionNow, e.version, ...new Set(e.fleet.map((f) => f.version))].find((x) => med(x, e.chip) && med(x, e.chipNow));
    const a = e.benchmark.get(e.chipNow);
    const b = e.benchmark.get(e.chip);
    // I/O does not depend on the version: the model's i/o medians on both chips, any version; where the
    // fleet never ran it on a chip, its shadows' there (`fleetIo`, source 'shadow').
    const shadowIo = (c: string) => (e.fleetIo ?? []).find((f) => f.model === e.model && f.chip === c && f.source === 'shadow' && f.n >= MIN_MEDIAN_REQUESTS && f.io > 0);
    const ioOn = (c: string): number | null => {
      const rows = e.fleet.filter((f) => f.chip === c && f.n >= MIN_MEDIAN_REQUESTS && f.io > 0);
      const n = rows.reduce((t, f) => t + f.n, 0);
      return n > 0 ? rows.reduce((t, f) => t + f.io * f.n, 0) / n : shadowIo(c)?.io ?? null;
    };
    const ioA = ioOn(e.chipNow);
    const ioB = ioOn(e.chip);
    const fromShadows = [e.chipNow, e.chip].filter((c) => !e.fleet.some((f) => f.chip === c && f.n >= MIN_MEDIAN_REQUESTS && f.io > 0) && shadowIo(c));
    const mapText = (m: IoMap) => ioMapText(m, fromShadows);
    if (v) {
      compute *= med(v, e.chip)!.compute / med(v, e.chipNow)!.compute;
      const map = ioMapAcrossChips(e.model, med(v, e.chipNow)!.io, med(v, e.chip)!.io, e.chipNow, e.chip, e.fleetIo ?? [])!;
      io = map.slope;
      ioOffsetMs = map.offset;
      variance += opt.fleetSd ** 2;
      spread = spreadRatio(computeLogSpread(med(v, e.chip)), computeLogSpread(med(v, e.chipNow)));
      sources.push(`chip: fleet medians of ${e.model} ${v} on ${e.chip} and ${e.chipNow}; ${mapText(map)}${spread !== 1 ? `; compute spread ×${spread.toFixed(2)} (their p90 / p50)` : ''}`);
    } else if (a && b) {
      compute *= b / a;
      const map = ioA ? ioMapAcrossChips(e.model, ioA, ioB, e.chipNow, e.chip, e.fleetIo ?? []) : null;
      if (map) {
        io = map.slope;
        ioOffsetMs = map.offset;
      }
      variance += opt.benchmarkSd ** 2;
      const s = benchmarkSpreadRatio(e.benchmarkSpread?.get(e.chip) ?? null, e.benchmarkSpread?.get(e.chipNow) ?? null, computeLogSpread(med(e.versionNow, e.chipNow)));
      spread = s.ratio;
      sources.push(`chip: benchmark p${Math.round((e.benchmarkPercentile ?? 0.5) * 100)} ${b} ms on ${e.chip} / ${a} ms on ${e.chipNow}; ${map ? mapText(map) : IO_UNCHANGED}${spread !== 1 ? `; compute spread ×${spread.toFixed(2)} (${s.how})` : ''}`);
    } else {
      const n = (c: string) => e.fleet.filter((f) => f.chip === c).reduce((t, f) => t + f.n, 0);
      const rps = suggest.rps?.();
      return { missing: `no fleet measurement or benchmark of ${e.model} to compare on both ${e.chipNow} and ${e.chip} (unloaded fleet requests: ${n(e.chipNow)} and ${n(e.chip)}, ≥ ${MIN_MEDIAN_REQUESTS} on both needed; or a benchmark at one percentile on both): run it as a shadow (for a chip not at hand, \`edgelat recommend --model ${shellWord(e.model)} --chips ${shellWord(e.chip)} --slo-p99-ms ${suggest.sloP99Ms ?? 'MS'}${rps !== undefined ? ` --rps ${Number(rps.toPrecision(3))}` : ''}\` gives a rough estimate: from benchmarks of the model on other chips and of other models on this one, scaled MACs, or its catalog peak ops/s, whichever it has)` };
    }
  }
  if (sources.length === 0) sources.push('unchanged (the running version and chip)');
  return { factor: { compute, io, ioOffsetMs, spread, logSd: Math.sqrt(variance), ioUncertain: e.chip !== e.chipNow, sources } };
}

/** ln(p90 / p50) of a fleet median's unloaded compute; null without a p90 above the median (or without the median). */
function computeLogSpread(f: FleetMedian | undefined): number | null {
  return f?.computeP90 !== undefined && f.computeP90 > f.compute ? Math.log(f.computeP90 / f.compute) : null;
}

/**
 * Largest MACs ratio, either way, between a new version and the running one that the gate scales the
 * compute by. Within one model family a new version's MACs move by a few × (the simulated architecture
 * changes: ×0.6–4); 20× apart, the profile is more likely another model's (a wrong --onnx file) than a
 * version whose kernels scale like the running one's.
 */
export const MAX_MACS_RATIO = 20;


export { idProblem } from '../names.ts';

/** The gate's view of one target server. */
export interface ServerGate {
  server: string;
  version_now: string;
  chip_now: string;
  answer: GateAnswer;
  reason: string;
  slo_p99_ms: number;
  /** The model's p99 at the peak as it runs now, replayed, ms (null when no replay ran). */
  now_p99_ms: number | null;
  /**
   * The candidate's p99 at peak and its band, ms. `predicted_p99_ms` and both ends are null when no replay
   * answers (no evidence of the candidate's cost, too few requests at the peak, or saturated:
   * `offered_utilisation` ≥ 1); `p99_high_ms` alone is null when the queue cannot drain at the band's top
   * (the factor pushed up): unbounded.
   */
  predicted_p99_ms: number | null;
  p99_low_ms: number | null;
  p99_high_ms: number | null;
  peak: { start_ms: number; end_ms: number; requests: number; model_requests: number } | null;
  /**
   * The busy fraction of the device's workers the requests need with the candidate (each service slowed by
   * the load they make), the highest over the days replayed, fraction: ≥ 1 saturated (its queue cannot
   * drain; BLOCK). Null when nothing tells the candidate's cost.
   */
  offered_utilisation: number | null;
  /** The candidate's service time over the running one's, with its uncertainty (null when no evidence gave one). */
  factor: GateFactor | null;
  /** After a chip change to a device the server does not have yet: the workers the replay gave it; null otherwise. */
  target_workers: WorkersOfChip | null;
  /**
   * The candidate itself measured on this server in the lookback: the highest of its days' p99 at
   * peak, ms, the window (epoch ms), the requests of the model in it, and what measured it
   * (`CandidateDay.source`); null when it has not run here (or no day had `MIN_PEAK_REQUESTS` in its peak).
   */
  measured: MeasuredPeak | null;
}

/**
 * Workers of one device of the candidate chip after a chip change, and where the figure came from: the largest
 * concurrency the fleet's servers of that chip reported ('fleet'), the caller's (`workers`, 'given'), or none
 * reported ('assumed': 1; the band's bottom is then the replay with no queue on the new device).
 */
export interface WorkersOfChip { count: number; source: 'fleet' | 'given' | 'assumed' }

/** What measured the candidate on a server: an earlier rollout of it, it running there now, or a shadow of it beside the server (the same requests). */
export type MeasuredSource = 'rollout' | 'running' | 'shadow';

/** The candidate's highest measured p99 at a day's peak on one server (`measuredPeakP99`). */
export interface MeasuredPeak { p99_ms: number; start_ms: number; end_ms: number; model_requests: number; source: MeasuredSource }

/** One target server's inputs. */
export interface ServerGateInput {
  /**
   * One entry per past day (or one for the whole lookback): the requests of the device now running
   * the model (all models on it, the model at its running version and chip), and of the server's
   * device of the candidate chip when the chip changes and the server has one; `serverTs`: the
   * arrival times (sorted) of all the server's requests, which define its peak (else the devices').
   */
  days: readonly { device: ServerObservations; target?: ServerObservations | null; serverTs?: readonly number[] }[];
  /**
   * Days on which the candidate itself (the version on the chip being gated) was measured on this
   * server: an earlier rollout of it, what runs now when that is the candidate, or a shadow of it
   * beside the server (the production requests' arrival times, the shadow's latencies): per day, its
   * requests' arrival times (epoch ms, sorted) and latencies (ms), and the arrival times (sorted) of
   * all the server's requests that day. Empty or absent when it was never measured here.
   */
  measured?: readonly CandidateDay[];
  evidence: CandidateEvidence;
  /** Workers of one device of the candidate chip. */
  targetWorkers: number;
  /**
   * Where `targetWorkers` came from. 'assumed' (no server reports the chip's concurrency): a new device of the
   * chip may have more, so the band's bottom is the replay with no queue there (a trial: a shadow-only chip
   * replayed on 1 worker was BLOCKed at "at least 23.1 ms" where its shadow had measured 20.5 ms with 2).
   * @default 'fleet'
   */
  targetWorkersSource?: WorkersOfChip['source'];
  sloP99Ms: number;
  /**
   * Day-to-day log-sd of peak p99 with nothing changed across the fleet: the figure, or the fleet's
   * series of peak p99s with their queue shares, of which those in the candidate's queue-share class
   * are pooled (`dayToDaySd`, `queueShareClass`).
   */
  fleetDaySd: number | readonly DaySeries[];
  /**
   * How service slows under load where the device's own rows cannot tell (it never ran loaded: a
   * candidate that loads it more would otherwise be replayed without contention): the fleet's
   * (`fleetLoadSensitivity`). @default none (0)
   */
  fleetLoadSensitivity?: LoadSensitivity | null;
}

/** One day of the candidate serving a server (see `ServerGateInput.measured`). */
export interface CandidateDay {
  /** Arrival time of each of the candidate's requests, epoch ms, non-decreasing. */
  ts: readonly number[];
  /** Its latency (wait + service), ms, aligned with `ts`. */
  totalMs: readonly number[];
  /** Arrival times of all the server's requests that day, epoch ms, non-decreasing. */
  serverTs: readonly number[];
  /** What measured it. @default 'rollout' */
  source?: MeasuredSource;
}

/**
 * The candidate's measured p99 at peak on the days it served the server: per day, the server's
 * busiest window within the span the candidate ran (its first to last request), widened to hold
 * `MIN_PEAK_REQUESTS` of the candidate's requests (`modelPeakWindow`), and the nearest-rank p99 of
 * its latencies there; the highest over the days with at least `MIN_PEAK_REQUESTS` in the window.
 * @param days      The candidate's days (`ServerGateInput.measured`).
 * @param windowMs  Peak window width, ms.
 * @returns         The highest day, or null when no day has enough requests in its peak.
 */
export function measuredPeakP99(days: readonly CandidateDay[], windowMs: number): MeasuredPeak | null {
  let best: MeasuredPeak | null = null;
  for (const d of days) {
    if (d.ts.length < MIN_PEAK_REQUESTS) continue;
    const first = d.ts[0]!;
    const last = d.ts[d.ts.length - 1]!;
    const peak = modelPeakWindow(d.serverTs.filter((t) => t >= first && t <= last), d.ts, windowMs);
    const inPeak = d.totalMs.filter((_, i) => d.ts[i]! >= peak.startMs && d.ts[i]! < peak.endMs);
    if (inPeak.length < MIN_PEAK_REQUESTS) continue;
    const p99 = p99Band(inPeak, 0).p99;
    if (best === null || p99 > best.p99_ms) best = { p99_ms: p99, start_ms: peak.startMs, end_ms: peak.endMs, model_requests: inPeak.length, source: d.source ?? 'rollout' };
  }
  return best;
}

/** One model's peak p99s on one device over consecutive days with an unchanged setup, and its mean queue share there. */
export interface DaySeries {
  /** Peak p99 per day, ms. */
  p99: number[];
  /** Mean over the days of the queue's share of the peak p99, 1 − p99(service) / p99(latency), fraction (≤ 1). */
  queueShare: number;
}

/**
 * Gate one server.
 *
 * Behaviour: each day is replayed (its own peak window, widened to hold `MIN_PEAK_REQUESTS` of the
 * model's requests: `modelPeakWindow`) as it runs now, with the candidate, with
 * its factor pushed to ×e^{±z·sd} (`FactorEstimate.ioUncertain`) and with the load ×(1 + margin);
 * the model's latencies in the peak windows are pooled over the days. The band is the candidate's
 * p99 times e^{+√(δf₊² + δd² + δx²)} above and e^{−√(δf₋² + δd²)} below (first-order propagation
 * of independent uncertainties, JCGM 100:2008 "GUM" §5.1.2): δf± the log-change of p99 with the
 * factor pushed, δd = z·sd_day·√(1 + 1/m) (the day-to-day log-sd of peak p99 over the m days
 * replayed, `dayToDaySd`), δx the candidate's log-change of p99 at the higher load beyond what
 * runs now's (≥ 0); widened, where it is narrower, to the range of one day's nearest-rank p99 over
 * its requests at the peak (`dayP99Band`: where the replayed tail jumps, which rank a day lands on
 * moves its p99 more than the day-to-day sd shows). Over 265 simulated histories (seeds 1–265) this
 * widening took the misses from 77 to 62 and the false blocks from 1,119 to 1,247, and seed 238 from
 * recall 0.85 to 0.90: every one of them then met recall and specificity ≥ 0.9 (held-out seeds 266–300:
 * 34 of 35; README).
 *
 * The candidate's own measurement outweighs the replay: when it was measured on this server (an
 * earlier rollout, what runs now when that is the candidate, or a shadow of it beside the server on
 * the same requests: `input.measured`) and its p99 at a day's peak breached the SLO, the answer is
 * BLOCK whatever the replay says (`measuredPeakP99`). Over 80 simulated histories, 32 of the 34
 * retries of a rolled-back candidate on the same server within 3 days were rolled back again; the
 * 2 others came within 1.3 % of their SLO. (A trial: a shadow measured p99 6.47 ms at the peak
 * where the replay of its median ratio allowed an SLO of 6 ms.) A measured p99 within the SLO does
 * not loosen the replay's answer: one day's peak does not bound the next one's; a NEED_SHADOW then
 * says what was measured instead of asking for a shadow.
 * @throws {RangeError} when no day holds a request of the model.
 */
export function gateServer(input: ServerGateInput, opt: GateOptions = GATE_DEFAULTS): ServerGate {
  const g = gateByReplay(input, opt);
  const measured = measuredPeakP99(input.measured ?? [], opt.peakWindowMs);
  if (measured === null || g.answer === 'BLOCK') return { ...g, measured };
  const e = input.evidence;
  const when = `(${new Date(measured.start_ms).toISOString()}, ${measured.model_requests} requests)`;
  const [p99Text, sloText] = distinctMs(measured.p99_ms, input.sloP99Ms);
  const what = measured.source === 'shadow'
    ? `a shadow of ${e.model} ${e.version} on ${e.chip} beside this server measured p99 ${p99Text} ms at the server's peak ${when}`
    : `${e.model} ${e.version} on ${e.chip} ${measured.source === 'running' ? 'runs on this server now' : 'already ran on this server'}: its p99 at peak was ${p99Text} ms ${when}`;
  if (measured.p99_ms > input.sloP99Ms) {
    return {
      ...g, measured, answer: 'BLOCK',
      reason: `${what}, above the SLO ${sloText} ms; `
        + `a measurement of the candidate on this server outweighs the replay's ${g.predicted_p99_ms === null ? 'answer' : `${msText(g.predicted_p99_ms)} ms`}`,
    };
  }
  // Within the SLO at its highest measured peak: that does not bound the next, busier peak (the band stays), but
  // "measure it as a shadow first" is no advice when it was measured, or runs here.
  // A NEED_SHADOW with a band (p99_low_ms is set exactly then) asked for a shadow: say what was measured instead.
  if (g.answer === 'NEED_SHADOW' && measured.source !== 'rollout' && g.p99_low_ms !== null) {
    const next = measured.source === 'shadow' ? 'keep the shadow running over more peaks' : 'a busier peak than those measured may breach it';
    return { ...g, measured, reason: `${sloInBand(input.sloP99Ms, g.p99_low_ms, g.p99_high_ms ?? Number.POSITIVE_INFINITY)}; ${what}, within the SLO: ${next}` };
  }
  return { ...g, measured };
}

/** The factor of no change: what runs now, replayed where nothing tells the candidate's cost. */
const NO_CHANGE: FactorEstimate = Object.freeze({ compute: 1, io: 1, ioOffsetMs: 0, spread: 1, logSd: 0, ioUncertain: false, sources: [] }) as FactorEstimate;

/** Workers of a new device whose workers nothing reports, for the band's bottom: as many as never leave a request waiting in a peak. */
const NO_QUEUE_WORKERS = 1024;

/** A latency in a reason, ms; an infinite one is a queue that cannot drain. */
const bandMs = (x: number): string => (Number.isFinite(x) ? `${msText(x)} ms` : 'unbounded (the queue cannot drain)');

/**
 * The reason of a NEED_SHADOW whose band holds the SLO, without its advice (ms): each edge with the digits that tell
 * it from the SLO, and the SLO with the most of those (a trial's "the SLO 12.1 ms is inside [7.07 ms, 12.1 ms]").
 */
export function sloInBand(slo: number, low: number, high: number): string {
  const [lowText, sloByLow] = Number.isFinite(low) ? distinctMs(low, slo) : [null, msText(slo)];
  const [sloByHigh, highText] = Number.isFinite(high) ? distinctMs(slo, high) : [msText(slo), null];
  const sloText = sloByHigh.length > sloByLow.length ? sloByHigh : sloByLow;
  const edge = (text: string | null, x: number) => (text === null ? bandMs(x) : `${text} ms`);
  return `the SLO ${sloText} ms is inside the p99 band [${edge(lowText, low)}, ${edge(highText, high)}]`;
}

/** {@link gateServer} without the candidate's own earlier measurements (`measured: null`). */
function gateByReplay(input: ServerGateInput, opt: GateOptions): ServerGate {
  const { evidence: e, sloP99Ms: slo } = input;
  const first = input.days[0]?.device;
  if (!first) throw new RangeError('gateServer: no observations');
  const moves = e.chip !== e.chipNow;
  // A new device of the chip (the server has none: no day has a device of it to join) takes the input's workers.
  const newDevice = moves && input.days.every((x) => !x.target);
  const targetWorkers: WorkersOfChip | null = newDevice ? { count: input.targetWorkers, source: input.targetWorkersSource ?? 'fleet' } : null;
  const head = { server: first.server, version_now: e.versionNow, chip_now: e.chipNow, slo_p99_ms: slo, target_workers: targetWorkers };
  const none = { now_p99_ms: null, predicted_p99_ms: null, p99_low_ms: null, p99_high_ms: null, peak: null, offered_utilisation: null };
  const days = input.days.filter((x) => x.device.model.includes(e.model));
  const peaks = days.map((x) => modelPeakWindow(x.serverTs ?? (x.target ? [...x.device.ts, ...x.target.ts].sort((p, q) => p - q) : x.device.ts),
    x.device.ts.filter((_, i) => x.device.model[i] === e.model), opt.peakWindowMs));
  // The model's request rate in its peak windows, req/s: counted only for the command a missing reason suggests.
  const peakRps = (): number | undefined => {
    const inPeaks = days.reduce((n, x, d) => n + x.device.ts.filter((t, i) => x.device.model[i] === e.model && t >= peaks[d]!.startMs && t < peaks[d]!.endMs).length, 0);
    const seconds = peaks.reduce((s, p) => s + (p.endMs - p.startMs) / 1000, 0);
    return seconds > 0 ? inPeaks / seconds : undefined;
  };
  const est = estimateFactor(e, opt, { sloP99Ms: slo, rps: peakRps });
  if ('missing' in est && days.length === 0) return { ...head, answer: 'NEED_SHADOW', reason: est.missing, ...none, factor: null, measured: null };
  // Without evidence of the candidate's cost, what runs now is still replayed: its p99 at the peak stands beside the NEED_SHADOW.
  const f = 'missing' in est ? NO_CHANGE : est.factor;
  const movedOn = (workers: number) => days.map((x) => (moves ? movedDevice(x.device, e.model, x.target ?? null, e.chip, workers) : x.device));
  const after = movedOn(input.targetWorkers);
  // Every day's requests unloaded once, for the saturation check and the replay. The replay is null when a
  // day's queue cannot drain (`offered`, the highest busy fraction the days need, ≥ 1): nothing is replayed,
  // its p99 is unbounded. Service times are kept only where asked (the candidate's own replay: its queue share).
  const replayed = (k: number, loadScale: number, now = false, withService = false, devices = after): { replay: PeakReplay | null; offered: number } => {
    const runs = days.map((x, d) => {
      const o = now ? x.device : devices[d]!;
      const ioK = f.ioUncertain ? k : 1;
      const change = { model: e.model, compute: now ? 1 : f.compute * k, io: now ? 1 : f.io * ioK, ioOffset: now ? 0 : f.ioOffsetMs * ioK, spread: now ? 1 : f.spread, workers: o.workersPerReplica, loadScale, sensitivityPrior: input.fleetLoadSensitivity };
      return { o, change, prepared: prepareReplay(o, change) };
    });
    const offered = Math.max(...runs.map((r) => r.prepared.offered));
    if (offered >= 1) return { replay: null, offered };
    const out: PeakReplay = { total: [], service: [] };
    for (const [d, r] of runs.entries()) {
      const rep = replayPrepared(r.o, r.change, peaks[d]!, r.prepared);
      out.total.push(...rep.total);
      if (withService) out.service.push(...rep.service);
    }
    return { replay: out, offered };
  };
  const pooled = (k: number, loadScale: number, now = false): number[] | null => replayed(k, loadScale, now).replay?.total ?? null;
  const p99 = (v: number[] | null) => (v === null ? Number.POSITIVE_INFINITY : p99Band(v, opt.z).p99);
  const last = peaks[peaks.length - 1]!;
  const peakOf = (modelRequests: number) => ({ start_ms: last.startMs, end_ms: last.endMs, requests: last.requests, model_requests: modelRequests });
  if ('missing' in est) {
    const now = pooled(1, 1, true);
    const enough = now !== null && now.length >= MIN_PEAK_REQUESTS && Number.isFinite(p99(now));
    return { ...head, answer: 'NEED_SHADOW', reason: est.missing, ...none, now_p99_ms: enough ? p99(now) : null, peak: now ? peakOf(now.length) : null, factor: null, measured: null };
  }
  const { replay: midReplay, offered } = replayed(1, 1, false, true);
  const mid = midReplay?.total ?? null;
  if (mid === null) {
    // What runs now still has a p99 at the peak: the report keeps it next to the saturated candidate.
    const now = pooled(1, 1, true);
    const now99 = p99(now);
    if (targetWorkers?.source === 'assumed') {
      // Saturated on the 1 worker assumed for a new device nothing reports the workers of: not a BLOCK by itself.
      return { ...head, answer: 'NEED_SHADOW',
        reason: `the candidate (compute ×${f.compute.toPrecision(3)}) needs ${offered.toPrecision(3)}× the time of the 1 worker assumed for a new ${e.chip} device (no server of it reports its concurrency): `
          + `give its workers per device (--workers; workers over HTTP) or ${e.shadow ? 'keep the shadow of it running' : 'run it as a shadow'}`,
        ...none, now_p99_ms: Number.isFinite(now99) ? now99 : null, peak: now ? peakOf(now.length) : null, offered_utilisation: offered, factor: gateFactor(f), measured: null };
    }
    return { ...head, answer: 'BLOCK',
      reason: `the candidate (compute ×${f.compute.toPrecision(3)}) needs ${offered.toPrecision(3)}× the device's capacity over the observed requests (services slowed by the contention as measured): its queue cannot drain, so its p99 at peak grows without bound and breaches the SLO ${msText(slo)} ms`,
      ...none, now_p99_ms: Number.isFinite(now99) ? now99 : null, peak: now ? peakOf(now.length) : null, offered_utilisation: offered, factor: gateFactor(f), measured: null };
  }
  if (mid.length < MIN_PEAK_REQUESTS) {
    return { ...head, answer: 'NEED_SHADOW',
      reason: `${mid.length} request(s) of ${e.model} in the peak window${days.length === 1 ? '' : 's'}: fewer than ${MIN_PEAK_REQUESTS} cannot tell a p99 (it would be the slowest one); use a longer lookback${
        // What runs now has no shadow of itself to run (a trial: "or run it as a shadow" for the running version and chip).
        e.version === e.versionNow && e.chip === e.chipNow ? '' : ` or ${e.shadow ? 'keep the shadow of it running' : 'run it as a shadow'}`}`,
      ...none, peak: peakOf(mid.length), offered_utilisation: offered, factor: gateFactor(f), measured: null };
  }
  const spread = Math.exp(opt.z * f.logSd);
  const mid99 = p99(mid);
  const now99 = p99(pooled(1, 1, true));
  const lg = (x: number) => Math.log(Math.max(x, 1e-9) / Math.max(mid99, 1e-9));
  // Day-to-day variation of the model's measured peak p99 on this device, shrunk toward the fleet's.
  // Every model of the device (after a move to a device the server already has: of that one) shares
  // its day-to-day variation: pool the sample variance of ln p99 over its models. After a move to a
  // new device (the server has none of that chip) the running device's days tell nothing of how the
  // new one varies: the fleet's variation alone, over the days replayed.
  let ss = 0;
  let dof = 0;
  let m = 0;
  const sameDevice = days.map((x) => (moves ? x.target ?? null : x.device));
  const models = new Set(sameDevice.flatMap((o) => o?.model ?? []));
  for (const model of models) {
    const logs = days.map((_, d) => {
      const o = sameDevice[d]!;
      if (!o) return [];
      return o.total?.filter((_, i) => o.model[i] === model && o.ts[i]! >= peaks[d]!.startMs && o.ts[i]! < peaks[d]!.endMs) ?? [];
    }).filter((v) => v.length > 0).map((v) => Math.log(Math.max(p99(v), 1e-9)));
    const mean = logs.reduce((a, b) => a + b, 0) / Math.max(logs.length, 1);
    ss += logs.reduce((a, b) => a + (b - mean) ** 2, 0);
    dof += Math.max(0, logs.length - 1);
    if (model === e.model || moves) m = Math.max(m, logs.length);
  }
  if (models.size === 0) m = days.length;
  // The fleet's variation where the queue takes the candidate's share of its p99 (a p99 made by bursts
  // queueing varies from day to day far more than one made by the service time's tail).
  const queueShare = 1 - p99(midReplay!.service) / mid99;
  const fleetSd = typeof input.fleetDaySd === 'number' ? input.fleetDaySd
    : dayToDaySd(input.fleetDaySd.filter((x) => queueShareClass(x.queueShare) === queueShareClass(queueShare)).map((x) => x.p99), opt.daySdPrior);
  const daySd = Math.sqrt((ss + opt.daySdDof * fleetSd ** 2) / (dof + opt.daySdDof));
  // A candidate more sensitive to load than the running deployment varies more from day to day.
  const extra = Math.max(0, lg(p99(pooled(1, 1 + opt.loadMargin))) - Math.log(Math.max(p99(pooled(1, 1 + opt.loadMargin, true)), 1e-9) / Math.max(now99, 1e-9))) || 0;
  const dayPart = opt.z * daySd * Math.sqrt(1 + 1 / Math.max(m, 1));
  const up = Math.hypot(lg(p99(pooled(spread, 1))), dayPart, extra);
  const down = Math.hypot(lg(p99(pooled(1 / spread, 1))), dayPart);
  // One day's p99 is the nearest rank over that day's requests at its peak: where the replayed tail jumps (a
  // request that waited behind a slow one, or did not), which rank it lands on moves it more than the
  // day-to-day sd of ln p99 shows. The band covers both.
  const sampled = dayP99Band(mid, mid.length / days.length, opt.z);
  const high = Math.max(mid99 * Math.exp(up), sampled.high);
  // Workers assumed (1) on a new device of the chip: it may have more, down to no queue at all there.
  const unqueued = targetWorkers?.source === 'assumed' ? replayed(1, 1, false, false, movedOn(NO_QUEUE_WORKERS)).replay?.total ?? null : null;
  const low = Math.min(mid99 * Math.exp(-down), sampled.low, unqueued === null ? Number.POSITIVE_INFINITY : p99(unqueued) * Math.exp(-down));
  // The band's edge against the SLO, each with the digits that tell them apart (both are finite here).
  const against = (edge: string, x: number, verb: string): string => {
    const [a, b] = distinctMs(x, slo);
    return `p99 at peak ${bandMs(mid99)} (${edge} ${a} ms) ${verb} the SLO ${b} ms`;
  };
  // What runs now breaches at its peaks, and the candidate, on the same device, is no faster even at the
  // optimistic end of its factor: a request served no faster waits no less behind the same arrivals (Lindley's
  // recursion is monotone in the service times), so a shadow could not show it within the SLO (a trial: the running
  // version BLOCK at 68.3 ms measured against 60 ms; a version 1.25× its MACs NEED_SHADOW).
  // (What runs now gated itself is its own measurement: gateServer says that.)
  const noFaster = !moves && e.version !== e.versionNow && !('missing' in est) && Number.isFinite(now99) && now99 > slo
    && f.compute * Math.exp(-opt.z * f.logSd) >= 1 && f.io * (f.ioUncertain ? Math.exp(-opt.z * f.logSd) : 1) >= 1 && f.ioOffsetMs >= 0 && f.spread >= 1;
  const answer: GateAnswer = high <= slo ? 'ALLOW' : low > slo || noFaster ? 'BLOCK' : 'NEED_SHADOW';
  const reason = answer === 'ALLOW' ? against('at most', high, 'is within')
    : answer === 'BLOCK' && low > slo ? against('at least', low, 'breaches')
    : answer === 'BLOCK' ? `what runs now measured p99 ${distinctMs(now99, slo)[0]} ms at its peaks, above the SLO ${distinctMs(now99, slo)[1]} ms, and the candidate is no faster on this device (compute ×${f.compute.toPrecision(3)}, at least ×${(f.compute * Math.exp(-opt.z * f.logSd)).toPrecision(3)}): on the same arrivals its p99 cannot be lower than now's (replayed at the peak: ${bandMs(mid99)}; the band [${bandMs(low)}, ${bandMs(high)}] is how other days' peaks may differ)`
      // A shadow of it beside the server gave the factor: the advice is to let it run over more peaks, not to start one.
      : `${sloInBand(slo, low, high)}: ${e.shadow && shadowUnusable(e.shadow) === null ? 'keep the shadow of it beside this server running over more peaks (its verdicts gave the factor)' : e.shadow ? 'its shadow beside this server gives no factor yet (the evidence says why)' : 'measure it as a shadow first'}`;
  return {
    ...head, answer, reason, now_p99_ms: Number.isFinite(now99) ? now99 : null, predicted_p99_ms: mid99, p99_low_ms: low, p99_high_ms: Number.isFinite(high) ? high : null,
    peak: peakOf(mid.length), offered_utilisation: offered, factor: gateFactor(f), measured: null,
  };
}

/**
 * Day-to-day log-sd of peak p99 with nothing changed: the pooled sample sd of ln p99 within each
 * series (one series = consecutive days of one model on one unchanged device).
 * @param series  Peak p99s, ms, per series (series with fewer than 2 days are skipped).
 * @param prior   Returned when no series has 2 days.
 */
export function dayToDaySd(series: readonly (readonly number[])[], prior: number): number {
  let ss = 0;
  let dof = 0;
  for (const v of series) {
    const logs = v.filter((x) => x > 0).map(Math.log);
    if (logs.length < 2) continue;
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    ss += logs.reduce((a, b) => a + (b - mean) ** 2, 0);
    dof += logs.length - 1;
  }
  return dof > 0 ? Math.sqrt(ss / dof) : prior;
}

/**
 * Two latencies compared in a message, ms, as `msText` unless that prints them alike although they
 * differ (a trial: "measured p99 10.1 ms …, above the SLO 10.1 ms"): then with more significant
 * digits, up to 9, until they read apart.
 */
export function distinctMs(a: number, b: number): [string, string] {
  if (a === b || msText(a) !== msText(b)) return [msText(a), msText(b)];
  // Up to 17 significant digits, which tell any two doubles apart (a re-test: 7.0679944 against an edge of
  // 7.067994398430909 read alike at the 9 digits this had stopped at).
  for (let digits = 4; digits <= 17; digits++) {
    const x = a.toPrecision(digits);
    const y = b.toPrecision(digits);
    if (x !== y) return [x, y];
  }
  return [a.toPrecision(17), b.toPrecision(17)];
}

/** A latency for a message, ms: one decimal from 10 ms up, else 3 significant digits (an SLO of 0.004 ms is not "0.0"). */
export function msText(x: number): string {
  return Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(3);
}

/** Fewest requests of the model in the peak windows for an answer (and a p99 at peak is read over; gate-replay.ts). */
export { MIN_PEAK_REQUESTS };

/** Days before a rollout over which the fleet's day-to-day variation of peak p99 is measured. */
export const FLEET_SD_DAYS = 7;

/**
 * Queue-share classes within which the fleet's day-to-day variation is pooled (fraction of the peak
 * p99 that is waiting). Over simulated histories (seeds 10 and 16, every series of ≥ 2 days) the
 * pooled sd of ln p99 was 0.03 below a share of 0.05, 0.08–0.23 between 0.05 and 0.3, and 0.24–0.31
 * above; utilisation classes mixed them (0.04 / 0.16–0.19 / 0.25–0.31).
 */
export const QUEUE_SHARE_CLASSES = [0.05, 0.25] as const;

/** Index of the queue-share class of a fraction (0, 1 or 2). */
export function queueShareClass(share: number): number {
  return QUEUE_SHARE_CLASSES.filter((edge) => share >= edge).length;
}

/** Combine the servers' answers: BLOCK if any blocks, else NEED_SHADOW if any needs one, else ALLOW. */
export function combineAnswers(servers: readonly ServerGate[]): GateAnswer {
  if (servers.some((s) => s.answer === 'BLOCK')) return 'BLOCK';
  if (servers.some((s) => s.answer === 'NEED_SHADOW')) return 'NEED_SHADOW';
  return 'ALLOW';
}
