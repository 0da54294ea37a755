import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { rollingCorrelation } from '../../pipelines/rolling-correlation.ts';
import type { Processor } from '../../pipelines/processor.ts';
import { ProcessorRun, type TopicCounts } from '../../pipelines/runtime/run-processor.ts';
import { SinkRun } from '../../pipelines/runtime/run-sink.ts';
import type { EdgelatConfig } from '../config.ts';
import { BrokerUnavailableError } from '../../errors.ts';
import type { EventLog } from '../eventlog/types.ts';
import { backoffDelay, type RetryOptions } from '../retry.ts';
import { observeCounts, observeDeliveries, observePartitions, type Metrics } from '../metrics.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { inputPartitions, shadowProcessor, stageTopics, type Stage } from './embedded.ts';
import { AlertDeliveryRun } from '../alerts/delivery-run.ts';

/** Pause after a poll that brought no record, milliseconds. */
const IDLE_WAIT_MS = 50;

const consumedBy = (counts: Readonly<Record<string, TopicCounts>>): number => Object.values(counts).reduce((s, c) => s + c.consumed, 0);

/** Options of a long-running pipeline. */
export interface StreamingOptions {
  log: EventLog;
  warehouse: Warehouse;
  config: Pick<EdgelatConfig, 'maxOutOfOrdernessMs' | 'joinToleranceMs' | 'windowSizeMs' | 'windowSlideMs' | 'allowedLatenessMs' | 'maxEventTimeAheadMs'> & Partial<Pick<EdgelatConfig, 'alerts' | 'shadows' | 'alertsTimeoutMs' | 'correlationScopes'>> & { sinkBatchOffsets?: number; sinkLingerMs?: number; idleTimeoutMs?: number };
  /** Processors this instance runs, each as its own consumer group. @default join, correlation, sink (and alerts with a webhook) */
  processors?: readonly Stage[];
  /** Webhook of the 'alerts' stage (alert delivery); required when it runs. */
  alertsWebhook?: string;
  /** Only changes into these states are posted. @default all */
  alertsStates?: ReadonlySet<string>;
  /**
   * Stop when the input topics are sealed and the whole consumer group of
   * each processor has committed their end offsets (any number of instances
   * may share the partitions); a processor then seals its output topics and
   * leaves its group. @default false
   */
  untilEnd?: boolean;
  /** Consumer groups are `<groupPrefix>-<processor>` (join-load-latency, rolling-correlation, shadow-compare, warehouse-sink, alert-delivery). @default 'edgelat' */
  groupPrefix?: string;
  /** Stops the run between batches: every run commits its batch and leaves its group. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Where records in/out, dead letters, late records, consumer lag, watermark delay and insert latency are counted. */
  metrics?: Metrics;
  /** How often consumer lag and watermark delay are refreshed, milliseconds (each refresh reads end offsets). @default 5000 */
  gaugeEveryMs?: number;
  /** Called after each batch of a stage with its counts so far in this run (per input topic). */
  onProgress?: (stage: Stage, counts: Readonly<Record<string, TopicCounts>>) => void;
}

/** Counts per processor and input topic when the run stopped. */
export type StreamingCounts = Partial<Record<Stage, Record<string, TopicCounts>>>;

/**
 * Run the selected processors concurrently until `signal` aborts (or, with
 * `untilEnd`, until every input is sealed and drained by the group). Each processor is a
 * consumer group of its own, so any number of instances share the partitions;
 * a batch is always finished and committed before the run stops.
 */
