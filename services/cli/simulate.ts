/**
 * `edgelat simulate`: simulate an edge fleet and produce its telemetry to a
 * real Kafka (EDGELAT_KAFKA_BROKERS), in arrival order, optionally paced to a
 * record rate. The pure pieces (option checks, encoding, batching, pacing,
 * progress and summary lines) are exported for tests.
 */
import type { EdgelatConfig } from '../config.ts';
import type { EventLog, ProduceRecord } from '../eventlog/types.ts';
import { createLogger } from '../log.ts';
import { simulateFleet, type SimArrival, type SimConfig } from '../simulator/index.ts';
import type { InferenceEvent } from '../../schemas/types.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { createProgress } from './progress.ts';
import { UsageError } from './usage-error.ts';
import { RETRY_DEFAULTS } from '../retry.ts';
import { checkFleetSize, endBySignalAfter, shadowSimConfig, simConfigFromFlags, traceFilesFlag, type ShadowHandOverFlags } from './common.ts';

/** Options of `edgelat simulate` (the command-line flags). */
export interface SimulateOptions extends ShadowHandOverFlags {
  /** Event-time span of the simulation, minutes (> 0). */
  duration: number;
  /** Number of edge servers, integer 1..1000. */
  servers: number;
  /** Seed of the simulation (same seed → same records). Safe integer. */
  seed: number;
  /** Upper bound of the arrival-order jitter, milliseconds (integer >= 0). */
  jitter: number;
  /** Target produce rate, records per second (> 0); null produces as fast as the brokers accept. */
  rate: number | null;
  /** Seal edge.inference.v1 and edge.load.v1 after the last record (bounded pipeline runs then end). */
  seal: boolean;
  /** Undecodable records injected into edge.inference.v1 at evenly spaced points (integer >= 0). */
  badRecords: number;
  /**
   * Production servers with a shadow deployment beside them (integer 0..servers): their requests go to
   * edge.shadow.v1 as the shadow chip measured them, for `pipeline run` with EDGELAT_SHADOWS=true. @default 0
   */
  shadows?: number;
  /** Arrival trace files (the Azure LLM inference trace's format) in place of the repository's cut. @default the cut */
  trace?: string[];
}

/** Where the command writes: stdout for the summary, stderr for progress. @default process.stdout / process.stderr */
export interface SimulateIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** What a `simulateCommand` run produced. */
export interface SimulateResult {
  /** Records produced per topic (bad records included in edge.inference.v1). */
  topicRecords: Record<string, number>;
  /** Undecodable records injected. */
  badRecords: number;
  /** Whether the input topics (inference, load, shadow) were sealed. */
  sealed: boolean;
  /** Wall-clock time of simulation plus produce, milliseconds. */
  elapsedMs: number;
  /** Records produced per second of `elapsedMs`. */
  recordsPerSecond: number;
}

/** One record to produce, with its topic. */
export interface TopicRecord {
  topic: string;
  record: ProduceRecord;
}

/**
 * The warning of a run into an input topic that holds records already (not sealed): each run's event times start at
 * the same instant, so a pipeline that has read the earlier records takes these as late.
 * @param held     Records already in edge.inference.v1 (> 0).
 * @param startMs  The run's first event time, epoch ms UTC.
 */
export function heldRecordsWarning(held: number, startMs: number): string {
  return `edgelat: warning: ${TOPICS.inference} holds ${fmt(held)} records already; this run's event times start at ${new Date(startMs).toISOString()} as every run's do, `
    + 'so a pipeline that has read the earlier records takes these as late (their windows have closed). A new job over the same event times needs new topics (another cluster, or delete these)\n';
}

/** Records per produce call when no rate is set. */
export const DEFAULT_BATCH_RECORDS = 500;

/** The message used when no Kafka is configured. */
export const NO_KAFKA_MESSAGE = 'simulate writes to Kafka: set EDGELAT_KAFKA_BROKERS (the embedded demo is `edgelat demo`)';

