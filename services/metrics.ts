/**
 * Every Prometheus metric edgelat exports, declared in this one file (STYLE §4,
 * as kafkajs's `instrumentationEvents.js`). Metrics live in a dedicated
 * prom-client `Registry` per {@link createMetrics} call, never in the global
 * registry, so tests and several pipelines in one process do not collide.
 * Serve them with `services/ops-server.ts`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TopicCounts } from '../pipelines/runtime/run-processor.ts';

/** Names of every edgelat metric (the process metrics of prom-client's defaults come on top). */
export const METRIC_NAMES = {
  /** Counter {pipeline, topic}: records consumed from an input topic. */
  recordsIn: 'edgelat_records_in_total',
  /** Counter {pipeline, topic}: records of an input topic processed (decoded and handed to the operator). */
  recordsOut: 'edgelat_records_out_total',
  /** Counter {pipeline, topic}: records of an input topic that failed decoding or validation (each processor counts what it skips; the sink writes them to `<topic>.dlq` and `dead_letters`). */
  deadLetters: 'edgelat_dead_letters_total',
  /** Counter {pipeline, topic}: records of an input topic that arrived behind the watermark. */
  lateRecords: 'edgelat_late_records_total',
  /** Counter {pipeline, topic}: records of an input topic skipped as second copies of edgelat output records already read (a producer's retried send; pipelines/runtime/lanes.ts `LaneRepeats`). */
  repeatedRecords: 'edgelat_repeated_records_total',
  /** Gauge {pipeline, topic, partition}: high watermark minus consumer position, records. */
  consumerLag: 'edgelat_consumer_lag',
  /** Gauge {pipeline, topic, partition}: wall clock minus event-time watermark, seconds. */
  watermarkDelay: 'edgelat_watermark_delay_seconds',
  /** Histogram {table}: latency of one warehouse insert (a batch), seconds. */
  batchWrite: 'edgelat_batch_write_seconds',
  /** Counter {status}: alert state changes the webhook acknowledged (`delivered`), refused for good (`rejected`, a 4xx: not sent again), or not sent (`filtered`). */
  alertDeliveries: 'edgelat_alert_deliveries_total',
  /** Counter {outcome}: scheduled retraining cycles (EDGELAT_RETRAIN_CRON) by outcome: trained, skipped (no new data), stopped (a signal), failed. */
  retrainCycles: 'edgelat_retrain_cycles_total',
  /** Gauge: when the last retraining cycle that trained every kind ended, Unix seconds (absent before one). */
  retrainLastSuccess: 'edgelat_retrain_last_success_timestamp_seconds',
  /** Gauge: how long the last retraining cycle took, seconds (any outcome). */
  retrainLastDuration: 'edgelat_retrain_last_cycle_seconds',
} as const;

/** Buckets of {@link METRIC_NAMES.batchWrite}, seconds (5 ms … 30 s). */
export const BATCH_WRITE_BUCKETS_SECONDS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Label names of the per-topic counters. */
export type TopicLabel = 'pipeline' | 'topic';
/** Label names of the per-partition gauges. */
export type PartitionLabel = 'pipeline' | 'topic' | 'partition';

/** Typed handles on every edgelat metric, all registered in {@link Metrics.registry}. */
export interface Metrics {
  /** The dedicated registry holding these metrics and prom-client's default process metrics. */
  readonly registry: Registry;
  /** `edgelat_records_in_total{pipeline,topic}`: records consumed. */
  readonly recordsIn: Counter<TopicLabel>;
  /** `edgelat_records_out_total{pipeline,topic}`: records processed. */
  readonly recordsOut: Counter<TopicLabel>;
  /** `edgelat_dead_letters_total{pipeline,topic}`: records dead-lettered. */
  readonly deadLetters: Counter<TopicLabel>;
  /** `edgelat_late_records_total{pipeline,topic}`: records behind the watermark. */
  readonly lateRecords: Counter<TopicLabel>;
  /** `edgelat_repeated_records_total{pipeline,topic}`: second copies of output records, skipped. */
  readonly repeatedRecords: Counter<TopicLabel>;
  /** `edgelat_consumer_lag{pipeline,topic,partition}`: lag in records. */
  readonly consumerLag: Gauge<PartitionLabel>;
  /** `edgelat_watermark_delay_seconds{pipeline,topic,partition}`: wall clock − watermark, seconds. */
  readonly watermarkDelay: Gauge<PartitionLabel>;
  /** `edgelat_batch_write_seconds{table}`: warehouse insert latency, seconds. */
  readonly batchWrite: Histogram<'table'>;
  /** `edgelat_alert_deliveries_total{status}`: alert changes delivered, rejected (4xx, for good) or filtered. */
  readonly alertDeliveries: Counter<'status'>;
  /** `edgelat_retrain_cycles_total{outcome}`: scheduled retraining cycles, outcome trained | skipped | stopped | failed. */
  readonly retrainCycles: Counter<'outcome'>;
  /** `edgelat_retrain_last_success_timestamp_seconds`: end of the last cycle that trained every kind, Unix seconds. */
  readonly retrainLastSuccess: Gauge;
  /** `edgelat_retrain_last_cycle_seconds`: duration of the last cycle, seconds. */
  readonly retrainLastDuration: Gauge;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also collect prom-client's default process metrics (CPU, memory, event loop, GC). @default true */
  defaultMetrics?: boolean;
  /** Labels added to every series of the registry, e.g. `{ instance: 'edge-eu-1' }`. @default {} */
  defaultLabels?: Record<string, string>;
}

