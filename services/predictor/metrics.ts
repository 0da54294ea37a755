/**
 * The predictor's HTTP metrics, declared in this one file (STYLE §4): a
 * request counter and a duration histogram, both labelled by route template,
 * method and status. Registered in the registry the app is given, or in a new
 * one that also collects prom-client's default process metrics; never in the
 * global registry.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Names of the predictor's metrics. */
export const PREDICTOR_METRIC_NAMES = {
  /** Counter {route, method, status}: HTTP requests answered. */
  requests: 'edgelat_http_requests_total',
  /** Histogram {route, method, status}: time from request received to response sent, seconds. */
  duration: 'edgelat_http_request_duration_seconds',
} as const;

/** Buckets of {@link PREDICTOR_METRIC_NAMES.duration}, seconds (0.5 ms … 10 s). */
export const HTTP_DURATION_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** Label names of the HTTP metrics; `route` is the route template (`/v1/predict`) or `unmatched`. */
export type HttpLabel = 'route' | 'method' | 'status';

/** Typed handles on the predictor's metrics. */
export interface PredictorMetrics {
  /** Where the metrics live; `GET /metrics` exports it. */
  readonly registry: Registry;
  /** `edgelat_http_requests_total{route,method,status}`. */
  readonly requests: Counter<HttpLabel>;
  /** `edgelat_http_request_duration_seconds{route,method,status}`. */
  readonly duration: Histogram<HttpLabel>;
}

/**
 * Register the predictor's metrics.
 *
 * Behaviour: with no `registry`, makes a new one and collects the default
 * process metrics in it; with one, reuses metrics of the same name already in
 * it, so several apps may share a registry (they then share the series).
 * @param registry  An existing registry (e.g. `createMetrics().registry`). @default a new Registry
 * @returns         The registry and the two metric handles.
 */
export function createPredictorMetrics(registry?: Registry): PredictorMetrics {
  const target = registry ?? new Registry();
  if (!registry) collectDefaultMetrics({ register: target });
  const labelNames: HttpLabel[] = ['route', 'method', 'status'];
  const requests =
    (target.getSingleMetric(PREDICTOR_METRIC_NAMES.requests) as Counter<HttpLabel> | undefined) ??
    new Counter({ name: PREDICTOR_METRIC_NAMES.requests, help: 'HTTP requests answered by the predictor.', labelNames, registers: [target] });
  const duration =
    (target.getSingleMetric(PREDICTOR_METRIC_NAMES.duration) as Histogram<HttpLabel> | undefined) ??
    new Histogram({
      name: PREDICTOR_METRIC_NAMES.duration,
      help: 'Time from request received to response sent, seconds.',
      labelNames,
      buckets: [...HTTP_DURATION_BUCKETS_SECONDS],
      registers: [target],
    });
  return { registry: target, requests, duration };
}