/**
 * Most server-minutes (`--servers` × `--duration`) `simulate` runs: it builds the whole run in memory before producing
 * it. Measured: 120 servers × 20 min (0.85 M requests) took 565 MB of JS heap and 400 × 20 took 1.76 GB, so 6,000
 * take about 1.3 GB and leave room for encoding under Node's default heap limit (2–4 GB); the flags' maximums
 * (1,000 × 10,080) would need hundreds of GB.
 */
export const SIMULATE_MAX_SERVER_MINUTES = 6_000;

/**
 * Check the flags and turn them into a simulator config.
 * @returns  The complete simulator config (normalised).
 * @throws {UsageError} naming the flag (`--duration (minutes)`, `--servers`, `--jitter`, `--seed`, `--rate`, `--bad-records`, `--shadows`) and its value,
 *   or both of `--servers` and `--duration` when they make more than {@link SIMULATE_MAX_SERVER_MINUTES} server-minutes.
 */
export function simConfigFromOptions(opts: SimulateOptions): SimConfig {
  if (opts.rate !== null && !(typeof opts.rate === 'number' && Number.isFinite(opts.rate) && opts.rate > 0)) {
    throw new UsageError(`invalid option: --rate must be a number of records per second > 0, got ${JSON.stringify(opts.rate)}`);
  }
  if (!Number.isSafeInteger(opts.badRecords) || opts.badRecords < 0) {
    throw new UsageError(`invalid option: --bad-records must be an integer >= 0, got ${JSON.stringify(opts.badRecords)}`);
  }
  const shadows = opts.shadows ?? 0;
  if (!Number.isSafeInteger(shadows) || shadows < 0) throw new UsageError(`invalid option: --shadows must be an integer >= 0, got ${JSON.stringify(opts.shadows)}`);
  if (shadows > opts.servers) {
    throw new UsageError(`--shadows ${shadows} is more than --servers ${opts.servers}: each shadow deployment runs beside one production server; give --shadows ${opts.servers} or less, or more --servers`);
  }
  const shadowConfig = shadowSimConfig(shadows, opts);
  if (Number.isFinite(opts.servers) && Number.isFinite(opts.duration)) checkFleetSize(opts.servers, opts.duration, SIMULATE_MAX_SERVER_MINUTES, 'simulate');
  const durationMs = opts.duration * 60_000;
  return simConfigFromFlags({
    seed: opts.seed, servers: opts.servers, durationMs: Number.isFinite(durationMs) ? Math.round(durationMs) : durationMs, maxJitterMs: opts.jitter,
    ...(shadows > 0 ? { shadows: shadowConfig } : {}),
  });
}

import { badRecordValue } from '../simulator/bad-records.ts';
import { encodeArrival, SIM_TOPICS } from '../pipeline/produce.ts';

export { badRecordValue };

/**
 * Encode arrivals (single-object Avro) in arrival order, record timestamp =
 * arrivalMs, key = edge_server_id, and inject `badRecords` undecodable records
 * into edge.inference.v1 at evenly spaced points (same placement as the demo's
 * `produceSimulation`; fewer are injected if there are too few inference events).
 * @param arrivals    Simulator arrivals, sorted by arrivalMs.
 * @param badRecords  Undecodable records to inject, integer >= 0.
 * @returns           Records to produce, in order, and the number injected.
 */
export function encodeArrivals(arrivals: readonly SimArrival[], badRecords: number): { records: TopicRecord[]; injected: number } {
  const every = Math.max(1, Math.floor(arrivals.length / (badRecords + 1)));
  const records: TopicRecord[] = [];
  let injected = 0;
  for (let i = 0; i < arrivals.length; i++) {
    const a = arrivals[i]!;
    records.push({ topic: a.topic, record: { key: a.key, value: encodeArrival(a), timestampMs: a.arrivalMs } });
    if (injected < badRecords && a.topic === TOPICS.inference && i >= every * (injected + 1)) {
      records.push({ topic: TOPICS.inference, record: { key: a.key, value: badRecordValue(injected, a.value as InferenceEvent), timestampMs: a.arrivalMs } });
      injected++;
    }
  }
  return { records, injected };
}

