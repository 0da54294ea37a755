/**
 * `edgelat model train | list`, `edgelat predict` and the telemetry
 * evaluation (issue 4 build items 6–8): the telemetry latency models through
 * the registry and the champion/challenger cycle.
 */
import type { Logger } from 'pino';
import type { EventLog } from '../eventlog/types.ts';
import { announcePromotion, MODEL_LATENCY_TOPIC, runTrainingCycle, type TrainingCycleResult } from '../model/lifecycle.ts';
import type { EdgelatConfig } from '../config.ts';
import { ModelRegistry, rowProblem, type RegisteredModel } from '../model/registry.ts';
import type { PruneResult } from '../model/prune.ts';
import { ModelFileError } from '../../errors.ts';
import {
  evaluateTelemetry, TelemetryRowCache, loadPriors, telemetryTrainer,
  type TelemetryEvaluation,
} from '../model/telemetry.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { nearestNames } from '../names.ts';
import { UsageError } from './usage-error.ts';
import { checkVersionArgument, parseLoad, trainingTargets } from './usage-checks.ts';

export { parseLoad, trainingTargets };
import { LatencyPredictor, openLatencyModel } from '../predictor/latency-predictor.ts';
import { NoEvidenceError, type PredictResponse } from '../predictor/types.ts';


/** Options of {@link trainTelemetryModels}. */
export interface TrainOptions {
  /** Kinds to train (default all five); an empty list is refused (`--kinds ","` names none). */
  kinds?: readonly string[];
  /** Newest share of the data window held out (by event time) to compare challenger and champion. @default 0.2 */
  holdoutFraction?: number;
  /** Data window width, ms; default: all data (or {@link TrainOptions.maxWindowMs}). */
  windowMs?: number;
  /** Without `windowMs`: the last this much event time, or all the data when it spans less (the retraining schedule), ms. */
  maxWindowMs?: number;
  seed: number;
  /** Where promotions are announced (models.latency.v1); none when absent. */
  log?: EventLog;
  logger: Logger;
  /** Clock of the cycle, epoch ms; default: just after the newest event. */
  nowMs?: number;
  /** Called before each kind's cycle: the kind, its place (1-based) and how many kinds are trained. */
  onKindStart?: (kind: string, index: number, total: number) => void;
  /** Called after each kind's cycle with its outcome (registered, or not, by then). */
  onKindDone?: (result: TrainingCycleResult) => void;
}

/**
 * One training cycle per telemetry model kind over the warehouse's enriched
 * events (registry `latency_models`, files under `<dataDir>/models`).
 * @throws {UsageError} on an empty or unknown kind.
 * @throws {NoEvidenceError} when the warehouse holds no events to train on, or no benchmark prior for any pair (the data
 *   cannot answer: exit 1, as predict without a champion).
 * @throws {PipelineError} when the models folder cannot be written (before any training: `ModelRegistry.assertWritable`).
 */