/** Last cumulative counts seen by {@link observeCounts}, per Metrics object and `pipeline\0topic`. */
const lastSeen = new WeakMap<Metrics, Map<string, TopicCounts>>();

/**
 * Create a dedicated registry with every edgelat metric registered in it.
 *
 * Behaviour: each call makes a new, independent registry (the global prom-client
 * registry is never touched), so it is safe to call once per test.
 * @param options  See {@link MetricsOptions}.
 * @returns        Typed handles; export `registry.metrics()` (e.g. with `startOpsServer`).
 * @see observeCounts
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const topicLabels: TopicLabel[] = ['pipeline', 'topic'];
  const partitionLabels: PartitionLabel[] = ['pipeline', 'topic', 'partition'];
  return {
    registry,
    recordsIn: new Counter({ name: METRIC_NAMES.recordsIn, help: 'Records consumed from an input topic.', labelNames: topicLabels, registers }),
    recordsOut: new Counter({ name: METRIC_NAMES.recordsOut, help: 'Records of an input topic processed by the operator.', labelNames: topicLabels, registers }),
    deadLetters: new Counter({ name: METRIC_NAMES.deadLetters, help: 'Records of an input topic that failed decoding or validation (skipped by the processor; the sink dead-letters them).', labelNames: topicLabels, registers }),
    lateRecords: new Counter({ name: METRIC_NAMES.lateRecords, help: 'Records of an input topic that arrived behind the event-time watermark.', labelNames: topicLabels, registers }),
    repeatedRecords: new Counter({ name: METRIC_NAMES.repeatedRecords, help: 'Records of an input topic skipped as second copies of edgelat output records already read (a send retried by a producer without idempotence).', labelNames: topicLabels, registers }),
    consumerLag: new Gauge({ name: METRIC_NAMES.consumerLag, help: 'High watermark minus consumer position, records.', labelNames: partitionLabels, registers }),
    watermarkDelay: new Gauge({ name: METRIC_NAMES.watermarkDelay, help: 'Wall clock minus event-time watermark, seconds.', labelNames: partitionLabels, registers }),
    batchWrite: new Histogram({
      name: METRIC_NAMES.batchWrite,
      help: 'Latency of one warehouse insert (one batch), seconds.',
      labelNames: ['table'],
      buckets: [...BATCH_WRITE_BUCKETS_SECONDS],
      registers,
    }),
    // Watched by an operator (a trial: a cycle that overran its schedule showed only as a warn log line).
    retrainCycles: new Counter({ name: METRIC_NAMES.retrainCycles, help: 'Scheduled retraining cycles (EDGELAT_RETRAIN_CRON) by outcome: trained (every kind), skipped (no new telemetry or benchmarks), stopped (by a signal), failed.', labelNames: ['outcome'], registers }),
    retrainLastSuccess: new Gauge({ name: METRIC_NAMES.retrainLastSuccess, help: 'When the last retraining cycle that trained every kind ended, Unix seconds.', registers }),
    retrainLastDuration: new Gauge({ name: METRIC_NAMES.retrainLastDuration, help: 'How long the last retraining cycle took (any outcome), seconds.', registers }),
    alertDeliveries: new Counter({ name: METRIC_NAMES.alertDeliveries, help: 'Alert state changes posted to the webhook, by outcome: delivered (2xx), rejected (4xx: refused for good, not sent again; a trial found them silent), filtered (not sent).', labelNames: ['status'], registers }),
  };
}

/** Last cumulative delivery counts seen by {@link observeDeliveries}, per Metrics object. */
const lastDeliveries = new WeakMap<Metrics, Record<string, number>>();

/**
 * Turn an alert delivery run's cumulative counts by status into increments of `edgelat_alert_deliveries_total`
 * (a count below the last one seen, a new run after a restart, counts from 0 again).
 * @param deliveries  Cumulative changes per status (`AlertDeliveryRun.deliveries`).
 */
export function observeDeliveries(metrics: Metrics, deliveries: Readonly<Record<string, number>>): void {
  const before = lastDeliveries.get(metrics) ?? {};
  for (const [status, now] of Object.entries(deliveries)) {
    const previous = before[status] ?? 0;
    const delta = now >= previous ? now - previous : now;
    metrics.alertDeliveries.inc({ status }, Math.max(0, delta)); // at 0 from the start, as the per-topic counters
  }
  lastDeliveries.set(metrics, { ...deliveries });
}