/**
 * Records per produce call: {@link DEFAULT_BATCH_RECORDS}, or about a tenth of a
 * second's worth at `rate` (at least 1) so pacing stays smooth.
 * @param rate  Records per second, or null for unpaced.
 */
export function batchSizeFor(rate: number | null): number {
  if (rate === null) return DEFAULT_BATCH_RECORDS;
  return Math.max(1, Math.min(DEFAULT_BATCH_RECORDS, Math.round(rate / 10)));
}

/**
 * Split records into produce calls: consecutive chunks of `size` records in
 * order, each chunk grouped by topic (order kept within a topic).
 * @param size  Records per chunk, integer >= 1.
 * @returns     Chunks; each a list of (topic, records) in order of first appearance.
 * @throws {RangeError} if `size` < 1.
 */
export function planBatches(records: readonly TopicRecord[], size: number): { topic: string; records: ProduceRecord[] }[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size: expected an integer >= 1, got ${JSON.stringify(size)}`);
  const chunks: { topic: string; records: ProduceRecord[] }[][] = [];
  for (let i = 0; i < records.length; i += size) {
    const byTopic = new Map<string, ProduceRecord[]>();
    for (const r of records.slice(i, i + size)) {
      let list = byTopic.get(r.topic);
      if (!list) byTopic.set(r.topic, (list = []));
      list.push(r.record);
    }
    chunks.push([...byTopic].map(([topic, recs]) => ({ topic, records: recs })));
  }
  return chunks;
}

/**
 * How long to wait before the next batch so that `sent` records took `sent / rate` seconds.
 * @param sent       Records produced so far.
 * @param rate       Target, records per second; null means no wait.
 * @param elapsedMs  Milliseconds since producing started.
 * @returns          Delay, milliseconds (>= 0).
 */
export function pacingDelayMs(sent: number, rate: number | null, elapsedMs: number): number {
  if (rate === null) return 0;
  return Math.max(0, (sent / rate) * 1000 - elapsedMs);
}

/**
 * Progress line for non-TTY stderr: one line per 10 % step crossed, else null.
 * @param done       Records produced so far.
 * @param total      Records to produce (> 0).
 * @param lastTenth  The last step reported (0..10).
 * @returns          The new step and its line, or null when no new step was reached.
 */
export function progressStep(done: number, total: number, lastTenth: number): { tenth: number; line: string } | null {
  const tenth = total > 0 ? Math.min(10, Math.floor((done * 10) / total)) : 10;
  if (tenth <= lastTenth) return null;
  // The share produced, not the step crossed (a trial: "500/2,582 records (10%)" at 19 %).
  return { tenth, line: `edgelat: simulate produced ${fmt(done)}/${fmt(total)} records (${total > 0 ? Math.floor((done * 100) / total) : 100}%)\n` };
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Records in each topic: the sum of its partitions' end offsets. */
async function topicEnds(log: EventLog, topics: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const topic of topics) {
    let sum = 0;
    const partitions = (await log.partitionCount(topic)) ?? 0;
    for (let p = 0; p < partitions; p++) sum += await log.endOffset({ topic, partition: p });
    out[topic] = sum;
  }
  return out;
}

/**
 * The warning when the topics grew by more records than were sent: a producer without idempotence whose send was
 * retried after a broker stall (past the request time-out) wrote copies, or another producer wrote to them meanwhile.
 * Null when each grew by what was sent.
 * @param before  Records per topic before producing (sums of end offsets).
 * @param after   The same after producing, before any seal marker.
 * @param sent    Records sent per topic.
 */
export function extraRecordsWarning(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>, sent: Readonly<Record<string, number>>): string | null {
  const extra = Object.keys(sent).map((t) => [t, (after[t] ?? 0) - (before[t] ?? 0) - sent[t]!] as const).filter(([, n]) => n > 0);
  if (extra.length === 0) return null;
  return `Kafka took ${extra.map(([t, n]) => `${fmt(n)} more record(s) into ${t}`).join(', ')} than were sent: sends retried after the broker stalled wrote copies (the cluster refused an idempotent producer), or another producer wrote to ${extra.length === 1 ? 'it' : 'them'} meanwhile; the summary counts records sent, and the pipeline keeps and counts the copies (README, Delivery)`;
}

/** The one-line summary printed on stdout. */
export function formatSummary(result: SimulateResult): string {
  // The bad records are all in edge.inference.v1: the note follows that topic's count.
  const topics = Object.entries(result.topicRecords)
    .map(([t, n]) => `${t}=${fmt(n)}${t === TOPICS.inference && result.badRecords > 0 ? ` (incl. ${result.badRecords} bad)` : ''}`).join(' ');
  const sealed = result.sealed ? ', sealed' : '';
  return `edgelat simulate: produced ${topics} in ${(result.elapsedMs / 1000).toFixed(1)} s, ${fmt(Math.round(result.recordsPerSecond))} records/s${sealed}\n`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `edgelat simulate`: simulate a fleet and produce its arrivals to Kafka.
 *
 * Behaviour: validates the flags, connects to `config.kafka.brokers` (with
 * its SASL, TLS and compression settings), runs the simulator, produces the
 * records in arrival order (key = edge_server_id, record timestamp = arrival
 * time, {@link DEFAULT_BATCH_RECORDS} records per produce call, paced with
 * setTimeout when `rate` is set), shows progress on stderr (a bar on a TTY,
 * else one line per 10 %), seals the three input topics when `seal`, prints a
 * one-line summary on stdout and closes the connection (also on error).
 * @param config  Runtime configuration; `kafka` must be set.
 * @param opts    The flags, see {@link SimulateOptions}.
 * @param io      Output streams (tests). @default process.stdout / process.stderr
 * @returns       What was produced.
 * @throws {UsageError} if `config.kafka` is null or a flag is invalid.
 * @throws {BrokerUnavailableError} if Kafka cannot be reached or refuses a produce.
 */
export async function simulateCommand(config: EdgelatConfig, opts: SimulateOptions, io: SimulateIo = {}): Promise<SimulateResult> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // The flags first: a size that cannot run is said before asking for a broker (a trial).
  const traceFiles = await traceFilesFlag(opts.trace);
  const simConfig = { ...simConfigFromOptions(opts), ...(traceFiles ? { traceFiles } : {}) };
  if (!config.kafka) throw new UsageError(NO_KAFKA_MESSAGE);
  const started = performance.now();
  const logger = createLogger(config.logLevelSet ? config.logLevel : 'error');
  // Loaded on demand: the kafkajs client stays out of the start-up of every other command.
  const { KafkaEventLog } = await import('../eventlog/kafka.ts');
  const { brokers, clientId, sasl, tls, compression, sessionTimeoutMs, rebalanceTimeoutMs } = config.kafka;
  const { withSchemaRegistry } = await import('../eventlog/confluent-wire.ts');
  // A one-shot producer gives a registry outage its default back-off (5 retries, about 10 s), then names it; `pipeline run` waits.
  const kafkaLog = await KafkaEventLog.connect({ brokers, clientId, sasl, tls, compression, sessionTimeoutMs, rebalanceTimeoutMs, logger });
  // Said whatever the log level (the warning of connectProducer is below simulate's default level): without
  // idempotence the counts below are of records sent, and a retried send may have written some twice (a trial).
  if (!kafkaLog.idempotent) {
    stderr.write('edgelat: note: the cluster refused an idempotent producer (librdkafka\'s mock cluster does), so a send retried after a broker stall longer than the request timeout can write telemetry records twice; the pipeline keeps and counts such copies of its input, as Kafka delivered them (README, Delivery)\n');
  }
  const log: EventLog = withSchemaRegistry(kafkaLog, config.schemaRegistryUrl, logger, RETRY_DEFAULTS);
  const tty = stderr.isTTY === true;
  const bar = tty ? createProgress(stderr as NodeJS.WriteStream) : null;
  let stopListening: (() => void) | null = null;
  try {
    const sim = simulateFleet(simConfig);
    const { records, injected } = encodeArrivals(sim.arrivals, opts.badRecords);
    for (const topic of SIM_TOPICS) await log.ensureTopic(topic);
    const sealed: string[] = [];
    for (const topic of SIM_TOPICS) if (await log.isSealed(topic)) sealed.push(topic);
    if (sealed.length > 0) {
      stderr.write(`edgelat: warning: ${sealed.join(', ')} ${sealed.length === 1 ? 'was' : 'were'} sealed by an earlier \`simulate --seal\` (seals are permanent): the records now written come after that end, so a pipeline run that has read to it takes them as late, and \`pipeline run --until-end\` may stop before them. A new bounded job needs new topics (another cluster, or delete these topics and edgelat.control.seals)\n`);
    } else {
      // Open topics that hold records already: every run starts at the same event time (a trial's second simulate went
      // all late, and the join blamed the servers' clocks).
      const held = (await topicEnds(log, [TOPICS.inference]))[TOPICS.inference]!;
      if (held > 0) stderr.write(heldRecordsWarning(held, simConfig.startMs));
    }
    const topicRecords: Record<string, number> = { [TOPICS.inference]: 0, [TOPICS.load]: 0, ...(simConfig.shadows ? { [TOPICS.shadow]: 0 } : {}) };
    const total = records.length;
    bar?.stage('produce', total);
    if (!tty) stderr.write(`edgelat: simulate producing ${fmt(total)} records to ${config.kafka.brokers.join(',')}...\n`);
    let sent = 0;
    let tenth = 0;
    // Ctrl-C or SIGTERM: say how far it got (acknowledged records, per topic), then end by the signal itself (130 / 143).
    stopListening = endBySignalAfter((signal) => {
      bar?.stop();
      const perTopic = Object.entries(topicRecords).map(([t, n]) => `${t}=${fmt(n)}`).join(' ');
      return `\nedgelat: simulate interrupted (${signal}) after ${fmt(sent)} of ${fmt(total)} records acknowledged by Kafka (${perTopic})${opts.seal ? '; the topics were not sealed' : ''}`;
    });
    const startEnds = kafkaLog.idempotent ? null : await topicEnds(log, Object.keys(topicRecords));
    const produceStarted = performance.now();
    for (const chunk of planBatches(records, batchSizeFor(opts.rate))) {
      const wait = pacingDelayMs(sent, opts.rate, performance.now() - produceStarted);
      if (wait > 0) await sleep(wait);
      for (const { topic, records: batch } of chunk) {
        await log.produce(topic, batch);
        topicRecords[topic] = (topicRecords[topic] ?? 0) + batch.length;
        sent += batch.length;
      }
      if (bar) bar.update(sent);
      else {
        const step = progressStep(sent, total, tenth);
        if (step) {
          tenth = step.tenth;
          stderr.write(step.line);
        }
      }
    }
    // Without idempotence a send retried after a broker stall may have written copies: the topics' growth tells (a
    // trial: "produced 21,591" where the topic held 21,615).
    if (!kafkaLog.idempotent && startEnds !== null) {
      const copies = extraRecordsWarning(startEnds, await topicEnds(log, Object.keys(topicRecords)), topicRecords);
      if (copies !== null) stderr.write(`edgelat: warning: ${copies}\n`);
    }
    if (opts.seal) for (const topic of SIM_TOPICS) await log.seal(topic);
    bar?.stop();
    const elapsedMs = performance.now() - started;
    const result: SimulateResult = { topicRecords, badRecords: injected, sealed: opts.seal, elapsedMs, recordsPerSecond: elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0 };
    stdout.write(formatSummary(result));
    return result;
  } finally {
    stopListening?.();
    bar?.stop();
    await log.close();
  }
}
