/**
 * `simulateFleet`: the whole run — fleet layout, trace-driven arrivals, exact
 * per-server queues, load samples, arrival jitter, ground truth.
 */
import type { InferenceEvent, ShadowResult } from '../../schemas/types.ts';
import { generateRequests } from './arrivals.ts';
import { normalizeSimConfig } from './config.ts';
import { loadArrivalTrace, loadBaseLatencies } from './data.ts';
import { buildFleet, LATENCY_LAW, shadowPlan } from './fleet.ts';
import { buildLoadSamples } from './load.ts';
import { createRng, shuffleInPlace } from './prng.ts';
import { simulateServer, type ServerRun } from './server-sim.ts';
import type { ShadowSimConfig, SimArrival, SimConfig, SimGroundTruth, SimResult } from './types.ts';

/** Topic of inference events. */
export const INFERENCE_TOPIC = 'edge.inference.v1' as const;
/** Topic of load samples. */
export const LOAD_TOPIC = 'edge.load.v1' as const;
/** Topic of shadow results. */
export const SHADOW_TOPIC = 'edge.shadow.v1' as const;

/**
 * Simulate an edge fleet deterministically.
 *
 * Behaviour: validates `config` with `normalizeSimConfig`; reads the data cuts
 * under `config.dataDir` (never a folder outside the repository); lays out the fleet (fleet.ts);
 * replays the Azure trace into requests (arrivals.ts); runs every server's
 * FCFS queue exactly (server-sim.ts); samples load every loadIntervalMs
 * (load.ts). Every record reaches the log at arrivalMs = ts + uniform integer
 * jitter in [0, maxJitterMs], so within a topic a record arriving before
 * another has ts at most maxJitterMs later. Same config → deep-equal result.
 * Event ids are `ev-<seed>-<n>`, request ids `req-<seed>-<n>`, n in ts order.
 * @param config  A full config (pass a partial through `normalizeSimConfig` first).
 * @returns       Fleet, arrivals sorted by (arrivalMs, generation order), ground truth, counts.
 * @throws {RangeError} on an invalid config or a missing/malformed data file.
 * @example simulateFleet(normalizeSimConfig({ seed: 7, durationMs: 60_000 }))
 */
