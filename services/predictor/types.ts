/**
 * The contract between the predictor's HTTP layer (services/predictor/app.ts)
 * and the code that answers (services/predictor/backend.ts): plain request and
 * response shapes, and the errors a backend throws to say "the request is
 * wrong" (400) or "that thing does not exist" (404). Latencies are ms, loads
 * are the LoadSample fields (utilisations are fractions 0..1), rates are
 * requests per second.
 */
import type { CorrelationUpdate } from '../../schemas/types.ts';
import type { ChipRow } from '../model/import-mlperf.ts';
import type { ModelProfile } from '../profiler/types.ts';
import type { GateReport, GateRequest } from './gate-evidence.ts';

export type { ModelProfile };

/** Load values by LoadSample field name; unset fields are 0 (idle). */
export type LoadVector = Partial<Record<'cpu_util' | 'gpu_util' | 'mem_util' | 'queue_depth' | 'concurrency' | 'requests_per_s', number>>;

/** `POST /v1/predict` body. */
export interface PredictRequest {
  /** Known model id, e.g. `resnet50`. */
  model: string;
  /** Chip id of the catalog, e.g. `jetson-agx-orin`. */
  chip: string;
  /** Edge server whose queueing context to use; default the chip's typical server. */
  server?: string;
  load?: LoadVector;
  /** Request input size, bytes, 1..{@link MAX_INPUT_BYTES}; default the fleet's median for the model. */
  input_bytes?: number;
}

/** Longest id (model, chip, server) a request, a flag or a catalog line may give, characters. */
export const MAX_ID_CHARS = 256;

/** Most ids in one list of a request (`servers` of a gate, `chips` of a recommendation; CLI `--servers`, `--chips`). */
export const MAX_IDS_PER_LIST = 1024;

/** Largest value of a named symbolic dim (`--dim NAME=N`, `?dim=NAME=N`): a sequence length, an image side. */
export const MAX_DIM = 1_000_000;

/** Most named dims of one profile (`?dim=` parameters of `POST /v1/profile`, `--dim` flags of the CLI). */
export const MAX_PROFILE_DIMS = 64;

/** Largest request rate, queue or concurrency a request may state (a fleet server at a million requests/s is a typo). */
export const MAX_LOAD = 1e6;

/** Largest SLO target, ms (about 11.6 days). */
export const MAX_SLO_MS = 1e9;

/**
 * Smallest expected load of a recommendation other than 0, requests/s (one request in about 11.6 days): below it the
 * cost per million requests overflows to Infinity, shown as "unpriced" (a trial: --rps 1e-320 on a priced chip).
 */
export const MIN_RPS = 1e-6;

/** Largest input size a prediction takes, bytes: 1 TiB, far beyond any inference request (9e15 gave a 1.5-year i/o). */
export const MAX_INPUT_BYTES = 2 ** 40;

/** `POST /v1/predict` answer (same as `edgelat predict --json`). */
export interface PredictResponse {
  model: string;
  chip: string;
  server: string | null;
  input_bytes: number;
  load: Record<string, number>;
  /** Percentiles of the total, ms; all null when the rate keeps every worker of a device busy (the queue cannot drain: a note says so). */
  total_ms: { p50: number | null; p90: number | null; p99: number | null };
  io_ms_p50: number;
  compute_ms_p50: number;
  /** Unloaded benchmark latencies the prediction starts from, ms. */
  benchmark: { p50_ms: number; p90_ms: number };
  /** Model version used per kind. */
  versions: Record<string, string>;
  /** Caveats of the answer, one sentence each (a load beyond what the fleet data shows on the chip); [] when none. */
  notes: string[];
}

/** `POST /v1/recommend` body: exactly one of `model` and `profile`. */
export interface RecommendRequest {
  /** Known model id. */
  model?: string;
  /** A profile from `POST /v1/profile` / `edgelat profile --json` (a model nobody has measured). */
  profile?: ModelProfile;
  /** Latency objective: percentile (0.9 or 0.99) and its target, ms > 0. */
  slo: { percentile: 0.9 | 0.99; ms: number };
  /** Expected load, requests per second ≥ 0. */
  rps: number;
  /** Candidate chip ids; default every chip in the catalog. */
  chips?: string[];
  /** Order of the chips that meet the SLO: lowest latency at the load first, or cheapest per inference first. @default 'latency' */
  objective?: 'latency' | 'cost';
}

