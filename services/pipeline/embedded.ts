import type { Logger } from 'pino';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { rollingCorrelation } from '../../pipelines/rolling-correlation.ts';
import { ProcessorRun, type FailPoint, type TopicCounts } from '../../pipelines/runtime/run-processor.ts';
import { SinkRun } from '../../pipelines/runtime/run-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { partitionCounts } from '../../pipelines/runtime/decode.ts';
import type { EdgelatConfig } from '../config.ts';
import type { EventLog } from '../eventlog/types.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { AlertDeliveryRun } from '../alerts/delivery-run.ts';
import { shadowCompare } from '../../pipelines/shadow-compare.ts';

/** Stages of a bounded pipeline run, in order ('alerts' only with a webhook). */
export type Stage = 'join' | 'correlation' | 'shadow' | 'sink' | 'alerts';

/** Counts per stage and input topic. */
export type PipelineCounts = Record<'join' | 'correlation' | 'sink', Record<string, TopicCounts>> & { shadow?: Record<string, TopicCounts>; alerts?: Record<string, TopicCounts> };

/** Options of a bounded pipeline run. */
export interface PipelineRunOptions {
  log: EventLog;
  warehouse: Warehouse;
  config: Pick<EdgelatConfig, 'maxOutOfOrdernessMs' | 'joinToleranceMs' | 'windowSizeMs' | 'windowSlideMs' | 'allowedLatenessMs' | 'maxEventTimeAheadMs'> & Partial<Pick<EdgelatConfig, 'alerts' | 'shadows' | 'alertsTimeoutMs' | 'correlationScopes'>>;
  /** Run shadow-compare after the correlation and copy edge.shadow.v1 and the verdicts (the shadow topic must be sealed too). @default config.shadows.enabled */
  shadows?: boolean;
  /** Post every alert state change to this URL (services/alerts/delivery-run.ts), after the correlation stage. */
  alertsWebhook?: string;
  /** Only changes into these states are posted (the others are recorded as filtered). @default all */
  alertsStates?: ReadonlySet<string>;
  /** When alert delivery pauses on a failing webhook, and when it resumes (services/alerts/delivery-run.ts `onPause`, `onResume`). */
  onAlertsPause?: (error: Error) => void;
  onAlertsResume?: () => void;
  logger?: Logger;
  /** Called after each batch: stage and records consumed so far by it. */
  onProgress?: (stage: Stage, consumed: number) => void;
  /** Test hook per stage (see ProcessorRun.failPoint). */
  failPoint?: (stage: Stage, point: FailPoint, recordsDone: number) => void;
  /** Sink block size in offsets. @default 4096 */
  sinkBatchOffsets?: number;
}

/** Topics the warehouse-sink copies into tables. */
export const SINK_TOPICS = [TOPICS.inference, TOPICS.load, TOPICS.enriched, TOPICS.correlation, TOPICS.late] as const;
/** And with shadows on. */
export const SHADOW_SINK_TOPICS = [TOPICS.shadow, TOPICS.shadowVerdicts] as const;

/**
 * The topics each stage reads, and those it seals once its group has drained its input (its outputs). The
 * late-events topic has three producers (join, correlation, shadow). The fleet's topics (inference, load, shadow
 * results) are no stage's output: `edgelat simulate --seal` or the fleet seals them.
 * @param withShadows Whether the sink also copies the shadow topics.
 */
export function stageTopics(withShadows: boolean): { inputs: Readonly<Record<Stage, readonly string[]>>; seals: Readonly<Record<Stage, readonly string[]>> } {
  return {
    inputs: { join: [TOPICS.inference, TOPICS.load], shadow: [TOPICS.shadow], correlation: [TOPICS.enriched], sink: withShadows ? [...SINK_TOPICS, ...SHADOW_SINK_TOPICS] : SINK_TOPICS, alerts: [TOPICS.correlation] },
    seals: { join: [TOPICS.enriched, TOPICS.late], correlation: [TOPICS.correlation, TOPICS.late], shadow: [TOPICS.shadowVerdicts, TOPICS.late], sink: [], alerts: [] },
  };
}

/** shadow-compare with the configured settings (defaults when absent). */
export function shadowProcessor(config: Partial<Pick<EdgelatConfig, 'shadows' | 'maxOutOfOrdernessMs'>>) {
  const s = config.shadows;
  return shadowCompare({ windowMs: s?.windowMs, lagToleranceMs: s?.lagToleranceMs, tolerance: s?.tolerance, sloP99Ms: s?.sloP99Ms, maxOutOfOrdernessMs: config.maxOutOfOrdernessMs });
}

const consumed = (counts: Readonly<Record<string, TopicCounts>>): number => Object.values(counts).reduce((s, c) => s + c.consumed, 0);

