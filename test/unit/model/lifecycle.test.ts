/**
 * The latency-model lifecycle (issue acceptance C5) with an injected clock,
 * the real embedded warehouse and the in-process event log. The learner is a
 * toy: rows y = 2x·(1 + 5 % noise) in a test table, the "model file" is the
 * JSON of a least-squares slope through the origin, loss = MAPE on the holdout.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../../services/eventlog/memory.ts';
import { announceAgain, MODEL_LATENCY_TOPIC, unannouncedChampions, runTrainingCycle, type Trainer, type TrainingCycleResult } from '../../../services/model/lifecycle.ts';
import { parseCron, startTrainingSchedule, whenChanged, type ScheduleClock } from '../../../services/model/training-schedule.ts';
import { decodeLatencyModelEvent, encodeLatencyModelEvent, latencyModelEvent, MODEL_FILES_TABLE, ModelRegistry, modelFileName, type LatencyModelEvent } from '../../../services/model/registry.ts';
import { createRng } from '../../../services/simulator/prng.ts';
import type { ChdbWarehouse } from '../../../services/warehouse/chdb.ts';
import { msToDateTime64 } from '../../../services/warehouse/types.ts';
import { createTestDatabase } from '../../helpers/warehouse.ts';
import { BrokerUnavailableError, ModelFileError } from '../../../errors.ts';

const logger = pino({ level: 'silent' });
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** First cron slot used by the tests: 2024-06-01 00:00 UTC. */
const T0 = Date.UTC(2024, 5, 1);
const WINDOW = { windowMs: HOUR, holdoutFraction: 0.25 };

/** A fake clock: timers fire only in {@link advanceTo}, each awaited, in due order. */
class FakeClock implements ScheduleClock {
  private timers: { id: number; at: number; fn: () => Promise<void> }[] = [];
  private seq = 0;
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  setTimer(fn: () => Promise<void>, delayMs: number): unknown {
    this.timers.push({ id: ++this.seq, at: this.t + delayMs, fn });
    return this.seq;
  }
  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  async advanceTo(targetMs: number): Promise<void> {
    for (;;) {
      const due = this.timers.filter((t) => t.at <= targetMs).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.clearTimer(due.id);
      this.t = Math.max(this.t, due.at);
      await due.fn();
    }
    this.t = targetMs;
  }
}

interface Toy { ts: number; x: number; y: number }

let w: ChdbWarehouse;
/** Drop the warehouse's copies of the model files: the registry then has the folders' files alone (as before edgelat kept them). */
const forgetStoredFiles = () => w.exec(`TRUNCATE TABLE ${w.database}.${MODEL_FILES_TABLE}`);
let registry: ModelRegistry;

beforeAll(async () => {
  w = await createTestDatabase('lifecycle');
  registry = new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-models-')));
  await w.exec(`CREATE TABLE ${w.database}.toy_rows (series String, ts DateTime64(3, 'UTC'), x Float64, y Float64) ENGINE = MergeTree ORDER BY (series, ts)`);
});
afterAll(async () => {
  await w?.close();
});

/** Insert one row every 20 s in [fromMs, toMs): x uniform in [1, 10), y = factor(ts)·2x·(1 + 0.05·N(0,1)). */
async function seedRows(series: string, fromMs: number, toMs: number, factor: (tsMs: number) => number = () => 1): Promise<void> {
  const rng = createRng(7, series);
  const rows = [];
  for (let ts = fromMs; ts < toMs; ts += 20_000) {
    const x = rng.uniform(1, 10);
    rows.push({ series, ts: msToDateTime64(ts), x, y: factor(ts) * 2 * x * (1 + 0.05 * rng.normal()) });
  }
  await w.insert(`${w.database}.toy_rows`, rows);
}

/** What the toy trainer saw: event times of each train and score call. */
interface Calls { train: number[][]; score: number[][] }

/** Least-squares slope through the origin; the rows come back newest first, so the lifecycle must sort them. */
function slopeTrainer(series: string, kind: string, calls: Calls, failTrain: () => boolean = () => false): Trainer<Toy> {
  return {
    kind,
    fileExtension: '.json',
    async load(fromMs, toMs) {
      const rows = await w.query<{ ts_ms: number; x: number; y: number }>(
        `SELECT toUnixTimestamp64Milli(ts) AS ts_ms, x, y FROM ${w.database}.toy_rows
         WHERE series = {series:String} AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
         ORDER BY ts DESC`,
        { series, from: fromMs, to: toMs },
      );
      return { rows: rows.map((r) => ({ ts: Number(r.ts_ms), x: r.x, y: r.y })), tsOf: (r: Toy) => r.ts };
    },
    async train(rows) {
      calls.train.push(rows.map((r) => r.ts));
      if (failTrain()) throw new Error('boom: out of memory');
      const slope = rows.reduce((s, r) => s + r.x * r.y, 0) / rows.reduce((s, r) => s + r.x * r.x, 0);
      return { bytes: new TextEncoder().encode(JSON.stringify({ slope })), metrics: { slope, n: rows.length } };
    },
    async score(bytes, rows) {
      calls.score.push(rows.map((r) => r.ts));
      const { slope } = JSON.parse(new TextDecoder().decode(bytes)) as { slope: number };
      const errs = rows.map((r) => Math.abs(slope * r.x - r.y) / Math.abs(r.y));
      const mape = errs.reduce((a, b) => a + b, 0) / errs.length;
      return { loss: mape, metrics: { mape, acc10: errs.filter((e) => e <= 0.1).length / errs.length } };
    },
  };
}