export async function runStreaming(options: StreamingOptions): Promise<StreamingCounts> {
  const { log, warehouse, config, logger, metrics, signal } = options;
  const withShadows = config.shadows?.enabled ?? false;
  const stages: readonly Stage[] = options.processors ?? ['join', 'correlation', ...(withShadows ? (['shadow'] as const) : []), 'sink', ...(options.alertsWebhook ? (['alerts'] as const) : [])];
  if (stages.includes('alerts') && !options.alertsWebhook) throw new RangeError('the alerts processor needs --alerts-webhook URL');
  const checks = { maxEventTimeAheadMs: config.maxEventTimeAheadMs };
  const partitions = stages.includes('join') || stages.includes('shadow') ? await inputPartitions(log, withShadows, logger) : undefined;
  const counts: StreamingCounts = {};
  /** Aborted when a stage fails: the other stages stop after their batch. */
  const failed = new AbortController();
  // Output topics a stage seals once its group has drained its input. The late-events topic has three producers
  // (join, correlation, shadow): the last of them this process runs seals it, since a topic sealed here refuses
  // any later record from here. (Another instance's records after the seal are read: every producer of late
  // events also seals an output of its own after them, which the sink reads to its end too.)
  const { inputs: inputsOf, seals } = stageTopics(withShadows);
  const producers = new Map<string, number>();
  for (const stage of stages) for (const topic of seals[stage]) producers.set(topic, (producers.get(topic) ?? 0) + 1);
  // A stage reaches the end of an input made by stages of this process only after those stages sealed it in this
  // run (a seal of an earlier run stays; see ProcessorRunOptions.inputsFinal).
  const inputsFinal = (stage: Stage) => () => inputsOf[stage].every((t) => (producers.get(t) ?? 0) === 0);

  const prefix = options.groupPrefix ?? 'edgelat';
  const processorRun = <S>(processor: Processor<S>, stage: Stage) => new ProcessorRun({ log, logger, checks, partitions, idleTimeoutMs: config.idleTimeoutMs, processor, groupId: `${prefix}-${processor.name}`, inputsFinal: inputsFinal(stage) });
  const make = (stage: Stage) =>
    stage === 'join'
      ? processorRun(joinLoadLatency({ toleranceMs: config.joinToleranceMs, maxOutOfOrdernessMs: config.maxOutOfOrdernessMs }), stage)
      : stage === 'correlation'
        ? processorRun(rollingCorrelation({ sizeMs: config.windowSizeMs, slideMs: config.windowSlideMs, allowedLatenessMs: config.allowedLatenessMs, maxOutOfOrdernessMs: config.maxOutOfOrdernessMs, alerts: config.alerts, scopes: config.correlationScopes }), stage)
        : stage === 'alerts'
          ? new AlertDeliveryRun({
              log, warehouse, logger, checks, webhookUrl: options.alertsWebhook!, states: options.alertsStates, webhook: { timeoutMs: config.alertsTimeoutMs }, groupId: `${prefix}-alert-delivery`, inputsFinal: inputsFinal(stage),
              // A delivery retried while the webhook is down stops with the run (SIGTERM), not only when the webhook answers.
              signal: signal ? AbortSignal.any([signal, failed.signal]) : failed.signal,
            })
          : stage === 'shadow'
            ? processorRun(shadowProcessor(config), stage)
            : new SinkRun({ log, warehouse, logger, checks, groupId: `${prefix}-warehouse-sink`, topics: inputsOf.sink, inputsFinal: inputsFinal(stage), batchOffsets: config.sinkBatchOffsets, lingerMs: config.sinkLingerMs ?? 1000,
            // A write retried while the warehouse is down stops with the run (SIGTERM), not only when the warehouse answers
            // (a trial: Ctrl-C did nothing for minutes; nothing is committed past unwritten rows, so a restart loses none).
            retry: { signal: signal ? AbortSignal.any([signal, failed.signal]) : failed.signal },
            onWrite: (table, _rows, seconds) => metrics?.batchWrite.observe({ table }, seconds) });

  /** Consumer lag (end offset − position) and watermark delay of a run's owned partitions, at most every `gaugeEveryMs`. */
  const lastGauges = new Map<Stage, number>();
  async function observeGauges(stage: Stage, run: ReturnType<typeof make>, force = false): Promise<void> {
    if (!metrics || (!force && Date.now() - (lastGauges.get(stage) ?? 0) < (options.gaugeEveryMs ?? 5000))) return;
    lastGauges.set(stage, Date.now());
    const lags = [];
    for (const p of run.positions()) lags.push({ topic: p.topic, partition: p.partition, value: Math.max(0, (await log.endOffset(p)) - p.position) });
    observePartitions(metrics, 'consumerLag', stage, lags);
    if (run instanceof ProcessorRun) {
      const now = Date.now();
      observePartitions(metrics, 'watermarkDelay', stage, run.watermarks().map((w) => ({ topic: w.topic, partition: w.partition, value: (now - w.watermarkMs) / 1000 })));
    }
  }

  async function loop(stage: Stage): Promise<void> {
    const run = make(stage);
    try {
      await run.start();
    } catch (error) {
      failed.abort(); // before the count: the stages waiting below must see it
      await run.close().catch(() => undefined);
      throw error;
    } finally {
      started.count();
    }
    try {
      // No stage reads a batch before every stage of this instance has started: a processor that takes over
      // output made with other settings refuses at its start (run-processor.ts), and the sink must not have
      // written that output into this job's warehouse meanwhile.
      await started.all;
      logger?.info({ pipeline: stage }, 'started');
      while (!signal?.aborted && !failed.signal.aborted) {
        const before = consumedBy(run.counts);
        const end = await run.runBatch();
        // Nothing new: wait a little (the in-process log's poll returns at once; without this the loop would never yield).
        if (!end && consumedBy(run.counts) === before) await sleep(IDLE_WAIT_MS);
        if (metrics) observeCounts(metrics, stage, run.counts);
        if (metrics && run instanceof AlertDeliveryRun) observeDeliveries(metrics, run.deliveries);
        options.onProgress?.(stage, run.counts);
        await observeGauges(stage, run);
        // This member is done with its own partitions; the run ends once every member of the group is (their
        // partitions may still come to this member in a rebalance, so it keeps polling until then).
        if (end && options.untilEnd && (await run.groupDrained())) {
          // The stage's last lag, not one up to 5 s old: a drained stage kept showing a lag while others ran on (a trial).
          await observeGauges(stage, run, true);
          for (const topic of seals[stage]) {
            producers.set(topic, producers.get(topic)! - 1);
            if (producers.get(topic) === 0) await log.seal(topic);
          }
          break;
        }
      }
    } finally {
      await run.close();
      counts[stage] = run.counts;
      logger?.info({ pipeline: stage, counts: run.counts }, 'stopped');
    }
  }

  const started = countdown(stages.length);
  // The first stage that fails stops the others (each finishes its batch, commits and leaves its group); then the
  // failure is raised. Without this the healthy stages would go on and the process would never end.
  const guarded = (stage: Stage) =>
    loop(stage).catch((error: unknown) => {
      failed.abort();
      throw error;
    });
  const results = await Promise.allSettled(stages.map(guarded));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return counts;
}

