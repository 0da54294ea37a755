import { BrokerUnavailableError, RetryStoppedError, urlForMessages, WarehouseLockedError } from '../../errors.ts';
import { SchemaRegistryError } from '../../schemas/registry.ts';
import { clusterChangedError } from '../eventlog/kafka-consumer.ts';
import { chdbDir, modelDir, type EdgelatConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { createMetrics, observeRetrainCycle, type RetrainOutcome } from '../metrics.ts';
import { startOpsServer } from '../ops-server.ts';
import { BrokerProbe, type BrokerHealth } from '../eventlog/broker-probe.ts';
import { stageTopics, type Stage } from '../pipeline/embedded.ts';
import { runStreamingWithRestarts, type StreamingCounts } from '../pipeline/streaming.ts';
import { partitionKey, type EventLog, type TopicPartition } from '../eventlog/types.ts';
import type { ConfluentWireEventLog } from '../eventlog/confluent-wire.ts';
import type { Reassignment, RetentionGap } from '../eventlog/kafka-consumer.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { historyLength } from '../../pipelines/alerts/alert-state.ts';
import type { Warehouse } from '../warehouse/types.ts';
import type { KafkaEventLog as KafkaLog } from '../eventlog/kafka.ts';
import { checkWebhookUrl } from './common.ts';
import { configuredWarehouse } from './open-warehouse.ts';
import { UsageError } from './usage-error.ts';
import { ConfigError } from '../../errors.ts';
import { announceAgain, MODEL_LATENCY_TOPIC, unannouncedChampions, type UnannouncedPromotion } from '../model/lifecycle.ts';
import { parseCron, startTrainingSchedule, whenChanged, type TrainingSchedule } from '../model/training-schedule.ts';
import { applyRetention, retentionLine } from '../warehouse/retention.ts';
import { ModelRegistry } from '../model/registry.ts';
import { pruneAfterRetraining } from '../model/prune.ts';
import { trainTelemetryModels } from './model.ts';
import { loadPriors, trainingDataMark } from '../model/telemetry.ts';
import { byCodeUnits } from '../names.ts';
import { onHeldSignal, releaseSignals } from './early-signals.ts';

const STAGES: readonly Stage[] = ['join', 'correlation', 'shadow', 'sink', 'alerts'];

/**
 * Parse `--processors join,correlation,sink[,alerts]`; `--alerts-webhook` adds `alerts`.
 * @throws {UsageError} naming an unknown processor, `alerts` without a webhook, or a webhook that is not an http(s) URL.
 */
export function parseProcessors(text: string, alertsWebhook?: string): Stage[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!STAGES.includes(n as Stage)) throw new UsageError(`--processors: unknown processor ${JSON.stringify(n)} (known: ${STAGES.join(', ')})`);
  if (names.length === 0) throw new UsageError('--processors: name at least one of join, correlation, shadow, sink, alerts');
  if (alertsWebhook !== undefined) {
    checkWebhookUrl(alertsWebhook);
    names.push('alerts');
  } else if (names.includes('alerts')) {
    throw new UsageError('--processors alerts posts alert state changes: give --alerts-webhook URL');
  }
  return [...new Set(names)] as Stage[];
}

/** How often `pipeline run --until-end` prints how many records each processor has read, ms. */
export const PROGRESS_EVERY_MS = 5_000;

/**
 * The progress line of a bounded run: records each processor has read so far in this run, in the processors' order
 * (those that have polled), e.g. `edgelat: join 12,345, sink 30,111 records read so far`.
 */
export function progressLine(processors: readonly Stage[], soFar: ReadonlyMap<Stage, number>): string {
  return `edgelat: ${processors.filter((p) => soFar.has(p)).map((p) => `${p} ${soFar.get(p)!.toLocaleString('en-US')}`).join(', ')} records read so far\n`;
}

/**
 * The warning for a sink that resumes its group's committed offsets into a warehouse holding no inference event: a new
 * data folder (or database) behind groups an earlier warehouse read through, which gets only the records after those
 * offsets (a trial: a fresh EDGELAT_DATA_DIR stayed empty, "sink: 0 consumed", without a word); null when the
 * warehouse holds events or the group has read nothing of edge.inference.v1.
 * @param warehouse  The run's warehouse (its tables migrated).
 * @param log        The run's Kafka log.
 * @param sinkGroup  The warehouse-sink's consumer group.
 * @throws {BrokerUnavailableError} when the cluster does not answer; warehouse errors as they come.
 */
export async function resumedIntoEmptyWarehouse(warehouse: Warehouse, log: Pick<KafkaLog, 'committedRecords'>, sinkGroup: string): Promise<string | null> {
  const [events] = await warehouse.query<{ n: number | string }>(`SELECT count() AS n FROM ${warehouse.database}.inference_events`);
  if (Number(events?.n ?? 0) > 0) return null;
  const read = await log.committedRecords(sinkGroup, TOPICS.inference);
  if (read === 0) return null;
  return `${warehouse.database}.inference_events is empty, but consumer group ${sinkGroup} has read ${read.toLocaleString('en-US')} record(s) of ${TOPICS.inference} into another warehouse: this one gets only the records after them; to read the topics from their start into it, set another EDGELAT_KAFKA_GROUP_PREFIX (the processors' groups are <prefix>-join-load-latency, …)`;
}