export function simulateFleet(config: SimConfig): SimResult {
  const cfg = normalizeSimConfig(config);
  const dataDir = cfg.dataDir as string;
  const rateScale = cfg.rateScale ?? 1;
  const trace = loadArrivalTrace(dataDir, cfg.traceFiles);
  const bases = loadBaseLatencies(dataDir);
  const plans = buildFleet(cfg.seed, cfg.servers, bases, trace);
  const req = generateRequests(cfg.seed, cfg.startMs, cfg.durationMs, rateScale, plans, trace);

  const perServer: number[][] = plans.map(() => []);
  for (let i = 0; i < req.n; i++) perServer[req.server[i]].push(i);
  const runs: ServerRun[] = plans.map((p, s) => simulateServer(
    cfg.seed, p, req, Int32Array.from(perServer[s]), cfg.startMs, cfg.loadIntervalMs,
  ));
  const where = new Int32Array(req.n);
  for (const run of runs) for (let j = 0; j < run.idx.length; j++) where[run.idx[j]] = j;

  const events: InferenceEvent[] = new Array<InferenceEvent>(req.n);
  const groundTruth: SimGroundTruth[] = new Array<SimGroundTruth>(req.n);
  const pairCounts = plans.map((p) => new Array<number>(p.models.length).fill(0));
  for (let i = 0; i < req.n; i++) {
    const s = req.server[i];
    const plan = plans[s];
    const run = runs[s];
    const j = where[i];
    const pair = plan.pairs[req.model[i]];
    const ts = req.ts[i];
    const queue = run.queueMs[j];
    const io = run.ioMs[j];
    const compute = run.computeMs[j];
    const eventId = `ev-${cfg.seed}-${i}`;
    events[i] = {
      event_id: eventId, request_id: `req-${cfg.seed}-${i}`, ts,
      edge_server_id: plan.edge_server_id, device_id: `${plan.edge_server_id}-acc0`,
      model_id: pair.model, model_version: 'v1', chip: plan.chip, runtime: plan.spec.runtime,
      batch_size: 1, input_bytes: run.inputBytes[j],
      queue_ms: queue, io_ms: io, compute_ms: compute, total_ms: queue + io + compute,
      status: run.status[j], deployment_id: pair.deploymentId, role: 'production',
    };
    const sec = Math.floor((ts - cfg.startMs) / 1000);
    const busy = run.busyPerSecond[sec] ?? 0;
    groundTruth[i] = {
      event_id: eventId, ts, edge_server_id: plan.edge_server_id, model_id: pair.model, chip: plan.chip,
      law: LATENCY_LAW, params_json: pair.paramsJson, base_compute_ms: pair.baseMs, base_io_ms: run.baseIoMs[j],
      true_queue_ms: queue, true_io_ms: io, true_compute_ms: compute,
      server_util: Math.round(Math.min(1, Math.max(0, busy / (plan.workers * 1000))) * 1e6) / 1e6,
    };
    pairCounts[s][req.model[i]]++;
  }
  const perModelChip: Record<string, number> = {};
  plans.forEach((p, s) => p.models.forEach((m, k) => {
    if (pairCounts[s][k] === 0) return;
    const key = `${m}|${p.chip}`;
    perModelChip[key] = (perModelChip[key] ?? 0) + pairCounts[s][k];
  }));

  const sampleCount = Math.floor(cfg.durationMs / cfg.loadIntervalMs);
  const jitter = createRng(cfg.seed, 'jitter');
  const span = cfg.maxJitterMs + 1;
  const records: SimArrival[] = [];
  for (const ev of events) {
    records.push({ topic: INFERENCE_TOPIC, key: ev.edge_server_id, value: ev, arrivalMs: ev.ts + Math.floor(jitter.next() * span) });
  }
  let loadSamples = 0;
  plans.forEach((p, s) => {
    const arrivalsMs = Float64Array.from(perServer[s], (i) => req.ts[i]);
    for (const ls of buildLoadSamples(cfg.seed, p, runs[s], arrivalsMs, cfg.startMs, cfg.loadIntervalMs, sampleCount)) {
      records.push({ topic: LOAD_TOPIC, key: p.edge_server_id, value: ls, arrivalMs: ls.ts + Math.floor(jitter.next() * span) });
      loadSamples++;
    }
  });
  const shadowDeployments: SimResult['shadowDeployments'] = [];
  let shadowResults = 0;
  if (cfg.shadows && cfg.shadows.servers > 0) {
    const sh = cfg.shadows as Required<ShadowSimConfig>;
    const chosen = shuffleInPlace(plans.map((_, s) => s), createRng(cfg.seed, 'shadow-servers')).slice(0, sh.servers).sort((a, b) => a - b);
    for (const s of chosen) {
      const plan = shadowPlan(cfg.seed, plans[s], bases);
      if (!plan) continue;
      const server = plans[s].edge_server_id;
      shadowDeployments.push({ edge_server_id: server, production_chip: plans[s].chip, shadow_chip: plan.chip });
      // The shadow serves the mirrored share of the server's requests. Its queue runs on the request
      // times (a constant offset changes nothing): the hand-over lag only moves its clock readings and
      // its reports, never its latencies.
      const sample = createRng(cfg.seed, `shadow-sample:${server}`);
      const mirrored = perServer[s].filter(() => sample.next() < sh.sampleShare);
      const run = simulateServer(cfg.seed, plan, req, Int32Array.from(mirrored), cfg.startMs, cfg.loadIntervalMs);
      const lag = createRng(cfg.seed, `shadow-lag:${server}`);
      for (let j = 0; j < mirrored.length; j++) {
        const i = mirrored[j];
        const pair = plan.pairs[req.model[i]];
        const received = req.ts[i] + lag.int(sh.maxLagMs + 1);
        const total = run.queueMs[j] + run.ioMs[j] + run.computeMs[j];
        const value: ShadowResult = {
          event_id: `sh-${cfg.seed}-${i}`, request_id: `req-${cfg.seed}-${i}`, ts: received, request_ts: req.ts[i],
          edge_server_id: server, device_id: `${server}-shadow0`, model_id: pair.model, model_version: 'v1', chip: plan.chip, runtime: plan.spec.runtime,
          queue_ms: run.queueMs[j], io_ms: run.ioMs[j], compute_ms: run.computeMs[j], total_ms: total, status: run.status[j], deployment_id: pair.deploymentId,
        };
        // Reported when it finishes; a share is held back (out of order).
        const hold = lag.next() < sh.reorderShare ? lag.int(sh.reorderMs + 1) : 0;
        records.push({ topic: SHADOW_TOPIC, key: server, value, arrivalMs: received + Math.ceil(total) + hold });
        shadowResults++;
      }
    }
  }
  const arrivals = sortByArrival(records, cfg.startMs);

  return {
    config: cfg,
    fleet: plans.map((p) => ({ edge_server_id: p.edge_server_id, chip: p.chip, workers: p.workers, models: [...p.models] })),
    arrivals,
    groundTruth,
    stats: { requests: req.n, loadSamples, shadowResults, perModelChip },
    shadowDeployments,
  };
}

