/**
 * Load sensitivity of a device's service parts (gate-replay.ts): a part p becomes p·(1 + k·u) at
 * busy-worker fraction u, k fitted on the device's own rows, else the fleet's.
 */
import { lowerQuantile } from '../../pipelines/stats/samples.ts';
import type { ServerObservations } from './whatif.ts';

/** Load sensitivities of compute and i/o: a part p becomes p·(1 + k·u) at busy-worker fraction u. */
export interface LoadSensitivity {
  compute: number;
  io: number;
  /** Devices whose own fits the fleet's medians came from (`fleetLoadSensitivity` sets it); 0 for a part means no device showed a load signal, and its k is 0 for want of one. */
  fittedDevices?: { compute: number; io: number };
}

/** Fitted load sensitivities per observations object, null where its rows carry no load signal (replays of one device reuse them). */
const sensitivityCache = new WeakMap<ServerObservations, { compute: number | null; io: number | null }>();

/**
 * A device's load sensitivities as the replay uses them: fitted on its own rows
 * ({@link fitLoadSensitivity}), else (no load signal: it never ran loaded enough to tell) the prior.
 * @param prior  The fleet's (`fleetLoadSensitivity`); 0 when absent.
 */
export function deviceLoadSensitivity(o: ServerObservations, prior?: LoadSensitivity | null): LoadSensitivity {
  const k = ownLoadSensitivity(o);
  return { compute: k.compute ?? prior?.compute ?? 0, io: k.io ?? prior?.io ?? 0 };
}

/** The device's own fitted sensitivities ({@link fitLoadSensitivity}), null for a part its rows carry no load signal of (cached per observations object). */
export function ownLoadSensitivity(o: ServerObservations): { compute: number | null; io: number | null } {
  let k = sensitivityCache.get(o);
  if (!k) sensitivityCache.set(o, (k = { compute: fitLoadSensitivity(o.compute, o.util, o.model), io: fitLoadSensitivity(o.io, o.util, o.model) }));
  return k;
}

/**
 * The fleet's load sensitivity: the median, per part, over the devices whose own rows carry a load
 * signal (others are skipped); 0 for a part no device tells.
 * @param devices  The fleet's devices (one entry per device and period).
 */
export function fleetLoadSensitivity(devices: readonly ServerObservations[]): LoadSensitivity {
  const fits = devices.map(ownLoadSensitivity);
  const fitted = (part: 'compute' | 'io') => fits.flatMap((f) => (f[part] === null ? [] : [f[part]]));
  const med = (v: number[]) => (v.length > 0 ? lowerQuantile(v, 0.5) : 0);
  const compute = fitted('compute');
  const io = fitted('io');
  return { compute: med(compute), io: med(io), fittedDevices: { compute: compute.length, io: io.length } };
}

/** Bins of equal count (by u) whose medians the load sensitivity is fitted through. */
const SENSITIVITY_BINS = 10;
/** Least spread of u between the lowest and highest bin's median for a load signal. */
const MIN_UTIL_SPREAD = 0.1;

/**
 * Fit part ≈ median_model · (1 + k·u): the rows sorted by u into 10 bins of equal count; in each,
 * the median u and the median of part / (its model's median); k = slope / intercept of the least
 * squares line through the bins' medians. Medians, because a part's heavy tail (a large input, i/o
 * of tens of ms) clusters in the seconds it makes busy: least squares on the rows took that
 * clustering for load (k ≈ 15–20 on a device at u ≤ 0.05 whose true k is below 0.5).
 * @param part   One service part per request, ms.
 * @param util   Busy-worker fraction 0..1 at each request.
 * @param model  Model id of each request.
 * @returns      k ≥ 0; null when the rows carry no load signal: fewer than 10 per bin, or the bins'
 *               median u spread less than 0.1 (a slope over a narrower range is noise).
 */
export function fitLoadSensitivity(part: readonly number[], util: readonly number[], model: readonly string[]): number | null {
  const n = part.length;
  if (n < SENSITIVITY_BINS * 10) return null;
  const med = new Map<string, number>();
  for (const m of new Set(model)) med.set(m, lowerQuantile(part.filter((_, i) => model[i] === m), 0.5));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => util[a]! - util[b]!);
  const pts: { u: number; y: number }[] = [];
  for (let b = 0; b < SENSITIVITY_BINS; b++) {
    const bin = order.slice(Math.floor((b * n) / SENSITIVITY_BINS), Math.floor(((b + 1) * n) / SENSITIVITY_BINS));
    pts.push({ u: lowerQuantile(bin.map((i) => util[i]!), 0.5), y: lowerQuantile(bin.map((i) => part[i]! / Math.max(med.get(model[i]!)!, 1e-9)), 0.5) });
  }
  if (!(pts[pts.length - 1]!.u - pts[0]!.u >= MIN_UTIL_SPREAD)) return null;
  const mu = pts.reduce((a, p) => a + p.u, 0) / pts.length;
  const my = pts.reduce((a, p) => a + p.y, 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (const p of pts) {
    sxy += (p.u - mu) * (p.y - my);
    sxx += (p.u - mu) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mu;
  return intercept > 0 ? Math.max(0, slope / intercept) : 0;
}