/** Run the schedule `cycles` times hourly from T0 with a fake clock; returns every cycle's result. */
async function runScheduled(trainer: Trainer<Toy>, cycles: number, log?: MemoryEventLog): Promise<TrainingCycleResult[]> {
  const clock = new FakeClock(T0 - 30 * MINUTE);
  const results: TrainingCycleResult[] = [];
  const schedule = startTrainingSchedule({
    cron: '0 * * * *',
    clock,
    logger,
    runCycle: async (nowMs) => results.push(await runTrainingCycle({ trainer, registry, log, nowMs, seed: 1, logger, ...WINDOW })),
  });
  expect(schedule.nextRunMs()).toBe(T0);
  await clock.advanceTo(T0 + (cycles - 1) * HOUR + MINUTE);
  expect(schedule.nextRunMs()).toBe(T0 + cycles * HOUR);
  await schedule.stop();
  expect(schedule.nextRunMs()).toBeNull();
  return results;
}

/** Every record of a topic, all partitions. */
async function topicRecords(log: MemoryEventLog, topic: string) {
  const out = [];
  for (let partition = 0; partition < ((await log.partitionCount(topic)) ?? 0); partition++) {
    out.push(...(await log.read({ topic, partition }, 0, await log.endOffset({ topic, partition }))));
  }
  return out;
}

describe('scheduled training cycles', () => {
  it('registers a version per cycle; the first becomes champion; holdout is the newest quarter, shared by champion and challenger', async () => {
    await seedRows('clean', T0 - HOUR, T0 + 2 * HOUR);
    const calls: Calls = { train: [], score: [] };
    const results = await runScheduled(slopeTrainer('clean', 'clean', calls), 2);

    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ promoted: true, status: 'champion', championVersion: null, championLoss: null });
    expect(results[0]!.reason).toMatch(/no champion/);
    expect(results[0]!.version).toBe('clean-20240601T000000Z-0001');
    expect(results[1]!.version).toBe('clean-20240601T010000Z-0001');
    expect(results[1]!.championVersion).toBe(results[0]!.version);
    expect(results[1]!.championLoss).toBeGreaterThan(0);

    const models = await registry.list('clean');
    expect(models.map((m) => m.version)).toEqual(results.map((r) => r.version));
    const first = models[0]!;
    expect(first).toMatchObject({ trainedAtMs: T0, windowStartMs: T0 - HOUR, windowEndMs: T0, holdoutStartMs: T0 - 15 * MINUTE, rowsTrain: 135, rowsHoldout: 45 });
    expect(first.fileSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.metrics.mape).toBeLessThan(0.06);
    expect(first.metrics.train_n).toBe(135);
    // the second cycle either replaced the first (strictly lower loss) or left it champion
    const champion = await registry.champion('clean');
    expect(champion!.version).toBe(results[1]!.promoted ? results[1]!.version : results[0]!.version);
    expect(first.status).toBe(results[1]!.promoted ? 'retired' : 'champion');

    // time order: train rows ascending and all before holdout_start; holdout rows after it
    for (const [i, nowMs] of [T0, T0 + HOUR].entries()) {
      const train = calls.train[i]!;
      expect(train).toEqual([...train].sort((a, b) => a - b));
      expect(Math.max(...train)).toBeLessThan(nowMs - 15 * MINUTE);
      expect(Math.min(...train)).toBeGreaterThanOrEqual(nowMs - HOUR);
    }
    // cycle 1: one score call (challenger); cycle 2: challenger then champion on the same holdout rows
    expect(calls.score).toHaveLength(3);
    expect(calls.score[2]).toEqual(calls.score[1]);
    expect(Math.min(...calls.score[1]!)).toBeGreaterThanOrEqual(T0 + 45 * MINUTE);
  });
});

describe('champion/challenger with a corrupted training window', () => {
  // cycle T0: training part biased ×1.2 (a mediocre first champion A);
  // cycle T0+1h: training part ×10 (challenger B must lose); cycle T0+2h: clean (C must beat A).
  const log = new MemoryEventLog();
  let results: TrainingCycleResult[];
  const factor = (ts: number): number => {
    const inTrain = (nowMs: number) => ts >= nowMs - HOUR && ts < nowMs - 15 * MINUTE;
    return inTrain(T0) ? 1.2 : inTrain(T0 + HOUR) ? 10 : 1;
  };

  beforeAll(async () => {
    await seedRows('mixed', T0 - HOUR, T0 + 3 * HOUR, factor);
    results = await runScheduled(slopeTrainer('mixed', 'mixed', { train: [], score: [] }), 3, log);
  });

  it('does not promote the challenger trained on corrupted data; the reason names both losses', async () => {
    const [a, b] = results;
    expect(a!.promoted).toBe(true);
    expect(b).toMatchObject({ promoted: false, status: 'challenger', championVersion: a!.version });
    expect(b!.challengerLoss).toBeGreaterThan(3); // slope ≈ 20 against y ≈ 2x: MAPE ≈ 9
    expect(b!.championLoss!).toBeLessThan(0.3);
    const loss = (x: number) => String(Number(x.toPrecision(3)));
    expect(b!.reason).toBe(`holdout loss ${loss(b!.challengerLoss)} ≥ champion ${a!.version} ${loss(b!.championLoss!)}`);
    const row = await registry.get('mixed', b!.version);
    expect(row).toMatchObject({ status: 'challenger', reason: b!.reason, holdoutLoss: b!.challengerLoss });
  });

  it('promotes the clean challenger over the biased champion and retires the old one', async () => {
    const [a, , c] = results;
    expect(c).toMatchObject({ promoted: true, championVersion: a!.version });
    expect(c!.challengerLoss).toBeLessThan(c!.championLoss!);
    expect(c!.reason).toMatch(/^holdout loss [\d.]+ < champion mixed-20240601T000000Z-0001 [\d.]+$/);
    expect((await registry.champion('mixed'))!.version).toBe(c!.version);
    const old = await registry.get('mixed', a!.version);
    expect(old!.status).toBe('retired');
    expect(old!.reason).toBe(`replaced by ${c!.version}: ${c!.reason}`);
  });

  it('emits exactly one models.latency.v1 record per promotion, keyed by kind, equal to the registry row', async () => {
    const records = await topicRecords(log, MODEL_LATENCY_TOPIC);
    expect(records).toHaveLength(2);
    const events = records.map((r) => {
      expect(r.key).toBe('mixed');
      const decoded = decodeLatencyModelEvent(r.value);
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.value;
    }).sort((x, y) => x.version.localeCompare(y.version));
    const [a, , c] = results;
    const rowA = (await registry.get('mixed', a!.version))!;
    const rowC = (await registry.get('mixed', c!.version))!;
    expect(events[1]).toEqual(latencyModelEvent(rowC, a!.version));
    expect(events[1]).toMatchObject<Partial<LatencyModelEvent>>({ trained_at: T0 + 2 * HOUR, window_start: T0 + HOUR, window_end: T0 + 2 * HOUR, file_sha256: rowC.fileSha256 });
    // A's row has since been retired (new reason); every other field is as announced
    expect(events[0]).toEqual({ ...latencyModelEvent(rowA, null), reason: a!.reason });
    expect(decodeLatencyModelEvent(Buffer.from('{"version":"x"}'))).toMatchObject({ ok: false });
    // A metric name whose bytes are not UTF-8 is refused, not read with U+FFFD (as every edgelat record; a re-test).
    const bytes = encodeLatencyModelEvent({ ...events[1]!, metrics: { mape: 0.1 } });
    const at = bytes.indexOf(Buffer.from('mape'));
    bytes[at + 1] = 0xff;
    expect(decodeLatencyModelEvent(bytes)).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid avro body: string of 4 bytes at byte \d+ is not utf-8 \(hex 6dff7065\)/) });
  });
});

