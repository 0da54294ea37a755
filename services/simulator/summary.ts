/**
 * Figures of a finished run for people and the CLI `simulate` summary:
 * per-server request counts, utilisation and outcomes, per-pair count range.
 */
import type { LoadSample } from '../../schemas/types.ts';
import type { SimResult } from './types.ts';

/** Per-server figures of a run. Utilisations are fractions 0..1 (busy-worker fraction). */
export interface ServerSummary {
  edge_server_id: string;
  chip: string;
  workers: number;
  requests: number;
  /** Mean of the load samples' gpu_util. */
  meanUtil: number;
  /** Maximum over 60-s moving windows of the mean gpu_util (the sustained peak). */
  peakUtil60s: number;
  /** Share of load intervals with gpu_util >= 0.95. */
  saturatedShare: number;
  /** Requests with status 'timeout' and 'error'. */
  timeouts: number;
  errors: number;
  /** Mean total_ms of the server's requests, ms. */
  meanTotalMs: number;
}

/** Summary of a run. */
export interface SimSummary {
  servers: ServerSummary[];
  /** Smallest and largest number of requests of a (model, chip) pair. */
  minPairCount: number;
  maxPairCount: number;
  /** Number of distinct chips and models in the fleet. */
  chips: number;
  models: number;
}

/**
 * Summarise a run.
 *
 * @param result  Output of `simulateFleet`.
 * @returns       Per-server figures (in fleet order) and the per-pair count range.
 */
export function summarizeSimResult(result: SimResult): SimSummary {
  const interval = result.config.loadIntervalMs;
  const byServer = new Map<string, { loads: LoadSample[]; n: number; t: number; to: number; err: number }>();
  for (const f of result.fleet) byServer.set(f.edge_server_id, { loads: [], n: 0, t: 0, to: 0, err: 0 });
  for (const a of result.arrivals) {
    const acc = byServer.get(a.key);
    if (acc === undefined) continue;
    if (a.topic === 'edge.load.v1') {
      acc.loads.push(a.value as LoadSample);
    } else {
      const v = a.value as { total_ms: number; status: string };
      acc.n++;
      acc.t += v.total_ms;
      if (v.status === 'timeout') acc.to++;
      if (v.status === 'error') acc.err++;
    }
  }
  const w = Math.max(1, Math.round(60_000 / interval));
  const servers = result.fleet.map((f): ServerSummary => {
    const acc = byServer.get(f.edge_server_id)!;
    const u = acc.loads.sort((a, b) => a.ts - b.ts).map((l) => l.gpu_util);
    let peak = 0;
    let run = 0;
    for (let i = 0; i < u.length; i++) {
      run += u[i];
      if (i >= w) run -= u[i - w];
      if (i >= w - 1 || i === u.length - 1) peak = Math.max(peak, run / Math.min(w, i + 1));
    }
    const mean = u.length ? u.reduce((a, b) => a + b, 0) / u.length : 0;
    return {
      edge_server_id: f.edge_server_id, chip: f.chip, workers: f.workers, requests: acc.n,
      meanUtil: mean, peakUtil60s: peak, saturatedShare: u.length ? u.filter((x) => x >= 0.95).length / u.length : 0,
      timeouts: acc.to, errors: acc.err, meanTotalMs: acc.n ? acc.t / acc.n : 0,
    };
  });
  const counts = Object.values(result.stats.perModelChip);
  return {
    servers,
    minPairCount: counts.length ? Math.min(...counts) : 0,
    maxPairCount: counts.length ? Math.max(...counts) : 0,
    chips: new Set(result.fleet.map((f) => f.chip)).size,
    models: new Set(result.fleet.flatMap((f) => f.models)).size,
  };
}
