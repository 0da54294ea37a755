/**
 * TypeScript shapes of the edgelat records (DESIGN §2). The `.avsc` files in
 * this folder are the source of truth; these types mirror them field by field.
 *
 * Conventions: every `ts`-like field is epoch milliseconds UTC (a safe integer);
 * every `_ms` field is a duration in milliseconds (float64, >= 0); every `_util`
 * field is a fraction 0..1.
 */

/** Request outcome. */
export type InferenceStatus = 'ok' | 'error' | 'timeout';

/** Whether an event was served by production or measured on a shadow chip. */
export type InferenceRole = 'production' | 'shadow';

/** One inference request served by an edge server (`edge.inference.v1`). */
export interface InferenceEvent {
  /** Unique id of this event (natural key downstream). */
  event_id: string;
  /** Id of the client request; shared by a production event and its shadow. */
  request_id: string;
  /** Request arrival, epoch ms UTC. */
  ts: number;
  edge_server_id: string;
  device_id: string;
  model_id: string;
  model_version: string;
  chip: string;
  runtime: string;
  batch_size: number;
  /** Input payload size, bytes. */
  input_bytes: number;
  /** Time waiting in the server's queue, ms. */
  queue_ms: number;
  /** Time waiting on i/o (input transfer, pre/post-processing), ms. */
  io_ms: number;
  /** Time computing on the chip, ms. */
  compute_ms: number;
  /** End-to-end latency, ms (queue + io + compute). */
  total_ms: number;
  status: InferenceStatus;
  deployment_id: string | null;
  role: InferenceRole;
}

/** One load sample of an edge server (`edge.load.v1`), nominally 1 Hz. */
export interface LoadSample {
  edge_server_id: string;
  /** Sample time, epoch ms UTC. */
  ts: number;
  /** CPU utilisation, fraction 0..1. */
  cpu_util: number;
  /** Accelerator utilisation, fraction 0..1. */
  gpu_util: number;
  /** Memory utilisation, fraction 0..1. */
  mem_util: number;
  /** Requests waiting in the queue (count). */
  queue_depth: number;
  /** Requests in service (count). */
  concurrency: number;
  /** Arrival rate over the last second, requests/s. */
  requests_per_s: number;
  temperature_c: number | null;
  power_w: number | null;
}

/** Load fields copied from the matched sample; all null when unmatched. */
export interface LoadFields {
  cpu_util: number | null;
  gpu_util: number | null;
  mem_util: number | null;
  queue_depth: number | null;
  concurrency: number | null;
  requests_per_s: number | null;
}

/** An inference event joined to the load sample in force at its ts (`analytics.inference-enriched.v1`). */
export interface EnrichedInference extends InferenceEvent, LoadFields {
  /** True when a load sample within the join tolerance was found. */
  matched: boolean;
  /** ts of the matched sample, epoch ms UTC, or null. */
  load_ts: number | null;
  /** ts − load_ts, ms, or null. */
  load_age_ms: number | null;
}

/** Names of the load metrics correlated against latency. */
export type LoadMetric = 'cpu_util' | 'gpu_util' | 'queue_depth' | 'concurrency' | 'requests_per_s';
/** Names of the latency metrics correlated against load. */
export type LatencyMetric = 'total_ms' | 'io_ms' | 'compute_ms';

/** Alert state of a correlation key (DESIGN §3). */
export type AlertState = 'none' | 'rising' | 'firing' | 'resolved';

/** One closed sliding window of a load-versus-latency correlation (`analytics.load-latency-correlation.v1`). */
export interface CorrelationUpdate {
  /** 'server' | 'server×model' | 'server×model×chip'. */
  scope: string;
  edge_server_id: string;
  model_id: string | null;
  chip: string | null;
  /** Inclusive window start, epoch ms UTC. */
  window_start: number;
  /** Exclusive window end, epoch ms UTC. */
  window_end: number;
  x_metric: LoadMetric;
  y_metric: LatencyMetric;
  /** Rows in the window with both x and y non-null. */
  n: number;
  /** Pearson r in [-1, 1], or null when undefined (see null_reason). */
  pearson_r: number | null;
  /** 95 % CI of r by Fisher z, or null. */
  ci_low: number | null;
  ci_high: number | null;
  /** OLS slope of y on x (y units per x unit), or null. */
  slope: number | null;
  intercept: number | null;
  /** Two-sided p-value of H0: rho = 0 (t-test with n−2 df), or null. */
  p_value: number | null;
  /** Why the statistics are null: 'n_lt_3' | 'x_constant' | 'y_constant' | 'non_finite', or 'no_rows' (the closing window of a key that went quiet: pipelines/rolling-correlation.ts), else null. */
  null_reason: string | null;
  alert_state: AlertState;
}