describe('failures never crash the schedule', () => {
  it('registers a failed training and a non-finite loss as rejected, then carries on', async () => {
    // holdout of the first window has y = 0 → MAPE = Infinity
    await seedRows('failing', T0 - HOUR, T0 + 3 * HOUR, (ts) => (ts >= T0 - 15 * MINUTE && ts < T0 ? 0 : 1));
    let trainCalls = 0;
    const trainer = slopeTrainer('failing', 'failing', { train: [], score: [] }, () => ++trainCalls === 2);
    const results = await runScheduled(trainer, 3);
    expect(results.map((r) => r.status)).toEqual(['retired', 'retired', 'champion']);
    expect(results[0]!.reason).toBe('rejected: non-finite holdout score loss=Infinity');
    expect(results[1]!.reason).toBe('rejected: training failed: boom: out of memory');
    expect(results[2]!.reason).toMatch(/no champion/);
    const rows = await registry.list('failing');
    expect(rows.map((m) => [m.status, m.holdoutLoss])).toEqual([['retired', Infinity], ['retired', NaN], ['champion', results[2]!.challengerLoss]]);
    expect(rows[1]).toMatchObject({ filePath: '', fileSha256: '' });
  });

  it('registers nothing for a window without rows (a trial: a schedule over old telemetry registered 5 rejected versions a cycle)', async () => {
    await seedRows('empty', T0 - HOUR, T0, () => 1);
    const trainer = slopeTrainer('empty', 'empty', { train: [], score: [] });
    // A window a day after the rows: no training rows; one ending 5 minutes after them: training rows, no holdout rows.
    const late = await runTrainingCycle({ trainer, registry, nowMs: T0 + 24 * HOUR, seed: 1, logger, ...WINDOW });
    expect(late).toMatchObject({ status: 'retired', promoted: false, reason: expect.stringMatching(/^skipped \(not registered\): no training rows in \[/) });
    const noHoldout = await runTrainingCycle({ trainer, registry, nowMs: T0 + 5 * MINUTE, seed: 1, logger, windowMs: 2 * HOUR, holdoutFraction: 0.02 });
    expect(noHoldout.reason).toMatch(/^skipped \(not registered\): no holdout rows in \[/);
    expect(await registry.list('empty')).toEqual([]);
  });

  it('retires a second champion a stopped promotion left (registered the new one, killed before retiring the old)', async () => {
    await seedRows('twice', T0 - HOUR, T0 + 3 * HOUR, () => 1);
    const trainer = slopeTrainer('twice', 'twice', { train: [], score: [] });
    const first = await runTrainingCycle({ trainer, registry, nowMs: T0, seed: 1, logger, ...WINDOW });
    const stale = (await registry.get('twice', first.version))!;
    // The half of a promotion that ran: a newer champion registered, the old one still champion.
    const newer = { ...stale, version: 'twice-20240601T003000Z-0001', trainedAtMs: T0 + 30 * MINUTE, fileSha256: 'f'.repeat(64), updatedAtMs: T0 + 30 * MINUTE };
    await registry.register(newer);
    expect((await registry.list('twice')).filter((m) => m.status === 'champion').map((m) => m.version)).toEqual([first.version, newer.version]);
    await runTrainingCycle({ trainer, registry, nowMs: T0 + HOUR, seed: 1, logger, ...WINDOW });
    const rows = await registry.list('twice');
    expect(rows.find((m) => m.version === first.version)).toMatchObject({ status: 'retired', reason: `replaced by ${newer.version} (its promotion had stopped before retiring this one)` });
    expect(rows.filter((m) => m.status === 'champion')).toHaveLength(1);
  });

  it('registers nothing for the bytes of a version whose file was pruned, unless the champion cannot be read (a re-test: EDGELAT_RETRAIN_KEEP=0 registered and pruned the same challengers every cycle)', async () => {
    await seedRows('pruned', T0 - HOUR, T0 + 3 * HOUR, () => 1);
    const trainer = slopeTrainer('pruned', 'pruned', { train: [], score: [] });
    const first = await runTrainingCycle({ trainer, registry, nowMs: T0, seed: 1, logger, ...WINDOW });
    // Another champion (chosen by hand), the first retired, then pruned: its row keeps its digest, without a file.
    const stale = (await registry.get('pruned', first.version))!;
    const other = await registry.saveFile('pruned-20240601T003000Z-0001', new TextEncoder().encode(JSON.stringify({ slope: 2 })), '.json');
    await registry.register({ ...stale, version: 'pruned-20240601T003000Z-0001', trainedAtMs: T0 + 30 * MINUTE, filePath: other.path, fileSha256: other.sha256, status: 'champion', updatedAtMs: T0 + 30 * MINUTE });
    await registry.setStatus('pruned', first.version, 'retired', 'replaced by hand', T0 + 30 * MINUTE);
    // As `model prune` leaves it (this file's registry holds other tests' kinds: pruned by hand here).
    const retired = (await registry.get('pruned', first.version))!;
    unlinkSync(retired.filePath);
    await registry.register({ ...retired, filePath: '', reason: 'pruned by edgelat model prune --keep 0: file removed; was retired', updatedAtMs: retired.updatedAtMs + 1 });
    const rows = (await registry.list('pruned')).length;
    // The same window again: the same bytes as the pruned version.
    const again = await runTrainingCycle({ trainer, registry, nowMs: T0, seed: 1, logger, ...WINDOW });
    expect([again.version, again.status, again.promoted, again.reason]).toEqual([first.version, 'retired', false,
      `identical to ${first.version} (retired, its file pruned by edgelat model prune): the same model file from as many rows; not registered again`]);
    expect((await registry.list('pruned')).length).toBe(rows);
    // The champion's file gone with no copy: the bytes compete as a new version (and win: the champion cannot serve).
    await forgetStoredFiles();
    renameSync(other.path, `${other.path}.gone`);
    const mend = await runTrainingCycle({ trainer, registry, nowMs: T0, seed: 1, logger, ...WINDOW });
    expect(mend.version).not.toBe(first.version);
    expect((await registry.list('pruned')).length).toBe(rows + 1);
    renameSync(`${other.path}.gone`, other.path);
  });

  it('keeps a promotion the log refuses to announce, and announces it again later (a trial: a schedule promoted twice while its producer was disconnected; neither reached the topic)', async () => {
    await seedRows('silent', T0 - HOUR, T0 + 3 * HOUR, () => 1);
    const trainer = slopeTrainer('silent', 'silent', { train: [], score: [] });
    const log = new MemoryEventLog();
    const produce = log.produce.bind(log);
    let refuse = true;
    log.produce = async (topic, records) => {
      if (refuse) throw new BrokerUnavailableError('produce to "models.latency.v1" failed: The producer is disconnected');
      return produce(topic, records);
    };
    const r = await runTrainingCycle({ trainer, registry, log, nowMs: T0, seed: 1, logger, ...WINDOW });
    // The promotion stands (the registry holds it); what was not announced, and why, comes back.
    expect([r.status, r.promoted, (await registry.champion('silent'))!.version]).toEqual(['champion', true, r.version]);
    expect(r.unannounced).toMatchObject({ previous: null, atMs: T0, topic: MODEL_LATENCY_TOPIC, error: 'produce to "models.latency.v1" failed: The producer is disconnected' });
    expect(r.unannounced!.model.version).toBe(r.version);
    const pending = new Map([['silent', r.unannounced!]]);
    expect(await announceAgain(pending, log, logger, registry)).toBe(0);
    expect(pending.size).toBe(1);
    refuse = false;
    expect(await announceAgain(pending, log, logger, registry)).toBe(1);
    expect(pending.size).toBe(0);
    // One promoted over since (by hand) is dropped, not announced.
    await registry.setStatus('silent', r.version, 'retired', 'by hand', T0 + 1);
    const stale = new Map([['silent', r.unannounced!]]);
    expect([await announceAgain(stale, log, logger, registry), stale.size]).toEqual([0, 0]);
    const records = await topicRecords(log, MODEL_LATENCY_TOPIC);
    expect(records.map((x) => [x.key, x.timestampMs])).toEqual([['silent', T0]]);
    const event = decodeLatencyModelEvent(records[0]!.value);
    expect(event.ok && [event.value.version, event.value.previous_version]).toEqual([r.version, null]);
  });

  it('finds the champions the topic does not hold as its newest record of their kind (a restarted run had forgotten its unannounced promotions)', async () => {
    await seedRows('recon', T0 - HOUR, T0 + 3 * HOUR, () => 1);
    const trainer = slopeTrainer('recon', 'recon', { train: [], score: [] });
    const log = new MemoryEventLog();
    const first = await runTrainingCycle({ trainer, registry, log, nowMs: T0, seed: 1, logger, ...WINDOW });
    expect((await unannouncedChampions(log, registry)).has('recon')).toBe(false); // announced
    // A newer champion registered with no log (a run that stopped before announcing it).
    await seedRows('recon', T0 + 3 * HOUR, T0 + 4 * HOUR, () => 1.3);
    const second = await runTrainingCycle({ trainer, registry, nowMs: T0 + 4 * HOUR, seed: 1, logger, ...WINDOW });
    expect(second.promoted).toBe(true);
    const missing = await unannouncedChampions(log, registry);
    expect(missing.get('recon')).toMatchObject({ previous: first.version, topic: MODEL_LATENCY_TOPIC, error: `${MODEL_LATENCY_TOPIC} holds ${first.version} of recon` });
    expect(missing.get('recon')!.model.version).toBe(second.version);
    expect(await announceAgain(new Map([['recon', missing.get('recon')!]]), log, logger, registry)).toBe(1);
    expect((await unannouncedChampions(log, registry)).has('recon')).toBe(false);
    // A kind never announced on a fresh log: previous null.
    expect((await unannouncedChampions(new MemoryEventLog(), registry)).get('recon')).toMatchObject({ previous: null, error: `${MODEL_LATENCY_TOPIC} holds no record of recon` });
  });

  it('promotes past a champion whose row cannot be written back, saying in the outcome that it stays (a trial: the refused write ended the cycle, two champions left)', async () => {
    await seedRows('stuck', T0 - HOUR, T0 + 4 * HOUR, (ts) => (ts < T0 + 2 * HOUR ? 1.2 : 1));
    const trainer = slopeTrainer('stuck', 'stuck', { train: [], score: [] });
    const first = await runTrainingCycle({ trainer, registry, nowMs: T0, seed: 1, logger, ...WINDOW });
    // rows_train of −1, read as 2^64 − 1: no command can write the row back.
    await w.exec(`INSERT INTO ${w.database}.latency_models SELECT version, kind, trained_at, window_start, window_end, holdout_start, toUInt64(-1), rows_holdout,
      metrics_json, holdout_loss, file_path, file_sha256, status, reason, updated_at + 1 FROM ${w.database}.latency_models FINAL WHERE version = '${first.version}'`);
    const next = await runTrainingCycle({ trainer, registry, nowMs: T0 + 3 * HOUR, seed: 1, logger, ...WINDOW });
    expect(next.promoted).toBe(true);
    expect(next.reason).toMatch(new RegExp(`; ${first.version} stays a champion beside it: its row cannot be written back \\(rows_train: expected an integer >= 0, got 18446744073709552000\\); mend or delete it with SQL$`));
    expect((await registry.champion('stuck'))!.version).toBe(next.version);
    expect((await registry.list('stuck')).filter((m) => m.status === 'champion').map((m) => m.version)).toEqual([first.version, next.version]);
  });

  it('logs a cycle that throws and keeps the schedule', async () => {
    const clock = new FakeClock(T0);
    const seen: number[] = [];
    const schedule = startTrainingSchedule({ cron: '*/15 * * * *', clock, logger, runCycle: async (ms) => { seen.push(ms); throw new Error('warehouse down'); } });
    await clock.advanceTo(T0 + 31 * MINUTE);
    expect(seen).toEqual([T0 + 15 * MINUTE, T0 + 30 * MINUTE]);
    expect(schedule.nextRunMs()).toBe(T0 + 45 * MINUTE);
    await schedule.stop();
  });
});

describe('a cycle that overruns its schedule', () => {
  it('is said with the time it took and the schedule, and the times missed are skipped (a trial: "overran", no word of why)', async () => {
    const clock = new FakeClock(T0);
    const lines: { msg: string; cron: string; tookMs: number }[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as { msg: string; cron: string; tookMs: number }) });
    const seen: number[] = [];
    // Each run takes 20 minutes of a schedule every 15: the clock moves on inside it.
    const schedule = startTrainingSchedule({ cron: '*/15 * * * *', clock, logger: log, runCycle: async (ms) => {
      seen.push(ms);
      (clock as unknown as { t: number }).t = ms + 20 * MINUTE;
    } });
    await clock.advanceTo(T0 + 16 * MINUTE);
    expect(seen).toEqual([T0 + 15 * MINUTE]);
    expect(schedule.nextRunMs()).toBe(T0 + 45 * MINUTE);
    expect(lines.map((l) => [l.msg, l.cron, l.tookMs])).toEqual([['training cycle took 1200 s, past the next time of its schedule "*/15 * * * *"; the times missed are skipped (a schedule with more time between its runs keeps up)', '*/15 * * * *', 20 * MINUTE]]);
    await schedule.stop();
  });
});