export async function trainTelemetryModels(warehouse: Warehouse, registry: ModelRegistry, options: TrainOptions): Promise<TrainingCycleResult[]> {
  const targets = trainingTargets(options.kinds);
  const [span] = await warehouse.query<{ n: number; lo: number; hi: number }>(
    `SELECT count() AS n, toUnixTimestamp64Milli(min(ts)) AS lo, toUnixTimestamp64Milli(max(ts)) AS hi FROM ${warehouse.database}.inference_enriched WHERE status = 'ok' AND matched`,
  );
  if (!span || Number(span.n) === 0) throw new NoEvidenceError(`no successful, load-matched requests in ${warehouse.database}.inference_enriched: run \`edgelat demo\` or a pipeline first`);
  const priors = await loadPriors(warehouse);
  if (priors.size === 0) {
    throw new NoEvidenceError(`no benchmark latencies (SingleStream p50 and p90) in ${warehouse.database}.benchmark_latency: the model needs a benchmark prior per (model, chip); \`edgelat demo\` imports the simulator's MLPerf cut, and \`edgelat import benchmark --format singlestream --runs data/mlperf-singlestream/base-latency.csv\` imports it (or your own runs of its columns) into any warehouse (an MLPerf import holds p90 only)`);
  }
  // Priors that name none of the fleet's (model, chip) pairs train nothing, and every cycle would say only "no training
  // rows" (a re-test: priors imported as "ResNet50" on "Jetson AGX Orin").
  const pairs = await warehouse.query<{ m: string; c: string }>(`SELECT DISTINCT model_id AS m, chip AS c FROM ${warehouse.database}.inference_enriched WHERE status = 'ok' AND matched ORDER BY m, c`);
  if (!pairs.some((p) => priors.has(`${p.m}|${p.c}`))) {
    const list = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? `, … (${xs.length})` : ''}`;
    throw new NoEvidenceError(`no (model, chip) of the fleet's requests has a benchmark prior (SingleStream p50 and p90): the fleet runs ${list(pairs.map((p) => `${p.m} on ${p.c}`))}; the priors are of ${list([...priors.keys()].map((k) => k.replace('|', ' on ')))}`);
  }
  await registry.assertWritable();
  // Default clock: just after the newest request, and after every registered model (a retrain on unchanged data still sorts last).
  const newest = Math.max(0, ...(await registry.list()).map((m) => m.trainedAtMs + 1));
  const nowMs = options.nowMs ?? Math.max(Number(span.hi) + 1, newest);
  // maxWindowMs: at most the span of the data; a window longer than it (the schedule's default 7 days over a young
  // warehouse) had its training part, the window's oldest 80 %, before the first request (a trial: nothing trained).
  const widthTo = (end: number): number => options.windowMs ?? Math.min(options.maxWindowMs ?? Number.POSITIVE_INFINITY, end - Number(span.lo));
  // The window ends at the clock, unless its holdout would start after the newest request: a registry clock past the
  // data (models of data since replaced by a shorter run; a re-test: nothing trained), where it ends at the data's end.
  const holdoutFraction = options.holdoutFraction ?? 0.2;
  const pastData = options.nowMs === undefined && nowMs - Math.round(widthTo(nowMs) * holdoutFraction) > Number(span.hi);
  const windowEndMs = pastData ? Number(span.hi) + 1 : nowMs;
  const windowMs = widthTo(windowEndMs);
  const results: TrainingCycleResult[] = [];
  const cache = new TelemetryRowCache(warehouse);
  for (const [i, target] of targets.entries()) {
    options.onKindStart?.(target.kind, i + 1, targets.length);
    const result = await runTrainingCycle({
      trainer: telemetryTrainer(warehouse, target, cache), registry, log: options.log, nowMs, windowEndMs, windowMs,
      holdoutFraction, seed: options.seed, logger: options.logger,
    });
    results.push(result);
    options.onKindDone?.(result);
  }
  return results;
}

/**
 * Run `fn` with the log that announces promotions of `model train` and `model promote` on models.latency.v1: Kafka when
 * EDGELAT_KAFKA_BROKERS is set (Confluent-framed through EDGELAT_SCHEMA_REGISTRY_URL when that is set, as the pipeline
 * writes), else none (`fn(null)`). Connected before anything changes, so a broker that cannot be reached changes nothing.
 * @throws {Error} naming the brokers when they cannot be reached (exit 1), and what `fn` throws.
 */
export async function withPromotionLog<T>(config: EdgelatConfig, fn: (log: EventLog | null) => Promise<T>): Promise<T> {
  if (!config.kafka) return fn(null);
  const [{ KafkaEventLog }, { withSchemaRegistry }] = await Promise.all([import('../eventlog/kafka.ts'), import('../eventlog/confluent-wire.ts')]);
  let kafka;
  try {
    kafka = await KafkaEventLog.connect({ ...config.kafka, logger: undefined, retries: 2 });
  } catch (error) {
    throw new Error(`cannot reach Kafka at ${config.kafka.brokers.join(',')} (EDGELAT_KAFKA_BROKERS) to announce on ${MODEL_LATENCY_TOPIC}: ${(error as Error).message}; nothing changed (unset EDGELAT_KAFKA_BROKERS to go on without announcing)`);
  }
  try {
    return await fn(withSchemaRegistry(kafka, config.schemaRegistryUrl));
  } finally {
    await kafka.close();
  }
}