/**
 * Turn a processor run's cumulative per-topic counts into counter increments.
 *
 * Behaviour: remembers the last counts seen per (metrics, pipeline, topic) and
 * adds only the difference, so it can be called from every `onProgress`
 * callback. A count lower than last time means the run restarted from zero
 * (a new `ProcessorRun`): the new value is added in full. Counters map as
 * consumed → records_in, processed → records_out, dead → dead_letters,
 * late → late_records, repeated → repeated_records.
 * @param metrics   Handles from {@link createMetrics}.
 * @param pipeline  Pipeline (processor) name, the `pipeline` label.
 * @param counts    Cumulative counts per input topic (`ProcessorRun.counts`); each count a non-negative integer.
 * @see createMetrics
 */
export function observeCounts(metrics: Metrics, pipeline: string, counts: Readonly<Record<string, TopicCounts>>): void {
  let seen = lastSeen.get(metrics);
  if (!seen) lastSeen.set(metrics, (seen = new Map()));
  for (const [topic, now] of Object.entries(counts)) {
    const key = `${pipeline}\u0000${topic}`;
    const before = seen.get(key) ?? { consumed: 0, processed: 0, late: 0, dead: 0, repeated: 0 };
    const labels = { pipeline, topic };
    // Every series from the first call on, at 0 until something is counted: a series that appears only at its first
    // dead letter leaves rate() and absent() rules blind until then (a trial).
    const add = (counter: Counter<TopicLabel>, current: number, previous: number): void => {
      const delta = current >= previous ? current - previous : current;
      counter.inc(labels, Math.max(0, delta));
    };
    add(metrics.recordsIn, now.consumed, before.consumed);
    add(metrics.recordsOut, now.processed, before.processed);
    add(metrics.deadLetters, now.dead, before.dead);
    add(metrics.lateRecords, now.late, before.late);
    add(metrics.repeatedRecords, now.repeated ?? 0, before.repeated ?? 0);
    seen.set(key, { consumed: now.consumed, processed: now.processed, late: now.late, dead: now.dead, repeated: now.repeated ?? 0 });
  }
}

/** Label keys of the per-partition gauges set last time, per Metrics object and `gauge\0pipeline`. */
const lastPartitions = new WeakMap<Metrics, Map<string, Set<string>>>();

/**
 * Set one pipeline's per-partition gauge values and remove the series of
 * partitions it no longer owns (after a rebalance another instance reports them).
 * @param metrics   Handles from {@link createMetrics}.
 * @param gauge     Which gauge: `consumerLag` (records) or `watermarkDelay` (seconds).
 * @param pipeline  Pipeline (processor) name, the `pipeline` label.
 * @param values    One value per owned (topic, partition); non-finite values are skipped.
 */
export function observePartitions(metrics: Metrics, gauge: 'consumerLag' | 'watermarkDelay', pipeline: string, values: readonly { topic: string; partition: number; value: number }[]): void {
  let byGauge = lastPartitions.get(metrics);
  if (!byGauge) lastPartitions.set(metrics, (byGauge = new Map()));
  const key = `${gauge}\u0000${pipeline}`;
  const now = new Set<string>();
  for (const v of values) {
    if (!Number.isFinite(v.value)) continue;
    metrics[gauge].set({ pipeline, topic: v.topic, partition: String(v.partition) }, v.value);
    now.add(`${v.topic}\u0000${v.partition}`);
  }
  for (const old of byGauge.get(key) ?? []) {
    if (now.has(old)) continue;
    const [topic, partition] = old.split('\u0000') as [string, string];
    metrics[gauge].remove({ pipeline, topic, partition });
  }
  byGauge.set(key, now);
}

/** How a scheduled retraining cycle ended: `edgelat_retrain_cycles_total`'s `outcome`. */
export type RetrainOutcome = 'trained' | 'skipped' | 'stopped' | 'failed';

/**
 * Run one scheduled retraining cycle and record it: `edgelat_retrain_cycles_total{outcome}` (a throw counts as
 * `failed` and is rethrown), `edgelat_retrain_last_cycle_seconds`, and for `trained`
 * `edgelat_retrain_last_success_timestamp_seconds`.
 * @param cycle  The cycle; resolves with its outcome.
 * @param now    Clock, ms. @default Date.now
 * @throws what `cycle` throws.
 */
export async function observeRetrainCycle(metrics: Metrics, cycle: () => Promise<RetrainOutcome>, now: () => number = Date.now): Promise<RetrainOutcome> {
  const started = now();
  let outcome: RetrainOutcome = 'failed';
  try {
    outcome = await cycle();
    return outcome;
  } finally {
    metrics.retrainCycles.inc({ outcome });
    metrics.retrainLastDuration.set((now() - started) / 1000);
    if (outcome === 'trained') metrics.retrainLastSuccess.set(now() / 1000);
  }
}
