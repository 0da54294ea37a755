/**
 * The simulated fleet: chip and model catalogues, the latency law's parameters,
 * and the seeded layout of servers (chip, workers, models, planned load).
 *
 * Measured inputs: per-(model, chip) p50/p90 latency from the MLPerf cut
 * (`data/mlperf-singlestream/`). Modelling assumptions (not measured; chosen
 * to be plausible and documented here): worker counts, i/o bandwidth and fixed
 * i/o cost, power and thermal ranges, contention and load factors.
 */
import type { ArrivalTrace, BaseLatency } from './data.ts';
import { createRng, shuffleInPlace } from './prng.ts';
import type { FleetServer } from './types.ts';

/** Static description of one chip (board + compute device + runtime). */
export interface ChipSpec {
  /** Normalised chip id (as in the MLPerf cut). */
  chip: string;
  /** Human-readable board and device. */
  label: string;
  /** Inference runtime the MLPerf base latency was measured with. */
  runtime: string;
  /** Parallel inference workers c of a server with this chip. */
  workers: number;
  /** Where inference runs: the CPU itself, an integrated GPU, or an NPU/accelerator card. */
  kind: 'cpu' | 'gpu' | 'npu';
  /** Fixed i/o cost per request (receive, decode, copy back), ms. Assumption. */
  io0Ms: number;
  /** Effective input bandwidth, bytes per ms (1 MB/s = 1000 B/ms). Assumption. */
  ioBytesPerMs: number;
  /** Board power when idle, W (approximate vendor figure). */
  idleW: number;
  /** Board power at full inference load, W (approximate vendor figure). */
  maxW: number;
  /** Steady-state temperature rise over 30 °C ambient at full load, °C. Assumption. */
  tempRiseC: number;
  /** Memory utilisation of the idle server (OS + loaded models), fraction. Assumption. */
  memBase: number;
}

/** The chips of the MLPerf cut, in fleet-layout order. */
export const CHIP_SPECS: readonly ChipSpec[] = [
  { chip: 'rpi4-cortex-a72', label: 'Raspberry Pi 4 (BCM2711, 4x Cortex-A72)', runtime: 'armnn', workers: 1, kind: 'cpu', io0Ms: 1.0, ioBytesPerMs: 50_000, idleW: 2.7, maxW: 6.4, tempRiseC: 38, memBase: 0.35 },
  { chip: 'odroid-n2plus-s922x', label: 'Odroid N2+ (Amlogic S922X, 4x A73 + 2x A53)', runtime: 'tflite', workers: 1, kind: 'cpu', io0Ms: 1.0, ioBytesPerMs: 60_000, idleW: 1.8, maxW: 5.5, tempRiseC: 30, memBase: 0.4 },
  { chip: 'rk3588-mali-g610', label: 'Firefly RK3588S (Mali-G610 MP4 GPU)', runtime: 'armnn-opencl', workers: 1, kind: 'gpu', io0Ms: 0.6, ioBytesPerMs: 100_000, idleW: 2.5, maxW: 9, tempRiseC: 28, memBase: 0.3 },
  { chip: 'jetson-xavier-nx', label: 'NVIDIA Jetson Xavier NX', runtime: 'tensorrt', workers: 1, kind: 'gpu', io0Ms: 0.4, ioBytesPerMs: 120_000, idleW: 5, maxW: 15, tempRiseC: 30, memBase: 0.4 },
  { chip: 'jetson-agx-orin', label: 'NVIDIA Jetson AGX Orin', runtime: 'tensorrt', workers: 2, kind: 'gpu', io0Ms: 0.3, ioBytesPerMs: 200_000, idleW: 15, maxW: 60, tempRiseC: 35, memBase: 0.3 },
  { chip: 'qualcomm-ai100-dm2e', label: 'Qualcomm Cloud AI 100 DM.2e (M.2, 15 W)', runtime: 'qaic', workers: 2, kind: 'npu', io0Ms: 0.3, ioBytesPerMs: 250_000, idleW: 5, maxW: 15, tempRiseC: 25, memBase: 0.25 },
];

/**
 * Nominal input tensor size per model, bytes (MLPerf reference inputs, uint8
 * images / int32 token arrays): resnet50 and mobilenet-v2 224×224×3,
 * ssd-mobilenet 300×300×3, retinanet 800×800×3, bert-99 3 × 384 int32.
 */
export const MODEL_INPUT_BYTES: Readonly<Record<string, number>> = {
  resnet50: 150_528,
  'mobilenet-v2-int8': 150_528,
  'ssd-mobilenet': 270_000,
  retinanet: 1_920_000,
  'bert-99': 4_608,
};