/** What {@link promoteModel} did. */
export interface PromotionByHand {
  version: string;
  kind: string;
  /** The champion it replaced (now retired), or null when the kind had none; equal to `version` when it was the champion already. */
  previous: string | null;
  /** Every other champion of the kind it retired (the one it replaced, and any left beside it). */
  retired: string[];
}

/**
 * Make a registered model the champion of its kind by hand (a rollback to an earlier version, or a challenger chosen
 * over the champion): the champion is retired first, then the model is promoted, each with a reason naming the other
 * (a trial: no way to choose a champion by hand). Announced on models.latency.v1 when a log is given (the CLI gives one
 * when EDGELAT_KAFKA_BROKERS is set), as the retraining schedule announces its promotions.
 * @param version  A registered version, e.g. `total_ms_p50-20240601T101000Z-0001`.
 * @param atMs     Time of the change, epoch ms (the registry's update time). @default Date.now()
 * @param log      Where to announce the new champion (`announcePromotion`); none when absent. Nothing is announced when the
 *                 version was the champion already.
 * Every champion of the kind but `version` is retired (a kind left with two by an interrupted promotion or a hand edit
 * keeps one).
 * @throws {UsageError} on an empty version, or one no model has (naming the nearest).
 * @throws {ModelFileError} when its file cannot be read or changed after registration (a champion must be loadable).
 */
export async function promoteModel(registry: ModelRegistry, version: string, atMs = Date.now(), log?: EventLog): Promise<PromotionByHand> {
  checkVersionArgument(version);
  const all = await registry.list();
  // A blank around it (a paste) is not part of any version: said with the version meant, never promoted unasked (a re-test).
  if (version !== version.trim() && all.some((m) => m.version === version.trim())) {
    throw new UsageError(`model promote: ${JSON.stringify(version)} has blanks around it: the version is ${JSON.stringify(version.trim())}`);
  }
  const model = all.find((m) => m.version === version);
  if (!model) throw new UsageError(`no registered latency model ${JSON.stringify(version)}${all.length ? `; nearest versions: ${nearestNames(version, all.map((m) => m.version))}` : ': run `edgelat model train` (or `edgelat demo`) first'}`);
  const kindRows = all.filter((m) => m.kind === model.kind);
  // Every other champion of the kind is retired: after an interrupted promotion or a hand edit a kind can have two
  // (a trial: promote retired only the newest, and the older one stayed champion beside the promoted one).
  const others = kindRows.filter((m) => m.status === 'champion' && m.version !== version);
  const champion = kindRows.filter((m) => m.status === 'champion').at(-1) ?? null;
  try {
    // A champion must be servable: its file the one registered, a latency model of its kind (a trial promoted an image
    // classifier's file and retired a working champion). Checked for the champion already too: a promote meant to
    // make sure of what serves said "nothing changed", exit 0, over a file predict refused (a trial).
    const { scorer } = await openLatencyModel(await registry.readFile(model), model);
    await scorer.close();
  } catch (error) {
    // The data cannot answer (exit 1), the usage was fine.
    const already = model.status === 'champion' && others.length === 0 ? ` (the champion of ${model.kind} already, which cannot serve)` : '';
    throw new ModelFileError(`cannot promote ${JSON.stringify(version)}${already}: ${(error as Error).message}`, version, { cause: error });
  }
  if (model.status === 'champion' && others.length === 0) return { version, kind: model.kind, previous: version, retired: [] };
  // Every row to write is checked first: a row the registry cannot write back (edited by hand) stops the promotion
  // before anything changed (a trial: the champion was retired, then the new one's row refused, leaving none).
  for (const m of [model, ...others]) {
    const problem = rowProblem({ ...m, status: 'retired' });
    if (problem !== null) throw new ModelFileError(`cannot promote ${JSON.stringify(version)}: the row of ${JSON.stringify(m.version)}${m === model ? '' : ' (a champion to retire)'} cannot be written back (${problem}); mend it with SQL or delete it; nothing changed`, version);
  }
  // The champions first: stopped between the steps, the kind has no champion (predict says so; promote again),
  // never two, of which the newer version would win.
  for (const c of others) await registry.setStatus(model.kind, c.version, 'retired', `replaced by ${version} by hand (edgelat model promote)`, atMs);
  const previous = champion === null ? null : champion.version;
  if (model.status !== 'champion') await registry.setStatus(model.kind, version, 'champion', `promoted by hand (edgelat model promote)${previous ? `, replacing ${previous}` : ''}`, atMs);
  // Announced when what serves changed (the newest champion was another version).
  if (log && previous !== version) await announcePromotion(log, (await registry.get(model.kind, version))!, previous, atMs);
  return { version, kind: model.kind, previous, retired: others.map((m) => m.version) };
}