describe('a scheduled cycle on unchanged data', () => {
  it('runs when the mark changed since the last complete cycle, skips otherwise, and runs again after a cycle cut short (a trial: a quiet fleet retrained every second)', async () => {
    const marks = ['a', 'a', 'b', 'b', 'b', 'c'];
    const results = [true, false, true, true];
    const ran: string[] = [];
    let skipped = 0;
    let i = 0;
    const cycle = whenChanged(async () => marks[i]!, async () => {
      ran.push(marks[i]!);
      return results[ran.length - 1]!;
    }, () => skipped++);
    const answers: ('skipped' | boolean)[] = [];
    for (; i < marks.length; i++) answers.push(await cycle());
    // a runs; a again skipped; b runs but is cut short (false); b runs again and completes; b skipped; c runs.
    expect([ran, skipped]).toEqual([['a', 'b', 'b', 'c'], 2]);
    // Each call says how it went (pipeline run's retraining metrics count them).
    expect(answers).toEqual([true, 'skipped', false, true, 'skipped', true]);
    // A mark that cannot be read fails the call, and runs nothing.
    const failing = whenChanged(async () => { throw new Error('warehouse down'); }, async () => { ran.push('never'); return true; }, () => skipped++);
    await expect(failing()).rejects.toThrow('warehouse down');
    expect(ran).not.toContain('never');
  });
});