/** Parameters of the latency law and of the load plan (all documented in the README). */
export const LAW_PARAMS = Object.freeze({
  /** κ: compute slows by (1 + κ·ρ) under utilisation ρ (contention for memory bandwidth, clocks). */
  kappa: 0.3,
  /** β: the bandwidth part of i/o slows by (1 + β·ρ). */
  beta: 0.5,
  /** Width of the utilisation bucket ρ is read from (the previous one), ms. */
  contentionWindowMs: 1000,
  /** Lower bound of the lognormal log-sd σ (field noise exceeds the benchmark's). */
  sigmaFloor: 0.08,
  /** z of the 90th percentile of N(0,1): σ = ln(p90/p50) / z90. */
  z90: 1.2815515655446004,
  /** A request whose total exceeds max(timeoutFactor·base, timeoutFloorMs) has status 'timeout'. */
  timeoutFactor: 10,
  timeoutFloorMs: 2000,
  /** P(error) = errorRate·(1 + errorLoadFactor·ρ). */
  errorRate: 0.002,
  errorLoadFactor: 4,
  /** input_bytes = nominal × clamp(ContextTokens / refTokens, minTokenScale, maxTokenScale). */
  refTokens: 1024,
  minTokenScale: 1 / 16,
  maxTokenScale: 8,
  /** Planned mean utilisation of the first server of each chip ("hot") and of the others. */
  hotUtil: [0.38, 0.48] as const,
  coolUtil: [0.15, 0.3] as const,
  /** Cap of a server's planned request rate, requests/s (fast accelerators stay lightly loaded). */
  maxServerRatePerS: 6,
});

/** The law in words, copied into every ground-truth row. */
export const LATENCY_LAW = 'fcfs c-server queue (exact discrete-event, service = io + compute); '
  + 'compute = base·lognormal(0,σ)·(1+κ·ρ); io = io0 + bytes/bw·(1+β·ρ); '
  + 'ρ = busy-worker fraction of the server in the previous 1-s bucket';

/** Latency parameters of one (server, model). Times in ms. */
export interface PairPlan {
  /** Model id. */
  model: string;
  /** MLPerf p50 (median over runs): unloaded compute time. */
  baseMs: number;
  /** Lognormal log-sd of compute noise. */
  sigma: number;
  /** Nominal input size, bytes. */
  nominalInputBytes: number;
  /** total_ms above this → status 'timeout'. */
  timeoutMs: number;
  /** `dep-<model>-<chip>-1`. */
  deploymentId: string;
  /** The parameter values as JSON (shared string for the ground truth). */
  paramsJson: string;
}

/** A server with everything the simulation needs. */
export interface ServerPlan extends FleetServer {
  /** The server's chip. */
  spec: ChipSpec;
  /** Latency parameters, aligned with `models`. */
  pairs: PairPlan[];
  /** Request share of each model, aligned with `models`, summing to 1. */
  modelWeights: number[];
  /** Planned mean utilisation before `rateScale`. */
  targetUtil: number;
  /** Planned request rate before `rateScale`, requests/s. */
  ratePerS: number;
}

/** Mean of clamp(tokens/refTokens, min, max) over the trace: mean input size / nominal. */
export function meanTokenScale(trace: ArrivalTrace): number {
  let s = 0;
  for (let i = 0; i < trace.contextTokens.length; i++) s += tokenScale(trace.contextTokens[i]);
  return s / trace.contextTokens.length;
}

/**
 * Input size factor of a request from its trace ContextTokens.
 *
 * @param tokens  ContextTokens of the trace row.
 * @returns       clamp(tokens / 1024, 1/16, 8).
 */
export function tokenScale(tokens: number): number {
  const x = tokens / LAW_PARAMS.refTokens;
  return Math.min(LAW_PARAMS.maxTokenScale, Math.max(LAW_PARAMS.minTokenScale, x));
}

/**
 * Lay out the fleet for a seed.
 *
 * Behaviour: chips (those of the cut that have a {@link ChipSpec}) are shuffled
 * by seed and dealt round-robin to `edge-01…`; so with servers >= the number of
 * chips every chip is present. The first server of a chip serves all of the
 * chip's models and is planned "hot"; later ones serve a seeded non-empty
 * subset and are planned "cool". A server's rate is the one that gives its
 * planned utilisation, rate = u·c / E[service], capped at maxServerRatePerS.
 * @param seed     Run seed.
 * @param servers  Number of servers (>= 1).
 * @param bases    Reduced MLPerf latencies.
 * @param trace    The arrival trace (for the mean input size).
 * @returns        Server plans in id order.
 * @throws {RangeError} if a chip of the cut has no spec or a model no input size.
 */