/**
 * The warning for a rebalance of the warehouse-sink's group that took partitions from this member while it writes to
 * the embedded warehouse, which is this process's alone: the member that took them writes their records into its own
 * folder (a trial: a second instance on another EDGELAT_DATA_DIR, as the lock message then said, took 1,268 of 3,263
 * events without a word); null otherwise (a ClickHouse server is shared, another group is not the sink's, or none was
 * taken).
 * @param r            The rebalance, as `KafkaLogOptions.onReassignment` gives it.
 * @param sinkGroup    The sink's consumer group (`<EDGELAT_KAFKA_GROUP_PREFIX>-warehouse-sink`).
 * @param embeddedDir  The embedded warehouse's folder, or null when the warehouse is a ClickHouse server.
 */
export function sinkSplitWarning(r: Reassignment, sinkGroup: string, embeddedDir: string | null): string | null {
  if (embeddedDir === null || r.groupId !== sinkGroup) return null;
  const owned = new Set(r.owned.map(partitionKey));
  const taken = r.previous.filter((p) => !owned.has(partitionKey(p)));
  if (taken.length === 0) return null;
  return `another member of ${sinkGroup} took ${partitionsText(taken)} from this one: with the embedded warehouse their records go to that member's own warehouse, not to ${JSON.stringify(embeddedDir)}; a second instance needs a ClickHouse server (EDGELAT_CLICKHOUSE_URL for both), or its own EDGELAT_KAFKA_GROUP_PREFIX to read every record into its own folder`;
}

/**
 * Partitions as a line says them, by topic: `edge.inference.v1 0, 2; edge.load.v1 0, 2`, or `no partition`.
 * @param tps  Topic partitions, in the order to say them.
 */
export function partitionsText(tps: readonly TopicPartition[]): string {
  if (tps.length === 0) return 'no partition';
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  return [...byTopic].map(([topic, ps]) => `${topic} ${ps.join(', ')}`).join('; ');
}

/** Seconds of a hung broker's silence after which a stopping run ends without finishing its current batch. */
export const STOP_HANG_S = 15;

/** Longest `/healthz` waits for the cluster's answer to a metadata request, ms (below a probe's usual time-out). */
const BROKER_PROBE_TIMEOUT_MS = 2000;

/**
 * The broker's part of `/healthz`'s details: `{ answered_ms }` when it answered; otherwise `{ waiting_ms, error }`, the
 * time since it last answered and why (the client's error, such as a refused connection, or no answer at all);
 * `{ error }` before the first connection (null).
 */
export function brokerDetails(broker: BrokerHealth | null): Record<string, string | number> {
  if (broker === null) return { error: 'connecting to the cluster' };
  if (broker.ok) return { answered_ms: broker.ms };
  if (broker.error !== undefined) return { waiting_ms: broker.ms, error: broker.error };
  return { waiting_ms: broker.ms, error: `the cluster has not answered a metadata request for ${(broker.ms / 1000).toFixed(1)} s (a hung or unreachable broker holds the processors until the client's request time-out)` };
}

/**
 * `edgelat pipeline run`: the processors on Kafka (EDGELAT_KAFKA_BROKERS, with
 * EDGELAT_KAFKA_SASL_*, EDGELAT_KAFKA_TLS and EDGELAT_KAFKA_COMPRESSION),
 * writing to ClickHouse (EDGELAT_CLICKHOUSE_URL) or to the embedded warehouse;
 * /healthz and /metrics on `metricsPort`; with EDGELAT_RETRAIN_CRON, the
 * latency models retrain on that schedule (wall clock, UTC) from the
 * warehouse and promotions go to models.latency.v1; SIGTERM or SIGINT
 * finishes the batch, commits and exits 0; a broker that hangs for
 * {@link STOP_HANG_S} s after it, or a second signal, ends the run at once
 * (exit 1, the batch under way not committed).
 */
