/**
 * The SQL endpoint's metrics, declared in this one file (STYLE §4): requests answered and their durations by method
 * and HTTP status, and the bytes of read answers sent. Registered in the registry the endpoint is given (`serve`
 * shares the predictor's, so the API's `GET /metrics` exports both), else in a new one; never in the global registry.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { HTTP_DURATION_BUCKETS_SECONDS } from '../predictor/metrics.ts';

/** Names of the SQL endpoint's metrics. */
export const SQL_METRIC_NAMES = {
  /** Counter {method, status}: requests answered by the ClickHouse HTTP endpoint (a streamed read when it ends; status `cut` for one cut short). */
  requests: 'edgelat_sql_requests_total',
  /** Histogram {method, status}: time from request received to the answer's end, seconds. */
  duration: 'edgelat_sql_request_duration_seconds',
  /** Counter {method}: bytes of read answers sent (the query's output). */
  resultBytes: 'edgelat_sql_result_bytes_total',
} as const;

/** Label names of the SQL endpoint's request metrics. */
export type SqlLabel = 'method' | 'status';

/** Typed handles on the SQL endpoint's metrics. */
export interface SqlEndpointMetrics {
  readonly registry: Registry;
  /** `edgelat_sql_requests_total{method,status}`. */
  readonly requests: Counter<SqlLabel>;
  /** `edgelat_sql_request_duration_seconds{method,status}`, seconds. */
  readonly duration: Histogram<SqlLabel>;
  /** `edgelat_sql_result_bytes_total{method}`, bytes. */
  readonly resultBytes: Counter<'method'>;
}

/**
 * Register the SQL endpoint's metrics, reusing those of the same name already in `registry` (two endpoints on one
 * registry share the series).
 * @param registry  Where to register them. @default a new Registry (without process metrics)
 */
export function createSqlEndpointMetrics(registry: Registry = new Registry()): SqlEndpointMetrics {
  const existing = <T>(name: string): T | undefined => registry.getSingleMetric(name) as T | undefined;
  const labelNames: SqlLabel[] = ['method', 'status'];
  const requests = existing<Counter<SqlLabel>>(SQL_METRIC_NAMES.requests)
    ?? new Counter({ name: SQL_METRIC_NAMES.requests, help: 'Requests answered by the ClickHouse HTTP endpoint (a streamed read when it ends).', labelNames, registers: [registry] });
  const duration = existing<Histogram<SqlLabel>>(SQL_METRIC_NAMES.duration)
    ?? new Histogram({ name: SQL_METRIC_NAMES.duration, help: 'Time from request received to the answer\'s end, seconds.', labelNames, buckets: [...HTTP_DURATION_BUCKETS_SECONDS], registers: [registry] });
  const resultBytes = existing<Counter<'method'>>(SQL_METRIC_NAMES.resultBytes)
    ?? new Counter({ name: SQL_METRIC_NAMES.resultBytes, help: 'Bytes of read answers sent by the ClickHouse HTTP endpoint.', labelNames: ['method'], registers: [registry] });
  return { registry, requests, duration, resultBytes };
}
