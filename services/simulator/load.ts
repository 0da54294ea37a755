/**
 * Load samples (`edge.load.v1`) of one simulated server, derived from its
 * exact queue timeline so that load and latency are causally linked:
 *
 * - gpu_util: busy-worker fraction over the last interval [ts − I, ts);
 * - concurrency / queue_depth: requests in service / waiting at ts (instantaneous);
 * - requests_per_s: arrivals in [ts − I, ts) per second;
 * - cpu_util: the compute share for CPU boards (inference runs on the CPU),
 *   pre/post-processing only for GPU/NPU boards, plus small noise;
 * - mem_util: base + per-request buffers; temperature_c: first-order thermal
 *   lag (τ = 60 s) toward 30 °C + rise·util; power_w: idle + (max − idle)·util.
 */
import type { LoadSample } from '../../schemas/types.ts';
import type { ServerPlan } from './fleet.ts';
import { createRng } from './prng.ts';
import type { ServerRun } from './server-sim.ts';

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/** Count of sorted values <= t, advancing a cursor (t must not decrease between calls). */
class Cursor {
  private i = 0;
  constructor(private readonly xs: ArrayLike<number>) {}
  upTo(t: number): number {
    while (this.i < this.xs.length && this.xs[this.i] <= t) this.i++;
    return this.i;
  }
}

/**
 * Build the load samples of one server at ts = startMs + k·I, k = 0 … count − 1.
 *
 * @param seed            Run seed (stream `load:<edge_server_id>`).
 * @param plan            The server.
 * @param run             Its simulated queue timeline.
 * @param arrivalsMs      Its request arrival times (ts), non-decreasing.
 * @param startMs         Run start, epoch ms UTC.
 * @param loadIntervalMs  I, ms.
 * @param count           Number of samples (durationMs / I, floored).
 * @returns               Samples in ts order; all fields finite, utilisations in [0, 1].
 */
export function buildLoadSamples(
  seed: number, plan: ServerPlan, run: ServerRun, arrivalsMs: Float64Array,
  startMs: number, loadIntervalMs: number, count: number,
): LoadSample[] {
  const rng = createRng(seed, `load:${plan.edge_server_id}`);
  const spec = plan.spec;
  const c = plan.workers;
  const ends = Float64Array.from(run.endMs).sort();
  const arrived = new Cursor(arrivalsMs);
  const started = new Cursor(run.startMs);
  const ended = new Cursor(ends);
  const alpha = 1 - Math.exp(-loadIntervalMs / 60_000);
  let temp = 30 + spec.tempRiseC * 0.05;
  const out: LoadSample[] = [];
  for (let k = 0; k < count; k++) {
    const ts = startMs + k * loadIntervalMs;
    const busy = k >= 1 ? run.busyPerInterval[k - 1] ?? 0 : 0;
    const util = clamp01(busy / (c * loadIntervalMs));
    const nArr = arrived.upTo(ts);
    const nStart = started.upTo(ts);
    const nEnd = ended.upTo(ts);
    const rpsCount = countBefore(arrivalsMs, ts) - countBefore(arrivalsMs, ts - loadIntervalMs);
    const concurrency = Math.max(0, nStart - nEnd);
    const queueDepth = Math.max(0, nArr - nStart);
    const cpuShare = spec.kind === 'cpu' ? 0.92 : spec.kind === 'gpu' ? 0.3 : 0.15;
    const cpu = clamp01(0.04 + cpuShare * util + 0.01 * rng.normal());
    const mem = Math.min(0.99, clamp01(spec.memBase + 0.04 * concurrency / c + 0.004 * queueDepth + 0.003 * rng.normal()));
    temp += alpha * (30 + spec.tempRiseC * util - temp);
    out.push({
      edge_server_id: plan.edge_server_id,
      ts,
      cpu_util: r4(cpu),
      gpu_util: r4(util),
      mem_util: r4(mem),
      queue_depth: queueDepth,
      concurrency,
      requests_per_s: r4(rpsCount * 1000 / loadIntervalMs),
      temperature_c: Math.round((temp + 0.2 * rng.normal()) * 10) / 10,
      power_w: Math.round(Math.max(0.9 * spec.idleW, spec.idleW + (spec.maxW - spec.idleW) * util + 0.01 * spec.maxW * rng.normal()) * 100) / 100,
    });
  }
  return out;
}

/** Number of sorted values < t (binary search). */
function countBefore(xs: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