export async function pipelineRunCommand(config: EdgelatConfig, opts: { processors?: string; untilEnd: boolean; metricsPort: number; metricsHost: string; alertsWebhook?: string; alertsStates?: Set<string> }): Promise<void> {
  if (opts.alertsStates !== undefined && opts.alertsWebhook === undefined) throw new UsageError('--alerts-states filters what --alerts-webhook posts: give --alerts-webhook too');
  if (!config.kafka) throw new UsageError('pipeline run reads Kafka: set EDGELAT_KAFKA_BROKERS (the embedded job is `edgelat demo`)');
  // The schedule runs on the wall clock: an expression with no time ahead (a year past, valid for the demo's replay in
  // event time) would never retrain (a re-test: "next 1970-01-01T00:00:00.000Z").
  if (config.retrainCron && parseCron(config.retrainCron).nextRun() === null) {
    // Bad configuration, as an expression with no time at all (exit 1).
    throw new ConfigError(`bad configuration: EDGELAT_RETRAIN_CRON=${JSON.stringify(config.retrainCron)}: matches no time from now on: pipeline run retrains on the wall clock, so it would never retrain (times past are times only for \`edgelat demo\`, which replays the schedule in event time)`);
  }
  const processors = parseProcessors(opts.processors ?? (config.shadows.enabled ? 'join,correlation,shadow,sink' : 'join,correlation,sink'), opts.alertsWebhook);
  if (processors.includes('shadow') && !config.shadows.enabled) throw new UsageError('--processors shadow: set EDGELAT_SHADOWS=true for every instance (the warehouse-sink then copies edge.shadow.v1 and the verdicts too)');
  const logger = createLogger(config.logLevel);
  // The metrics server first: a port in use or a bad --metrics-host ends the command before anything is opened or created.
  const metrics = createMetrics();
  const stop = new AbortController();
  let stoppedBeforeRunning = false;
  /** Set once the broker was lost after the run started (the processors restart on a new connection). */
  let lostBroker = false;
  let healthy = true;
  /** Asks the connection of the run under way whether the cluster answers (set once connected). */
  let probe: BrokerProbe | null = null;
  /** The registry calls of the run under way that wait for the registry (set once connected, with a registry). */
  let registryWait: () => ReturnType<ConfluentWireEventLog['registryWait']> = () => null;
  const ops = await startOpsServer({
    port: opts.metricsPort, host: opts.metricsHost, metrics,
    health: async () => {
      const broker = probe ? await probe.check() : null;
      // running: false while the processors restart on a new connection after a lost broker, stop, or after a failure.
      const running = healthy && !stop.signal.aborted;
      // Records that wait for a schema registry that does not answer hold the processors as a lost broker does.
      const registry = registryWait();
      return { ok: running && broker?.ok === true && registry === null, details: { processors, running, broker: brokerDetails(broker), ...(registry ? { registry: { ...registry, waiting_ms: Math.round(registry.waiting_ms) } } : {}) } };
    },
  });
  // A rebalance said on stderr: which partitions a processor reads now (a trial: an instance joining or killed beside
  // this one went unsaid at the default log level).
  const onReassignment = (r: Reassignment): void => {
    process.stderr.write(`edgelat: ${r.groupId} reads ${partitionsText(r.owned)} now (was ${partitionsText(r.previous)}): a member of its group joined or left\n`);
    const split = sinkSplitWarning(r, `${config.kafka!.groupPrefix}-warehouse-sink`, config.clickhouse ? null : chdbDir(config));
    if (split !== null) process.stderr.write(`edgelat: warning: ${split}\n`);
  };
  const { KafkaEventLog } = await import('../eventlog/kafka.ts');
  const { brokers, clientId, sasl, tls, compression, sessionTimeoutMs, rebalanceTimeoutMs } = config.kafka;
  // A first join that waits is said (a trial: a restart right after kill -9 read nothing for 12 s without a word).
  const onJoinWait = (groupId: string, waitedMs: number): void => {
    // Either cause said (a trial: two instances started together read "killed" where none had been).
    process.stderr.write(`edgelat: ${groupId} has waited ${waitedMs / 1000} s to join its consumer group: the group is rebalancing (members joining at once take turns, up to EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS, ${rebalanceTimeoutMs} ms), or a member that stopped without leaving (killed) keeps its partitions until its session times out (EDGELAT_KAFKA_SESSION_TIMEOUT_MS, ${sessionTimeoutMs} ms)\n`);
  };
  const { REGISTRY_RETRY, withSchemaRegistry } = await import('../eventlog/confluent-wire.ts');
  // A registry that does not answer is waited for until it does, or until a signal stops the run (a trial: SIGTERM and
  // Ctrl-C were ignored while the registry's retries went on, for 10 minutes until SIGKILL).
  const registryRetry = { ...REGISTRY_RETRY, signal: stop.signal };
  // The first connection is made here, so that a broker that cannot be reached at all ends the command at once;
  // after a run started, a lost broker restarts the processors on a new connection (runStreamingWithRestarts).
  const kafkaLogs = [await KafkaEventLog.connect({ brokers, clientId, sasl, tls, compression, sessionTimeoutMs, rebalanceTimeoutMs, signal: stop.signal, logger, onReassignment, onJoinWait }).catch(async (error: unknown) => {
    await ops.close();
    throw error;
  })];
  probe = new BrokerProbe(() => kafkaLogs.at(-1)!.ping(), BROKER_PROBE_TIMEOUT_MS);
  let first: EventLog | null = withSchemaRegistry(kafkaLogs[0]!, config.schemaRegistryUrl, logger, registryRetry);
  /** The log of the run under way (the scheduled retraining reads through it). */
  let log: EventLog = first;
  registryWait = () => (log as Partial<Pick<ConfluentWireEventLog, 'registryWait'>>).registryWait?.() ?? null;
  const connect = async (): Promise<EventLog> => {
    if (first) {
      first = null;
      return log;
    }
    const kafkaLog = await KafkaEventLog.connect({ brokers, clientId, sasl, tls, compression, sessionTimeoutMs, rebalanceTimeoutMs, signal: stop.signal, logger, onReassignment, onJoinWait });
    kafkaLogs.push(kafkaLog);
    // Another cluster answers at the brokers' address (one that came back without its data): its committed offsets are
    // not this run's, and resuming from them read every topic again from its start into the warehouse, whose
    // deduplication goes by the cluster's id (a trial: 3,546 inference rows for 3,100). Stop, saying so.
    if (kafkaLog.id !== kafkaLogs[0]!.id) {
      await kafkaLog.close().catch(() => undefined);
      throw clusterChangedError(brokers, kafkaLogs[0]!.id, kafkaLog.id);
    }
    healthy = true;
    log = withSchemaRegistry(kafkaLog, config.schemaRegistryUrl, logger, registryRetry);
    return log;
  };
  // A signal held while the folder is waited for ends the wait: a stop as asked for (a trial: Ctrl-C was held through
  // the whole EDGELAT_LOCK_WAIT_S, then the run exited 75).
  const starting = new AbortController();
  onHeldSignal(() => starting.abort());
  const warehouse = await configuredWarehouse(config, { signal: starting.signal }).catch(async (error: unknown) => {
    await ops.close();
    await first?.close();
    if (error instanceof RetryStoppedError && starting.signal.aborted) {
      releaseSignals();
      process.stdout.write(`edgelat pipeline stopped: by a signal before the processors were running (${error.message}); nothing was read\n`);
      return null;
    }
    // "Another folder" for a pipeline means other consumer groups too: in the same groups it splits the records between
    // two warehouses (a trial followed the advice and did).
    if (error instanceof WarehouseLockedError) error.message += `; a pipeline on another folder needs its own EDGELAT_KAFKA_GROUP_PREFIX (in the same consumer groups the two split the records between their warehouses)`;
    throw error;
  });
  if (warehouse === null) return;
  // Every signal is handled, not only the first: a second Ctrl-C or SIGTERM while the batch finishes had killed the
  // run before its stop summary (a trial); SIGKILL still ends it at once.
  let stopping = false;
  let forced = false;
  /** The stopping run's check of a hung broker (cleared when the run ends). */
  let watchdog: NodeJS.Timeout | undefined;
  let lastCounts: StreamingCounts = {};
  /**
   * End the run at once, its current batch not committed: a broker that hangs (no answer, no error) held a stop for
   * as long as it hung (a trial: SIGTERM twice, still running 5 min later, until the broker answered again). A restart
   * reads the batch's records again from the last commit (at least once; the warehouse drops repeated blocks).
   */
  const forceStop = (why: string): void => {
    if (forced) return;
    forced = true;
    const line = countsLine(processors, lastCounts);
    if (line !== '') process.stdout.write(`edgelat pipeline stopped: ${line} (counts up to the last batch; the run ended before its current one finished)\n`);
    process.stderr.write(`edgelat: ${why}: ending now, the current batch not committed (the processors start from their committed offsets next time, and read its records again)\n`);
    void import('../warehouse/chdb-activity.ts').then(({ exitWhenChdbIdle }) => exitWhenChdbIdle(1));
  };
  const onSignal = (sig: string) => {
    if (stopping) {
      // Again while the broker answers: the batch ends soon, and its summary with it (a trial: a second Ctrl-C had killed
      // the run before it). Again while it does not: now (a trial: two SIGTERMs, still running 5 min later).
      void probe?.check().then((h) => {
        if (!h.ok && h.error === undefined) forceStop(`${sig} again while the broker does not answer`);
        else process.stderr.write(`edgelat: ${sig} again: still stopping after the current batch, which is then committed (the broker answers; SIGKILL ends the run at once, and a restart goes on from the last commit)\n`);
      });
      return;
    }
    stopping = true;
    logger.info({ signal: sig }, 'stopping after the current batch');
    // Said on stderr too: with a broker that does not answer, the batch (and a retraining cycle under way) can take
    // minutes to end, in silence at the default log level (a re-test).
    process.stderr.write(`edgelat: ${sig}: stopping after the current batch${schedule ? ' and the retraining cycle under way' : ''} (a broker that does not answer for ${STOP_HANG_S} s ends the run without it, as ${sig} again does while it does not answer)\n`);
    // While stopping, a broker that neither answers nor fails (hung) ends the run after STOP_HANG_S of silence; one that
    // refuses is an error the stop itself reports (exit 1 naming it).
    watchdog = setInterval(() => {
      void probe?.check().then((h) => {
        if (!h.ok && h.error === undefined && h.ms >= STOP_HANG_S * 1000) forceStop(`${sig}: the broker has not answered for ${Math.floor(h.ms / 1000)} s`);
      });
    }, 1000);
    watchdog.unref();
    // A retraining cycle under way ends with the model in training (no other kind starts), and only then do the
    // processors stop and close the log its promotion goes out on (a trial: produced after the close, it was lost).
    void (schedule?.stop() ?? Promise.resolve()).finally(() => stop.abort());
  };
  // A signal that came while the run started (held by bin/edgelat.js: early-signals.ts) stops it now.
  const early = releaseSignals();
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // A closed terminal or ssh session (SIGHUP) stops the run as SIGTERM does (a trial: it had ended at once, 129, its batch not committed).
  process.on('SIGHUP', () => onSignal('SIGHUP'));
  let schedule: TrainingSchedule | null = null;
  for (const sig of early) onSignal(sig);
  /** Per kind, the schedule's newest promotion not announced yet (the log refused it). */
  const pending = new Map<string, UnannouncedPromotion>();
  try {
    await warehouse.migrate();
    if (processors.includes('sink')) {
      // Advice only: a check that fails (the broker busy) does not stop the run.
      const resumed = await resumedIntoEmptyWarehouse(warehouse, kafkaLogs[0]!, `${config.kafka.groupPrefix}-warehouse-sink`).catch((error: unknown) => {
        logger.debug({ err: error }, 'could not check the sink group\'s offsets against the warehouse');
        return null;
      });
      if (resumed !== null) process.stderr.write(`edgelat: warning: ${resumed}\n`);
    }
    const retention = await applyRetention(warehouse, config.retentionDays);
    if (retention.length > 0) process.stderr.write(`edgelat: ${retentionLine(retention)}\n`);
    if (config.retrainCron) {
      const registry = new ModelRegistry(warehouse, modelDir(config));
      // Each cycle needs the benchmark priors: say so now, not at the first tick (a day away with @daily; a trial).
      if ((await loadPriors(warehouse)).size === 0) {
        process.stderr.write(`edgelat: warning: EDGELAT_RETRAIN_CRON is set, but ${warehouse.database}.benchmark_latency holds no SingleStream p50 and p90 per (model, chip): each retraining will fail until \`edgelat import benchmark --format singlestream --runs data/mlperf-singlestream/base-latency.csv\` (or your own runs of its columns) imports them\n`);
      }
      // Champions the topic does not hold (an earlier run stopped before announcing them) are announced now.
      try {
        for (const [kind, p] of await unannouncedChampions(log, registry)) pending.set(kind, p);
        if (pending.size > 0) {
          const told = await announceAgain(pending, log, logger, registry);
          process.stderr.write(`edgelat: ${told} champion(s) the topic ${MODEL_LATENCY_TOPIC} did not hold announced${pending.size > 0 ? `; ${pending.size} not yet (tried again at each retraining)` : ''}\n`);
        }
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not compare the registry\'s champions with the models topic; unannounced ones stay so');
      }
      // The cron time only triggers a cycle: its window is the last EDGELAT_RETRAIN_WINDOW_MS of event time, up to
      // the newest request (a trial: a window on the wall clock over replayed telemetry of 2024 never trained).
      // A cycle on telemetry and benchmarks unchanged since the last complete one is skipped: it would make the same
      // models (a trial: a schedule each second retrained five kinds back to back on a quiet fleet).
      const retrainIfChanged = whenChanged(() => trainingDataMark(warehouse), async () => {
        const stopped = new Error('stopped by a signal');
        let kind: string | null = null;
        try {
          await trainTelemetryModels(warehouse, registry, {
            maxWindowMs: config.retrainWindowMs, seed: 1, log, logger,
            onKindStart: (k) => {
              if (stopping) throw stopped;
              kind = k;
            },
            onKindDone: (r) => {
              logger.info({ version: r.version, status: r.status, reason: r.reason }, 'latency model trained');
              // The newest promotion of a kind is the one to announce: one announced now supersedes one left pending.
              if (r.promoted && kind !== null) {
                if (r.unannounced) pending.set(kind, r.unannounced);
                else pending.delete(kind);
              }
            },
          });
        } catch (error) {
          if (error !== stopped) throw error;
          logger.info('retraining cycle stopped by a signal; the kinds not trained yet train at the next scheduled run');
          return false;
        }
        // EDGELAT_RETRAIN_KEEP: the versions beyond it lose their files, as `model prune` (a schedule every 10 min
        // registered files without end). A failure is logged, never the cycle's: the files wait for the next one.
        if (config.retrainKeep !== null && !stopping) await pruneAfterRetraining(registry, warehouse, config.retrainKeep, logger);
        return !stopping;
      }, () => logger.info('no new telemetry or benchmarks since the last retraining: this scheduled run is skipped (it would make the same models)'));
      // Every outcome's series from the start, at 0 (a re-test: only the outcomes that had happened showed).
      for (const outcome of ['trained', 'skipped', 'stopped', 'failed'] as const) metrics.retrainCycles.inc({ outcome }, 0);
      schedule = startTrainingSchedule({
        cron: config.retrainCron, logger,
        runCycle: () => observeRetrainCycle(metrics, async (): Promise<RetrainOutcome> => {
          // Promotions the log refused (the processors restarting on a new connection) are announced first, in order,
          // a skipped cycle's too.
          if (!stopping) await announceAgain(pending, log, logger, registry);
          const ran = await retrainIfChanged();
          return ran === 'skipped' ? 'skipped' : ran ? 'trained' : 'stopped';
        }),
      });
      process.stderr.write(`edgelat: latency models retrain on "${config.retrainCron}" (UTC) over the last ${config.retrainWindowMs / 3_600_000} h of event time; next ${new Date(schedule.nextRunMs() ?? 0).toISOString()}\n`);
    }
    process.stderr.write(`edgelat: pipeline (${processors.join(', ')}) on ${config.kafka.brokers.join(',')} → ${config.clickhouse ? urlForMessages(config.clickhouse.url) : chdbDir(config)}; metrics ${ops.url}/metrics${['0.0.0.0', '::'].includes(opts.metricsHost) ? ` (on every interface, --metrics-host ${opts.metricsHost}: --metrics-host 127.0.0.1 keeps it to this machine)` : ''}\n`);
    // A bounded run says how far each processor got, every PROGRESS_EVERY_MS (a trial sat 12 s in silence over 40k records).
    // Only when a count moved (a run waiting on unsealed topics prints nothing); counts are the current run's (they
    // start over after a restart, which pipeline run says in its own line).
    const soFar = new Map<Stage, number>();
    // The counts of each stage's last batch, for the summary of a run that fails (a trial: stopped while the broker
    // was gone, it printed no summary at all).
    lastCounts = {};
    let lastLine = '';
    // Two progress periods without a record read: say once which topics it waits on and what seals them (a trial
    // waited on unsealed topics in silence, never to end).
    let still = 0;
    const noteUnsealed = async () => {
      const open = await unsealedInputs(log, processors, config.shadows.enabled);
      if (open.length > 0) process.stderr.write(waitingLine(open, config.shadows.enabled));
    };
    const progress = opts.untilEnd ? setInterval(() => {
      const line = progressLine(processors, soFar);
      if (line === lastLine || ![...soFar.values()].some((n) => n > 0)) {
        if (++still === 2) void noteUnsealed();
        return;
      }
      lastLine = line;
      still = 0;
      process.stderr.write(line);
    }, PROGRESS_EVERY_MS) : null;
    progress?.unref();
    const { counts, restarts } = await runStreamingWithRestarts({
      connect, warehouse, config, processors, untilEnd: opts.untilEnd, signal: stop.signal, logger, metrics, alertsWebhook: opts.alertsWebhook, alertsStates: opts.alertsStates,
      groupPrefix: config.kafka.groupPrefix,
      onProgress: (stage, c) => {
        soFar.set(stage, Object.values(c).reduce((n, t) => n + t.consumed, 0));
        lastCounts[stage] = Object.fromEntries(Object.entries(c).map(([topic, t]) => [topic, { ...t }]));
      },
      onRestart: (error, n, delayMs) => {
        healthy = false;
        lostBroker = true;
        logger.info({ err: error.message, restart: n, delayMs: Math.round(delayMs) }, 'lost the broker: restarting the processors from their committed offsets');
        process.stderr.write(`edgelat: ${error.message.split('\n')[0]}; restarting the processors from their committed offsets in ${(delayMs / 1000).toFixed(1)} s (restart ${n}; Ctrl-C stops)\n`);
      },
    }).finally(() => progress && clearInterval(progress));
    process.stdout.write(`edgelat pipeline stopped: ${countsLine(processors, counts)}${restarts > 0 ? ` (counts of the last of ${restarts + 1} runs: the processors were restarted after the broker was lost or did not answer in time)` : ''}\n`);
    const gaps = kafkaLogs.flatMap((l) => l.retentionGaps());
    if (gaps.length > 0) {
      // Not an error of the run, but its output misses input: a bounded job says so with its exit code.
      process.stderr.write(retentionLossText(gaps, config.kafka.groupPrefix, correlationCommitLagMs(config)));
      if (opts.untilEnd) process.exitCode = 3;
    }
  } catch (error) {
    healthy = false;
    // Stopped by a signal before the processors were running (joining their groups): a stop as asked for, not a
    // failure (a trial's SIGTERM during a join ended with exit 1 after 25 s), when the broker answers. A join given up
    // because of the signal says nothing of the broker, so it is asked (a trial: the broker gone during the first join,
    // a SIGTERM then ended the run with 0). Stopped while waiting for a broker lost after the start: exit 1 naming it.
    if (stop.signal.aborted && error instanceof BrokerUnavailableError && !lostBroker) {
      const silent = await brokerSilence(() => KafkaEventLog.connect({ brokers, clientId, sasl, tls, compression, sessionTimeoutMs, rebalanceTimeoutMs, logger, retries: 1 }));
      if (silent === null) {
        process.stdout.write(`edgelat pipeline stopped: by a signal before the processors were running (${error.message.split('\n')[0]}); they start from their committed offsets next time\n`);
        stoppedBeforeRunning = true;
        return;
      }
      error = new BrokerUnavailableError(`stopped by a signal while the broker did not answer (${silent}); the processors start from their committed offsets next time`, { cause: error });
    }
    // Stopped while a batch waited for a schema registry that did not answer: said as such (the batch is not committed).
    const registryWait = stop.signal.aborted ? causes(error).find((e): e is RetryStoppedError => e instanceof RetryStoppedError && e.cause instanceof SchemaRegistryError) : undefined;
    if (registryWait) {
      error = new SchemaRegistryError(`stopped by a signal while the schema registry did not answer (${(registryWait.cause as Error).message.split('\n')[0]}); the processors start from their committed offsets next time`, null, { cause: error });
    }
    // A run that processed records and then failed (the broker or the warehouse gone) still says how far it got.
    const line = countsLine(processors, lastCounts);
    if (line !== '') process.stdout.write(`edgelat pipeline stopped: ${line} (counts of the last run that processed records, up to its last batch; then it failed: the error is the last line on stderr)\n`);
    throw error;
  } finally {
    clearInterval(watchdog);
    await schedule?.stop();
    // The registry holds promotions the topic never got: say which, so that its consumers can be told.
    for (const p of pending.values()) {
      process.stderr.write(`edgelat: ${p.model.version} is the champion of ${p.model.kind} in the registry but was never announced on ${p.topic} (${p.error.split('\n')[0]}): its consumers still have ${p.previous ?? 'no champion'}; the next \`pipeline run\` with EDGELAT_RETRAIN_CRON announces it at its start\n`);
    }
    await ops.close();
    await warehouse.close();
    await first?.close();
    // A group join given up is still being retried inside kafkajs (its disconnect waits for it: 26 s in a trial):
    // everything of ours is closed, so end now, as main.ts does after an error.
    if (stoppedBeforeRunning) setImmediate(() => process.exit());
  }
}

