/**
 * A deployment history (issue 7, F3): simulated days of a fleet in which new
 * model versions and chips are rolled out, and a rollout is rolled back at the
 * end of its day when its p99 at peak load breached the deployment's SLO.
 *
 * - A day is `dayMs` of event time (24 min by default: the Azure trace's
 *   58.6-min period compressed into it, so every day has the trace's swings
 *   and a peak). The day's demand is the fleet's planned rates times a daily
 *   factor e^{N(0, 0.05)} (day-to-day variation, not seen before the day),
 *   at half the demo's planned rates by default (the demo runs its hot
 *   servers near saturation at peak; a fleet with latency SLOs is provisioned
 *   for its peak).
 * - Requests reach the servers through a load balancer (smooth weighted
 *   round-robin, arrivals.ts; `routing`): every server gets its share of a
 *   burst of the trace. With independent draws (`'random'`) a burst could
 *   land on one server, and the p99 at peak of an unchanged server swung up
 *   to 3× from day to day; with the balancer, ±10–20 %.
 * - Days are added (up to 60) until the history holds `minRollouts` rollouts
 *   and `minRolledBack` rollbacks.
 * - The first `baselineDays` days run the fleet as laid out (fleet.ts,
 *   version `v1` everywhere) without rollouts; the SLO of each (server, model)
 *   is the highest of its p99s at those days' peaks times a headroom drawn
 *   from U(1.5, 3). Teams set an SLO that the running deployment meets on its
 *   ordinary days, with headroom: the p99 at the peak of a server with a few
 *   hundred requests there swings up to 3× from day to day (a burst of the
 *   trace queues behind a slow model), so an SLO set from one day's p99 was
 *   breached by unchanged deployments, and their rollouts were rolled back
 *   for the day's luck, not for the change.
 * - From day `baselineDays`, `rolloutsPerDay` servers (never one with a rollout the day
 *   before) each roll out one change of one model: with probability 0.3 a
 *   chip (the model moves alone to a colocated device of another chip of the
 *   cut that has its MLPerf latency), else a new version. A version is a
 *   retrain of the same architecture (probability 0.6: MACs unchanged, compute
 *   × e^{N(0, 0.02)}) or an architecture change (MACs × r, r log-uniform in
 *   [0.6, 4], compute × r·e^{N(0, 0.08)}: MACs predict compute within a
 *   family only up to the kernels' efficiency). Each version carries its MACs
 *   as a profile would.
 * - Truth: the day is simulated exactly with the change (server-sim.ts; the
 *   changed model alone on its device after a chip change); the model's p99 at
 *   the peak (peak-p99.ts `modelPeakWindow`: the busiest 5 min of the
 *   server's arrivals, widened by whole minutes until the model has 100
 *   requests in it, as the gate reads it; over fewer, a nearest-rank p99 is
 *   the slowest request) above its SLO rolls it back at the end of the day.
 * Everything is seeded: same config → deep-equal history.
 */
import type { DeploymentEvent } from '../../schemas/types.ts';
import { modelPeakWindow } from '../predictor/peak-p99.ts';
import { generateRequests, type Routing } from './arrivals.ts';
import { loadArrivalTrace, loadBaseLatencies, type BaseLatency } from './data.ts';
import { buildFleet, CHIP_SPECS, pairPlan, type ServerPlan } from './fleet.ts';
import { createRng } from './prng.ts';
import { simulateServer } from './server-sim.ts';
import { defaultDataDir } from './data.ts';
import { readReferenceMacs } from './reference-macs.ts';