export function buildFleet(seed: number, servers: number, bases: readonly BaseLatency[], trace: ArrivalTrace): ServerPlan[] {
  const rng = createRng(seed, 'fleet');
  for (const b of bases) {
    if (!CHIP_SPECS.some((c) => c.chip === b.chip)) throw new RangeError(`chip ${JSON.stringify(b.chip)} of the cut has no ChipSpec`);
    if (MODEL_INPUT_BYTES[b.model] === undefined) throw new RangeError(`model ${JSON.stringify(b.model)} of the cut has no input size`);
  }
  const chips = CHIP_SPECS.filter((c) => bases.some((b) => b.chip === c.chip));
  if (chips.length === 0) throw new RangeError('the MLPerf cut names no known chip');
  const order = shuffleInPlace([...chips], rng);
  const scaleMean = meanTokenScale(trace);
  const plans: ServerPlan[] = [];
  for (let s = 0; s < servers; s++) {
    const spec = order[s % order.length];
    const rank = Math.floor(s / order.length);
    const chipBases = bases.filter((b) => b.chip === spec.chip);
    let chosen = chipBases;
    if (rank > 0) {
      chosen = chipBases.filter(() => rng.next() < 0.6);
      if (chosen.length === 0) chosen = [chipBases[rng.int(chipBases.length)]];
    }
    const pairs = chosen.map((b) => pairPlan(b, spec));
    const raw = pairs.map(() => 0.75 + 0.5 * rng.next());
    const tot = raw.reduce((a, b) => a + b, 0);
    const modelWeights = raw.map((w) => w / tot);
    const [lo, hi] = rank === 0 ? LAW_PARAMS.hotUtil : LAW_PARAMS.coolUtil;
    const targetUtil = rng.uniform(lo, hi);
    let meanService = 0;
    pairs.forEach((p, i) => {
      const compute = p.baseMs * Math.exp((p.sigma * p.sigma) / 2) * (1 + LAW_PARAMS.kappa * targetUtil);
      const io = spec.io0Ms + (p.nominalInputBytes * scaleMean / spec.ioBytesPerMs) * (1 + LAW_PARAMS.beta * targetUtil);
      meanService += modelWeights[i] * (compute + io);
    });
    const ratePerS = Math.min(LAW_PARAMS.maxServerRatePerS, (targetUtil * spec.workers * 1000) / meanService);
    plans.push({
      edge_server_id: `edge-${String(s + 1).padStart(2, '0')}`,
      chip: spec.chip, workers: spec.workers, models: pairs.map((p) => p.model),
      spec, pairs, modelWeights, targetUtil, ratePerS,
    });
  }
  return plans;
}

/**
 * The shadow of a production server: the same models and request mix on another chip of the
 * cut that has a base latency for every one of them (seeded choice; null when no chip has).
 * Its id is `<server>-shadow` (its random streams differ from the server's).
 */
export function shadowPlan(seed: number, server: ServerPlan, bases: readonly BaseLatency[]): ServerPlan | null {
  const rng = createRng(seed, `shadow-chip:${server.edge_server_id}`);
  const candidates = CHIP_SPECS.filter((c) => c.chip !== server.chip && server.models.every((m) => bases.some((b) => b.chip === c.chip && b.model === m)));
  if (candidates.length === 0) return null;
  const spec = candidates[rng.int(candidates.length)]!;
  const pairs = server.models.map((m) => {
    const p = pairPlan(bases.find((b) => b.chip === spec.chip && b.model === m)!, spec);
    return { ...p, deploymentId: `shadow-${m}-${spec.chip}-1` };
  });
  return { ...server, edge_server_id: `${server.edge_server_id}-shadow`, chip: spec.chip, workers: spec.workers, spec, pairs };
}

/**
 * Latency parameters of a model on a chip from its MLPerf base latency (σ from p90/p50, timeout, params JSON).
 * @param b     The reduced MLPerf latency of (model, chip).
 * @param spec  The chip.
 */
export function pairPlan(b: BaseLatency, spec: ChipSpec): PairPlan {
  const sigma = Math.max(LAW_PARAMS.sigmaFloor, Math.log(b.p90Ms / b.p50Ms) / LAW_PARAMS.z90);
  const nominalInputBytes = MODEL_INPUT_BYTES[b.model];
  const timeoutMs = Math.max(LAW_PARAMS.timeoutFactor * b.p50Ms, LAW_PARAMS.timeoutFloorMs);
  const params = {
    workers: spec.workers, base_ms: b.p50Ms, mlperf_p90_ms: b.p90Ms, mlperf_runs: b.runs, sigma,
    kappa: LAW_PARAMS.kappa, io0_ms: spec.io0Ms, bw_bytes_per_ms: spec.ioBytesPerMs, beta: LAW_PARAMS.beta,
    nominal_input_bytes: nominalInputBytes, rho_window_ms: LAW_PARAMS.contentionWindowMs, timeout_ms: timeoutMs,
    error_rate: LAW_PARAMS.errorRate, error_load_factor: LAW_PARAMS.errorLoadFactor, runtime: spec.runtime,
  };
  return {
    model: b.model, baseMs: b.p50Ms, sigma, nominalInputBytes, timeoutMs,
    deploymentId: `dep-${b.model}-${spec.chip}-1`, paramsJson: JSON.stringify(params),
  };
}