/**
 * An object with its own keys in snake_case (`trainedAtMs` → `trained_at_ms`, `fileSha256` → `file_sha256`), values
 * as they are: `model train --json` and `model list --json` print as `predict`, `recommend` and `gate` do.
 */
export function snakeCaseKeys(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
}

/**
 * The line `model train` writes when a signal stops it: what each finished kind came to (registered by then), and that
 * the kind in training was stopped, most likely before it was registered (its model file, if written, is replaced by
 * the next run's of that version).
 * @param done     Outcomes of the kinds finished.
 * @param current  The kind in training when the signal came, or null.
 */
export function trainStoppedLine(signal: string, done: readonly TrainingCycleResult[], current: string | null): string {
  return `edgelat: model train stopped by ${signal}: ${finishedKinds(done)}${current === null ? '' : `; ${current} was in training (registered only if \`edgelat model list\` shows a version of it from this run)`}; run model train again for the rest`;
}

/**
 * The line `model train` writes before the error that stopped it at a later kind, or null when no kind had finished
 * (the error alone says it all): the finished kinds are registered, and the run had said nothing of them (its
 * results are printed only at the end).
 * @param done     Outcomes of the kinds finished before the error.
 * @param current  The kind in training when it failed, or null.
 */
export function trainFailedLine(done: readonly TrainingCycleResult[], current: string | null): string | null {
  if (done.length === 0) return null;
  return `edgelat: model train failed${current === null ? '' : ` while training ${current}`}; ${finishedKinds(done)} (registered)`;
}

function finishedKinds(done: readonly TrainingCycleResult[]): string {
  return done.length === 0 ? 'no kind finished' : `finished: ${done.map((r) => `${r.version} ${r.status}`).join(', ')}`;
}

/** Render cycle results as terminal lines. */
export function formatTrainResults(results: readonly TrainingCycleResult[]): string {
  return `${results.map((r) => `${r.version.padEnd(38)} ${r.status.padEnd(10)} ${r.reason}`).join('\n')}\n`;
}

/** Bytes as KB or MB (10^3, 10^6), one decimal. */
function sizeText(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} KB`;
}

/**
 * Render what `model prune` did (or would do, `dryRun`) as terminal lines: a summary, a line a pruned version (its
 * status before, the file removed), the rows skipped.
 * @param r     The prune's result (`pruneRegistry`).
 * @param keep  The `--keep` it ran with.
 */
export function formatPruneResult(r: PruneResult, keep: number, dryRun: boolean): string {
  const kept = `${r.kept} version${r.kept === 1 ? '' : 's'} keep${r.kept === 1 ? 's' : ''} ${r.kept === 1 ? 'its file' : 'their files'} (${keep === 0 ? 'the champions alone: --keep 0' : `every champion and the ${keep} newest other${keep === 1 ? '' : 's'} of each kind`})`;
  const skipped = r.skipped.map((x) => `skipped ${x.version}: ${x.problem.startsWith('its file ') ? x.problem : `its row cannot be written back (${x.problem}); mend or delete it with SQL`}`);
  if (r.pruned.length === 0) return `${[`nothing to prune: ${kept}`, ...skipped].join('\n')}\n`;
  const files = r.pruned.filter((p) => p.file !== null);
  const bytes = files.reduce((sum, p) => sum + p.fileBytes, 0);
  const head = `${dryRun ? 'would prune' : 'pruned'} ${r.pruned.length} version${r.pruned.length === 1 ? '' : 's'}: ` +
    `${files.length} file${files.length === 1 ? '' : 's'} (${sizeText(bytes)}) and ${r.copiesRemoved} cop${r.copiesRemoved === 1 ? 'y' : 'ies'} in latency_model_files (${sizeText(r.copyBytes)} of base64)${dryRun ? ' (--dry-run: nothing changed)' : ''}; ${kept}`;
  const width = Math.max(36, ...r.pruned.map((p) => p.version.length));
  const lines = r.pruned.map((p) => `  ${p.version.padEnd(width)} ${p.status.padEnd(10)} ${p.file === null ? '(no file in the models folder)' : `${p.file} (${sizeText(p.fileBytes)})`}`);
  return `${[head, ...lines, ...skipped].join('\n')}\n`;
}

