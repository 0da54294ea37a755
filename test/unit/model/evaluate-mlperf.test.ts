/**
 * MLPerf leave-one-system-out evaluation (issue 5, D1): the baseline's
 * additive fit against the closed form of a balanced two-way table, the
 * ranking metrics on a hand-made case, the mixture point estimates, and the
 * protocol on a fixed cut of the real data (test/fixtures/mlperf-loso/).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectedColumnBlocks, fitAdditive } from '../../../services/model/additive-fit.ts';
import {
  additiveBaseline, evaluateMlperf, holdOut, rankingMetrics, type ScoredRow,
} from '../../../services/model/evaluate-mlperf.ts';
import type { BenchmarkRow } from '../../../services/model/import-mlperf.ts';
import { parseMlperf } from '../../../services/model/import-mlperf.ts';
import {
  isotropicRestrictedLogLikelihood, lowRankRestrictedLogLikelihood, mixtureLogExpectation, mixtureLogMapePoint, restrictedLogLikelihood,
} from '../../../services/model/lognormal-mixture.ts';
import { frameworkFamily, isaOf, parseMlperfSystems, type SystemFeatures } from '../../../services/model/mlperf-systems.ts';
import { analogyTriples } from '../../../services/model/system-prior.ts';
import { fitSystemTransfer, precisionClassOf, predictSystem, predictUnmeasured } from '../../../services/model/system-transfer.ts';
import { createRng } from '../../../services/simulator/prng.ts';
import { formatMlperfReport } from '../../../services/cli/benchmark.ts';

const FIXTURE = new URL('../../fixtures/mlperf-loso/', import.meta.url);
const read = (file: string) => ({ file, text: fs.readFileSync(new URL(file, FIXTURE), 'utf8') });
const runs = [read('runs_v2.1.csv'), read('runs_v3.0.csv')];
const systems = [read('systems_v2.1.csv'), read('systems_v3.0.csv')];

const row = (system: string, model_id: string, latency_ms: number): BenchmarkRow => ({
  source: 'mlperf', model_id, device: system, chip: 'c', batch: 1, scenario: 'SingleStream', percentile: 0.9, latency_ms, system,
});

describe('baseline additive fit', () => {
  // A complete balanced R×C table: least squares a_r + b_c equals
  // grand mean + (row mean − grand mean) + (column mean − grand mean).
  const R = 7;
  const C = 5;
  const rng = createRng(11, 'balanced');
  const y = Array.from({ length: R }, () => Array.from({ length: C }, () => rng.normal() * 2));
  const grand = y.flat().reduce((a, b) => a + b, 0) / (R * C);
  const rowMean = y.map((r) => r.reduce((a, b) => a + b, 0) / C);
  const colMean = Array.from({ length: C }, (_, c) => y.reduce((a, r) => a + r[c]!, 0) / R);
  const closed = (r: number, c: number): number => rowMean[r]! + colMean[c]! - grand;

  it('fitAdditive equals the closed form to 1e-9', () => {
    const cells = y.flatMap((r, i) => r.map((v, j) => ({ i, j, v })));
    const f = fitAdditive({ row: cells.map((c) => c.i), col: cells.map((c) => c.j), y: cells.map((c) => c.v), nRows: R, nCols: C });
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) expect(Math.abs(f.a[r]! + f.b[c]! - closed(r, c))).toBeLessThan(1e-9);
  });

  it('additiveBaseline (training rows + shots) predicts the held-out row of the closed form', () => {
    const train = y.slice(1).flatMap((r, i) => r.map((v, j) => row(`s${i + 1}`, `m${j}`, Math.exp(v))));
    const shots = y[0]!.map((v, j) => row('s0', `m${j}`, Math.exp(v)));
    const pred = additiveBaseline(train, 's0', shots, shots.map((s) => s.model_id));
    pred.forEach((p, c) => expect(Math.abs(Math.log(p) - closed(0, c))).toBeLessThan(1e-9));
  });

  it('connected column blocks: effects are comparable only within a block', () => {
    const b = connectedColumnBlocks([[0, 1], [2], [1, 3]], 5);
    expect(b[0]).toBe(b[1]);
    expect(b[3]).toBe(b[0]);
    expect(b[2]).not.toBe(b[0]);
    expect(b[4]).toBe(-1);
  });

  it('a model no training system measured gets the geometric mean of the shots', () => {
    const [p] = additiveBaseline([row('a', 'm1', 1), row('a', 'm2', 2)], 'h', [row('h', 'm1', 2), row('h', 'm2', 8)], ['new']);
    expect(p).toBeCloseTo(4, 12);
  });
});

describe('rankingMetrics', () => {
  const r = (system: string, model_id: string, predicted_ms: number, measured_ms: number): ScoredRow => ({ system, model_id, predicted_ms, measured_ms });
  it('picks the predicted fastest and scores top-1, within-10 % and regret', () => {
    const m = rankingMetrics([
      // A: pick s1 (measured 2, fastest 1): not top-1, not within 10 %, regret 2.
      r('s1', 'A', 1, 2), r('s2', 'A', 2, 1), r('s3', 'A', 3, 3),
      // B: pick s2 (10.5 vs fastest 10): not top-1, within 10 %, regret 1.05.
      r('s1', 'B', 5, 10), r('s2', 'B', 4, 10.5), r('s3', 'B', 6, 11),
      // C: pick s1, the fastest: regret 1.
      r('s1', 'C', 1, 1), r('s2', 'C', 2, 2), r('s3', 'C', 3, 3),
      // D: exactly 1.10 × the fastest counts as within 10 %; regret 1.1.
      r('s1', 'D', 1, 11), r('s2', 'D', 2, 10), r('s3', 'D', 3, 12),
      // E: only 2 scored systems, not ranked.
      r('s1', 'E', 1, 100), r('s2', 'E', 2, 1),
    ]);
    expect(m.models_ranked).toBe(4);
    expect(m.top1_agreement).toBeCloseTo(1 / 4, 12);
    expect(m.top1_within10).toBeCloseTo(3 / 4, 12);
    expect(m.mean_regret).toBeCloseTo((2 + 1.05 + 1 + 1.1) / 4, 12);
  });
  it('is NaN with no ranked model', () => {
    expect(rankingMetrics([r('s1', 'A', 1, 1)]).top1_within10).toBeNaN();
  });
});

describe('log-normal mixture', () => {
  it('MAPE point of one log-normal is exp(μ − σ²); expectation exp(μ + σ²/2)', () => {
    expect(mixtureLogMapePoint([{ w: 1, mu: 1.5, v: 0.2 }])).toBeCloseTo(1.3, 6);
    expect(mixtureLogExpectation([{ w: 2, mu: 1.5, v: 0.2 }])).toBeCloseTo(1.6, 12);
  });
  it('restricted likelihood with Σ = vI matches the closed form', () => {
    const e = [0.3, -0.1, 0.5];
    const v = 0.07;
    const ss = e.reduce((a, x) => a + (x - 0.7 / 3) ** 2, 0);
    const I = e.map((_, i) => e.map((__, j) => (i === j ? v : 0)));
    expect(restrictedLogLikelihood(e, I)).toBeCloseTo(isotropicRestrictedLogLikelihood(3, ss, v), 10);
    // Offset-free: adding a constant to every residual changes nothing.
    expect(restrictedLogLikelihood(e.map((x) => x + 5), I)).toBeCloseTo(restrictedLogLikelihood(e, I), 10);
  });
  it('the Woodbury form equals the contrast form for Σ = vI + WWᵀ', () => {
    const e = [0.3, -0.1, 0.5, 0.05];
    const W = [[0.2, -0.4], [0.1, 0.3], [-0.5, 0.2], [0.3, 0.1]];
    const v = 0.05;
    const S = W.map((a, i) => W.map((b, j) => (i === j ? v : 0) + a[0]! * b[0]! + a[1]! * b[1]!));
    expect(lowRankRestrictedLogLikelihood(e, v, W)).toBeCloseTo(restrictedLogLikelihood(e, S), 9);
    expect(lowRankRestrictedLogLikelihood(e, v, e.map(() => []))).toBeCloseTo(restrictedLogLikelihood(e, S.map((r, i) => r.map((_, j) => (i === j ? v : 0)))), 9);
  });
});

describe('system features', () => {
  it('frameworks, backends and instruction sets', () => {
    expect(frameworkFamily('ArmNN v22.05 (OpenCL)')).toBe('armnn');
    expect(frameworkFamily('JetPack 4.6, TensorRT 8.0.1, CUDA 10.2')).toBe('tensorrt');
    expect(frameworkFamily('', 'A100-PCIex1_TRT_Triton')).toBe('tensorrt');
    expect(isaOf('intel-xeon-8380')).toBe('x86');
    expect(isaOf('aws-graviton')).toBe('arm');
    const f = parseMlperfSystems(systems).get('v2.1/open/Krai/firefly-armnn-v22.05-opencl')!;
    expect([f.framework, f.stack, f.chip, f.isa]).toEqual(['armnn', 'armnn:opencl', 'arm-mali-g610-mp4', 'arm']);
  });
});

describe('leave-one-system-out on test/fixtures/mlperf-loso', () => {
  const rows = parseMlperf(runs, systems).benchmark;
  const features = parseMlperfSystems(systems);
  const target = 'v3.0/open/Krai/orin-armnn-v22.11-neon';

  it('beats the baseline on MAPE and scores every system with more than 3 results', () => {
    const progress: number[] = [];
    const r = evaluateMlperf(runs, systems, { seed: 1, onProgress: (done) => progress.push(done) });
    const counts = new Map<string, number>();
    for (const x of rows) counts.set(x.system, (counts.get(x.system) ?? 0) + 1);
    const scored = [...counts].filter(([, n]) => n > 3);
    expect(r.systems.map((s) => s.system)).toEqual(scored.map(([s]) => s).sort());
    for (const s of r.systems) expect(s.n_test).toBe(counts.get(s.system)! - 3);
    expect(progress.at(-1)).toBe(scored.length);
    expect(r.mape).toBeLessThan(r.baseline.mape);
    expect(r.mape).toBeLessThan(0.6 * r.baseline.mape);
    expect(r.models_ranked).toBeGreaterThan(50);
    for (const v of [r.acc10, r.top1_agreement, r.top1_within10, r.baseline.acc10]) expect(v).toBeGreaterThanOrEqual(0);
    expect(r.mean_regret).toBeGreaterThanOrEqual(1);
    // The stated log-sd's calibration: shares of |z| within 1 and 2, over every test row (the whole data: 0.86 and 0.96).
    expect(r.sd_coverage.within_1sd).toBeGreaterThan(0.5);
    expect(r.sd_coverage.within_2sd).toBeGreaterThanOrEqual(r.sd_coverage.within_1sd);
    expect(r.sd_coverage.within_2sd).toBeLessThanOrEqual(1);
  }, 20_000);

  it("never reads the held-out system's test latencies", () => {
    const a = holdOut(rows, features, target, 1, 3);
    const shotModels = new Set(a.shots.map((s) => s.model_id));
    const perturbed = rows.map((x) => (x.system === target && !shotModels.has(x.model_id) ? { ...x, latency_ms: x.latency_ms * 7.3 } : x));
    const b = holdOut(perturbed, features, target, 1, 3);
    expect(b.shots).toEqual(a.shots);
    expect(b.edgelat.map((x) => x.predicted_ms)).toEqual(a.edgelat.map((x) => x.predicted_ms));
    expect(b.point_ms).toEqual(a.point_ms);
    expect(b.baseline.map((x) => x.predicted_ms)).toEqual(a.baseline.map((x) => x.predicted_ms));
    expect(b.edgelat.map((x) => x.measured_ms)).toEqual(a.edgelat.map((x) => x.measured_ms * 7.3));
    // The shots do matter.
    const shifted = rows.map((x) => (x.system === target && shotModels.has(x.model_id) ? { ...x, latency_ms: x.latency_ms * 2 } : x));
    const c = holdOut(shifted, features, target, 1, 3);
    expect(c.edgelat[0]!.predicted_ms).not.toBeCloseTo(a.edgelat[0]!.predicted_ms, 6);
  });

  it('draws the shots from the seed and is deterministic', () => {
    const a = holdOut(rows, features, target, 1, 3);
    expect(holdOut(rows, features, target, 1, 3)).toEqual(a);
    expect(holdOut(rows, features, target, 2, 3).shots).not.toEqual(a.shots);
  });

  it('--draws repeats the evaluation with seeds seed..seed+n-1 and summarises them', () => {
    const two = evaluateMlperf(runs, systems, { seed: 1, draws: 2 });
    const second = evaluateMlperf(runs, systems, { seed: 2 });
    expect(two.draws?.map((d) => d.seed)).toEqual([1, 2]);
    const [d1, d2] = two.draws!;
    // The first draw is the report itself; the second equals a separate run with seed 2.
    expect([d1!.mape, d1!.top1_within10, d1!.mean_regret, d1!.baseline_mape]).toEqual([two.mape, two.top1_within10, two.mean_regret, two.baseline.mape]);
    expect([d2!.mape, d2!.acc10, d2!.top1_agreement, d2!.top1_within10, d2!.mean_regret]).toEqual([second.mape, second.acc10, second.top1_agreement, second.top1_within10, second.mean_regret]);
    expect(d2!.mape_ratio).toBeCloseTo(second.mape / second.baseline.mape, 12);
    expect(second.mape).not.toBe(two.mape);
    expect(two.over_draws!.mean.mape).toBeCloseTo((two.mape + second.mape) / 2, 12);
    expect(two.over_draws!.min.mean_regret).toBe(Math.min(two.mean_regret, second.mean_regret));
    expect(two.over_draws!.max.top1_within10).toBe(Math.max(two.top1_within10, second.top1_within10));
    expect(evaluateMlperf(runs, systems, { seed: 1, system: target }).draws).toBeUndefined();
    expect(() => evaluateMlperf(runs, systems, { seed: 1, draws: 0 })).toThrow(/--draws: expected an integer 1\.\.100, got 0/);
    expect(() => evaluateMlperf(runs, systems, { seed: 1, draws: 1.5 })).toThrow(/--draws/);
  }, 40_000);

  it('rejects an unknown or unscored --system', () => {
    expect(() => evaluateMlperf(runs, systems, { seed: 1, system: 'v9.9/open/Nobody/none' })).toThrow(/unknown system "v9\.9\/open\/Nobody\/none"/);
    // A slip of case is answered with the system's own spelling first (a trial: no names were offered).
    expect(() => evaluateMlperf(runs, systems, { seed: 1, system: target.toUpperCase() })).toThrow(`; nearest with results (version/division/submitter/system_id): ${target}`);
    // Unscored: no more results than shots (the fixture's systems all have more than 3, so the shots are raised to its count).
    const n = rows.filter((x) => x.system === target).length;
    expect(n).toBeGreaterThan(3);
    expect(() => evaluateMlperf(runs, systems, { seed: 1, system: target, shots: n })).toThrow(`--system: system "${target}" is not scored: it has ${n} result(s), and a scored system needs more than shots = ${n}`);
    const one = evaluateMlperf(runs, systems, { seed: 1, system: target });
    expect(one.systems).toHaveLength(1);
    expect(one.models_ranked).toBe(0);
  });

  it('prints "-" for ranking figures that one held-out system cannot have (not "NaN %")', () => {
    const text = formatMlperfReport(evaluateMlperf(runs, systems, { seed: 1, system: target }), { seed: 1, shots: 3 });
    expect(text).not.toMatch(/NaN/);
    expect(text).toMatch(/edgelat +\d+\.\d % +\d+\.\d % +- +- +-/);
  });

  it('names the input lines it skips (a runs file cut mid-row)', () => {
    const lines = runs[0]!.text.split('\n');
    const cut = { file: 'cut.csv', text: `${lines.slice(0, 40).join('\n')}\n${lines[40]!.slice(0, 30)}` };
    const seen: { file: string; line: number; message: string }[] = [];
    evaluateMlperf([cut, runs[1]!], systems, { seed: 1, system: target, onProblems: (p) => seen.push(...p) });
    expect(seen).toEqual([expect.objectContaining({ file: 'cut.csv', line: 41, message: expect.stringMatching(/expected \d+ fields, found \d+/) })]);
  });

  it('predicts a model where it was not measured, with its support', () => {
    const rest = rows.filter((x) => !(x.system === target && x.model_id === 'resnet50'));
    const p = predictUnmeasured(rest, features, { system: target }, 'mobilenet-v1-1.0-224-quantized');
    expect(p.measured).toBe(true);
    const q = predictUnmeasured(rows.filter((x) => !(x.chip === 'jetson-agx-orin-cpu' && x.model_id === 'efficientnet-lite4-quantized')), features, { chip: 'jetson-agx-orin-cpu' }, 'efficientnet-lite4-quantized');
    expect(q.measured).toBe(false);
    expect(q.target_rows).toBeGreaterThan(100);
    expect(q.model_rows).toBeGreaterThan(10);
    const truth = rows.filter((x) => x.chip === 'jetson-agx-orin-cpu' && x.model_id === 'efficientnet-lite4-quantized').map((x) => x.latency_ms);
    const gm = Math.exp(truth.reduce((a, b) => a + Math.log(b), 0) / truth.length);
    expect(Math.abs(Math.log(q.latency_ms / gm))).toBeLessThan(0.35);
  });

  it('predictSystem needs no shots in a block to answer (geometric mean fallback)', () => {
    const tm = fitSystemTransfer(rows.filter((x) => x.system !== target), features);
    const [p] = predictSystem(tm, features.get(target)!, [{ model_id: 'unknown-model', latency_ms: 4 }], ['resnet50']);
    expect(p!.latency_ms).toBeCloseTo(4, 9);
    expect(p!.shots).toBe(0);
  });
});

describe('precisionClassOf', () => {
  it('reads the precision a model-zoo id names (0 when none)', () => {
    expect(['mobilenet_v2_1.0_224_uint8', 'efficientnet-lite0-non-quantized', 'mobilenet-edge_fp32', 'mobilenet_v3_int8', 'mobilenet-quantized', 'resnet50', 'bert'].map(precisionClassOf))
      .toEqual([1, 2, 2, 3, 3, 0, 0]);
  });
});

describe('analogy twins (difference in differences)', () => {
  const feat = (chip: string, stack: string, round = 'v3.0'): SystemFeatures => ({
    system: `${round}/open/Lab/${chip}-${stack}`, round, division: 'open', submitter: 'Lab', chip, chipKind: 'cpu', vendor: 'v', hostChip: chip,
    isa: 'arm', computeKind: 'cpu', accelerators: 0, framework: stack.split(':')[0]!, stack, systemType: 'edge',
  });

  it('analogyTriples finds (A on the chip, B′ with the software elsewhere, B on B′’s chip with A’s software) and nothing else', () => {
    const fs = [
      feat('x', 'armnn:neon'), // 0: A
      feat('y', 'tflite:ruy'), // 1: B′
      feat('y', 'armnn:neon'), // 2: B
      feat('z', 'tflite:ruy'), // 3: the software on chip z, but chip z has no armnn system
      feat('y', 'armnn:neon', 'v2.1'), // 4: another round is other software
      feat('x', 'tflite:ruy'), // 5: the target itself
    ];
    expect(analogyTriples(fs[5]!, fs, 5)).toEqual([[0, 1, 2]]);
    // Round 2.1's armnn on x would pair with round 2.1's armnn on y.
    expect(analogyTriples(fs[5]!, [...fs, feat('x', 'armnn:neon', 'v2.1')], 5)).toEqual([[0, 1, 2], [6, 1, 4]]);
  });

  it('carries a software change measured on other chips to the target: exact on a table without a three-way interaction', () => {
    // ln ms = chip + model + chip×model + software×model: T − A − B′ + B is constant, so the analogy is exact.
    const random = createRng(7, 'analogy');
    const rng = (): number => random.next();
    const chips = ['w', 'x', 'y', 'z'];
    const stacks = ['tflite:ruy', 'armnn:neon'];
    const models = Array.from({ length: 14 }, (_, m) => `m${m}`);
    const chipEffect = chips.map(() => 2 * rng());
    const modelEffect = models.map(() => 3 * rng());
    const chipModel = chips.map(() => models.map(() => 0.6 * (rng() - 0.5)));
    const softwareModel = stacks.map((_, s) => models.map((_, m) => (s === 1 ? (m % 2 === 0 ? -0.7 : 0.4) + 0.3 * rng() : 0)));
    const features = new Map<string, SystemFeatures>();
    const rows: BenchmarkRow[] = [];
    chips.forEach((c, ci) => stacks.forEach((st, si) => {
      const f = feat(c, st);
      features.set(f.system, f);
      models.forEach((m, mi) => rows.push(row(f.system, m, Math.exp(chipEffect[ci]! + modelEffect[mi]! + chipModel[ci]![mi]! + softwareModel[si]![mi]!))));
    }));
    const target = feat('x', 'armnn:neon').system;
    const truth = new Map(rows.filter((r) => r.system === target).map((r) => [r.model_id, r.latency_ms]));
    const shots = ['m1', 'm3', 'm5'].map((m) => ({ model_id: m, latency_ms: truth.get(m)! }));
    const queries = models.filter((m) => !shots.some((s) => s.model_id === m));
    const maxError = (train: BenchmarkRow[]): number => {
      const tm = fitSystemTransfer(train, features);
      return Math.max(...predictSystem(tm, features.get(target)!, shots, queries).map((p) => Math.abs(p.latency_ms / truth.get(p.model_id)! - 1)));
    };
    const train = rows.filter((r) => r.system !== target);
    const tm = fitSystemTransfer(train, features);
    // Every known quadruple is exact too, so its spread is the floor.
    expect(tm.analogyResVar).toEqual([1e-4, 1e-4, 1e-4, 1e-4, 1e-4]);
    // The shots are all odd models (where armnn is slower); the even ones (faster) come from the other chips' change.
    expect(maxError(train)).toBeLessThan(0.03);
    // Without armnn anywhere else there is no analogy, and the even models are far off.
    const noAnalogy = train.filter((r) => !r.system.endsWith('armnn:neon'));
    expect(fitSystemTransfer(noAnalogy, features).analogyResVar).toEqual([]);
    expect(maxError(noAnalogy)).toBeGreaterThan(0.3);
  });
});