/** Options of {@link simulateDeploymentHistory}. */
export interface HistoryConfig {
  /** Seed of every random stream (safe integer). */
  seed: number;
  /** Edge servers. @default 12 */
  servers?: number;
  /** Days at least, the baseline's without rollouts (integer baselineDays + 1..60). @default 12 */
  days?: number;
  /** Days without rollouts at the start, whose peaks set the SLOs (integer 1..10). @default 4 */
  baselineDays?: number;
  /** More days are simulated (up to 60) until the history holds this many rollouts… @default 100 */
  minRollouts?: number;
  /** …and this many rollbacks (a larger history scores the gate with less chance). @default 20 */
  minRolledBack?: number;
  /** Event time of one day, ms. @default 1_440_000 (24 min) */
  dayMs?: number;
  /** Rollouts per day from day 1 (at most half the servers). @default 6 */
  rolloutsPerDay?: number;
  /** Width of the peak window, ms. @default 300_000 */
  peakWindowMs?: number;
  /** Multiplier of the fleet's planned request rates (the demo's plan runs its hot servers near saturation at peak; a fleet provisioned for its peak runs below it). @default 0.5 */
  rateScale?: number;
  /** Epoch ms UTC of day 0. @default Date.UTC(2024, 5, 1) */
  startMs?: number;
  /** Folder of the data cuts. @default the repository's data/ */
  dataDir?: string;
  /**
   * Re-simulations of each rollout's day with other arrivals and service-time draws (same change,
   * same demand), recorded in {@link RolloutTruth.replicateP99Ms}: how much of a rollback was luck
   * (bench/gate-oracle.ts). Each costs one more simulated server day per rollout. @default 0
   */
  replicates?: number;
  /**
   * How requests pick their server (arrivals.ts): behind a load balancer (`'smooth'`: every server's
   * share of a burst is its share of the rates) or by independent draws (`'random'`: a burst can land
   * on one server, and its p99 at peak swings up to 3× from day to day with nothing changed).
   * @default 'smooth'
   */
  routing?: Routing;
}

/** One device's measured requests over one day, as telemetry would show them (ms, epoch ms, fraction 0..1). */
export interface DeviceDay {
  day: number;
  server: string;
  chip: string;
  workers: number;
  /** Per request, in ts order: arrival, parts, latency, busy-worker fraction of the last second, model and version. */
  ts: number[];
  io: number[];
  compute: number[];
  total: number[];
  util: number[];
  model: string[];
  version: string[];
}

/** The truth about one rollout. */
export interface RolloutTruth {
  id: number;
  day: number;
  ts: number;
  server: string;
  model: string;
  fromVersion: string;
  toVersion: string;
  fromChip: string;
  toChip: string;
  /** MACs of the running and of the new version (their profiles). */
  fromMacs: number;
  toMacs: number;
  /** True compute multiplier of the new version over the old (same chip). */
  trueComputeFactor: number;
  sloP99Ms: number;
  /** The model's p99 at the day's peak with the change, ms. */
  peakP99Ms: number;
  rolledBack: boolean;
  /** The same p99 on each of `replicates` re-simulations of the day (other arrivals, same change and demand), ms. */
  replicateP99Ms: number[];
}

/** Everything a history produced. */
export interface DeploymentHistory {
  config: Required<HistoryConfig>;
  /** Devices per day (index = day). */
  days: DeviceDay[][];
  events: DeploymentEvent[];
  rollouts: RolloutTruth[];
  /** MLPerf base latencies of the cut (the benchmark evidence a gate may use). */
  benchmarks: BaseLatency[];
}

interface ModelState { version: string; chip: string; factor: number; macs: number; slo: number }

/** SLO of a (server, model): its highest p99 at the baseline days' peaks times a headroom drawn from this range. */
const SLO_HEADROOM = [1.5, 3] as const;
/** Longest history, days. */
const MAX_DAYS = 60;
const CHIP_ROLLOUT_SHARE = 0.3;
const RETRAIN_SHARE = 0.6;
/** Log-sd of a retrain's compute time (same graph, same kernels: run-to-run and build differences). */
const RETRAIN_SD = 0.02;
/** Log-sd of compute around the MACs ratio after an architecture change (kernel efficiency differs). */
const ARCHITECTURE_SD = 0.08;
/** Stand-in MACs of a model without a published figure (only ratios between its versions matter). */
const UNPUBLISHED_MACS = 1e10;

/**
 * Simulate a deployment history.
 * @throws {RangeError} naming a bad option.
 */