/** Where a chip's numbers come from, with counts. */
export interface Evidence {
  /**
   * `fleet`: measured in inference_enriched; `shadow`: measured only by shadow deployments on the chip
   * (shadow_results); `benchmark`: public benchmark rows; `predicted`: none of these (a
   * model: the MLPerf system predictor or MACs scaling from models measured on the chip); `catalog`: nothing
   * measured on the chip, its catalog peak ops/s against chips the model was measured on (a rough estimate,
   * ranked after the others that meet the SLO alike).
   */
  kind: 'fleet' | 'shadow' | 'benchmark' | 'predicted' | 'catalog';
  /** Requests measured in the fleet for this model on this chip. */
  fleet_requests: number;
  /** Benchmark rows (systems) of this model on this chip. */
  benchmark_rows: number;
  /** Shadow deployments that ran this model on this chip beside production (table shadow_verdicts), or null. */
  shadow: ShadowEvidence | null;
  /** Log-sd of the compute estimate (`catalog` only): the SLO counts as met only if it is met e^{sd} slower too. */
  estimate_log_sd?: number;
  /**
   * `fleet` with measured loads only: whose requests the measured figures are (evidence.ts `measuredByTraffic`):
   * `dedicated`, servers running only this model in those minutes; `pooled`, every server's, other models' traffic included.
   */
  measured_traffic?: 'dedicated' | 'pooled';
  /** When at_load is measured: the requests of its load bucket, and how many of them failed (status timeout or error; in the figures at the latency they took). */
  measured_requests?: number;
  measured_failed?: number;
}

/**
 * What shadow deployments measured for a model on a chip: paired with production requests of other chips,
 * the same version on both sides (a shadow of another version measures another model's cost).
 */
export interface ShadowEvidence {
  /** Verdict windows, and their paired requests, over every production chip. */
  windows: number;
  pairs: number;
  better: number;
  worse: number;
  equivalent: number;
  inconclusive: number;
  /** Per production chip compared with (by chip id): a ratio holds only against its own baseline. */
  against: ShadowBaseline[];
}

/** Shadow windows of a chip against one production chip. */
export interface ShadowBaseline {
  /** The production chip. */
  chip: string;
  windows: number;
  pairs: number;
  /** Median over its windows of the shadow / production latency ratio (Hodges–Lehmann per window), dimensionless; null without one. */
  median_ratio: number | null;
  /**
   * Median over its windows of shadow p99 / production p99 (each side's nearest-rank p99 of the window's paired
   * requests), dimensionless; null where no window has both. A median ratio near 1 can sit beside a slower tail (a
   * trial: ratio 1.01, shadow p99 92.6–94.6 ms against 81–83 ms), and the SLO is on the tail.
   */
  median_p99_ratio: number | null;
  /** The verdicts' tolerance (fraction 0..10, the largest of its windows'): a ratio within 1 ± it is EQUIVALENT. */
  tolerance: number;
}

/** One chip of a recommendation. */
export interface ChipRecommendation {
  /** 1 = best; chips that cannot meet the SLO at the requested load come after every chip that can. */
  rank: number;
  chip: string;
  kind: string;
  vendor: string;
  /** At the requested load, ms; null = unbounded: the load exceeds what the chip serves (the queue grows without end). */
  at_load: { p50: number | null; p90: number | null; p99: number | null };
  /** With no queueing (one request alone), ms. */
  idle: { p50: number | null; p90: number | null; p99: number | null };
  /**
   * The SLO percentile at the load is within the target and, when that percentile is the fleet's measurement, the
   * load is within `max_rps_within_slo` too (a measurement above the curve's limit is outvoted by the fleet's other
   * loads). False from an upper bound (a new model smaller than its references) or from an outvoted measurement says
   * only that it may miss: the reason says "may miss".
   */
  meets_slo: boolean;
  /** Highest load (requests/s) whose SLO percentile is still ≤ the target; 0 if even idle misses. */
  max_rps_within_slo: number;
  /**
   * Cost of one million inferences at the requested load (at 0 req/s, at `max_rps_within_slo`), in the catalog's
   * currency; null when the chip has no price, when it cannot carry the load (`at_load` of the SLO percentile null) or,
   * at 0 req/s, when no load meets the SLO (`max_rps_within_slo` 0).
   */
  cost_per_million: number | null;
  /** The chip catalog's price per hour of the chip, in its currency; null where it has none (then `cost_per_million` is null: unpriced). */
  price_per_hour: number | null;
  evidence: Evidence;
  /** One line a human reads, e.g. "meets p99 50 ms up to 41 req/s; fastest measured in the fleet". */
  reason: string;
}

/** `POST /v1/recommend` answer. */
export interface RecommendResponse {
  model: string;
  slo: { percentile: number; ms: number };
  rps: number;
  /** The stated queueing law behind the latency-versus-load curve. */
  queueing_law: string;
  chips: ChipRecommendation[];
  /** Candidate chips nothing is known about for this model (no fleet, benchmark or prediction), with why. */
  skipped: { chip: string; reason: string }[];
}