/** Kind of a {@link DeploymentEvent}. */
export type DeploymentKind = 'rollout' | 'rollback' | 'shadow_start' | 'shadow_stop';

/** A change of what an edge server runs (`deploy.events.v1`, schemas/deployment-event.v1.avsc). */
export interface DeploymentEvent {
  deployment_id: string;
  /** When the change took effect, epoch ms UTC. */
  ts: number;
  edge_server_id: string;
  model_id: string;
  /** Version running after the event. */
  model_version: string;
  /** Chip running the model after the event. */
  chip: string;
  runtime: string;
  kind: DeploymentKind;
  /** Why (a rollback names the p99 at peak and the SLO it breached), or null. */
  reason: string | null;
  /** p99 latency objective at peak load, ms, or null. */
  slo_p99_ms: number | null;
  /** Multiply-accumulates per inference of the version, or null when unknown. */
  macs: number | null;
}

/** A record that could not be decoded or validated (`<topic>.dlq`, table `dead_letters`). */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number;
  /** The record's key bytes, base64, or null. */
  key_b64: string | null;
  /**
   * The record's raw value bytes, base64. '' for an empty value, a null value (a tombstone) and, on the `.dlq` topic
   * only, bytes too large for a Kafka message (run-sink.ts `dlqValue`: the error names their size; the `dead_letters`
   * row keeps them): the error tells which.
   */
  raw_b64: string;
  /** Lower-case reason naming the field and value. */
  error: string;
  /** Field path of the failure ('' when the bytes did not parse at all). */
  path: string;
  /** The consumer group that found it. */
  consumer_group: string;
  /** The source record's log timestamp (set by its producer or broker, not when it failed), epoch ms UTC. */
  ts: number;
}

/** A record that arrived after every window/join it belongs to had fired (table `late_events`). */
export interface LateEvent {
  topic: string;
  partition: number;
  offset: number;
  /** Event time of the late record (of a shadow result, its request_ts: what places it in its window), epoch ms UTC. */
  ts: number;
  /** The watermark it missed, epoch ms UTC. */
  watermark: number;
  /** Operator that found it late ('join-load-latency' | 'rolling-correlation'). */
  operator: string;
  edge_server_id: string;
  /** The record itself, as JSON. */
  record_json: string;
}

/**
 * One request measured on a shadow deployment (edge.shadow.v1; schemas/shadow-result.v1.avsc):
 * the InferenceEvent fields of the shadow's own measurement (`ts` = when the shadow received the
 * request, by its clock; `edge_server_id` = the production server it sits beside; `chip` = the
 * shadow chip; `model_version` = the candidate; `total_ms` from its receipt to its answer) and
 * `request_ts`, when the production server received the request, epoch ms UTC.
 */
export type ShadowResult = Omit<InferenceEvent, 'batch_size' | 'input_bytes' | 'role'> & { request_ts: number };

/** Verdict of a paired shadow comparison. */
export type ShadowVerdictName = 'BETTER' | 'WORSE' | 'EQUIVALENT' | 'INCONCLUSIVE';

/** One window of a shadow comparison (analytics.shadow-verdicts.v1; schemas/shadow-verdict.v1.avsc). Latencies in ms, ratios shadow / production. */
export interface ShadowVerdict {
  edge_server_id: string;
  model_id: string;
  production_chip: string;
  production_version: string;
  shadow_chip: string;
  shadow_version: string;
  window_start: number;
  window_end: number;
  /** Requests measured on both sides and ok on both: the pairs of the statistics. */
  pairs: number;
  unpaired_production: number;
  unpaired_shadow: number;
  /** Requests measured on both sides but not ok on one or both (error, timeout): counted, out of the latency statistics. */
  failed_pairs: number;
  production_p50_ms: number | null;
  production_p90_ms: number | null;
  production_p99_ms: number | null;
  shadow_p50_ms: number | null;
  shadow_p90_ms: number | null;
  shadow_p99_ms: number | null;
  ratio: number | null;
  ratio_ci_low: number | null;
  ratio_ci_high: number | null;
  confidence: number;
  wilcoxon_w_plus: number | null;
  wilcoxon_p: number | null;
  tolerance: number;
  verdict: ShadowVerdictName;
  slo_p99_ms: number | null;
  shadow_meets_slo: boolean | null;
}