export function simulateDeploymentHistory(config: HistoryConfig): DeploymentHistory {
  const cfg: Required<HistoryConfig> = {
    seed: config.seed, servers: config.servers ?? 12, days: config.days ?? 12, baselineDays: config.baselineDays ?? 4, dayMs: config.dayMs ?? 1_440_000,
    rolloutsPerDay: config.rolloutsPerDay ?? 6, rateScale: config.rateScale ?? 0.5, peakWindowMs: config.peakWindowMs ?? 300_000,
    minRollouts: config.minRollouts ?? 100, minRolledBack: config.minRolledBack ?? 20,
    startMs: config.startMs ?? Date.UTC(2024, 5, 1), dataDir: config.dataDir ?? defaultDataDir(), replicates: config.replicates ?? 0,
    routing: config.routing ?? 'smooth',
  };
  if (!Number.isSafeInteger(cfg.seed)) throw new RangeError(`seed: expected a safe integer, got ${JSON.stringify(cfg.seed)}`);
  if (!Number.isInteger(cfg.servers) || cfg.servers < 2 || cfg.servers > 200) throw new RangeError(`servers: expected an integer in [2, 200], got ${JSON.stringify(cfg.servers)}`);
  if (!Number.isInteger(cfg.baselineDays) || cfg.baselineDays < 1 || cfg.baselineDays > 10) throw new RangeError(`baselineDays: expected an integer in [1, 10], got ${JSON.stringify(cfg.baselineDays)}`);
  if (!Number.isInteger(cfg.days) || cfg.days <= cfg.baselineDays || cfg.days > 60) throw new RangeError(`days: expected an integer in [baselineDays + 1 = ${cfg.baselineDays + 1}, 60], got ${JSON.stringify(cfg.days)}`);
  if (!Number.isInteger(cfg.rolloutsPerDay) || cfg.rolloutsPerDay < 1 || cfg.rolloutsPerDay > cfg.servers / 2) throw new RangeError(`rolloutsPerDay: expected an integer in [1, servers / 2], got ${JSON.stringify(cfg.rolloutsPerDay)}`);
  if (!Number.isInteger(cfg.replicates) || cfg.replicates < 0 || cfg.replicates > 100) throw new RangeError(`replicates: expected an integer in [0, 100], got ${JSON.stringify(cfg.replicates)}`);
  if (cfg.routing !== 'smooth' && cfg.routing !== 'random') throw new RangeError(`routing: expected 'smooth' or 'random', got ${JSON.stringify(cfg.routing)}`);
  if (!(cfg.dayMs >= 4 * cfg.peakWindowMs)) throw new RangeError(`dayMs: expected at least 4 peak windows (${4 * cfg.peakWindowMs} ms), got ${JSON.stringify(cfg.dayMs)}`);
  const trace = loadArrivalTrace(cfg.dataDir);
  const bases = loadBaseLatencies(cfg.dataDir);
  const refMacs = readReferenceMacs(cfg.dataDir);
  const plans = buildFleet(cfg.seed, cfg.servers, bases, trace);
  const state = plans.map((p) => new Map<string, ModelState>(p.models.map((m) => [m, { version: 'v1', chip: p.chip, factor: 1, macs: refMacs.get(m) ?? UNPUBLISHED_MACS, slo: NaN }])));
  const nextVersion = new Map<string, number>();
  const rng = createRng(cfg.seed, 'deployments');
  const days: DeviceDay[][] = [];
  const events: DeploymentEvent[] = [];
  const rollouts: RolloutTruth[] = [];
  let rolledYesterday = new Set<number>();
  /** Highest p99 at the peak of each `server|model` over the baseline days so far, ms. */
  const baselineP99 = new Map<string, number>();
  const enough = () => rollouts.length >= cfg.minRollouts && rollouts.filter((r) => r.rolledBack).length >= cfg.minRolledBack;
  for (let d = 0; d < MAX_DAYS && (d < cfg.days || !enough()); d++) {
    const dayStart = cfg.startMs + d * cfg.dayMs;
    const today: { s: number; model: string; before: ModelState; truth: RolloutTruth }[] = [];
    if (d >= cfg.baselineDays) {
      const eligible = plans.map((_, s) => s).filter((s) => !rolledYesterday.has(s));
      for (let k = eligible.length - 1; k > 0; k--) {
        const j = rng.int(k + 1);
        [eligible[k], eligible[j]] = [eligible[j]!, eligible[k]!];
      }
      for (const s of eligible.slice(0, cfg.rolloutsPerDay)) {
        const model = plans[s]!.models[rng.int(plans[s]!.models.length)]!;
        const before = state[s]!.get(model)!;
        const chips = CHIP_SPECS.filter((c) => c.chip !== before.chip && bases.some((b) => b.model === model && b.chip === c.chip));
        const after = { ...before };
        if (chips.length > 0 && rng.next() < CHIP_ROLLOUT_SHARE) {
          after.chip = chips[rng.int(chips.length)]!.chip;
        } else {
          const n = (nextVersion.get(model) ?? 1) + 1;
          nextVersion.set(model, n);
          const retrain = rng.next() < RETRAIN_SHARE;
          const r = retrain ? 1 : Math.exp(rng.uniform(Math.log(0.6), Math.log(4)));
          after.version = `v${n}`;
          after.macs = Math.round(before.macs * r);
          after.factor = before.factor * r * Math.exp((retrain ? RETRAIN_SD : ARCHITECTURE_SD) * rng.normal());
        }
        state[s]!.set(model, after);
        const truth: RolloutTruth = {
          id: rollouts.length, day: d, ts: dayStart, server: plans[s]!.edge_server_id, model,
          fromVersion: before.version, toVersion: after.version, fromChip: before.chip, toChip: after.chip,
          fromMacs: before.macs, toMacs: after.macs, trueComputeFactor: after.factor / before.factor,
          sloP99Ms: before.slo, peakP99Ms: NaN, rolledBack: false, replicateP99Ms: [],
        };
        rollouts.push(truth);
        today.push({ s, model, before, truth });
        events.push(deploymentEvent(truth.server, model, after, dayStart, 'rollout', null));
      }
    }
    const load = Math.exp(0.05 * createRng(cfg.seed, `day-load:${d}`).normal());
    const req = generateRequests(daySeed(cfg.seed, d), dayStart, cfg.dayMs, load * cfg.rateScale, plans, trace, cfg.routing);
    const devices = plans.flatMap((p, s) => simulateServerDay(cfg, d, dayStart, p, state[s]!, bases, req, s));
    days.push(devices);
    for (let k = 1; k <= cfg.replicates; k++) {
      const salt = createRng(cfg.seed, `replicate:${d}:${k}`).int(2 ** 31 - 1);
      const again = generateRequests(salt, dayStart, cfg.dayMs, load * cfg.rateScale, plans, trace, cfg.routing);
      for (const t of today) {
        const devs = simulateServerDay(cfg, d, dayStart, plans[t.s]!, state[t.s]!, bases, again, t.s, salt);
        t.truth.replicateP99Ms.push(peakP99(devs, plans[t.s]!.edge_server_id, state[t.s]!.get(t.model)!.chip, t.model, cfg.peakWindowMs));
      }
    }
    for (const [s, p] of plans.entries()) {
      for (const m of p.models) {
        const st = state[s]!.get(m)!;
        const p99 = peakP99(devices, p.edge_server_id, st.chip, m, cfg.peakWindowMs);
        if (d < cfg.baselineDays) {
          const key = `${p.edge_server_id}|${m}`;
          const highest = Math.max(baselineP99.get(key) ?? Number.NEGATIVE_INFINITY, Number.isFinite(p99) ? p99 : Number.NEGATIVE_INFINITY);
          baselineP99.set(key, highest);
          if (d === cfg.baselineDays - 1) {
            st.slo = Math.round((Number.isFinite(highest) ? highest : 1000) * rng.uniform(SLO_HEADROOM[0], SLO_HEADROOM[1]) * 10) / 10;
            events.push(deploymentEvent(p.edge_server_id, m, st, cfg.startMs, 'rollout', 'initial deployment'));
          }
        }
        const r = today.find((t) => t.s === s && t.model === m);
        if (!r) continue;
        r.truth.peakP99Ms = p99;
        r.truth.rolledBack = p99 > r.truth.sloP99Ms;
        if (r.truth.rolledBack) {
          state[s]!.set(m, r.before);
          events.push(deploymentEvent(p.edge_server_id, m, r.before, dayStart + cfg.dayMs - 1, 'rollback',
            `p99 at peak ${p99.toFixed(1)} ms > SLO ${r.truth.sloP99Ms} ms (${r.truth.toVersion} on ${r.truth.toChip})`));
        }
      }
    }
    rolledYesterday = new Set(today.map((t) => t.s));
  }
  return { config: cfg, days, events, rollouts, benchmarks: bases };
}

