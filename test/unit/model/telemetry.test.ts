/**
 * The telemetry latency model (services/model/telemetry.ts), its stable
 * contracts only (the feature list is still being tuned): the feature row's
 * width, the lognormal quantile factor against the normal distribution, the
 * chip/server encodings against medians worked by hand, the ONNX metadata
 * round trip and parity with the TypeScript predictor, the trainer's holdout
 * metrics against their closed forms, the benchmark priors against medians
 * over systems; plus `scheduledRunTimes` against hand-listed cron times and
 * the EDGELAT_RETRAIN_* configuration.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../errors.ts';
import { loadConfig } from '../../../services/config.ts';
import { trainGbt, type GbtModel } from '../../../services/model/gbt.ts';
import { scheduledRunTimes } from '../../../services/model/training-schedule.ts';
import { exportGbtToOnnx, OnnxScorer } from '../../../services/model/onnx.ts';
import { isotonicRising } from '../../../services/model/features.ts';
import { monotoneQuantiles } from '../../../services/predictor/latency-predictor.ts';
import {
  TOTAL_MS_TREES,
  BENCHMARK_CUT, expectedIoMs, exportTelemetryModel, featureRow, featureRowFor, fitEncoding, importBenchmarkCut, LOAD_FEATURES, loadPriors, MONOTONE, offsetFeature, predictTelemetryLn,
  TELEMETRY_FEATURES, TELEMETRY_TARGETS, telemetryEncodingOf, telemetryTrainer, trainTelemetryModel, trainTelemetryModelRounds, unloadedQuantileFactor,
  type BenchmarkPrior, type TelemetryEncoding, type TelemetryRow, type TelemetryTarget,
} from '../../../services/model/telemetry.ts';
import type { ChdbWarehouse } from '../../../services/warehouse/chdb.ts';
import { prng } from '../../helpers/factories.ts';
import { createTestDatabase } from '../../helpers/warehouse.ts';

const target = (kind: string): TelemetryTarget => TELEMETRY_TARGETS.find((t) => t.kind === kind)!;
const IDLE = LOAD_FEATURES.map(() => 0);
let seq = 0;

/** A request with hand-chosen values; input size given in KiB (1 KiB = 1024 bytes). */
function row(p: { model: string; chip: string; server: string; kib: number; io: number; compute: number; queue?: number; prior?: BenchmarkPrior; load?: number[]; ts?: number }): TelemetryRow {
  seq++;
  return {
    eventId: `e-${seq}`, tsMs: p.ts ?? seq, modelId: p.model, chip: p.chip, server: p.server, prior: p.prior ?? { p50: 10, p90: 15 },
    input_bytes: Math.round(p.kib * 1024), batch_size: 1, load: p.load ?? IDLE, total_ms: (p.queue ?? 0) + p.io + p.compute, queue_ms: p.queue ?? 0, io_ms: p.io, compute_ms: p.compute,
  };
}

/**
 * Synthetic fleet: two known chips (three servers), two models, random load;
 * compute = benchmark p50 × chip factor × (1 + 2·gpu²) × lognormal noise, i/o
 * linear in KiB, queueing ∝ queue depth.
 */
