/**
 * Latency-model lifecycle (DESIGN §5): retrain from the warehouse (on the cron
 * schedule of training-schedule.ts), score the challenger and the champion on the same time-ordered
 * holdout, promote only a strictly better challenger, register every model,
 * and announce each promotion on `models.latency.v1`.
 *
 * The learner is a {@link Trainer}: this module only knows rows, event times,
 * model bytes and losses, so the same lifecycle runs the GBT/ONNX models of
 * services/model/gbt.ts and onnx.ts and the toy trainer of the tests.
 */
import { createHash } from 'node:crypto';
import type { EventLog } from '../eventlog/types.ts';
import type { Logger } from '../log.ts';
import { decodeLatencyModelEvent, encodeLatencyModelEvent, latencyModelEvent, rowProblem, type ModelRegistry, type ModelStatus, type RegisteredModel } from './registry.ts';

/** Default topic of promotion records. */
export const MODEL_LATENCY_TOPIC = 'models.latency.v1';

/**
 * A learner the lifecycle can drive. `Row` is opaque to the lifecycle.
 * @example see the toy slope trainer in test/unit/model/lifecycle.test.ts
 */
export interface Trainer<Row> {
  /** What the model predicts, e.g. `total_ms_p50`; letters, digits, `.`, `_`, `-`. One champion per kind. */
  readonly kind: string;
  /** Suffix of the model file. @default '.onnx' */
  readonly fileExtension?: string;
  /**
   * Load rows whose event time is in [fromMs, toMs) (epoch ms UTC) from the warehouse.
   * Rows outside the range are ignored. Errors are thrown (infrastructure) and end the cycle.
   * @returns The rows and how to read a row's event time (epoch ms UTC).
   */
  load(fromMs: number, toMs: number): Promise<{ rows: Row[]; tsOf: (row: Row) => number }>;
  /**
   * Train on `rows` (ascending event time) with a seed; deterministic per seed.
   * A throw rejects this model (registered `retired` with the message), it does not end the schedule.
   * @returns The model file bytes (ONNX) and training metrics.
   */
  train(rows: Row[], seed: number): Promise<{ bytes: Uint8Array; metrics: Record<string, number> }>;
  /**
   * Score a model file on holdout rows.
   * @returns `loss` (lower is better; must be finite to be promoted) and metrics (MAPE, acc10, RMSE of log latency, p99 coverage ...).
   */
  score(bytes: Uint8Array, rows: Row[]): Promise<{ loss: number; metrics: Record<string, number> }>;
}

/** Options of {@link runTrainingCycle}. */
export interface TrainingCycleOptions<Row> {
  trainer: Trainer<Row>;
  registry: ModelRegistry;
  /** Where promotions are announced; none when absent. */
  log?: EventLog;
  /** Topic of promotion records. @default 'models.latency.v1' */
  topic?: string;
  /** Time of the cycle, epoch ms UTC: the model's trained_at and version stamp, and the window's end unless {@link TrainingCycleOptions.windowEndMs}. */
  nowMs: number;
  /**
   * End of the data window (exclusive), epoch ms UTC, at most nowMs: the newest request's time where a registered model
   * sorts after it (a re-test: after the demo's data was replaced by a shorter run, every kind's holdout lay past the
   * data, and nothing trained). @default nowMs
   */
  windowEndMs?: number;
  /** Data window width, milliseconds of event time. Must be > 0. */
  windowMs: number;
  /** Share of the window, newest first by event time, held out for scoring; 0 < f < 1. */
  holdoutFraction: number;
  /** Seed passed to {@link Trainer.train}. */
  seed: number;
  logger: Logger;
}