/**
 * A model's nearest-rank p99 at peak on a server's device of a chip, ms: over its requests in the
 * busiest window of the server's arrivals, widened by whole minutes until it holds
 * `MIN_PEAK_REQUESTS` of them (peak-p99.ts `modelPeakWindow`; fewer, and the p99 would be the
 * slowest request).
 * @param devices  One day's device days.
 * @returns NaN when the model has no request on that device in the window.
 */
export function peakP99(devices: readonly DeviceDay[], server: string, chip: string, model: string, peakWindowMs: number): number {
  const mine = devices.filter((v) => v.server === server);
  const on = mine.filter((v) => v.chip === chip);
  const modelTs = on.flatMap((v) => v.ts.filter((_, i) => v.model[i] === model)).sort((a, b) => a - b);
  const peak = modelPeakWindow(mine.flatMap((v) => v.ts).sort((a, b) => a - b), modelTs, peakWindowMs);
  const lat = on.flatMap((v) => v.total.filter((_, i) => v.model[i] === model && v.ts[i]! >= peak.startMs && v.ts[i]! < peak.endMs)).sort((a, b) => a - b);
  return lat.length ? lat[Math.ceil(0.99 * lat.length) - 1]! : NaN;
}

function daySeed(seed: number, day: number): number {
  return createRng(seed, `day:${day}`).int(2 ** 31 - 1);
}