/** How long a stopped run waits for the broker's answer before it says the broker is gone, ms. */
const BROKER_PROBE_MS = 3000;

/**
 * Whether the broker answers, on a new connection (a stopped run's own are closing), a request for the inference
 * topic's offsets within {@link BROKER_PROBE_MS}; a broker that says the topic or partition does not exist answered.
 * The connection is closed after, in the background when the time ran out.
 * @param open  Opens the connection.
 * @returns null when it answers; else why not, in words.
 */
export async function brokerSilence(open: () => Promise<Pick<EventLog, 'endOffset' | 'close'>>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${BROKER_PROBE_MS / 1000} s`), BROKER_PROBE_MS);
  });
  const opened = open();
  const asked = opened.then((log) => log.endOffset({ topic: TOPICS.inference, partition: 0 })).then(() => null, (e: unknown) => {
    const text = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    return /unknown topic|does not host this topic|UNKNOWN_TOPIC/i.test(text) ? null : text;
  });
  try {
    return await Promise.race([asked, late]);
  } finally {
    clearTimeout(timer);
    void opened.then((log) => log.close()).catch(() => undefined);
  }
}

/** An error and its causes, outermost first (at most 10: a cycle ends there). */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && out.length < 10; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/**
 * The stop summary's counts: per stage that has counts, in the processors' order, `stage: N consumed, N dead, N late`
 * (and `, N repeated` where it skipped second copies) summed over its input topics, joined by `; ` ('' when no stage
 * has counts).
 */
export function countsLine(processors: readonly Stage[], counts: StreamingCounts): string {
  const sum = (stage: Stage, field: 'consumed' | 'dead' | 'late' | 'repeated') => Object.values(counts[stage]!).reduce((s, t) => s + (t[field] ?? 0), 0);
  return processors
    .filter((stage) => counts[stage])
    .map((stage) => `${stage}: ${sum(stage, 'consumed')} consumed, ${sum(stage, 'dead')} dead, ${sum(stage, 'late')} late${sum(stage, 'repeated') > 0 ? `, ${sum(stage, 'repeated')} repeated (second copies skipped)` : ''}`)
    .join('; ');
}

/**
 * The topics a bounded run of these processors reads that no processor of the run seals and no producer has sealed
 * yet: `--until-end` waits for them. Those are the fleet's (the join's inference and load events, the shadow stage's
 * results) and, when the stage that writes a processor's input is not in the run, that output (a trial: `--processors
 * join,sink --until-end` waited for ever on the correlation topic, saying nothing). A topic whose seal cannot be read
 * (the broker gone for a moment) is left out.
 * @param processors  The run's stages.
 * @param withShadows Whether the sink copies the shadow topics too (EDGELAT_SHADOWS).
 * @returns Topic names in the order the stages read them, each once.
 */
export async function unsealedInputs(log: Pick<EventLog, 'isSealed'>, processors: readonly Stage[], withShadows = false): Promise<string[]> {
  const { inputs, seals } = stageTopics(withShadows);
  const sealedHere = new Set(processors.flatMap((stage) => seals[stage]));
  const read = [...new Set(processors.flatMap((stage) => inputs[stage]))].filter((topic) => !sealedHere.has(topic));
  const open: string[] = [];
  for (const topic of read) {
    try {
      if (!(await log.isSealed(topic))) open.push(topic);
    } catch {
      // The seal cannot be read now: left out (the note is advice, not a check).
    }
  }
  return open;
}

/**
 * The line a bounded run prints when it waits on unsealed topics ({@link unsealedInputs}): each topic with what seals
 * it (`edgelat simulate --seal` for the fleet's, the end of a `pipeline run --until-end` of the stage that writes it
 * for an output).
 * @param open        Topic names, at least one.
 * @param withShadows Whether the shadow stage runs in this deployment (EDGELAT_SHADOWS): it is named as a writer only then.
 * @returns One line ending in a newline.
 */
export function waitingLine(open: readonly string[], withShadows = false): string {
  const { seals } = stageTopics(withShadows);
  const writers = (topic: string) => STAGE_ORDER.filter((stage) => seals[stage].includes(topic) && (stage !== 'shadow' || withShadows));
  const either = (stages: readonly Stage[]) => (stages.length < 2 ? stages.join('') : `${stages.slice(0, -1).join(', ')} or ${stages.at(-1)}`);
  const parts = open.map((topic) => {
    const by = writers(topic);
    return by.length === 0
      ? `${topic} (sealed by \`edgelat simulate --seal\` or the fleet's producer)`
      : `${topic} (no processor of this run writes it; a \`pipeline run --until-end\` with ${either(by)} seals it at its end)`;
  });
  return `edgelat: waiting: --until-end reads to the end of ${open.length === 1 ? 'a topic' : 'topics'} not sealed yet: ${parts.join('; ')}; Ctrl-C stops\n`;
}

