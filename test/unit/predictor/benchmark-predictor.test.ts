/**
 * The recommender's benchmark predictor (a known model on a chip nobody
 * benchmarked it on): system features from a key alone, and the MLPerf
 * system predictor's answer on a table whose closed form is known —
 * ln ms = chip effect + model effect + stack effect, every cell measured but
 * one, so the missing cell is exactly the sum of its effects.
 */
import { describe, expect, it } from 'vitest';
import { benchmarkPredictor, CHIP_LOG_SD_SCALE, type BenchmarkP90Row } from '../../../services/predictor/benchmark-predictor.ts';
import { chipPredictor } from '../../../services/model/system-transfer.ts';
import { featuresFromKey } from '../../../services/model/mlperf-systems.ts';

describe('featuresFromKey', () => {
  it('reads round, division, submitter, framework and backend from the key', () => {
    expect(featuresFromKey('v3.0/open/Krai/orin-armnn-v22.11-neon', { chip: 'jetson-agx-orin', kind: 'gpu', vendor: 'NVIDIA' })).toEqual({
      system: 'v3.0/open/Krai/orin-armnn-v22.11-neon', round: 'v3.0', division: 'open', submitter: 'Krai', chip: 'jetson-agx-orin', chipKind: 'gpu',
      vendor: 'NVIDIA', hostChip: 'unknown', isa: 'other', computeKind: '', accelerators: 0, framework: 'armnn', stack: 'armnn:neon', systemType: '',
    });
    const trt = featuresFromKey('v4.1/closed/Lenovo/Lenovo_2xL40S_TRT', { chip: 'nvidia-l40s', kind: 'gpu', vendor: 'NVIDIA' });
    expect([trt.framework, trt.stack]).toEqual(['tensorrt', 'tensorrt']);
    // A CPU's instruction set comes from its own id; a system id with '/' keeps it.
    const cpu = featuresFromKey('v2.1/open/cTuning/a/b-tflite', { chip: 'rpi4-cortex-a72', kind: 'cpu', vendor: 'Broadcom' });
    expect([cpu.isa, cpu.framework, cpu.submitter]).toEqual(['arm', 'tflite', 'cTuning']);
    expect(() => featuresFromKey('v3.0/open/Krai', { chip: 'x', kind: 'cpu', vendor: 'V' })).toThrow(/system: expected "round\/division\/submitter\/system_id", got "v3.0\/open\/Krai"/);
  });
});

describe('benchmarkPredictor', () => {
  const chipEffect = [0, 0.7, 1.5, 2.1, 2.8];
  const modelEffect = [0.2, 1.1, 1.9, 2.6, 3.3, 4.0];
  const stacks = [['tflite', 0], ['armnn', 0.15]] as const;
  const chips = new Map(chipEffect.map((_, c) => [`chip-${c}`, { kind: 'cpu', vendor: 'V' }]));
  const truth = (c: number, m: number, s: number): number => Math.exp(chipEffect[c]! + modelEffect[m]! + stacks[s]![1]);
  const rows: BenchmarkP90Row[] = [];
  for (let c = 0; c < chipEffect.length; c++) {
    for (const [s, [stack]] of stacks.entries()) {
      for (let m = 0; m < modelEffect.length; m++) {
        if (c === 4 && m === 5) continue; // nobody benchmarked model-5 on chip-4
        rows.push({ system: `v3.0/open/Sub${s}/board${c}-${stack}`, chip: `chip-${c}`, model_id: `model-${m}`, latency_ms: truth(c, m, s) });
      }
    }
  }
  const predict = benchmarkPredictor(rows, chips);

  it('predicts the missing cell of an additive table from the chip\'s other models (its shots)', () => {
    const p = predict('model-5', 'chip-4')!;
    // The chip's shots are the geometric means over its two stacks: the target is chip-4's mean stack, e^{2.8 + 4.0 + 0.075}.
    const expected = Math.exp(2.8 + 4.0 + 0.075);
    expect(Math.abs(p.p90Ms / expected - 1)).toBeLessThan(0.005);
    expect(p.rows).toBe(8); // model-5 on the other 4 chips, 2 systems each
  });

  it('states the system predictor\'s log-sd times CHIP_LOG_SD_SCALE (held-out chips: 39 % within its one sd, 67 % within twice it)', () => {
    const features = new Map(rows.map((r) => [r.system, featuresFromKey(r.system, { chip: r.chip, kind: 'cpu', vendor: 'V' })]));
    const raw = chipPredictor(rows, features)('chip-4', 'model-5')!;
    expect(raw.log_sd).toBeGreaterThan(0);
    expect(CHIP_LOG_SD_SCALE).toBe(2);
    expect(predict('model-5', 'chip-4')!.logSd).toBeCloseTo(2 * raw.log_sd, 12);
  });

  it('answers null where there is nothing to transfer, or a measurement to use instead', () => {
    expect(predict('model-5', 'chip-3')).toBeNull(); // measured there: benchmark evidence, not a prediction
    expect(predict('model-5', 'chip-9')).toBeNull(); // no rows of the chip
    expect(predict('model-7', 'chip-4')).toBeNull(); // no rows of the model anywhere
    const junk = benchmarkPredictor([{ system: 'not-a-key', chip: 'chip-0', model_id: 'model-0', latency_ms: 1 }], chips);
    expect(junk('model-1', 'chip-0')).toBeNull();
  });
});

describe('benchmarkPredictor without a link', () => {
  it('answers null when the chip\'s benchmarked models never meet the model on a common system', () => {
    // Two blocks: models a-* on chips 0–2, models z-* on chips 3–4; nothing links z-0 to chip-0.
    const rows: BenchmarkP90Row[] = [];
    for (let c = 0; c < 5; c++) {
      for (let m = 0; m < 4; m++) {
        const model = c < 3 ? `a-${m}` : `z-${m}`;
        rows.push({ system: `v3.0/open/S/board${c}-tflite`, chip: `chip-${c}`, model_id: model, latency_ms: Math.exp(c * 0.5 + m) });
      }
    }
    const predict = benchmarkPredictor(rows, new Map());
    expect(predict('z-0', 'chip-0')).toBeNull();
    // Inside a block the prediction stands, with its log-sd.
    const rowsLinked = rows.filter((r) => !(r.chip === 'chip-2' && r.model_id === 'a-3'));
    const inside = benchmarkPredictor(rowsLinked, new Map())('a-3', 'chip-2');
    expect(inside).not.toBeNull();
    expect(Math.abs(inside!.p90Ms / Math.exp(1 + 3) - 1)).toBeLessThan(0.05);
    expect(inside!.logSd).toBeLessThanOrEqual(1);
  });
});