/** Outcome of one cycle. Losses are holdout losses; NaN when the challenger got no finite score. */
export interface TrainingCycleResult {
  version: string;
  /** Status the new model was registered with (`retired` = rejected). */
  status: ModelStatus;
  promoted: boolean;
  reason: string;
  challengerLoss: number;
  /** The champion's loss on the same holdout; null when there was no champion or it could not be scored. */
  championLoss: number | null;
  /** The champion at the start of the cycle, or null. */
  championVersion: string | null;
  /**
   * A promotion the registry holds but the log refused to announce (the broker lost, the producer disconnected): what
   * to announce again ({@link announcePromotion}) and why it failed. Absent when announced, or when nothing was to be.
   */
  unannounced?: UnannouncedPromotion;
}

/** A promotion to announce again: the new champion, the one it replaced, the time of the promotion (epoch ms), the topic, and the error. */
export interface UnannouncedPromotion { model: RegisteredModel; previous: string | null; atMs: number; topic: string; error: string }

const KIND_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `20240601T120000Z` for epoch ms. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** Two losses, each with the fewest significant digits (3..17) that keep them apart. */
function formatPair(a: number, b: number): [string, string] {
  for (let digits = 3; digits <= 17; digits++) {
    const pa = Number(a.toPrecision(digits)), pb = Number(b.toPrecision(digits));
    if ((pa === pb) === (a === b)) return [String(pa), String(pb)];
  }
  return [String(a), String(b)];
}