function synthRows(n: number, seed: number, chips = ['chip-a', 'chip-b']): TelemetryRow[] {
  const rand = prng(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const models = [{ id: 'm1', prior: { p50: 10, p90: 13 }, kib: 147 }, { id: 'm2', prior: { p50: 40, p90: 60 }, kib: 49 }];
  return Array.from({ length: n }, (_, i) => {
    const chip = chips[i % chips.length]!;
    const m = models[Math.floor(rand() * models.length)]!;
    const server = chip === 'chip-a' ? (rand() < 0.5 ? 'a1' : 'a2') : `${chip}-s`;
    const gpu = rand();
    const qd = Math.floor(rand() * 6);
    const load = [rand(), gpu, rand(), qd, 1 + Math.floor(rand() * 4), 20 * rand()];
    const compute = m.prior.p50 * (chip === 'chip-a' ? 1.5 : 0.8) * (1 + 2 * gpu * gpu) * Math.exp(0.15 * normal());
    const io = 0.5 + 0.02 * m.kib * (1 + 0.1 * rand());
    const queue = qd * 5 * rand();
    return { ...row({ model: m.id, chip, server, kib: m.kib, io, compute, prior: m.prior, load, ts: 1_000 * i }), total_ms: io + compute + queue };
  });
}

describe('featureRow', () => {
  it('has one value per TELEMETRY_FEATURES name, for known and unknown chips and servers', () => {
    const enc = fitEncoding(synthRows(200, 1));
    for (const req of [
      { chip: 'chip-a', server: 'a1' }, { chip: 'chip-a' }, { chip: 'chip-z', server: 'nowhere' },
    ]) {
      const x = featureRow(enc, { ...req, prior: { p50: 12, p90: 20 }, input_bytes: 150_528, batch_size: 1, load: [0.2, 0.7, 0.3, 2, 2, 5] });
      expect(x).toHaveLength(TELEMETRY_FEATURES.length);
      expect(Array.from(x).every(Number.isFinite)).toBe(true);
    }
    expect(LOAD_FEATURES.every((k) => (TELEMETRY_FEATURES as readonly string[]).includes(k))).toBe(true);
  });

  it('encodes an unknown chip with the global statistics and an unknown server with its chip\'s', () => {
    const enc = fitEncoding(synthRows(200, 1));
    const req = { prior: { p50: 12, p90: 20 }, input_bytes: 150_528, batch_size: 1, load: [0.2, 0.7, 0.3, 2, 2, 5] };
    const SERVICE = TELEMETRY_FEATURES.indexOf('ln_server_service_ms');
    // An unknown chip looks exactly like a chip "g" that carries the global statistics, with the service its
    // load implies (no fleet server of the chip to take it from).
    const unknownChip = featureRow(enc, { ...req, chip: 'chip-z' });
    const withG: TelemetryEncoding = { ...enc, chips: { ...enc.chips, g: { ...enc.global, serviceMs: Math.exp(unknownChip[SERVICE]!) } } };
    const g = featureRow(withG, { ...req, chip: 'g' });
    expect(Array.from(unknownChip, (v, i) => Math.abs(v - g[i]!) < 1e-9)).toEqual(Array.from(g, () => true)); // exp(ln s) is s to a few ulp
    expect(Math.exp(unknownChip[SERVICE]!)).not.toBeCloseTo(enc.global.serviceMs, 6);
    // An unknown server of a fleet chip takes the chip's typical server: the median of its servers' mean service,
    // whatever the load sample's requests_per_s (the service one sample implied swung too much).
    const unknownServer = featureRow(enc, { ...req, chip: 'chip-a', server: 'no-such-server' });
    expect(unknownServer).toEqual(featureRow(enc, { ...req, chip: 'chip-a' }));
    expect(Math.exp(unknownServer[SERVICE]!)).toBeCloseTo(enc.chips['chip-a']!.serviceMs, 9);
    const queueing = (x: Float64Array) => Array.from(x.subarray(SERVICE, TELEMETRY_FEATURES.indexOf('ln_queued_total_p99_ms') + 1));
    expect(queueing(featureRow(enc, { ...req, chip: 'chip-a', load: [0.2, 0.7, 0.3, 2, 2, 50] }))).toEqual(queueing(unknownServer));
    expect(featureRow(enc, { ...req, chip: 'chip-a', server: 'a1' })).not.toEqual(featureRow(enc, { ...req, chip: 'chip-a', server: 'a2' }));
  });
});

describe('expectedIoMs', () => {
  it('grows along the chip\'s i/o line through the per-model medians, times the decile ratio (the predictor\'s extrapolation beyond the largest request)', () => {
    const rows = synthRows(400, 3).filter((r) => r.chip === 'chip-a');
    const enc = fitEncoding(rows);
    // The nearest-rank median, the encoding's convention: the ⌈n/2⌉-th smallest.
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.ceil(xs.length / 2) - 1]!;
    const point = (m: string) => { const list = rows.filter((r) => r.modelId === m); return { kib: median(list.map((r) => r.input_bytes / 1024)), io: median(list.map((r) => r.io_ms)) }; };
    const [a, b] = [point('m1'), point('m2')];
    const slope = (a.io - b.io) / (a.kib - b.kib); // least squares through two points is the line through them
    expect(slope).toBeGreaterThan(0.02);
    const load = [0.2, 0.35, 0.3, 2, 2, 5];
    const ratio = enc.chips['chip-a']!.ioRatioByUtil[3]!; // gpu_util 0.35 is decile 3
    const io = (kib: number) => expectedIoMs(enc, { chip: 'chip-a', input_bytes: kib * 1024, load });
    expect(io(10 * 1024) - io(1024)).toBeCloseTo(slope * 9 * 1024 * ratio, 6);
    expect(io(a.kib)).toBeCloseTo(a.io * ratio, 6);
  });
});

describe('monotoneQuantiles', () => {
  it('sorts crossed quantile predictions (rearrangement) and leaves ordered ones alone', () => {
    expect(monotoneQuantiles([5121.7, 5210.6, 5192.4])).toEqual([5121.7, 5192.4, 5210.6]);
    expect(monotoneQuantiles([1, 2, 3])).toEqual([1, 2, 3]);
  });
});

describe('monotone in the load', () => {
  it('every model\'s prediction is non-decreasing as gpu_util rises, for a known and an unseen server', () => {
    const rows = synthRows(600, 5);
    const enc = fitEncoding(rows);
    // A trial found i/o dropping 5 % at gpu_util 0.5: its trees split on the decile's expected compute, unconstrained then.
    expect(MONOTONE[TELEMETRY_FEATURES.indexOf('ln_expected_compute_ms')]).toBe(1);
    expect(MONOTONE[TELEMETRY_FEATURES.indexOf('ln_server_service_ratio')]).toBe(-1);
    const models = TELEMETRY_TARGETS.map((t) => trainTelemetryModel(t, rows, 1, enc));
    const GPU = LOAD_FEATURES.indexOf('gpu_util');
    for (const server of ['a1', undefined]) {
      let prev = models.map(() => 0);
      for (let u = 0; u <= 1.0001; u += 0.02) {
        const load = [0.3, u, 0.4, 2, 2, 8];
        load[GPU] = u;
        const x = featureRow(enc, { chip: 'chip-a', server, prior: { p50: 10, p90: 13 }, input_bytes: 150_528, batch_size: 1, load });
        const now = models.map((m) => predictTelemetryLn(m, x));
        expect(now.map((v, k) => v >= prev[k]! - 1e-12), `gpu_util ${u.toFixed(2)}, server ${server}`).toEqual(now.map(() => true));
        prev = now;
      }
    }
  });
});