/** Stages in the order the help lists them. */
const STAGE_ORDER: readonly Stage[] = ['join', 'correlation', 'shadow', 'sink', 'alerts'];

/** What misses the records a processor's consumer group lost, by the group's name after `<prefix>-`. */
const GROUP_OUTPUT: Readonly<Record<string, string>> = {
  'warehouse-sink': 'the warehouse misses them',
  'join-load-latency': 'the enriched events (inference_enriched) miss their joins',
  'rolling-correlation': 'the correlation windows and alert states that cover them were computed without them',
  'shadow-compare': 'the shadow verdicts that cover them were computed without them',
  'alert-delivery': 'their alert changes were not delivered',
};

/**
 * The line `pipeline run` prints on stopping when retention deleted input records before a consumer group read
 * them: the records lost (the union over groups, {@link lostRanges}), the first 5 ranges, and per group what misses
 * them (a trial: "the warehouse misses them" where only the correlation group, which commits a window's length behind
 * its reads, had lost records, and every table was whole).
 * @param gaps    Retention gaps met by the run's consumer groups (offsets [from, to)).
 * @param prefix  The groups' prefix (EDGELAT_KAFKA_GROUP_PREFIX).
 * @param behindMs  Event time the correlation group commits behind its reads, ms ({@link correlationCommitLagMs}).
 * @returns One line ending in a newline.
 */