describe('registry files and cron expressions', () => {
  it('reads a hash edited into capitals as the same hash, says so, and writes it back in lower case (a re-test: told the file changed, the champion unscorable)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-caps-'));
    const r = new ModelRegistry(w, dir);
    const version = 'caps-20240601T000000Z-0001';
    const file = await r.saveFile(version, new Uint8Array([7, 8, 9]), '.json');
    await r.register({ version, kind: 'caps', trainedAtMs: T0, windowStartMs: T0 - HOUR, windowEndMs: T0, holdoutStartMs: T0 - MINUTE, rowsTrain: 1, rowsHoldout: 1,
      metrics: {}, holdoutLoss: 0.1, filePath: file.path, fileSha256: file.sha256, status: 'champion', reason: '', updatedAtMs: T0 });
    await w.exec(`INSERT INTO ${w.database}.latency_models SELECT version, kind, trained_at, window_start, window_end, holdout_start, rows_train, rows_holdout,
      metrics_json, holdout_loss, file_path, upper(file_sha256), status, reason, updated_at + 1 FROM ${w.database}.latency_models FINAL WHERE version = '${version}'`);
    const [row] = await r.list('caps');
    expect([row!.fileSha256, row!.problem]).toEqual([file.sha256, 'file_sha256 is written in capitals (an edit): read as lower case, and written back so by a status change (`edgelat model promote`)']);
    expect(await r.readFile(row!)).toEqual(new Uint8Array([7, 8, 9]));
    await r.setStatus('caps', version, 'retired', 'mended', T0 + 1);
    const [mended] = await r.list('caps');
    expect([mended!.fileSha256, mended!.problem]).toEqual([file.sha256, undefined]);
    const [stored] = await w.query<{ sha: string }>(`SELECT file_sha256 AS sha FROM ${w.database}.latency_models FINAL WHERE version = '${version}'`);
    expect(stored!.sha).toBe(file.sha256);
  });

  it('names the model file and its folder when the file cannot be written, and leaves no temporary file (a trial: only the OS error on a temporary name)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-blocked-'));
    const version = 'io_ms_p50-20240601T100000Z-0001';
    // A folder where the file goes: written to its temporary name, the rename onto it fails (EISDIR, as root too).
    const name = modelFileName(version, createHash('sha256').update(new Uint8Array([1, 2, 3])).digest('hex'));
    expect(name).toBe(`${version}-039058c6f2c0.onnx`);
    mkdirSync(join(dir, name, 'inside'), { recursive: true });
    const error = await new ModelRegistry(w, dir).saveFile(version, new Uint8Array([1, 2, 3])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).version).toBe(version);
    expect((error as Error).message).toMatch(new RegExp(`^cannot write model file "${dir}/${name}" into the models folder "${dir}": E(ISDIR|NOTEMPTY|EXIST)`));
    expect(readdirSync(dir)).toEqual([name]);
  });

  it('says before training that a models folder cannot be written, naming it and the way out, and leaves nothing in a writable one (a trial: 11 s of training, then EACCES)', async () => {
    // A models folder under a file (ENOTDIR, as root too: permissions do not stop root).
    const parent = mkdtempSync(join(tmpdir(), 'edgelat-unwritable-'));
    writeFileSync(join(parent, 'file'), '');
    const dir = join(parent, 'file', 'models');
    const error = await new ModelRegistry(w, dir).assertWritable().catch((e: unknown) => e);
    expect((error as Error).message).toBe(`the models folder "${dir}" cannot be written (cannot create the folder "${dir}": "${join(parent, 'file')}" is a file, not a folder): `
      + 'nothing was trained; move the file in its way, or set EDGELAT_DATA_DIR to a data folder it can write');
    const fine = mkdtempSync(join(tmpdir(), 'edgelat-writable-'));
    await new ModelRegistry(w, join(fine, 'models')).assertWritable();
    expect(readdirSync(join(fine, 'models'))).toEqual([]);
  });

  it('keeps apart the files of two registries that number the same version in one models folder (a trial: a model trained through a server\'s port overwrote the local champion\'s file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-two-registries-'));
    const version = 'io_ms_p50-20240601T102000Z-0002';
    const mine = await new ModelRegistry(w, dir).saveFile(version, new Uint8Array([1, 2, 3]));
    const theirs = await new ModelRegistry(w, dir).saveFile(version, new Uint8Array([4, 5, 6]));
    expect(mine.path).not.toBe(theirs.path);
    expect([...readFileSync(mine.path)]).toEqual([1, 2, 3]);
    expect([...readFileSync(theirs.path)]).toEqual([4, 5, 6]);
    // The same bytes again: the same file.
    expect((await new ModelRegistry(w, dir).saveFile(version, new Uint8Array([1, 2, 3]))).path).toBe(mine.path);
    expect(readdirSync(dir).sort()).toEqual([basename(mine.path), basename(theirs.path)].sort());
  });

  it('refuses a model file whose sha256 differs from the registry, naming the file; the challenger then replaces that champion', async () => {
    await seedRows('tamper', T0 - HOUR, T0 + 2 * HOUR);
    const trainer = slopeTrainer('tamper', 'tamper', { train: [], score: [] });
    await runTrainingCycle({ trainer, registry, nowMs: T0, seed: 1, logger, ...WINDOW });
    await forgetStoredFiles(); // a model registered before the warehouse kept the files' bytes
    const champion = (await registry.champion('tamper'))!;
    const { slope } = JSON.parse(new TextDecoder().decode(await registry.readFile(champion))) as { slope: number };
    expect(slope).toBeCloseTo(2, 1);
    writeFileSync(champion.filePath, '{"slope":2}');
    const err = await registry.readFile(champion).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(JSON.stringify(champion.filePath));
    expect((err as Error).message).toMatch(/sha256 "[0-9a-f]{64}", the registry expects "[0-9a-f]{64}"/);
    await expect(registry.readFile({ ...champion, filePath: `${champion.filePath}.missing` })).rejects.toThrow(/cannot read model file/);
    const next = await runTrainingCycle({ trainer, registry, nowMs: T0 + HOUR, seed: 1, logger, ...WINDOW });
    expect(next.promoted).toBe(true);
    expect(next.reason).toMatch(/champion tamper-20240601T000000Z-0001 could not be scored: model file .* has sha256/);
  });

  it('reads a model file from its own folder when the data folder was copied or moved, else where it was written (a trial: the copy read the original\'s files)', async () => {
    await seedRows('moved', T0 - HOUR, T0 + 2 * HOUR);
    await runTrainingCycle({ trainer: slopeTrainer('moved', 'moved', { train: [], score: [] }), registry, nowMs: T0, seed: 1, logger, ...WINDOW });
    await forgetStoredFiles(); // a model registered before the warehouse kept the files' bytes: the folders alone
    const champion = (await registry.champion('moved'))!;
    const written = join(registry.modelDir, modelFileName(champion.version, champion.fileSha256, '.json'));
    expect(champion.filePath).toBe(written);
    // A copy of the folder: each registry reads its own file (the same bytes: the hash checks on both).
    const copyDir = mkdtempSync(join(tmpdir(), 'edgelat-models-copy-'));
    copyFileSync(written, join(copyDir, basename(written)));
    const copy = new ModelRegistry(w, copyDir);
    expect((await copy.champion('moved'))!.filePath).toBe(join(copyDir, basename(written)));
    expect((await registry.champion('moved'))!.filePath).toBe(written);
    // A folder without the file (another data folder sharing this warehouse, on this host): the path as written.
    const elsewhere = new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-models-other-')));
    expect((await elsewhere.champion('moved'))!.filePath).toBe(written);
    // Read there, the file is copied into that folder, which then reads its own (a trial: a copied folder without its
    // file read the original's in silence, depending on it).
    // The folders it creates for that (a data folder through a ClickHouse server: none yet) are the user's alone (a
    // re-test: 0755).
    const readerData = join(mkdtempSync(join(tmpdir(), 'edgelat-models-reader-')), 'data');
    const reader = new ModelRegistry(w, join(readerData, 'models'));
    await reader.readFile((await reader.champion('moved'))!);
    expect((await reader.champion('moved'))!.filePath).toBe(join(reader.modelDir, basename(written)));
    expect(readFileSync(join(reader.modelDir, basename(written)))).toEqual(readFileSync(written));
    expect([statSync(readerData).mode & 0o777, statSync(reader.modelDir).mode & 0o777]).toEqual([0o700, 0o700]);
    // The original moves away: the copy still reads its champion, and its hash checks.
    renameSync(written, `${written}.gone`);
    expect(JSON.parse(new TextDecoder().decode(await copy.readFile((await copy.champion('moved'))!)))).toHaveProperty('slope');
    // That read stored the intact file's bytes in the warehouse (a model registered before it kept them gets a copy so):
    const [{ n: copies } = { n: 0 }] = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.${MODEL_FILES_TABLE} WHERE file_sha256 = {s:String}`, { s: champion.fileSha256 });
    expect(Number(copies)).toBe(1);
    // fileStatus, for `model list`, writes nothing: the copy's file serves, the moved one has a copy in the warehouse…
    const status = async () => [await copy.fileStatus((await copy.champion('moved'))!), await registry.fileStatus((await registry.champion('moved'))!), await registry.fileStatus({ filePath: '', fileSha256: '' })];
    expect(await status()).toEqual(['ok', 'copy', 'none']);
    await forgetStoredFiles(); // without it, as before
    expect(await status()).toEqual(['ok', 'lost', 'none']); // …and then none (a trial: listed as healthy while predict failed)
    expect(existsSync(written)).toBe(false);
    await expect(registry.readFile((await registry.champion('moved'))!)).rejects.toThrow(/^cannot read model file .*: ENOENT[^;]*; latency_model_files holds no copy of it; `edgelat model train` writes it back where it retrains the same model, or trains one to replace it, or `edgelat model promote` another version$/);
    // Neither the stored path nor this folder's copy: both are named (a trial's message named only the other folder's).
    const neither = (await elsewhere.champion('moved'))!;
    await expect(elsewhere.readFile(neither)).rejects.toThrow(`cannot read model file ${JSON.stringify(written)} (nor this data folder's copy ${JSON.stringify(join(elsewhere.modelDir, basename(written)))}) of ${JSON.stringify(champion.version)}: `);
    await expect(elsewhere.readFile(neither)).rejects.toThrow(ModelFileError);
    // The registered bytes (a retrain that made the same model) are written back into this folder, which then reads them.
    const bytes = readFileSync(`${written}.gone`);
    await expect(elsewhere.restoreFile(neither, new Uint8Array([1, 2]))).rejects.toThrow(RangeError);
    expect(await elsewhere.restoreFile(neither, bytes)).toBe('missing');
    const restored = (await elsewhere.champion('moved'))!;
    expect(restored.filePath).toBe(join(elsewhere.modelDir, basename(written)));
    expect(Buffer.from(await elsewhere.readFile(restored)).equals(bytes)).toBe(true);
    expect(await elsewhere.restoreFile(restored, bytes)).toBeNull();
    renameSync(`${written}.gone`, written);
  });

  it('writes a model file missing or changed in a folder from the warehouse\'s copy (a trial: serve\'s champion lived in a folder since deleted)', async () => {
    await seedRows('stored', T0 - HOUR, T0 + 2 * HOUR);
    await runTrainingCycle({ trainer: slopeTrainer('stored', 'stored', { train: [], score: [] }), registry, nowMs: T0, seed: 1, logger, ...WINDOW });
    const champion = (await registry.champion('stored'))!;
    const original = readFileSync(champion.filePath);
    expect(createHash('sha256').update(original).digest('hex')).toBe(champion.fileSha256);
    // The warehouse's copy is the file's bytes, base64.
    const [copy] = await w.query<{ b: string }>(`SELECT bytes_base64 AS b FROM ${w.database}.${MODEL_FILES_TABLE} WHERE file_sha256 = {s:String}`, { s: champion.fileSha256 });
    expect(Buffer.from(copy!.b, 'base64').equals(original)).toBe(true);
    // Another folder, and the folder it was trained in gone: read from the warehouse, written into that folder.
    const other = new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-models-stored-')));
    renameSync(champion.filePath, `${champion.filePath}.gone`);
    const there = (await other.champion('stored'))!;
    expect(Buffer.from(await other.readFile(there)).equals(original)).toBe(true);
    const written = join(other.modelDir, basename(champion.filePath));
    expect(readFileSync(written).equals(original)).toBe(true);
    expect((await other.champion('stored'))!.filePath).toBe(written);
    // A changed file in its own folder: the registered bytes again, in place.
    renameSync(`${champion.filePath}.gone`, champion.filePath);
    writeFileSync(champion.filePath, '{"slope":99}');
    expect(Buffer.from(await registry.readFile(champion)).equals(original)).toBe(true);
    expect(readFileSync(champion.filePath).equals(original)).toBe(true);
    // A newer row that is not those bytes (written by hand) beside the right one: the right one is taken, and a merge
    // keeps both (a re-test: the newest row alone was read, and a merge dropped the right one).
    await w.insert(`${w.database}.${MODEL_FILES_TABLE}`, [{ file_sha256: champion.fileSha256, bytes_base64: Buffer.from('{"slope":1}').toString('base64') }]);
    await w.exec(`OPTIMIZE TABLE ${w.database}.${MODEL_FILES_TABLE} FINAL`);
    writeFileSync(champion.filePath, '{"slope":97}');
    expect(Buffer.from(await registry.readFile(champion)).equals(original)).toBe(true);
    // Only copies that are not those bytes: the file's own problem is said, and that the copies are not its bytes.
    await w.exec(`TRUNCATE TABLE ${w.database}.${MODEL_FILES_TABLE}`);
    await w.insert(`${w.database}.${MODEL_FILES_TABLE}`, [{ file_sha256: champion.fileSha256, bytes_base64: Buffer.from('{"slope":1}').toString('base64') }]);
    writeFileSync(champion.filePath, '{"slope":98}');
    await expect(registry.readFile(champion)).rejects.toThrow(/has sha256 "[0-9a-f]{64}", the registry expects "[0-9a-f]{64}"; the file changed after registration; the copies in latency_model_files are not its bytes either \(edited\?\): `edgelat model train`/);
    // The registered bytes in hand (a retrain that made the same model): the file and the warehouse's copy are written again.
    const fresh = new ModelRegistry(w, registry.modelDir);
    expect(await fresh.restoreFile(champion, original)).toBe('changed');
    writeFileSync(champion.filePath, '{"slope":96}');
    expect(Buffer.from(await new ModelRegistry(w, registry.modelDir).readFile(champion)).equals(original)).toBe(true);
    writeFileSync(champion.filePath, original);
  });

  it.each(['61 * * * *', 'every hour', '* * *', '', '2024-06-01T00:00:00'])('rejects cron %j with a RangeError naming it', (cron) => {
    expect(() => startTrainingSchedule({ cron, logger, runCycle: async () => undefined })).toThrow(RangeError);
    expect(() => parseCron(cron)).toThrow(`cron: invalid expression ${JSON.stringify(cron)}`);
  });

  it.each([['*/15 * * * *', T0 + 15 * MINUTE], ['@daily', T0 + 24 * HOUR], ['0 3 * * *', T0 + 3 * HOUR]])('computes the next run of %j from the injected clock', async (cron, expected) => {
    const schedule = startTrainingSchedule({ cron, clock: new FakeClock(T0), logger, runCycle: async () => undefined });
    expect(schedule.nextRunMs()).toBe(expected);
    await schedule.stop();
  });
});