describe('isotonicRising (pool-adjacent-violators)', () => {
  it('pools each violating run into its weighted mean, worked by hand', () => {
    expect(isotonicRising([1, 3, 2, 4], [1, 1, 1, 1])).toEqual([1, 2.5, 2.5, 4]);
    expect(isotonicRising([5, 1], [1, 3])).toEqual([2, 2]); // (5·1 + 1·3) / 4
    expect(isotonicRising([4, 3, 2, 1], [1, 1, 1, 1])).toEqual([2.5, 2.5, 2.5, 2.5]);
    // 3 then 1 pool to 2; that block (weight 2) then pools with 0 (weight 2) into 1, which is ≥ the 1 before them.
    expect(isotonicRising([1, 3, 1, 0, 5], [1, 1, 1, 2, 1])).toEqual([1, 1, 1, 1, 5]);
    expect(isotonicRising([1, 2, 2, 7], [3, 1, 1, 9])).toEqual([1, 2, 2, 7]); // already rising: unchanged
  });

  it('makes every per-decile table of the encoding non-decreasing in gpu_util', () => {
    const enc = fitEncoding(synthRows(400, 3));
    const rises = (v: readonly number[]) => v.every((x, b) => b === 0 || x >= v[b - 1]!);
    for (const c of [...Object.values(enc.chips), enc.global]) {
      expect([rises(c.computeRatioByUtil), rises(c.ioRatioByUtil)]).toEqual([true, true]);
      for (let i = 0; i < c.waitNorm[0]!.length; i++) expect(rises(c.waitNorm.map((g) => g[i]!))).toBe(true);
    }
    for (const s of Object.values(enc.servers)) for (let i = 0; i < s.wait[0]!.length; i++) expect(rises(s.wait.map((g) => g[i]!))).toBe(true);
  });
});

/** Standard normal CDF from the Maclaurin series of erf (|x| < 3: 80 terms are far past double precision). */
function normalCdf(x: number): number {
  const u = x / Math.SQRT2;
  let term = u;
  let sum = u;
  for (let n = 1; n < 80; n++) {
    term *= (-u * u) / n;
    sum += term / (2 * n + 1);
  }
  return 0.5 * (1 + (2 / Math.sqrt(Math.PI)) * sum);
}

/** z with Φ(z) = p by bisection on [−5, 5]. */
function normalQuantile(p: number): number {
  let lo = -5;
  let hi = 5;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

describe('unloadedQuantileFactor', () => {
  // Tabulated standard-normal quantiles (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.1): z0.90 = 1.281551566, z0.99 = 2.326347874.
  const Z90 = 1.2815515655446;
  const Z99 = 2.3263478740408;

  it('the bisection on the erf series reproduces the tabulated quantiles', () => {
    expect(normalQuantile(0.9)).toBeCloseTo(Z90, 12);
    expect(normalQuantile(0.99)).toBeCloseTo(Z99, 12);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 14);
  });

  it.each([
    [{ p50: 10, p90: 20 }],
    [{ p50: 0.64, p90: 0.78 }],
    [{ p50: 281.314, p90: 286.437 }],
  ])('is exp(z_α·σ) with σ = ln(p90/p50)/z0.9 for %j', (prior) => {
    const sigma = Math.log(prior.p90 / prior.p50) / normalQuantile(0.9);
    expect(unloadedQuantileFactor(prior, 0.5)).toBe(1);
    // At α = 0.9 the lognormal's quantile is the benchmark's own p90: factor = p90/p50.
    expect(unloadedQuantileFactor(prior, 0.9)).toBeCloseTo(prior.p90 / prior.p50, 12);
    expect(unloadedQuantileFactor(prior, 0.99)).toBeCloseTo(Math.exp(normalQuantile(0.99) * sigma), 10);
    // Same thing as a power: (p90/p50)^(z0.99/z0.9).
    expect(unloadedQuantileFactor(prior, 0.99)).toBeCloseTo((prior.p90 / prior.p50) ** (Z99 / Z90), 10);
  });

  it('p90 = p50 (or a p90 below p50) gives no spread: factor 1', () => {
    expect(unloadedQuantileFactor({ p50: 5, p90: 5 }, 0.99)).toBe(1);
    expect(unloadedQuantileFactor({ p50: 5, p90: 4 }, 0.99)).toBe(1);
  });

  it('refuses a quantile it has no z for', () => {
    expect(() => unloadedQuantileFactor({ p50: 1, p90: 2 }, 0.95)).toThrow(RangeError);
    expect(() => unloadedQuantileFactor({ p50: 1, p90: 2 }, 0.95)).toThrow(/0\.95/);
  });
});