/** Options of {@link runStreamingWithRestarts}: those of {@link runStreaming}, with a way to open the log. */
export interface RestartingOptions extends Omit<StreamingOptions, 'log'> {
  /** Opens the event log of one run: a new connection for each (re)start. */
  connect: () => Promise<EventLog>;
  /** Closes a run's log when it ended, failed or not. @default log.close() */
  close?: (log: EventLog) => Promise<void>;
  /** Back-off between restarts ({@link backoffDelay}). @default 1 s doubling to 30 s, ±20 % */
  restart?: Pick<RetryOptions, 'initialRetryTimeMs' | 'maxRetryTimeMs' | 'factor'>;
  /** Called before each wait: the failure, the restart's number (1, 2, …) and the delay, ms. */
  onRestart?: (error: BrokerUnavailableError, restart: number, delayMs: number) => void;
}

/** A run that lasted this long before it failed starts the back-off over, milliseconds. */
const HEALTHY_RUN_MS = 60_000;

/**
 * {@link runStreaming} that survives losing the broker: when a run fails with a
 * BrokerUnavailableError (kafkajs gave up on a request: the broker went away,
 * restarted, or a connection was reset) and the run was not stopped, its
 * stages have finished their batches and left their groups; the log is closed
 * and, after a back-off, a new connection runs every stage again from the
 * committed offsets, as a restarted process would (state rebuilt by replay, no
 * duplicates: DESIGN §3). Any other failure, or one after `signal` aborted,
 * is raised. A connection that cannot be opened counts as such a failure.
 * @returns the counts of the last run, and how many restarts it took.
 * @throws the first failure that is not a BrokerUnavailableError, or the last one when `signal` aborts during a back-off.
 */
export async function runStreamingWithRestarts(options: RestartingOptions): Promise<{ counts: StreamingCounts; restarts: number }> {
  const { connect, close, restart, onRestart, ...streaming } = options;
  const o = { initialRetryTimeMs: 1000, ...restart };
  let restarts = 0;
  let step = 0;
  for (;;) {
    const began = Date.now();
    let log: EventLog | null = null;
    try {
      log = await connect();
      return { counts: await runStreaming({ ...streaming, log }), restarts };
    } catch (error) {
      if (!(error instanceof BrokerUnavailableError) || streaming.signal?.aborted) throw error;
      if (Date.now() - began >= HEALTHY_RUN_MS) step = 0;
      const delay = backoffDelay(step++, o);
      onRestart?.(error, ++restarts, delay);
      await sleep(delay, undefined, { signal: streaming.signal }).catch(() => undefined);
      if (streaming.signal?.aborted) throw error;
    } finally {
      if (log) await (close ? close(log) : log.close()).catch(() => undefined);
    }
  }
}

/** A promise that resolves once `count()` has been called `n` times (a stage started, or failed to). */
function countdown(n: number): { count(): void; all: Promise<void> } {
  let left = n;
  let resolve!: () => void;
  const all = new Promise<void>((r) => { resolve = r; });
  if (left <= 0) resolve();
  return { count: () => { if (--left === 0) resolve(); }, all };
}