describe('a champion whose file is damaged', () => {
  it('gives way to the identical version a retrain matches, when that is not the champion (a trial: a first-cycle champion stayed unreadable)', async () => {
    // Bytes by call: A (loss 0.1: champion), B (loss 0.2: challenger), then B again.
    const bytes = ['{"m":"A"}', '{"m":"B"}', '{"m":"B"}'];
    let call = 0;
    const trainer: Trainer<{ ts: number }> = {
      kind: 'damaged',
      fileExtension: '.json',
      async load() {
        const rows = Array.from({ length: 8 }, (_, i) => ({ ts: T0 + HOUR - (i + 1) * 6 * 60_000 }));
        return { rows, tsOf: (r: { ts: number }) => r.ts };
      },
      async train() {
        return { bytes: new TextEncoder().encode(bytes[call++]!), metrics: {} };
      },
      async score(b) {
        return { loss: new TextDecoder().decode(b).includes('"A"') ? 0.1 : 0.2, metrics: {} };
      },
    };
    const cycle = (n: number) => runTrainingCycle({ trainer, registry, nowMs: T0 + HOUR + n, seed: 1, logger, ...WINDOW });
    const a = await cycle(0);
    const b = await cycle(1);
    await forgetStoredFiles(); // no copy in the warehouse to write back (models registered before it kept them)
    expect([a.status, b.status]).toEqual(['champion', 'challenger']);
    const champion = (await registry.champion('damaged'))!;
    writeFileSync(champion.filePath, '{"m":"X"}');
    const c = await cycle(2);
    expect([c.version, c.status, c.promoted]).toEqual([b.version, 'champion', true]);
    expect(c.reason).toMatch(new RegExp(`^identical to ${b.version} \\(challenger\\), which replaces champion ${a.version}: its file could not be read \\(.*the file changed after registration`));
    expect((await registry.champion('damaged'))!.version).toBe(b.version);
    expect((await registry.get('damaged', a.version))!.status).toBe('retired');
  });
});