describe('fitEncoding', () => {
  /*
   * Chip A (servers a1, a2), three models; chip B (server b1), one model.
   *   row  model chip server  KiB  io   compute  compute/p50 (p50 = 10, 20, 40 for m1, m2, m3)
   *   r1   m1    A    a1      1    2    12       1.2
   *   r2   m1    A    a2      3    9    8        0.8
   *   r3   m2    A    a1      3    5    30       1.5
   *   r4   m3    A    a2      5    6    40       1.0
   *   r5   m3    A    a2      5    6.5  20       0.5
   *   r6   m1    B    b1      2    4    5        0.5
   *   r7   m1    B    b1      4    10   7        0.7
   *   r8   m1    B    b1      6    8    30       3.0
   * Nearest-rank median = the ⌈n/2⌉-th smallest (the lower middle for even n).
   * i/o line: slope = pooled within-model least squares over every request (Σ over models of Sxy / Σ Sxx, each
   * about the model's own means), clamped ≥ 0; intercept = nearest-rank median over models of (median io − slope ·
   * median KiB), clamped ≥ 0.
   * Chip A: m1 rows (1, 2), (3, 9): means (2, 5.5), Sxx 2, Sxy 7; m2 one row; m3 KiB constant → slope 7/2.
   *   Medians: m1 (1, 2), m2 (3, 5), m3 (5, 6) → intercepts −1.5, −5.5, −11.5; median −5.5 → clamped to 0.
   * Chip B: m1 rows (2, 4), (4, 10), (6, 8): means (4, 22/3), Sxx 8, Sxy 8 → slope 1; medians (4, 8) → intercept 4.
   * All rows: m1 KiB 1,3,2,4,6 and io 2,9,4,10,8: means (3.2, 6.6), Sxx 14.8, Sxy 19.4 → slope 97/74;
   *   medians m1 (3, 8), m2 (3, 5), m3 (5, 6) → intercepts 301/74, 79/74, −41/74; median 79/74.
   * (The line through the per-model medians alone, the rule before, gave chip A slope 1 and all rows a slope of
   *   −1/4 clamped to 0: flat.)
   * compute ratio: A median of {1.2, 0.8, 1.5, 1.0, 0.5} = 1.0; B of {0.5, 0.7, 3.0} = 0.7;
   *   all eight: sorted 0.5 0.5 0.7 0.8 1.0 1.2 1.5 3.0 → 4th = 0.8.
   * Server mean service (io + compute): a1 (14 + 35)/2 = 24.5; a2 (17 + 46 + 26.5)/3 = 89.5/3; b1 (9 + 17 + 38)/3 = 64/3.
   * Chip service = median over its servers: A {24.5, 29.83} → 24.5; B 64/3; all {21.33, 24.5, 29.83} → 24.5.
   */
  const p = { m1: { p50: 10, p90: 12 }, m2: { p50: 20, p90: 30 }, m3: { p50: 40, p90: 50 } };
  const rows = [
    row({ model: 'm1', chip: 'A', server: 'a1', kib: 1, io: 2, compute: 12, prior: p.m1 }),
    row({ model: 'm1', chip: 'A', server: 'a2', kib: 3, io: 9, compute: 8, prior: p.m1 }),
    row({ model: 'm2', chip: 'A', server: 'a1', kib: 3, io: 5, compute: 30, prior: p.m2 }),
    row({ model: 'm3', chip: 'A', server: 'a2', kib: 5, io: 6, compute: 40, prior: p.m3 }),
    row({ model: 'm3', chip: 'A', server: 'a2', kib: 5, io: 6.5, compute: 20, prior: p.m3 }),
    row({ model: 'm1', chip: 'B', server: 'b1', kib: 2, io: 4, compute: 5, prior: p.m1 }),
    row({ model: 'm1', chip: 'B', server: 'b1', kib: 4, io: 10, compute: 7, prior: p.m1 }),
    row({ model: 'm1', chip: 'B', server: 'b1', kib: 6, io: 8, compute: 30, prior: p.m1 }),
  ];

  it('fits the per-chip medians, i/o lines and server service times worked by hand', () => {
    const enc = fitEncoding(rows);
    expect(Object.keys(enc.chips).sort()).toEqual(['A', 'B']);
    // The scalar statistics worked above (the per-decile tables are checked through the evaluation).
    const close = (got: object, want: Record<string, number>): void => {
      for (const k of Object.keys(want)) expect((got as Record<string, number>)[k], k).toBeCloseTo(want[k]!, 12);
    };
    close({ ...enc.chips.A! }, { ioFixedMs: 0, ioMsPerKib: 7 / 2, computeRatio: 1.0, serviceMs: 24.5, rows: 5 });
    close({ ...enc.chips.B! }, { ioFixedMs: 4, ioMsPerKib: 1, computeRatio: 0.7, serviceMs: 64 / 3, rows: 3 });
    close({ ...enc.global }, { ioFixedMs: 79 / 74, ioMsPerKib: 97 / 74, computeRatio: 0.8, serviceMs: 24.5, rows: 8 });
    expect(Object.keys(enc.servers).sort()).toEqual(['a1', 'a2', 'b1']);
    close({ ...enc.servers.a1! }, { serviceMs: 24.5, rows: 2 });
    close({ ...enc.servers.a2! }, { serviceMs: 89.5 / 3, rows: 3 });
    close({ ...enc.servers.b1! }, { serviceMs: 64 / 3, rows: 3 });
  });

  it('fits each pair\'s compute factor over its chip\'s ratio, shrunk toward 1 by n / (n + 30), worked by hand', () => {
    // Idle rows: one decile, pooled (fewer than MIN_BUCKET_ROWS); chip A's ratio is the lower median of compute / p50
    // over its rows, {1.2, 0.8, 1.5, 1.0, 0.5} → 1.0, chip B's {0.5, 0.7, 3.0} → 0.7. Per pair, the lower median of
    // compute / (p50 × chip ratio): A|m1 {1.2, 0.8} → 0.8, A|m2 {1.5}, A|m3 {1.0, 0.5} → 0.5, B|m1 {0.714, 1, 4.29} → 1.
    const enc = fitEncoding(rows);
    expect(Object.keys(enc.pairs!).sort()).toEqual(['m1|A', 'm1|B', 'm2|A', 'm3|A']);
    const want = { 'm1|A': 0.8 ** (2 / 32), 'm2|A': 1.5 ** (1 / 31), 'm3|A': 0.5 ** (2 / 32), 'm1|B': 1 };
    for (const [k, v] of Object.entries(want)) expect(enc.pairs![k], k).toBeCloseTo(v, 12);
    // No pair has 30 rows: no spread measured.
    expect(enc.pairSigma).toBe(0);
  });

  it('does not depend on the order of the rows, and refuses no rows', () => {
    expect(fitEncoding([...rows].reverse())).toEqual(fitEncoding(rows));
    expect(() => fitEncoding([])).toThrow(RangeError);
  });
});

