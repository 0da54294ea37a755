import type { Logger } from 'pino';
import type { InferenceEvent } from '../../schemas/types.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import type { EdgelatConfig } from '../config.ts';
import type { EventLog } from '../eventlog/types.ts';
import { MemoryEventLog } from '../eventlog/memory.ts';
import { normalizeSimConfig, simulateFleet, type SimConfig, type SimResult } from '../simulator/index.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { badRecordValue } from '../simulator/bad-records.ts';
import { msToDateTime64 } from '../warehouse/types.ts';
import { managedObjects } from '../warehouse/migrations.ts';
import { runBoundedPipeline, type PipelineCounts, type Stage } from './embedded.ts';
import { encodeArrival, SIM_TOPICS } from './produce.ts';
import { DEMO_RUNS_TABLE, eventsAfterPartialDemo, lastDemoRun, recordDemoRun } from './demo-runs.ts';

/** Options of `edgelat demo`. */
export interface DemoOptions {
  warehouse: Warehouse;
  config: EdgelatConfig;
  sim: Partial<SimConfig>;
  /** Undecodable records injected into edge.inference.v1 (garbage bytes, a wrong type, a missing field, ...). @default 3 */
  badRecords?: number;
  logger?: Logger;
  /** Post every alert state change to this URL (the pipeline's 'alerts' stage). */
  alertsWebhook?: string;
  /** Only changes into these states are posted. @default all */
  alertsStates?: ReadonlySet<string>;
  /** When alert delivery pauses on a failing webhook, and when it resumes (embedded.ts `onAlertsPause`, `onAlertsResume`). */
  onAlertsPause?: (error: Error) => void;
  onAlertsResume?: () => void;
  onStage?: (stage: Stage | 'simulate' | 'produce' | 'ground-truth', total: number) => void;
  /** Records done in the current stage (of the total {@link onStage} gave; `produce` and `ground-truth` included). */
  onProgress?: (stage: Stage | 'produce' | 'ground-truth', done: number) => void;
  /** Replace the tables even where they hold inference events no demo wrote ({@link DemoRefusedError} otherwise). */
  replace?: boolean;
  /**
   * Leave the run recorded as started: the caller has more of it to do (the CLI trains the latency models) and calls
   * {@link DemoResult.finish} after (a trial: a demo cut short while training was recorded finished, and no read
   * command warned). @default false
   */
  finishLater?: boolean;
  /**
   * Tables kept besides {@link KEPT_BY_DEMO} (the CLI's `--no-models` keeps `latency_models`: a trial's re-run without
   * training left no model, and predict failed). @default none
   */
  keepTables?: readonly string[];
}

export { DEMO_RUNS_TABLE };

/** The demo would erase data it did not write (a pipeline's on Kafka, an import): it refuses, saying how to go on. */
export class DemoRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoRefusedError';
  }
}

/**
 * Inference events in the database that no demo wrote: the count of `inference_events` (with the count the last demo
 * left, null without one), unless the newest row of {@link DEMO_RUNS_TABLE} is one that left exactly that count; where
 * it is a demo that did not finish (its count null), the events not in its ground truth ({@link eventsAfterPartialDemo});
 * 0 when there are none.
 */
