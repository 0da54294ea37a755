/**
 * One edge server, simulated exactly: its requests go through an FCFS queue
 * with `workers` parallel workers (see queueing.ts); each request holds a
 * worker for io + compute, drawn when its service starts from the law in
 * fleet.ts (`LATENCY_LAW`), with ρ = the server's busy-worker fraction in the
 * previous 1-s bucket. Busy time is accounted per 1-s bucket (for ρ and the
 * ground truth's server_util) and per load interval (for the load samples).
 */
import type { InferenceStatus } from '../../schemas/types.ts';
import type { RequestStream } from './arrivals.ts';
import { LAW_PARAMS, tokenScale, type ServerPlan } from './fleet.ts';
import { createRng } from './prng.ts';
import { simulateFcfsQueue } from './queueing.ts';

/** Per-request outcome of one server, aligned with `idx`. Times in ms, rounded to 1 µs. */
export interface ServerRun {
  /** Global request indices (into the RequestStream) of this server, in ts order. */
  idx: Int32Array;
  queueMs: Float64Array;
  ioMs: Float64Array;
  computeMs: Float64Array;
  /** Unloaded i/o time io0 + bytes/bw. */
  baseIoMs: Float64Array;
  inputBytes: Int32Array;
  status: InferenceStatus[];
  /** Service start and end, epoch ms (unrounded). */
  startMs: Float64Array;
  endMs: Float64Array;
  /** Busy worker-ms per 1-s bucket from the run start. */
  busyPerSecond: number[];
  /** Busy worker-ms per load interval from the run start. */
  busyPerInterval: number[];
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function addBusy(buckets: number[], widthMs: number, fromMs: number, toMs: number): void {
  let b = Math.floor(fromMs / widthMs);
  const last = Math.floor(toMs / widthMs);
  while (buckets.length <= last) buckets.push(0);
  for (; b <= last; b++) {
    const lo = Math.max(fromMs, b * widthMs);
    const hi = Math.min(toMs, (b + 1) * widthMs);
    if (hi > lo) buckets[b] += hi - lo;
  }
}

/**
 * Simulate one server over its requests.
 *
 * @param seed            Run seed (stream `service:<edge_server_id>`).
 * @param plan            The server.
 * @param requests        All requests of the run.
 * @param idx             Indices of this server's requests, in ts order.
 * @param startMs         Run start, epoch ms UTC (bucket origin).
 * @param loadIntervalMs  Load-sample period, ms.
 * @returns               Per-request latencies and status, and busy-time buckets.
 */
export function simulateServer(
  seed: number, plan: ServerPlan, requests: RequestStream, idx: Int32Array, startMs: number, loadIntervalMs: number,
): ServerRun {
  const rng = createRng(seed, `service:${plan.edge_server_id}`);
  const n = idx.length;
  const c = plan.workers;
  const win = LAW_PARAMS.contentionWindowMs;
  const arrivals = new Float64Array(n);
  const inputBytes = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const r = idx[j];
    arrivals[j] = requests.ts[r];
    inputBytes[j] = Math.round(plan.pairs[requests.model[r]].nominalInputBytes * tokenScale(requests.tokens[r]));
  }
  const ioMs = new Float64Array(n);
  const computeMs = new Float64Array(n);
  const baseIoMs = new Float64Array(n);
  const rhoAtStart = new Float64Array(n);
  const busyPerSecond: number[] = [];
  const busyPerInterval: number[] = [];
  const q = simulateFcfsQueue(arrivals, (j, start) => {
    const pair = plan.pairs[requests.model[idx[j]]];
    const rel = start - startMs;
    const b = Math.floor(rel / win);
    const rho = b >= 1 && b - 1 < busyPerSecond.length ? Math.min(1, busyPerSecond[b - 1] / (c * win)) : 0;
    const xfer = inputBytes[j] / plan.spec.ioBytesPerMs;
    const io = round3(plan.spec.io0Ms + xfer * (1 + LAW_PARAMS.beta * rho));
    const compute = round3(pair.baseMs * rng.lognormal(0, pair.sigma) * (1 + LAW_PARAMS.kappa * rho));
    ioMs[j] = io;
    computeMs[j] = compute;
    baseIoMs[j] = round3(plan.spec.io0Ms + xfer);
    rhoAtStart[j] = rho;
    addBusy(busyPerSecond, win, rel, rel + io + compute);
    addBusy(busyPerInterval, loadIntervalMs, rel, rel + io + compute);
    return io + compute;
  }, c);
  const queueMs = new Float64Array(n);
  const status: InferenceStatus[] = new Array<InferenceStatus>(n);
  for (let j = 0; j < n; j++) {
    queueMs[j] = round3(q.waitMs[j]);
    const total = queueMs[j] + ioMs[j] + computeMs[j];
    const pair = plan.pairs[requests.model[idx[j]]];
    const pErr = LAW_PARAMS.errorRate * (1 + LAW_PARAMS.errorLoadFactor * rhoAtStart[j]);
    const err = rng.next() < pErr;
    status[j] = total > pair.timeoutMs ? 'timeout' : err ? 'error' : 'ok';
  }
  return {
    idx, queueMs, ioMs, computeMs, baseIoMs, inputBytes, status,
    startMs: q.startMs, endMs: q.endMs, busyPerSecond, busyPerInterval,
  };
}