describe('a pair whose compute runs above its chip\'s other models (a trial: retinanet on jetson-agx-orin)', () => {
  // m2 on chip-a computes 1.3× what its benchmark and chip-a's ratio say; m1 as they say.
  const rows = synthRows(1200, 21).map((r) => (r.modelId === 'm2' && r.chip === 'chip-a' ? { ...r, compute_ms: r.compute_ms * 1.3, total_ms: r.total_ms + 0.3 * r.compute_ms } : r));
  const enc = fitEncoding(rows);
  const count = (m: string) => rows.filter((r) => r.modelId === m && r.chip === 'chip-a').length;

  it('gives it a factor 1.3 over its chip-mate\'s (lognormal noise: within 6 %), and a spread over pairs', () => {
    const [f1, f2] = [enc.pairs!['m1|chip-a']!, enc.pairs!['m2|chip-a']!];
    // Unshrunk: ln f × (n + 30) / n.
    const raw = (f: number, n: number) => Math.exp((Math.log(f) * (n + 30)) / n);
    expect(raw(f2, count('m2')) / raw(f1, count('m1'))).toBeGreaterThan(1.3 / 1.06);
    expect(raw(f2, count('m2')) / raw(f1, count('m1'))).toBeLessThan(1.3 * 1.06);
    const lnRaw = Object.entries(enc.pairs!).map(([k, f]) => Math.log(raw(f, rows.filter((r) => `${r.modelId}|${r.chip}` === k).length)));
    expect(enc.pairSigma).toBeCloseTo(Math.sqrt(lnRaw.reduce((t, x) => t + x * x, 0) / lnRaw.length), 12);
  });

  it('raises the total\'s queueing prior of that pair only; the i/o and compute models\' rows are as without a model id', () => {
    const req = { chip: 'chip-a', server: 'a1', prior: { p50: 40, p90: 60 }, input_bytes: 49 * 1024, batch_size: 1, load: [0.3, 0.3, 0.2, 1, 2, 5] };
    const q = TELEMETRY_FEATURES.indexOf('ln_queued_total_p50_ms');
    const plain = featureRow(enc, req);
    const own = featureRowFor(enc, { ...req, modelId: 'm2' }, target('total_ms_p50'));
    const mate = featureRowFor(enc, { ...req, modelId: 'm1' }, target('total_ms_p50'));
    // The median total is i/o + compute at this idle-ish load (no wait at queue depth 1 on a1's lowest decile): the
    // factor moves it by about the compute's share.
    expect(own[q]!).toBeGreaterThan(mate[q]! + Math.log(1.15));
    // Only the three quantile features change.
    const changed = [...own.keys()].filter((i) => own[i] !== plain[i]).map((i) => TELEMETRY_FEATURES[i]);
    expect(changed).toEqual(['ln_queued_total_p50_ms', 'ln_queued_total_p90_ms', 'ln_queued_total_p99_ms']);
    for (const kind of ['io_ms_p50', 'compute_ms_p50']) expect([...featureRowFor(enc, { ...req, modelId: 'm2' }, target(kind))]).toEqual([...plain]);
    // A pair the rows lack: its median as without a model id, its tail wider by the spread over pairs.
    const unseen = featureRowFor(enc, { ...req, modelId: 'm9' }, target('total_ms_p99'));
    expect(unseen[q]).toBe(plain[q]);
    for (const f of ['ln_queued_total_p90_ms', 'ln_queued_total_p99_ms'] as const) expect(unseen[TELEMETRY_FEATURES.indexOf(f)]!, f).toBeGreaterThan(plain[TELEMETRY_FEATURES.indexOf(f)]!);
  });
});

describe('training a tree at a time (the retraining schedule inside pipeline run)', () => {
  it('pauses while building feature rows (every 256) and after each tree, and returns the model trainTelemetryModel returns', () => {
    const rows = synthRows(600, 11);
    const rounds = trainTelemetryModelRounds(target('compute_ms_p50'), rows, 1);
    let pauses = 0;
    let r = rounds.next();
    for (; !r.done; r = rounds.next()) pauses++;
    const whole = trainTelemetryModel(target('compute_ms_p50'), rows, 1);
    expect(JSON.stringify(r.value)).toBe(JSON.stringify(whole));
    expect(whole.gbt.trees.length).toBeGreaterThan(0);
    // 600 rows: 2 pauses in the feature rows; then the trees of the pair-held-out fit and of the refit (≥ one each).
    expect(pauses).toBeGreaterThanOrEqual(2 + whole.gbt.trees.length);
  });
});