async function foreignEvents(warehouse: Warehouse): Promise<{ events: number; lastDemo: number | null; total: number }> {
  const db = warehouse.database;
  const none = { events: 0, lastDemo: null, total: 0 };
  const tables = new Set((await warehouse.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String}', { db })).map((t) => t.name));
  if (!tables.has('inference_events')) return none;
  const [{ n } = { n: 0 }] = await warehouse.query<{ n: number }>(`SELECT count() AS n FROM ${db}.inference_events`);
  if (Number(n) === 0) return none;
  const last = await lastDemoRun(warehouse);
  if (last === null || last.events === null) {
    // No record of a run: tables of an edgelat before demo_runs (a trial: an upgrade's `npm start` refused the previous
    // version's own demo), whose events are all in the ground truth that only a demo writes; or none of them a demo's.
    // A demo cut short: its events are in its ground truth; others were written since (a pipeline's run).
    const others = await eventsAfterPartialDemo(warehouse);
    return others === 0 ? none : { events: others, lastDemo: null, total: Number(n) };
  }
  return last.events === Number(n) ? none : { events: Number(n), lastDemo: last.events, total: Number(n) };
}

/** What a demo run did. */
export interface DemoResult {
  sim: SimResult;
  counts: PipelineCounts;
  /** Records per topic on the in-process log. */
  topicRecords: Record<string, number>;
  badRecords: number;
  elapsedMs: number;
  /** The run's in-process log (still open; later stages may publish to it). */
  log: EventLog;
  /** Record the run as finished in `demo_runs` (done already unless {@link DemoOptions.finishLater}). */
  finish(): Promise<void>;
}

/** Tables of imported data (benchmarks, chip catalogue) a demo keeps: they are the user's, not the run's. */
export const KEPT_BY_DEMO: ReadonlySet<string> = new Set(['benchmark_latency', 'model_profiles', 'chips']);

/**
 * Produce a simulation's arrivals to the log in arrival order (record
 * timestamp = arrival time), inject `badRecords` undecodable records into
 * edge.inference.v1 at evenly spaced points (those no inference event reached after the last one), and seal both
 * input topics; all of them unless the run has no inference event.
 * @param onProgress  Told the arrivals produced so far, every 5,000 and at the end.
 * @returns the number of bad records injected.
 */
export async function produceSimulation(log: EventLog, sim: SimResult, badRecords: number, onProgress?: (done: number) => void): Promise<number> {
  for (const topic of SIM_TOPICS) await log.ensureTopic(topic);
  const every = Math.max(1, Math.floor(sim.arrivals.length / (badRecords + 1)));
  let injected = 0;
  let lastInference: (typeof sim.arrivals)[number] | undefined;
  for (let i = 0; i < sim.arrivals.length; i++) {
    const a = sim.arrivals[i]!;
    await log.produce(a.topic, [{ key: a.key, value: encodeArrival(a), timestampMs: a.arrivalMs }]);
    if (a.topic === TOPICS.inference) lastInference = a;
    if (injected < badRecords && a.topic === TOPICS.inference && i >= every * (injected + 1)) {
      await log.produce(TOPICS.inference, [{ key: a.key, value: badRecordValue(injected, a.value as InferenceEvent), timestampMs: a.arrivalMs }]);
      injected++;
    }
    if ((i + 1) % 5000 === 0) onProgress?.(i + 1);
  }
  // Where no inference event came after a slot's point (the run's last arrivals all load samples), the rest go after
  // the last one (a trial: --bad-records 3 injected 2, without a word).
  while (injected < badRecords && lastInference !== undefined) {
    await log.produce(TOPICS.inference, [{ key: lastInference.key, value: badRecordValue(injected, lastInference.value as InferenceEvent), timestampMs: lastInference.arrivalMs }]);
    injected++;
  }
  onProgress?.(sim.arrivals.length);
  for (const topic of SIM_TOPICS) await log.seal(topic);
  return injected;
}

/**
 * Refuse to replace a database's demo tables where `inference_events` holds events no demo wrote (a pipeline's run, rows
 * written by hand), unless `replace`.
 * @param target   The database whose tables a demo run would replace.
 * @param replace  `--replace`: replace them anyway.
 * @throws {DemoRefusedError} naming the count and how to go on; nothing is changed.
 */
export async function assertReplaceable(target: Warehouse, replace: boolean): Promise<void> {
  // Data no demo wrote (a trial: a Kafka pipeline's 2,037 events in the same ./.edgelat, erased without a word).
  const foreign = replace ? { events: 0, lastDemo: null, total: 0 } : await foreignEvents(target);
  if (foreign.events > 0) {
    // Beside a demo's own events, only those no demo wrote are counted (an upgrade trial: "1688 inference events, none
    // of them a demo's" beside 71,909 of the demo).
    const count = (k: number): string => `${k.toLocaleString('en-US')} inference event${k === 1 ? '' : 's'}`;
    const whose = foreign.lastDemo !== null
      ? `${count(foreign.events)}, not the ${foreign.lastDemo.toLocaleString('en-US')} the last demo left`
      : foreign.total > foreign.events
        ? `${count(foreign.events)} no demo wrote (beside ${(foreign.total - foreign.events).toLocaleString('en-US')} of a demo)`
        : `${count(foreign.events)}, ${foreign.events === 1 ? 'not' : 'none of them'} a demo's`;
    throw new DemoRefusedError(`database ${target.database} holds ${whose} (a pipeline's run, or rows written by hand): the demo replaces every table it manages and would erase them; `
      + 'run the demo in another folder (EDGELAT_DATA_DIR) or database (EDGELAT_DATABASE), or give --replace to replace them');
  }
}

/**
 * Run the whole main job embedded: simulate a fleet → produce to the
 * in-process log (arrival order, with jitter; a few undecodable records) →
 * join → rolling correlation → warehouse-sink into chdb; the simulator's
 * ground truth goes to `sim_ground_truth`. The tables the migrations create
 * are dropped and re-created first, so they hold exactly one run, except the
 * imported data of {@link KEPT_BY_DEMO}; other tables in the database are
 * left alone. Each run is recorded in {@link DEMO_RUNS_TABLE}.
 * @throws {DemoRefusedError} when `inference_events` holds events no demo wrote (unless `replace`): nothing is dropped.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const { warehouse, config } = options;
  const db = warehouse.database;
  const simConfig = normalizeSimConfig(options.sim); // before anything is dropped: a bad setting must not cost the old run
  await assertReplaceable(warehouse, options.replace === true);
  // Replace the previous demo's tables (dropped, not truncated: their insert-deduplication logs must go too).
  const kept = new Set([...KEPT_BY_DEMO, ...(options.keepTables ?? [])]);
  for (const name of [...managedObjects(db)].reverse()) {
    if (!kept.has(name)) await warehouse.exec(`DROP TABLE IF EXISTS ${db}.${name} SYNC`);
  }
  await warehouse.exec(`DROP TABLE IF EXISTS ${db}.schema_migrations SYNC`);
  await warehouse.migrate();
  await recordDemoRun(warehouse, null);

  options.onStage?.('simulate', 0);
  const sim = simulateFleet(simConfig);

  const log = new MemoryEventLog({ defaultPartitions: config.partitions, now: () => 0 });
  options.onStage?.('produce', sim.arrivals.length);
  const injected = await produceSimulation(log, sim, options.badRecords ?? 3, (done) => options.onProgress?.('produce', done));

  options.onStage?.('ground-truth', sim.groundTruth.length);
  const runId = `seed-${simConfig.seed}`;
  const block = 20_000;
  for (let i = 0; i < sim.groundTruth.length; i += block) {
    const rows = sim.groundTruth.slice(i, i + block).map((g) => ({ ...g, run_id: runId, ts: msToDateTime64(g.ts) }));
    await warehouse.insert(`${db}.sim_ground_truth`, rows, { dedupToken: `sim_ground_truth:${runId}:${i}` });
    options.onProgress?.('ground-truth', Math.min(i + block, sim.groundTruth.length));
  }

  let current: Stage | null = null;
  const counts = await runBoundedPipeline({
    log, warehouse, config, logger: options.logger, alertsWebhook: options.alertsWebhook, alertsStates: options.alertsStates, shadows: true,
    onAlertsPause: options.onAlertsPause, onAlertsResume: options.onAlertsResume,
    onProgress: (stage, done) => {
      if (stage !== current) {
        current = stage;
        options.onStage?.(stage, 0);
      }
      options.onProgress?.(stage, done);
    },
  });
  const topicRecords: Record<string, number> = {};
  for (const topic of [TOPICS.inference, TOPICS.load, TOPICS.shadow, TOPICS.enriched, TOPICS.correlation, TOPICS.late, TOPICS.shadowVerdicts, `${TOPICS.inference}.dlq`]) {
    let n = 0;
    for (let p = 0; p < ((await log.partitionCount(topic)) ?? 0); p++) n += await log.endOffset({ topic, partition: p });
    topicRecords[topic] = n;
  }
  const finish = async (): Promise<void> => {
    const [{ events } = { events: 0 }] = await warehouse.query<{ events: number }>(`SELECT count() AS events FROM ${db}.inference_events`);
    await recordDemoRun(warehouse, Number(events));
  };
  if (!options.finishLater) await finish();
  return { sim, counts, topicRecords, badRecords: injected, elapsedMs: performance.now() - started, log, finish: options.finishLater ? finish : async () => undefined };
}