/**
 * Render registry rows as a terminal table, with each non-champion's reason (its comparison on one holdout), a note on
 * the loss column, and warnings ({@link registryWarnings}, and the champions no file serves).
 * @param lostChampions  Versions of champions whose file is missing or changed with no copy in the warehouse (`ModelRegistry.fileStatus` 'lost').
 */
export function formatModelList(models: readonly RegisteredModel[], lostChampions: readonly string[] = []): string {
  if (models.length === 0) return 'no models registered yet: run `edgelat model train` (or `edgelat demo`)\n';
  const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
  // Widths from the rows: a second cycle at the same event time is registered 1 ms later (10:20:00.001Z), which a
  // fixed width pushed out of its column (a trial).
  const versionWidth = Math.max(36, ...models.map((m) => m.version.length));
  const timeWidth = Math.max(20, ...models.map((m) => iso(m.trainedAtMs).length));
  const head = `${'version'.padEnd(versionWidth)} ${'status'.padEnd(10)} ${'trained_at'.padEnd(timeWidth)} ${'rows'.padStart(7)} ${'holdout'.padStart(7)} ${'loss'.padStart(9)}  metrics`;
  const lines = models.map((m) => {
    const metrics = Object.entries(m.metrics).filter(([k]) => ['mape', 'acc10', 'coverage'].includes(k)).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
    // A challenger's loss is on its own holdout; the comparison that kept it out is on one holdout, in its reason.
    const why = m.status !== 'champion' && m.reason ? `  (${m.reason})` : '';
    return `${m.version.padEnd(versionWidth)} ${m.status.padEnd(10)} ${iso(m.trainedAtMs).padEnd(timeWidth)} ${String(m.rowsTrain).padStart(7)} ${String(m.rowsHoldout).padStart(7)} ${m.holdoutLoss.toPrecision(4).padStart(9)}  ${metrics}${why}`;
  });
  const note = 'loss: on the model\'s own holdout (the newest rows when it was trained), so losses of models trained at different times are not comparable; a challenger\'s comparison with the champion on the same rows is in parentheses';
  // A champion no file serves (a trial: listed as healthy while predict failed on it).
  const lost = lostChampions.map((v) => `warning: champion ${v} cannot serve: its model file is missing or not the registered bytes, and latency_model_files holds no copy: \`edgelat model promote VERSION\` serves another version, or \`edgelat model train\` trains one`);
  return `${[head, ...lines, note, ...registryWarnings(models), ...lost].join('\n')}\n`;
}

/**
 * Lines warning of what is wrong in the registry's rows: a row whose stored fields could not be read
 * (`RegisteredModel.problem`, a hand edit), and a kind with more than one champion (an interrupted promotion, or a
 * hand edit: the newest version serves).
 */
export function registryWarnings(models: readonly RegisteredModel[]): string[] {
  const champions = new Map<string, string[]>();
  for (const m of models) if (m.status === 'champion') champions.set(m.kind, [...(champions.get(m.kind) ?? []), m.version]);
  return [
    ...models.filter((m) => m.problem !== undefined).map((m) => `warning: ${m.version}: ${m.problem}`),
    ...[...champions].filter(([, v]) => v.length > 1).map(([kind, v]) => {
      // A champion whose row no command can write back cannot be retired by promote: SQL is the way (a re-test followed the advice into a refusal).
      const stuck = models.filter((m) => m.kind === kind && m.status === 'champion' && rowProblem({ ...m, status: 'retired' }) !== null).map((m) => m.version);
      return `warning: kind ${kind} has ${v.length} champions (${v.join(', ')}): ${v.at(-1)} serves; ${stuck.length ? `mend or delete the row of ${stuck.join(', ')} with SQL (no command can write it back), then ` : ''}\`edgelat model promote VERSION\` leaves one`;
    }),
  ];
}

