/**
 * The candidate's service time relative to what runs now (`FactorEstimate`), for the deployment gate
 * (gate.ts) and the what-if (the i/o map across chips), from the best evidence there is, in this order:
 * shadow verdicts of that version on that chip beside the server (the same requests measured on both);
 * the fleet (unloaded medians of both versions, or of the model on both chips); the versions' profiles
 * (MACs ratio) and MLPerf benchmarks (p50 ratio of the two chips; the i/o on the new chip from the
 * fleet's other models measured on both, `ioMapAcrossChips`). Each kind carries a log-sd
 * (GATE_DEFAULTS, assumptions documented there).
 */
import { benchmarkSpreadRatio, spreadRatio } from './gate-replay.ts';
import { lowerQuantile } from '../../pipelines/stats/samples.ts';
import { GATE_DEFAULTS, type GateOptions } from './gate-options.ts';
import { MIN_MEDIAN_REQUESTS } from './evidence.ts';
import { msText } from './ms-text.ts';
import { lookAlike, quoteName, shellWord } from '../names.ts';

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

/**
 * The i/o text when nothing tells how it moves to the new chip: no i/o of this model or another measured on both
 * chips, within the lookback (the gate, `inLookback`) or in all the telemetry (the what-if).
 */
export const ioUnchanged = (inLookback: boolean): string => `i/o unchanged (no i/o of this model or another measured on both chips${inLookback ? ' in the lookback' : ''})`;

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
  /**
   * The shadow's own p99 in its verdict windows, ms: the lowest and highest of the windows that have one. Measured on
   * its device with whatever else that device served, over each window's requests (not at the server's peak), so it
   * is told beside the answer, not used for it. @default not told
   */
  p99Ms?: { low: number; high: number; windows: number } | null;
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

/**
 * A note when the candidate's version differs from a version the evidence knows (running, measured in the fleet, or
 * profiled) in case alone, e.g. `the fleet knows "v1", which differs from it in case alone: versions are told apart by
 * case` (a trial: `--version V1` where the fleet runs v1 read as a new version to shadow); null otherwise.
 */
export function caseOnlyVersionNote(e: Pick<CandidateEvidence, 'version' | 'versionNow' | 'fleet' | 'macs'>): string | null {
  const known = [...new Set([e.versionNow, ...e.fleet.map((f) => f.version), ...e.macs.keys()])];
  const cased = known.find((k) => k !== e.version && k.toLowerCase() === e.version.toLowerCase());
  return cased === undefined ? null : `the fleet knows ${quoteName(cased)}, which differs from it in case alone: versions are told apart by case`;
}

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
      // A version that looks like a known one but for a character outside ASCII is said so (a trial: "v１", its digit full-width).
      const known = [...new Set([e.versionNow, ...e.fleet.map((f) => f.version), ...e.macs.keys()])];
      const alike = lookAlike(e.version, known) ?? caseOnlyVersionNote(e);
      return { missing: `no measurement of ${e.model} ${e.version}${alike ? ` (${alike})` : ''} in the fleet and no profile (MACs) of ${lacking.join(' nor of ')}; or run it as a shadow` };
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
      sources.push(`chip: benchmark p${Math.round((e.benchmarkPercentile ?? 0.5) * 100)} ${b} ms on ${e.chip} / ${a} ms on ${e.chipNow}; ${map ? mapText(map) : ioUnchanged(true)}${spread !== 1 ? `; compute spread ×${spread.toFixed(2)} (${s.how})` : ''}`);
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