/**
 * Sort records by (arrivalMs, index) — stable. Packs (arrivalMs − origin, index)
 * into one exactly representable double and uses the native numeric sort when
 * it fits 2^53, else a comparator sort.
 */
function sortByArrival(records: SimArrival[], originMs: number): SimArrival[] {
  const n = records.length;
  const SHIFT = 2 ** 23;
  let maxOff = 0;
  for (const r of records) maxOff = Math.max(maxOff, r.arrivalMs - originMs);
  if (n < SHIFT && (maxOff + 1) * SHIFT < Number.MAX_SAFE_INTEGER) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = (records[i].arrivalMs - originMs) * SHIFT + i;
    keys.sort();
    const out = new Array<SimArrival>(n);
    for (let i = 0; i < n; i++) out[i] = records[keys[i] % SHIFT];
    return out;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => records[a].arrivalMs - records[b].arrivalMs || a - b);
  return order.map((i) => records[i]);
}

/**
 * The what-if truth (issue 7, F4): one server of a run simulated again on the
 * same arrivals with `workers` parallel workers (its chip's workers per
 * replica × replicas). Same seed, same requests, same noise streams; only the
 * capacity differs.
 * @param config   The run's config (normalised here).
 * @param serverId The server, e.g. `edge-03`.
 * @param workers  Workers of the server, integer ≥ 1.
 * @returns        The server's requests in ts order: total latency and status.
 * @throws {RangeError} on an unknown server or bad workers.
 */
export function simulateServerCapacity(config: SimConfig, serverId: string, workers: number): { ts: number[]; totalMs: number[]; model: string[] } {
  const cfg = normalizeSimConfig(config);
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers: expected an integer ≥ 1, got ${JSON.stringify(workers)}`);
  const trace = loadArrivalTrace(cfg.dataDir as string, cfg.traceFiles);
  const bases = loadBaseLatencies(cfg.dataDir as string);
  const plans = buildFleet(cfg.seed, cfg.servers, bases, trace);
  const s = plans.findIndex((p) => p.edge_server_id === serverId);
  if (s < 0) throw new RangeError(`server: ${JSON.stringify(serverId)} is not in the simulated fleet (${plans.map((p) => p.edge_server_id).join(', ')})`);
  const req = generateRequests(cfg.seed, cfg.startMs, cfg.durationMs, cfg.rateScale ?? 1, plans, trace);
  const idx: number[] = [];
  for (let i = 0; i < req.n; i++) if (req.server[i] === s) idx.push(i);
  const run = simulateServer(cfg.seed, { ...plans[s], workers }, req, Int32Array.from(idx), cfg.startMs, cfg.loadIntervalMs);
  return {
    ts: idx.map((i) => req.ts[i]),
    totalMs: idx.map((_, j) => run.queueMs[j] + run.ioMs[j] + run.computeMs[j]),
    model: idx.map((i) => plans[s].pairs[req.model[i]].model),
  };
}