/**
 * The partition counts of the topics a processor joins per partition (the join's inference events and load samples,
 * with shadows shadow-compare's shadow results), created first when missing (as the processors would at their start),
 * for `ProcessorRunOptions.partitions`. Topics whose counts differ are warned about: a key then hashes to different
 * partitions in each, and the join and shadow-compare read each partition alone.
 * @throws whatever the log throws (the broker is unreachable).
 */
export async function inputPartitions(log: EventLog, withShadows: boolean, logger?: Logger): Promise<Map<string, number>> {
  const topics = [TOPICS.inference, TOPICS.load, ...(withShadows ? [TOPICS.shadow] : [])];
  for (const topic of topics) await log.ensureTopic(topic);
  const counts = await partitionCounts(log, topics);
  if (new Set(counts.values()).size > 1) {
    // What misses what: the join pairs inference events with load samples; shadow-compare, with shadow results (a
    // trial: a shadow topic of 1 partition beside 2 left every production request unpaired, said of the join only).
    const inference = counts.get(TOPICS.inference);
    const misses = [
      ...(counts.get(TOPICS.load) !== inference ? ['its inference events will not meet its load samples'] : []),
      ...(withShadows && counts.get(TOPICS.shadow) !== inference ? ['its shadow results will not meet their production requests (shadow-compare counts the results unpaired, and its production requests in no verdict)'] : []),
    ];
    logger?.warn({ partitions: Object.fromEntries(counts) }, `${misses.length === 2 ? "the join's and shadow-compare's" : counts.get(TOPICS.load) !== inference ? "the join's" : "shadow-compare's"} input topics have different partition counts (${[...counts].map(([t, n]) => `${t} ${n}`).join(', ')}): one server's records land on different partitions of each, and ${misses.join(', and ')}; give them the same count`);
  }
  return counts;
}

/**
 * Run the main job on bounded input already on the log (input topics sealed):
 * join-load-latency → rolling-correlation → warehouse-sink, each as its own
 * consumer group, each stage to end of input before the next starts; output
 * topics are sealed as their producers finish. Safe to call again after a
 * crash: every stage resumes from its committed offsets and adds no rows.
 * @returns counts per stage and topic (consumed = processed + late + dead + repeated).
 */
export async function runBoundedPipeline(options: PipelineRunOptions): Promise<PipelineCounts> {
  const { log, warehouse, config, logger } = options;
  const checks = { maxEventTimeAheadMs: config.maxEventTimeAheadMs };
  const partitions = await inputPartitions(log, options.shadows ?? config.shadows?.enabled ?? false, logger);
  const fail = (stage: Stage) => (options.failPoint ? (p: FailPoint, n: number) => options.failPoint!(stage, p, n) : undefined);
  const join = await new ProcessorRun({
    log, logger, checks, partitions, failPoint: fail('join'),
    processor: joinLoadLatency({ toleranceMs: config.joinToleranceMs, maxOutOfOrdernessMs: config.maxOutOfOrdernessMs }),
    onProgress: (c) => options.onProgress?.('join', consumed(c)),
  }).runToEnd();
  await log.seal(TOPICS.enriched);
  const correlation = await new ProcessorRun({
    log, logger, checks, failPoint: fail('correlation'),
    processor: rollingCorrelation({ sizeMs: config.windowSizeMs, slideMs: config.windowSlideMs, allowedLatenessMs: config.allowedLatenessMs, maxOutOfOrdernessMs: config.maxOutOfOrdernessMs, alerts: config.alerts, scopes: config.correlationScopes }),
    onProgress: (c) => options.onProgress?.('correlation', consumed(c)),
  }).runToEnd();
  await log.seal(TOPICS.correlation);
  const withShadows = options.shadows ?? config.shadows?.enabled ?? false;
  let shadow: Record<string, TopicCounts> | undefined;
  if (withShadows) {
    shadow = await new ProcessorRun({
      log, logger, checks, partitions, failPoint: fail('shadow'), processor: shadowProcessor(config),
      onProgress: (c) => options.onProgress?.('shadow', consumed(c)),
    }).runToEnd();
    await log.seal(TOPICS.shadowVerdicts);
  }
  // After the last of its producers: shadow-compare sends records behind its watermark there too.
  await log.seal(TOPICS.late);
  const sink = await new SinkRun({
    log, warehouse, logger, checks, topics: withShadows ? [...SINK_TOPICS, ...SHADOW_SINK_TOPICS] : SINK_TOPICS, failPoint: fail('sink'), batchOffsets: options.sinkBatchOffsets,
    onProgress: (c) => options.onProgress?.('sink', consumed(c)),
  }).runToEnd();
  const alerts = options.alertsWebhook
    ? await new AlertDeliveryRun({ log, warehouse, logger, checks, webhookUrl: options.alertsWebhook, states: options.alertsStates, failPoint: fail('alerts'), webhook: { timeoutMs: config.alertsTimeoutMs },
      onPause: options.onAlertsPause, onResume: options.onAlertsResume }).runToEnd()
    : undefined;
  return { join, correlation, sink, ...(shadow ? { shadow } : {}), ...(alerts ? { alerts } : {}) };
}
