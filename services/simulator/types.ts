/**
 * Public shapes of the edge-fleet simulator (DESIGN §6 "Simulator").
 * Times are epoch milliseconds UTC; durations are milliseconds; utilisations
 * are fractions 0..1.
 */
import type { InferenceEvent, LoadSample, ShadowResult } from '../../schemas/types.ts';

/** Options of one simulation run. Apply defaults and validate with `normalizeSimConfig`. */
export interface SimConfig {
  /** Seed of every random stream; same config → deep-equal result. Safe integer. @default 42 */
  seed: number;
  /** Number of edge servers (`edge-01`, `edge-02`, …), integer 1..1000. @default 12 */
  servers: number;
  /** Event-time span of the requests, ms (integer > 0). @default 1_200_000 (20 min) */
  durationMs: number;
  /** Epoch ms UTC of the start of the span (first load sample). @default Date.UTC(2024, 5, 1, 10) */
  startMs: number;
  /** Upper bound of the arrival-order jitter, ms (integer >= 0): arrivalMs = ts + uniform integer in [0, maxJitterMs]. @default 1500 */
  maxJitterMs: number;
  /**
   * Period I of the load samples of each server, ms (integer > 0, <= durationMs): samples at
   * startMs + k·I for k = 0 … floor(durationMs / I) − 1, each covering [ts − I, ts). @default 1000
   */
  loadIntervalMs: number;
  /** Multiplier of every server's request rate (> 0, <= 50); 1 is the designed load. @default 1 */
  rateScale?: number;
  /** Folder holding `azure-llm-trace/` and `mlperf-singlestream/`. @default the repository's `data/` */
  dataDir?: string;
  /**
   * Arrival trace files (paths) in the Azure LLM inference trace's format (columns TIMESTAMP and ContextTokens), read
   * and merged in place of `<dataDir>/azure-llm-trace/`'s two files: another day or kind of the trace. @default none
   */
  traceFiles?: readonly string[];
  /** Shadow deployments beside some production servers. @default none */
  shadows?: ShadowSimConfig;
}

/**
 * Shadow deployments (issue 7): a redundant chip colocated with a production
 * server receives each request (or a sampled share) after a hand-over lag and
 * runs the same model on another chip; it measures by its own clock.
 */
export interface ShadowSimConfig {
  /** Production servers with a shadow: the first `servers` of a seeded order, integer 0..servers. */
  servers: number;
  /** Share of the server's requests mirrored, (0, 1]. @default 1 */
  sampleShare?: number;
  /** Hand-over lag: uniform integer in [0, maxLagMs], ms (0..60000). @default 3000 */
  maxLagMs?: number;
  /** Share of shadow results reported out of order (held back by up to reorderMs), [0, 1]. @default 0.1 */
  reorderShare?: number;
  /** Longest hold-back of a reordered result, ms (0..60000). @default 1500 */
  reorderMs?: number;
}

/** One record as it reaches the event log. */
export interface SimArrival {
  /** Topic the record is produced to. */
  topic: 'edge.inference.v1' | 'edge.load.v1' | 'edge.shadow.v1';
  /** Record key: the edge_server_id (DESIGN §1: every telemetry topic is keyed by server). */
  key: string;
  /** The record. */
  value: InferenceEvent | LoadSample | ShadowResult;
  /**
   * When the record reaches the log, epoch ms UTC (integer): its `ts` plus a
   * uniform integer jitter in [0, maxJitterMs] — the edge agent reports an
   * inference event at request arrival + jitter and a load sample at sample
   * time + jitter. Arrivals are sorted by (arrivalMs, generation order).
   */
  arrivalMs: number;
}

/** The truth behind one simulated inference event, for scoring predictions and verdicts. */
export interface SimGroundTruth {
  /** event_id of the InferenceEvent it explains. */
  event_id: string;
  /** Request arrival, epoch ms UTC (= the event's ts). */
  ts: number;
  edge_server_id: string;
  model_id: string;
  chip: string;
  /** The latency law in words (see `LATENCY_LAW`). */
  law: string;
  /** JSON object with the law's parameter values for this server and model. */
  params_json: string;
  /** Unloaded compute time of this (model, chip): MLPerf SingleStream p50, ms. */
  base_compute_ms: number;
  /** Unloaded i/o time of this request: io0 + input_bytes / bandwidth, ms. */
  base_io_ms: number;
  /** Queue wait, ms (= the event's queue_ms). */
  true_queue_ms: number;
  /** I/O time, ms (= the event's io_ms). */
  true_io_ms: number;
  /** Compute time, ms (= the event's compute_ms). */
  true_compute_ms: number;
  /** Fraction 0..1 of the server's workers busy, averaged over the 1-s bucket (from startMs) of arrival. */
  server_util: number;
}

/** One edge server of the simulated fleet. */
export interface FleetServer {
  /** Server id, `edge-01` … */
  edge_server_id: string;
  /** Normalised chip id from `data/mlperf-singlestream/base-latency.csv`. */
  chip: string;
  /** Parallel inference workers c of the server's FCFS queue. */
  workers: number;
  /** Model ids this server serves (sorted). */
  models: string[];
}

/** Everything one run produced. */
export interface SimResult {
  /** The normalised config of the run. */
  config: SimConfig;
  /** The fleet, in server-id order. */
  fleet: FleetServer[];
  /** Inference events and load samples, sorted by (arrivalMs, generation order). */
  arrivals: SimArrival[];
  /** One entry per inference event, in generation (ts) order. */
  groundTruth: SimGroundTruth[];
  /** Counts: inference events, load samples, shadow results, inference events per `${model_id}|${chip}`. */
  stats: { requests: number; loadSamples: number; shadowResults: number; perModelChip: Record<string, number> };
  /** The shadow deployments: production server, its chip and the shadow chip. */
  shadowDeployments: { edge_server_id: string; production_chip: string; shadow_chip: string }[];
}