function deploymentEvent(server: string, model: string, st: ModelState, ts: number, kind: DeploymentEvent['kind'], reason: string | null): DeploymentEvent {
  const runtime = CHIP_SPECS.find((c) => c.chip === st.chip)!.runtime;
  return {
    deployment_id: `dep-${model}-${st.chip}-${st.version}@${server}`, ts, edge_server_id: server, model_id: model,
    model_version: st.version, chip: st.chip, runtime, kind, reason, slo_p99_ms: Number.isFinite(st.slo) ? st.slo : null, macs: st.macs,
  };
}

/** One server's day: its main device and a device per model moved to another chip. */
function simulateServerDay(
  cfg: Required<HistoryConfig>, day: number, dayStart: number, plan: ServerPlan, state: Map<string, ModelState>,
  bases: readonly BaseLatency[], req: ReturnType<typeof generateRequests>, s: number, seed = daySeed(cfg.seed, day),
): DeviceDay[] {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < req.n; i++) {
    if (req.server[i] !== s) continue;
    const chip = state.get(plan.models[req.model[i]!]!)!.chip;
    if (!groups.has(chip)) groups.set(chip, []);
    groups.get(chip)!.push(i);
  }
  const out: DeviceDay[] = [];
  for (const [chip, idx] of groups) {
    const spec = CHIP_SPECS.find((c) => c.chip === chip)!;
    const pairs = plan.models.map((m, k) => {
      const st = state.get(m)!;
      const base = st.chip === plan.chip ? plan.pairs[k]! : pairPlan(bases.find((b) => b.model === m && b.chip === st.chip)!, spec);
      if (st.chip !== chip) return base;
      return { ...base, baseMs: base.baseMs * st.factor, timeoutMs: Math.max(base.timeoutMs * st.factor, base.timeoutMs) };
    });
    const device: ServerPlan = { ...plan, edge_server_id: chip === plan.chip ? plan.edge_server_id : `${plan.edge_server_id}/${chip}`, chip, workers: spec.workers, spec, pairs };
    const run = simulateServer(seed, device, req, Int32Array.from(idx), dayStart, 1000);
    const util = (j: number): number => {
      const k = Math.floor((req.ts[idx[j]!]! - dayStart) / 1000);
      return k >= 1 ? Math.round(Math.min(1, (run.busyPerInterval[k - 1] ?? 0) / (spec.workers * 1000)) * 1e4) / 1e4 : 0;
    };
    out.push({
      day, server: plan.edge_server_id, chip, workers: spec.workers,
      ts: idx.map((i) => req.ts[i]!), io: Array.from(run.ioMs), compute: Array.from(run.computeMs),
      total: idx.map((_, j) => run.queueMs[j]! + run.ioMs[j]! + run.computeMs[j]!), util: idx.map((_, j) => util(j)),
      model: idx.map((i) => plan.models[req.model[i]!]!), version: idx.map((i) => state.get(plan.models[req.model[i]!]!)!.version),
    });
  }
  return out;
}