describe('telemetry model file', () => {
  let model: ReturnType<typeof trainTelemetryModel>;
  let bytes: Uint8Array;
  beforeAll(() => {
    model = trainTelemetryModel(target('total_ms_p90'), synthRows(600, 11), 1);
    bytes = exportTelemetryModel(model);
  });

  it('stores the encoding and target in the ONNX metadata (round trip)', () => {
    // The total models are the queueing prior plus a constant (TOTAL_MS_TREES = 0); the metadata round trip holds either way.
    expect(model.gbt.trees.length).toBe(TOTAL_MS_TREES);
    const back = telemetryEncodingOf(bytes);
    expect(back.target).toEqual(target('total_ms_p90'));
    expect(back.encoding).toEqual(model.encoding);
    expect(back.encoding).toEqual(fitEncoding(synthRows(600, 11)));
  });

  it('refuses a foreign ONNX file (no edgelat metadata) and one made for another feature list', () => {
    const foreign = exportGbtToOnnx(trainGbt([[1], [2], [3]], [4, 5, 6], { loss: { kind: 'l2' }, nTrees: 0 }));
    expect(() => telemetryEncodingOf(foreign)).toThrow('model file has no edgelat.target metadata: not an edgelat telemetry model');
    const other = exportGbtToOnnx(model.gbt, '1', {
      'edgelat.target': JSON.stringify(model.target), 'edgelat.features': JSON.stringify(['a', 'b']), 'edgelat.encoding': JSON.stringify(model.encoding),
    });
    expect(() => telemetryEncodingOf(other)).toThrow(/features \["a","b"\] differ .*retrain it/);
  });

  it('ONNX output + offset feature equals predictTelemetryLn within 1e-4 relative (ms), on known and unknown chips', async () => {
    const rowsKnown = synthRows(600, 11);
    const rowsNew = synthRows(400, 12, ['chip-a', 'chip-b', 'chip-z']);
    const X = [...rowsKnown, ...rowsNew].map((r) => featureRow(model.encoding, r));
    const scorer = await OnnxScorer.load(bytes);
    try {
      const out = await scorer.predict(X);
      const off = offsetFeature(model.target);
      let worst = 0;
      X.forEach((x, i) => {
        const want = Math.exp(predictTelemetryLn(model, x));
        const got = Math.exp(x[off]! + out[i]!);
        worst = Math.max(worst, Math.abs(got - want) / want);
      });
      expect(worst).toBeLessThanOrEqual(1e-4);
    } finally {
      await scorer.close();
    }
  });
});