export function retentionLossText(gaps: readonly RetentionGap[], prefix: string, behindMs: number): string {
  const lost = lostRanges(gaps);
  const n = lost.reduce((k, g) => k + g.to - g.from, 0);
  const where = lost.slice(0, 5).map((g) => `${g.topic}:${g.partition} [${g.from}, ${g.to})`).join(', ');
  const groups = [...new Set(gaps.map((g) => g.groupId))].sort().map((group) => {
    const count = lostRanges(gaps.filter((g) => g.groupId === group)).reduce((k, g) => k + g.to - g.from, 0);
    const output = group.startsWith(`${prefix}-`) ? GROUP_OUTPUT[group.slice(prefix.length + 1)] : undefined;
    return `${group} lost ${count}${output ? `: ${output}` : ''}`;
  });
  return `edgelat: ${n} input records were deleted by retention before this run read them: ${where}${lost.length > 5 ? ` and ${lost.length - 5} more ranges` : ''}; `
    + `${groups.join('; ')} (keep the topics' retention longer than the pipeline's longest pause plus the event time the correlation group commits behind its reads, EDGELAT_WINDOW_SIZE_MS + (2 × EDGELAT_ALERT_LOOKBACK + EDGELAT_ALERT_CLEAR_AFTER − 2) × EDGELAT_WINDOW_SLIDE_MS: ${Number((behindMs / 60_000).toFixed(1))} min here; or run the pipeline closer behind the producers)\n`;
}