/** A prediction of one model on one chip at one load (the `POST /v1/predict` answer). Latencies in ms. */
export type LatencyPrediction = PredictResponse;


/**
 * Predict a model's latency on a chip under a load with the champion of every telemetry kind (one-shot:
 * the service keeps a {@link LatencyPredictor} instead).
 * @throws {NoEvidenceError} when a kind has no champion.
 * @throws {UsageError} when the (model, chip) pair has no benchmark prior, or no input size is known.
 */
export async function predictLatency(
  warehouse: Warehouse, registry: ModelRegistry,
  req: { model: string; chip: string; server?: string; load: Record<string, number>; inputBytes?: number },
): Promise<LatencyPrediction> {
  const predictor = new LatencyPredictor(warehouse, registry);
  try {
    return await predictor.predict(req);
  } finally {
    await predictor.close();
  }
}

/** Render a prediction for the terminal. */
export function formatPrediction(p: LatencyPrediction): string {
  // An unset load is the lowest one, not idle: its total carries the waits the server's requests saw in the lowest
  // gpu_util decile (a trial read "idle" p99 5.73 ms here beside recommend's idle, one request alone, 1.71 ms).
  const load = Object.entries(p.load).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`).join(' ')
    || "the lowest (every field 0: the total carries the queue waits of the server's lowest gpu_util decile; recommend's idle is one request alone)";
  const f = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
  const total = (ms: number | null): string => (ms === null ? '∞' : f(ms));
  return [
    `${p.model} on ${p.chip}${p.server ? ` (server ${p.server})` : " (the chip's typical server's queue: --server for another)"}, ${p.input_bytes.toLocaleString('en-US')} input bytes, load: ${load}`,
    p.total_ms.p99 === null ? '  total   unbounded: the queue cannot drain at this rate (see the note)'
      : `  total   p50 ${total(p.total_ms.p50)} ms   p90 ${total(p.total_ms.p90)} ms   p99 ${total(p.total_ms.p99)} ms`,
    `  median  i/o ${f(p.io_ms_p50)} ms   compute ${f(p.compute_ms_p50)} ms`,
    `  benchmark (MLPerf SingleStream, unloaded): p50 ${f(p.benchmark.p50_ms)} ms, p90 ${f(p.benchmark.p90_ms)} ms`,
    `  models: ${Object.values(p.versions).join(', ')}`,
    ...p.notes.map((n) => `  note: ${n}`),
  ].join('\n') + '\n';
}

/** `edgelat model evaluate --telemetry`: C4 on the warehouse's demo run. */
export async function evaluateTelemetryCommand(warehouse: Warehouse, opts: { seed: number; json: boolean }): Promise<TelemetryEvaluation> {
  let r: TelemetryEvaluation;
  try {
    // About a minute: each step said as it starts (a trial waited 52 s in silence).
    const started = Date.now();
    r = await evaluateTelemetry(warehouse, { seed: opts.seed, onStep: (step) => process.stderr.write(`edgelat: ${step} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`) });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  // snake_case as every other --json (a trial: heldOutPairs, trainRows here alone).
  process.stdout.write(opts.json ? `${JSON.stringify(snakeCaseKeys(r))}\n` : [
    `held-out (model, chip) pairs (seed ${opts.seed}): ${r.heldOutPairs.join(', ')}`,
    `trained on ${r.trainRows.toLocaleString('en-US')} requests of the other pairs; scored on ${r.testRows.toLocaleString('en-US')}`,
    `p50 model: MAPE ${(100 * r.p50_mape).toFixed(1)} % over ${r.groups} (pair × load decile) groups (request-weighted ${(100 * r.p50_mape_requests).toFixed(1)} %)`,
    `p90 model: coverage ${(100 * r.p90_coverage).toFixed(1)} %   p99 model: coverage ${(100 * r.p99_coverage).toFixed(1)} % (share of held-out requests at or below the prediction)`,
    `on a server it never saw (predict without --server): p50 MAPE ${(100 * r.new_server.p50_mape).toFixed(1)} %, p99 coverage ${(100 * r.new_server.p99_coverage).toFixed(1)} %`,
  ].join('\n') + '\n');
  return r;
}