describe('telemetry warehouse contracts', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('telemetry');
  });
  afterAll(async () => {
    await w?.close();
  });

  it('train() gives its trees, rows and seed as metrics (the registry\'s train_trees, train_train_rows, train_seed)', async () => {
    const { metrics } = await telemetryTrainer(w, target('compute_ms_p50')).train(synthRows(300, 5), 7);
    expect(metrics).toEqual({ trees: expect.any(Number), train_rows: 300, seed: 7 });
    expect(metrics.trees).toBeGreaterThan(0);
  });

  /*
   * A model without trees predicts offset + base exactly (base 0.5 is exact in float32), so the
   * prediction of each request is known; the truths are that prediction × f. Then r = ln(truth) − pred = ln f,
   * pinball = mean ρ_α(ln f), coverage = share of f ≤ 1, MAPE = mean |1 − f| / f, acc10 = share |1 − f| / f ≤ 0.1.
   */
  it.each([
    ['io_ms_p50', 'io_ms'], ['total_ms_p99', 'total_ms'], ['compute_ms_p50', 'compute_ms'],
  ] as const)('score(%s) returns the pinball loss, coverage and (for medians) MAPE of its closed forms', async (kind, column) => {
    const t = target(kind);
    const enc = fitEncoding(synthRows(200, 3));
    const base = 0.5;
    const gbt: GbtModel = { base, trees: [], featureCount: TELEMETRY_FEATURES.length, loss: { kind: 'quantile', alpha: t.alpha }, trainLoss: [], validLoss: [] };
    const bytes = exportTelemetryModel({ target: t, gbt, encoding: enc });
    const f = [0.5, 0.95, 1.05, 1.2, 2, 0.8];
    const rows = synthRows(f.length, 4).map((r, i) => {
      const predMs = Math.exp(featureRow(enc, r)[offsetFeature(t)]! + base);
      return { ...r, [column]: predMs * f[i]! };
    });
    const { loss, metrics } = await telemetryTrainer(w, t).score(bytes, rows);
    const rho = (u: number): number => (u >= 0 ? t.alpha * u : (t.alpha - 1) * u);
    const pinball = f.reduce((s, v) => s + rho(Math.log(v)), 0) / f.length;
    expect(loss).toBeCloseTo(pinball, 6);
    expect(metrics.pinball).toBeCloseTo(pinball, 6);
    expect(metrics.coverage).toBe(3 / 6); // f ≤ 1: 0.5, 0.95, 0.8
    expect(metrics.rows).toBe(6);
    if (t.alpha === 0.5) {
      expect(metrics.mape).toBeCloseTo(f.reduce((s, v) => s + Math.abs(1 - v) / v, 0) / f.length, 6);
      expect(metrics.acc10).toBe(2 / 6); // |1 − f|/f: 1, 0.053, 0.048, 0.167, 0.5, 0.25
    } else {
      expect(metrics.mape).toBeUndefined();
    }
  });

  it('importBenchmarkCut writes p50 and p90 per MLPerf run, and loadPriors is the median over systems of each', async () => {
    // The cut by hand: model and chip are the first two columns; p50_ms and p90_ms the 4th and 3rd from the end
    // (the system names in between may hold quoted commas).
    const lines = readFileSync(BENCHMARK_CUT, 'utf8').split('\n').filter((l) => l.trim() !== '');
    expect(lines[0]!.split(',').slice(-4)).toEqual(['p50_ms', 'p90_ms', 'mean_ms', 'source_file']);
    const byPair = new Map<string, { p50: number[]; p90: number[] }>();
    for (const l of lines.slice(1)) {
      const c = l.split(',');
      const key = `${c[0]}|${c[1]}`;
      const e = byPair.get(key) ?? { p50: [], p90: [] };
      e.p50.push(Number(c.at(-4)));
      e.p90.push(Number(c.at(-3)));
      byPair.set(key, e);
    }
    expect(await importBenchmarkCut(w)).toBe(2 * (lines.length - 1));
    const priors = await loadPriors(w);
    expect([...priors.keys()].sort()).toEqual([...byPair.keys()].sort());
    const sorted = (v: number[]): number[] => [...v].sort((a, b) => a - b);
    let odd = 0;
    for (const [key, e] of byPair) {
      const got = priors.get(key)!;
      for (const [q, values] of [['p50', sorted(e.p50)], ['p90', sorted(e.p90)]] as const) {
        const n = values.length;
        if (n % 2 === 1) {
          expect(got[q], `${key} ${q}`).toBe(values[(n - 1) / 2]);
        } else {
          // Even count: a value between the two middle ones (see the report on which one).
          expect(got[q], `${key} ${q}`).toBeGreaterThanOrEqual(values[n / 2 - 1]!);
          expect(got[q], `${key} ${q}`).toBeLessThanOrEqual(values[n / 2]!);
        }
      }
      if (e.p50.length % 2 === 1) odd++;
    }
    expect(odd).toBeGreaterThanOrEqual(5); // 7 pairs of the cut have an odd number of systems
    // resnet50 on the Odroid N2+: p50 of three systems 281.314, 278.266, 290.628 → 281.314.
    expect(priors.get('resnet50|odroid-n2plus-s922x')!.p50).toBe(281.314);
    // Importing again replaces, it does not add systems (ReplacingMergeTree read with FINAL).
    await importBenchmarkCut(w);
    expect(await loadPriors(w)).toEqual(priors);
  });

  it('loadPriors keeps SingleStream only and needs both percentiles', async () => {
    const db = await createTestDatabase('priors');
    try {
      const r = (model_id: string, chip: string, system: string, percentile: number, latency_ms: number, scenario = 'SingleStream') =>
        ({ source: 'hand', model_id, device: system, chip, batch: 1, scenario, percentile, latency_ms, system });
      await db.insert(`${db.database}.benchmark_latency`, [
        // m1 on c1: three systems (p50 5, 9, 7 → 7; p90 8, 20, 10 → 10) and an Offline run that must not count.
        r('m1', 'c1', 's1', 0.5, 5), r('m1', 'c1', 's2', 0.5, 9), r('m1', 'c1', 's3', 0.5, 7),
        r('m1', 'c1', 's1', 0.9, 8), r('m1', 'c1', 's2', 0.9, 20), r('m1', 'c1', 's3', 0.9, 10),
        r('m1', 'c1', 's4', 0.5, 1000, 'Offline'), r('m1', 'c1', 's4', 0.9, 2000, 'Offline'),
        // m1 on c2: five other systems (a device has one chip: the table's key has no chip) (p50 → 3, p90 → 4).
        ...[1, 2, 3, 4, 100].map((v, i) => r('m1', 'c2', `t${i}`, 0.5, v)), ...[2, 3, 4, 5, 200].map((v, i) => r('m1', 'c2', `t${i}`, 0.9, v)),
        // m2 on c1: no p90, so no prior.
        r('m2', 'c1', 's1', 0.5, 3),
      ]);
      const priors = await loadPriors(db);
      expect(Object.fromEntries(priors)).toEqual({ 'm1|c1': { p50: 7, p90: 10 }, 'm1|c2': { p50: 3, p90: 4 } });
      // An MLPerf import (p90 only) of the same systems and of others moves no prior (a trial: the p90 median took
      // them, the p50 median did not, and predictions moved with nothing retrained).
      const mlperf = (chip: string, system: string, ms: number) => ({ ...r('m1', chip, system, 0.9, ms), source: 'mlperf' });
      await db.insert(`${db.database}.benchmark_latency`, [mlperf('c1', 's1', 8), mlperf('c1', 's2', 20), mlperf('c1', 'x1', 50), mlperf('c1', 'x2', 60), mlperf('c2', 'y1', 900)]);
      expect(Object.fromEntries(await loadPriors(db))).toEqual({ 'm1|c1': { p50: 7, p90: 10 }, 'm1|c2': { p50: 3, p90: 4 } });
    } finally {
      await db.close();
    }
  });
});