/**
 * Event time the correlation group commits behind its reads, ms: one window and the alert history its states read
 * (alert-state.ts `historyLength`, 2·lookback + clearAfter − 2 slides): 25.5 min at the defaults (a trial measured
 * 25.44 min where the text said 15).
 */
export function correlationCommitLagMs(config: Pick<EdgelatConfig, 'windowSizeMs' | 'windowSlideMs' | 'alerts'>): number {
  return config.windowSizeMs + historyLength(config.alerts) * config.windowSlideMs;
}

/**
 * The union of retention gaps per partition (several consumer groups read the same topic and may each
 * meet the same deleted records): sorted, overlapping or touching ranges merged, offsets [from, to).
 */
export function lostRanges(gaps: readonly { topic: string; partition: number; from: number; to: number }[]): { topic: string; partition: number; from: number; to: number }[] {
  const sorted = [...gaps].sort((a, b) => byCodeUnits(a.topic, b.topic) || a.partition - b.partition || a.from - b.from);
  const out: { topic: string; partition: number; from: number; to: number }[] = [];
  for (const g of sorted) {
    const last = out.at(-1);
    if (last && last.topic === g.topic && last.partition === g.partition && g.from <= last.to) last.to = Math.max(last.to, g.to);
    else out.push({ topic: g.topic, partition: g.partition, from: g.from, to: g.to });
  }
  return out;
}