/** One chip of the catalog (`GET /v1/chips`): a row of table `chips`. */
export type ChipInfo = ChipRow;

/** Query of `GET /v1/correlations`. */
export interface CorrelationQuery {
  server?: string;
  model?: string;
  /** Load metric of the pair (`x_metric`, e.g. `queue_depth`). */
  xMetric?: string;
  /** Latency metric of the pair (`y_metric`, e.g. `total_ms`). */
  yMetric?: string;
  /** Epoch ms UTC; windows ending at or after it. */
  sinceMs?: number;
  /** Max rows, newest first. @default 100 */
  limit?: number;
  /** Matching windows to skip first (a page's `next_offset`). @default 0 */
  offset?: number;
}

/** One page of correlation windows, newest first. */
export interface CorrelationPage {
  windows: CorrelationWindow[];
  /** The `offset` of the next page when more windows match; null when this page holds the last. */
  next_offset: number | null;
}

/**
 * One closed correlation window (table load_latency_correlations) as the API answers it: the
 * `CorrelationUpdate` record with its window bounds as ISO-8601 UTC text instead of epoch ms, and the
 * metric and alert names as plain strings.
 */
export type CorrelationWindow = {
  [K in keyof CorrelationUpdate]: K extends 'window_start' | 'window_end' | 'x_metric' | 'y_metric' | 'alert_state' ? string : CorrelationUpdate[K];
};

/** `model_id` of a profile whose graph has no name that is an id, none given (`POST /v1/profile`, `edgelat profile`). */
export const UNNAMED_MODEL_ID = 'model';

/** What the HTTP layer calls; every method may throw {@link BadRequestError} or {@link NotFoundError}. */
export interface PredictorBackend {
  predict(req: PredictRequest): Promise<PredictResponse>;
  recommend(req: RecommendRequest): Promise<RecommendResponse>;
  /**
   * Profile ONNX bytes; `batch` replaces a symbolic batch dimension (default 1), `dims` other named symbolic dims (profile.ts
   * `ProfileOptions`); `model_id` is `modelId`, else the graph name when it is an id, else {@link UNNAMED_MODEL_ID}.
   * @throws {BadRequestError} on a malformed file, or a dim no input has.
   */
  profile(onnx: Uint8Array, options: { batch?: number; modelId?: string; dims?: Record<string, number> }): Promise<ModelProfile>;
  chips(): Promise<ChipInfo[]>;
  correlations(query: CorrelationQuery): Promise<CorrelationPage>;
  /** The deployment gate (gate-evidence.ts). @throws {NotFoundError} for a model or server with no telemetry. */
  gate(req: GateRequest): Promise<GateReport>;
  /** Readiness: ok false answers 503. */
  health(): Promise<{ ok: boolean; details?: unknown }>;
}


/** The request is understood but wrong (unknown load key, SLO ≤ 0, malformed ONNX): HTTP 400. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
  /** @param field  The request field at fault (`macs`, `servers`, …): the problem's `errors[].path` is `#/<field>`. */
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

/** A named thing (model, chip, server) does not exist: HTTP 404. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  /**
   * @param field   The request field that names it (`model`, `chip`, `servers/1`, …): the problem's `errors[].path` is `#/<field>`.
   * @param errors  One entry per field where several name what is not found (each server of a list): the problem's
   *                `errors[]` then holds these, each with its own path and message, in place of the one of `field`.
   */
  constructor(message: string, readonly field?: string, readonly errors?: readonly { field: string; message: string }[]) {
    super(message);
  }
}

/**
 * The request is valid but the warehouse holds too little to answer it (no telemetry yet, too few requests):
 * the CLI exits 1 (gate: 70), not as for bad usage; the API answers 404.
 */
export class NoEvidenceError extends Error {
  override readonly name: string = 'NoEvidenceError';
}

/**
 * No champion latency model of a kind is registered (none trained yet): the CLI exits 1 as for any missing evidence;
 * the API answers 503, the server's state and not the request's (a trial: a 404 for a well-formed predict).
 */
export class NoChampionError extends NoEvidenceError {
  override readonly name: string = 'NoChampionError';
}

/**
 * The warehouse holds no data of the kind asked for at all (no telemetry, or neither telemetry nor benchmarks): the
 * server's state, not the request's, as {@link NoChampionError}: the CLI exits 1 (gate: 70), the API answers 503 (a
 * trial: predict answered 503 on an empty warehouse where recommend and gate answered 404, which tells a client to
 * give up on a request that will be answered once data arrives).
 */
export class NoDataYetError extends NoEvidenceError {
  override readonly name: string = 'NoDataYetError';
}