/** The first non-finite value among the loss and metrics, as `name=value`, or null. */
function nonFinite(loss: number, metrics: Record<string, number>): string | null {
  if (!Number.isFinite(loss)) return `loss=${loss}`;
  const bad = Object.entries(metrics).find(([, v]) => !Number.isFinite(v));
  return bad ? `${bad[0]}=${bad[1]}` : null;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Announce a champion on the models topic: one `models.latency.v1` record (schemas/model-latency.v1.avsc, single-object
 * Avro), keyed by the model's kind, stamped `atMs`. Used by the retraining cycle and by `edgelat model promote`.
 * @param model     The new champion as registered (status champion, its reason).
 * @param previous  The champion it replaced, or null.
 * @param atMs      Time of the promotion, epoch ms UTC (the record's timestamp).
 * @param topic     @default 'models.latency.v1'
 * @throws whatever the log's produce throws (a broker gone).
 */
export async function announcePromotion(log: EventLog, model: RegisteredModel, previous: string | null, atMs: number, topic = MODEL_LATENCY_TOPIC): Promise<void> {
  await log.ensureTopic(topic);
  await log.produce(topic, [{ key: model.kind, value: encodeLatencyModelEvent(latencyModelEvent(model, previous)), timestampMs: atMs }]);
}

/**
 * Announce again the promotions a log refused ({@link TrainingCycleResult.unannounced}), one per kind: the newest
 * promotion of each kind, as a promotion announced since supersedes an older one left pending (the caller drops it).
 * Each goes out with its own promotion time; the first the log refuses again stops the round, and it and the rest stay
 * in `pending`. One whose model is no longer its kind's champion in `registry` (promoted over by hand since) is
 * dropped, not announced.
 * @param pending  Per kind, the promotion to announce; announced and dropped ones are deleted from it.
 * @returns How many were announced.
 */
export async function announceAgain(pending: Map<string, UnannouncedPromotion>, log: EventLog, logger: Logger, registry: ModelRegistry): Promise<number> {
  let announced = 0;
  for (const [kind, p] of [...pending]) {
    if ((await registry.champion(p.model.kind))?.version !== p.model.version) {
      pending.delete(kind);
      logger.info({ version: p.model.version }, 'latency model promotion not announced: no longer the champion');
      continue;
    }
    try {
      await announcePromotion(log, p.model, p.previous, p.atMs, p.topic);
      pending.delete(kind);
      announced++;
      logger.info({ version: p.model.version, topic: p.topic }, 'latency model promotion announced late');
    } catch (err) {
      pending.set(kind, { ...p, error: message(err) });
      logger.warn({ version: p.model.version, topic: p.topic, error: message(err) }, 'latency model promotion still not announced; tried again at the next cycle');
      // The log refuses: the others would wait as long to be refused (a trial: four pending, a minute each, held a SIGTERM for 4 min).
      break;
    }
  }
  return announced;
}

/**
 * The registry's champions the topic does not announce as its kind's newest record: promotions left unannounced by a run
 * that stopped before it could announce them (a trial: a restarted pipeline forgot them), or made where no log was
 * given. The topic's records are read whole (one per promotion); per kind the last by offset is what its consumers
 * hold. Records that do not decode are passed over.
 * @returns Per kind, the promotion to announce (`previous`: the version the topic holds, or null); empty when they agree.
 */
export async function unannouncedChampions(log: EventLog, registry: ModelRegistry, topic = MODEL_LATENCY_TOPIC): Promise<Map<string, UnannouncedPromotion>> {
  // Keyed by kind, a kind's records share a partition: its newest is the last by offset, what a consumer reading in
  // order holds. Not the newest by timestamp: `model promote` stamps the wall clock and a cycle its event time (a
  // re-test: a 2024-stamped champion was announced again at every start, never newer than a 2026-stamped one).
  const held = new Map<string, string>();
  const partitions = (await log.partitionCount(topic)) ?? 0;
  for (let partition = 0; partition < partitions; partition++) {
    const tp = { topic, partition };
    for (const r of await log.read(tp, 0, await log.endOffset(tp))) {
      const event = decodeLatencyModelEvent(r.value);
      if (event.ok) held.set(event.value.kind, event.value.version);
    }
  }
  const out = new Map<string, UnannouncedPromotion>();
  const champions = new Map<string, RegisteredModel>();
  for (const m of await registry.list()) if (m.status === 'champion') champions.set(m.kind, m); // the newest per kind, as `champion`
  for (const [kind, model] of champions) {
    const topicHas = held.get(kind) ?? null;
    if (topicHas !== model.version) out.set(kind, { model, previous: topicHas, atMs: model.updatedAtMs, topic, error: `${topic} holds ${topicHas ?? 'no record'} of ${kind}` });
  }
  return out;
}

/**
 * Run one training cycle: load, split, train, score, decide, register, announce.
 *
 * Behaviour: the window is [end − windowMs, end) with end = windowEndMs (default nowMs); the holdout is its newest
 * `holdoutFraction` by event time, [holdoutStart, end), never shuffled; the
 * challenger trains on the older part. The champion (if any) and the
 * challenger are scored on the same holdout rows. The challenger becomes
 * champion only if its loss and metrics are finite and its loss is strictly
 * lower than the champion's (or there is no champion, or the champion's file
 * cannot be read/scored, which the reason says); the old champion is then
 * retired and one record (key = kind) goes to `topic` (when the log refuses it, the outcome's `unannounced` holds
 * it to announce again; the promotion stands). A losing challenger
 * stays `challenger` with a reason naming both losses. An empty split (no
 * training or no holdout rows in the window) registers nothing and returns
 * status `retired` with reason `skipped (not registered): ...`; a training or
 * scoring failure, or a non-finite score, registers the model as
 * `retired` with reason `rejected: ...` and returns normally. A challenger whose model file is byte-identical to
 * a registered model of the kind, trained on as many rows, is not registered: the outcome names that model
 * (`identical to …`, its version and status, `promoted` false). Champions of the kind but the newest (left by a
 * promotion stopped before it retired the old one) are retired first, with a reason saying so.
 * @returns The outcome; the version is `<kind>-<yyyymmddThhmmssZ of nowMs>-<4-digit seq>`.
 * @throws {RangeError} on bad options (a programmer error); errors of `trainer.load`,
 *         the warehouse, the file system and the event log (infrastructure) propagate.
 * @see startTrainingSchedule to run it on a cron schedule.
 */
export async function runTrainingCycle<Row>(options: TrainingCycleOptions<Row>): Promise<TrainingCycleResult> {
  const { trainer, registry, nowMs, windowMs, holdoutFraction, seed } = options;
  const kind = trainer.kind;
  if (!KIND_RE.test(kind)) throw new RangeError(`trainer.kind: expected letters, digits, '.', '_' or '-', got ${JSON.stringify(kind)}`);
  if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs: expected epoch milliseconds, got ${JSON.stringify(nowMs)}`);
  if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError(`windowMs: expected > 0, got ${JSON.stringify(windowMs)}`);
  if (!(holdoutFraction > 0 && holdoutFraction < 1)) throw new RangeError(`holdoutFraction: expected 0 < f < 1, got ${JSON.stringify(holdoutFraction)}`);
  const logger = options.logger.child({ component: 'model-lifecycle', kind });

  const windowEndMs = options.windowEndMs ?? nowMs;
  if (!(windowEndMs <= nowMs)) throw new RangeError(`windowEndMs: expected epoch milliseconds at most nowMs (${nowMs}), got ${JSON.stringify(windowEndMs)}`);
  const windowStartMs = windowEndMs - windowMs;
  const holdoutStartMs = windowEndMs - Math.round(windowMs * holdoutFraction);
  const prefix = `${kind}-${stamp(nowMs)}-`;
  const seq = (await registry.list(kind)).filter((m) => m.version.startsWith(prefix)).length + 1;
  const version = `${prefix}${String(seq).padStart(4, '0')}`;

  const { rows, tsOf } = await trainer.load(windowStartMs, windowEndMs);
  const timed = rows.map((row) => ({ row, ts: tsOf(row) })).filter((r) => r.ts >= windowStartMs && r.ts < windowEndMs);
  timed.sort((a, b) => a.ts - b.ts); // stable: equal times keep load order
  const trainRows = timed.filter((r) => r.ts < holdoutStartMs).map((r) => r.row);
  const holdoutRows = timed.filter((r) => r.ts >= holdoutStartMs).map((r) => r.row);

  /**
   * Retire a replaced champion; a row the registry cannot write back (edited by hand, `rowProblem`) stays as it is, said
   * in a warning: the newer champion serves (a trial: the refused write ended the cycle after the new champion was
   * registered).
   */
  const stuck: string[] = [];
  const retire = async (old: string, why: string): Promise<boolean> => {
    try {
      await registry.setStatus(kind, old, 'retired', why, nowMs);
      return true;
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      stuck.push(`${old} stays a champion beside it: its row cannot be written back (${error.message}); mend or delete it with SQL`);
      logger.warn({ version: old, error: error.message }, 'a replaced champion\'s row cannot be written back: left a champion (the newest serves); mend it with SQL');
      return false;
    }
  };
  /** The outcome's reason, with the champions left beside the new one (said where the result is printed, not only logged). */
  const withStuck = (reason: string): string => (stuck.length ? `${reason}; ${stuck.join('; ')}` : reason);
  // A promotion stopped between registering the new champion and retiring the old one (a kill, a crash) left two: the
  // newest serves (registry.champion); the older ones are retired now, saying so, instead of showing as champions.
  const champions = (await registry.list(kind)).filter((m) => m.status === 'champion');
  for (const stale of champions.slice(0, -1)) {
    // A row no command can write back is left as it is and said in the outcome (not a failed retire at every cycle).
    const unwritable = rowProblem({ ...stale, status: 'retired' });
    if (unwritable !== null) {
      stuck.push(`${stale.version} stays a champion: its row cannot be written back (${unwritable}); mend or delete it with SQL`);
      continue;
    }
    if (await retire(stale.version, `replaced by ${champions.at(-1)!.version} (its promotion had stopped before retiring this one)`)) {
      logger.warn({ version: stale.version, champion: champions.at(-1)!.version }, 'a second champion of the kind retired');
    }
  }
  const champion = await registry.champion(kind);
  const base: RegisteredModel = {
    version, kind, trainedAtMs: nowMs, windowStartMs, windowEndMs, holdoutStartMs, rowsTrain: trainRows.length,
    rowsHoldout: holdoutRows.length, metrics: {}, holdoutLoss: NaN, filePath: '', fileSha256: '', status: 'retired', reason: '', updatedAtMs: nowMs,
  };
  const result = (status: ModelStatus, reason: string, challengerLoss: number, championLoss: number | null): TrainingCycleResult =>
    ({ version, status, promoted: status === 'champion', reason, challengerLoss, championLoss, championVersion: champion?.version ?? null });
  const reject = async (why: string, extra: Partial<RegisteredModel> = {}): Promise<TrainingCycleResult> => {
    const reason = `rejected: ${why}`;
    logger.warn({ version, reason }, 'latency model rejected');
    await registry.register({ ...base, ...extra, status: 'retired', reason });
    return result('retired', reason, extra.holdoutLoss ?? NaN, null);
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  /**
   * A promotion on the models topic (when a log is given). The registry holds it already: a failure is returned, for
   * the caller to announce again (a trial's schedule promoted twice while its producer was disconnected, and neither
   * promotion ever reached the topic), and logged as a warning.
   */
  const announce = async (model: RegisteredModel, previous: string | null): Promise<UnannouncedPromotion | undefined> => {
    if (!options.log) return undefined;
    const topic = options.topic ?? MODEL_LATENCY_TOPIC;
    try {
      await announcePromotion(options.log, model, previous, nowMs, topic);
      return undefined;
    } catch (err) {
      logger.warn({ version: model.version, topic, error: message(err) }, 'latency model promoted but not announced; announced again later');
      return { model, previous, atMs: nowMs, topic, error: message(err) };
    }
  };
  // A window without rows trains nothing, and registers nothing: a trial's schedule, its window on the wall clock over
  // telemetry of 2024, registered 5 rejected versions every cycle (95 rows in 90 s).
  const nothing = (why: string): TrainingCycleResult => {
    const reason = `skipped (not registered): ${why}`;
    logger.warn({ version, reason }, 'latency model not trained');
    return result('retired', reason, NaN, null);
  };
  if (trainRows.length === 0) return nothing(`no training rows in [${iso(windowStartMs)}, ${iso(holdoutStartMs)})`);
  if (holdoutRows.length === 0) return nothing(`no holdout rows in [${iso(holdoutStartMs)}, ${iso(windowEndMs)})`);

  let trained: { bytes: Uint8Array; metrics: Record<string, number> };
  try {
    trained = await trainer.train(trainRows, seed);
  } catch (err) {
    return reject(`training failed: ${message(err)}`);
  }
  // The same model file as a registered model of the kind (a retrain on unchanged data with the same seed: training
  // is deterministic) is not registered again: a trial's three `model train` runs made three byte-identical versions.
  const sha256 = createHash('sha256').update(trained.bytes).digest('hex');
  const same = (await registry.list(kind)).find((m) => m.fileSha256 === sha256 && m.rowsTrain === trainRows.length);
  // The same bytes as a version whose file was pruned (`model prune`): not registered again either (a schedule with
  // EDGELAT_RETRAIN_KEEP=0 had registered and pruned the same challengers at every cycle), unless the champion's own
  // file cannot be read: then the bytes compete as a new version.
  const pruned = same !== undefined && same.filePath === '';
  if (pruned && !(champion && (await registry.readFile(champion).then(() => false, () => true)))) {
    const reason = `identical to ${same.version} (${same.status}, its file pruned by edgelat model prune): the same model file from as many rows; not registered again`;
    logger.info({ version: same.version, reason }, 'latency model unchanged');
    return { version: same.version, status: same.status, promoted: false, reason, challengerLoss: same.holdoutLoss, championLoss: null, championVersion: champion?.version ?? null };
  }
  if (same && !pruned) {
    // Its file damaged or gone (the registry's SHA-256 check refuses it at every prediction): these are its bytes, so
    // they are written back (a trial: a champion's file with one byte changed could not be mended by retraining).
    const restored = await registry.restoreFile(same, trained.bytes);
    // Identical to another version while the champion's own file is damaged or gone: that version, whose file is these
    // bytes, takes its place (a trial: a first-cycle champion's damaged file stayed, as the retrain matched a challenger).
    const broken = champion && champion.version !== same.version ? await registry.readFile(champion).then(() => null, (e: unknown) => message(e)) : null;
    if (champion && broken !== null) {
      const reason = `identical to ${same.version} (${same.status}), which replaces champion ${champion.version}: its file could not be read (${broken})`;
      await registry.setStatus(kind, same.version, 'champion', reason, nowMs);
      await retire(champion.version, `replaced by ${same.version}: its file could not be read`);
      const unannounced = await announce({ ...same, status: 'champion', reason }, champion.version);
      logger.warn({ version: same.version, previous: champion.version, reason }, 'latency model promoted in place of a champion whose file could not be read');
      return { version: same.version, status: 'champion', promoted: true, reason: withStuck(reason), challengerLoss: same.holdoutLoss, championLoss: null, championVersion: champion.version, ...(unannounced ? { unannounced } : {}) };
    }
    const reason = `identical to ${same.version} (${same.status}): the same model file from as many rows (unchanged data; a seed changes this kind's model only where its training samples); not registered again${restored ? `; its file was ${restored}, and is written again` : ''}`;
    logger.info({ version: same.version, reason }, 'latency model unchanged');
    return { version: same.version, status: same.status, promoted: false, reason, challengerLoss: same.holdoutLoss, championLoss: null, championVersion: champion?.version ?? null };
  }
  const trainMetrics = Object.fromEntries(Object.entries(trained.metrics).map(([k, v]) => [`train_${k}`, v]));
  const file = await registry.saveFile(version, trained.bytes, trainer.fileExtension ?? '.onnx');
  const withFile = { filePath: file.path, fileSha256: file.sha256, metrics: trainMetrics };
  let scored: { loss: number; metrics: Record<string, number> };
  try {
    scored = await trainer.score(trained.bytes, holdoutRows);
  } catch (err) {
    return reject(`scoring failed: ${message(err)}`, withFile);
  }
  const metrics = { ...scored.metrics, ...trainMetrics };
  const scoredModel = { ...withFile, metrics, holdoutLoss: scored.loss };
  const badValue = nonFinite(scored.loss, scored.metrics);
  if (badValue !== null) return reject(`non-finite holdout score ${badValue}`, scoredModel);

  let championLoss: number | null = null;
  let championNote = '';
  if (champion) {
    try {
      const s = await trainer.score(await registry.readFile(champion), holdoutRows);
      if (Number.isFinite(s.loss)) championLoss = s.loss;
      else championNote = `champion ${champion.version} scored a non-finite loss ${s.loss}`;
    } catch (err) {
      championNote = `champion ${champion.version} could not be scored: ${message(err)}`;
      // Handled (the reason says it, and the challenger may replace it): a warning naming the champion, without a stack.
      logger.warn({ champion: champion.version, file: champion.filePath, error: message(err) }, 'champion could not be scored; the challenger may replace it');
    }
  }

  let promoted: boolean;
  let reason: string;
  if (championLoss === null) {
    promoted = true;
    reason = `holdout loss ${formatPair(scored.loss, scored.loss)[0]}; ${champion ? championNote : 'no champion'}`;
  } else {
    const [ours, theirs] = formatPair(scored.loss, championLoss);
    promoted = scored.loss < championLoss;
    reason = promoted
      ? `holdout loss ${ours} < champion ${champion!.version} ${theirs}`
      : `holdout loss ${ours} ≥ champion ${champion!.version} ${theirs}`;
  }
  const model: RegisteredModel = { ...base, ...scoredModel, status: promoted ? 'champion' : 'challenger', reason };
  await registry.register(model);
  if (!promoted) {
    logger.info({ version, reason }, 'latency challenger not promoted');
    return result('challenger', reason, scored.loss, championLoss);
  }
  if (champion) await retire(champion.version, `replaced by ${version}: ${reason}`);
  const unannounced = await announce(model, champion?.version ?? null);
  logger.info({ version, previous: champion?.version ?? null, reason }, 'latency model promoted');
  return { ...result('champion', withStuck(reason), scored.loss, championLoss), ...(unannounced ? { unannounced } : {}) };
}