describe('scheduledRunTimes', () => {
  const at = (iso: string): number => Date.parse(iso);
  it.each([
    // The demo: 10:00 start, cron every 10 minutes → the boundaries in (start, end].
    ['*/10 * * * *', '2024-06-01T10:00:00Z', '2024-06-01T10:20:00Z', ['10:10', '10:20']],
    ['*/10 * * * *', '2024-06-01T10:00:00Z', '2024-06-01T10:12:00Z', ['10:10']],
    ['*/10 * * * *', '2024-06-01T10:00:00Z', '2024-06-01T10:10:00Z', ['10:10']],
    ['*/10 * * * *', '2024-06-01T10:00:00Z', '2024-06-01T10:09:59.999Z', []],
    ['*/10 * * * *', '2024-06-01T10:10:00Z', '2024-06-01T10:35:00Z', ['10:20', '10:30']],
    ['*/10 * * * *', '2024-06-01T10:09:59.999Z', '2024-06-01T10:10:00Z', ['10:10']],
  ])('%s in (%s, %s] → %j', (cron, from, to, hhmm) => {
    expect(scheduledRunTimes(cron, at(from), at(to))).toEqual(hhmm.map((t) => at(`2024-06-01T${t}:00Z`)));
  });

  it('0 3 * * *: 03:00 UTC each day, across a month end; limit caps the list', () => {
    const days = ['2024-06-29', '2024-06-30', '2024-07-01', '2024-07-02'];
    expect(scheduledRunTimes('0 3 * * *', at('2024-06-28T03:00:00Z'), at('2024-07-02T03:00:00Z'))).toEqual(days.map((d) => at(`${d}T03:00:00Z`)));
    expect(scheduledRunTimes('0 3 * * *', at('2024-06-28T03:00:00Z'), at('2024-07-02T02:59:59Z'))).toEqual(days.slice(0, 3).map((d) => at(`${d}T03:00:00Z`)));
    expect(scheduledRunTimes('0 3 * * *', at('2024-06-28T00:00:00Z'), at('2024-12-31T00:00:00Z'), 2)).toEqual(['2024-06-28', '2024-06-29'].map((d) => at(`${d}T03:00:00Z`)));
  });

  it('refuses an invalid expression, naming it', () => {
    expect(() => scheduledRunTimes('nonsense', 0, 1)).toThrow(RangeError);
    expect(() => scheduledRunTimes('nonsense', 0, 1)).toThrow(/"nonsense"/);
  });
});

describe('EDGELAT_RETRAIN_* configuration', () => {
  it('defaults: no schedule, a 7-day window', () => {
    const c = loadConfig({});
    expect([c.retrainCron, c.retrainWindowMs, c.retrainKeep]).toEqual([null, 7 * 24 * 3_600_000, null]);
  });

  it('reads EDGELAT_RETRAIN_KEEP, 0 too (the champions alone keep their files)', () => {
    // With the schedule it applies to (alone it is warned of: test/unit/services/config.test.ts).
    const cron = { EDGELAT_RETRAIN_CRON: '0 3 * * *' };
    expect([loadConfig({ ...cron, EDGELAT_RETRAIN_KEEP: '5' }).retrainKeep, loadConfig({ ...cron, EDGELAT_RETRAIN_KEEP: ' 0' }).retrainKeep]).toEqual([5, 0]);
  });

  it('reads a cron whose times are all past (the demo replays its schedule in 2024 event time)', () => {
    expect(loadConfig({ EDGELAT_RETRAIN_CRON: '0 0 0 * * * 2024' }).retrainCron).toBe('0 0 0 * * * 2024');
  });

  it('reads a valid cron and window', () => {
    const c = loadConfig({ EDGELAT_RETRAIN_CRON: '0 3 * * *', EDGELAT_RETRAIN_WINDOW_MS: '3600000' });
    expect([c.retrainCron, c.retrainWindowMs]).toEqual(['0 3 * * *', 3_600_000]);
    expect(loadConfig({ EDGELAT_RETRAIN_CRON: '*/10 * * * *' }).retrainCron).toBe('*/10 * * * *');
  });

  it.each([
    [{ EDGELAT_RETRAIN_CRON: 'nonsense' }, /EDGELAT_RETRAIN_CRON="nonsense": must be a cron expression/],
    // A nickname's @ is shown as given, not cut as a URL's credentials (a trial: "…@every 5m").
    [{ EDGELAT_RETRAIN_CRON: '@every 5m' }, /EDGELAT_RETRAIN_CRON="@every 5m": must be a cron expression/],
    // Credentials before an @ are still cut (a re-test: shown whole once the cron's @ was let through).
    [{ EDGELAT_RETRAIN_CRON: 'u:pw@h.example:9092' }, /EDGELAT_RETRAIN_CRON="…@h\.example:9092": must be a cron expression/],
    // croner's reason, not "5 to 7 fields" (a trial: the expression has 5)
    [{ EDGELAT_RETRAIN_CRON: '61 * * * *' }, /EDGELAT_RETRAIN_CRON="61 \* \* \* \*": must be a cron expression of 5 to 7 fields, e\.g\. "0 \* \* \* \*" \(hourly\): Invalid value for minute: 61$/],
    // valid, and never fires (30 February): refused, as a schedule that never retrains
    [{ EDGELAT_RETRAIN_CRON: '0 0 30 2 *' }, /EDGELAT_RETRAIN_CRON="0 0 30 2 \*": matches no time at all/],
    [{ EDGELAT_RETRAIN_WINDOW_MS: '1000' }, /EDGELAT_RETRAIN_WINDOW_MS="1000"/],
    [{ EDGELAT_RETRAIN_KEEP: '-1' }, /EDGELAT_RETRAIN_KEEP="-1": must be 0 to 1000000/],
    [{ EDGELAT_RETRAIN_KEEP: 'all' }, /EDGELAT_RETRAIN_KEEP="all": must be a whole number in decimal digits, 0 to 1000000/],
  ])('rejects %j with a ConfigError naming the variable', (env, pattern) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(pattern);
  });
});
