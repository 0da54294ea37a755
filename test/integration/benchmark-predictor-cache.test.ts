/**
 * The recommender's MLPerf system predictor on a warehouse: read from the
 * benchmark rows as stored (SingleStream, batch 1, p90), fitted once and
 * reused while the benchmark rows and the chip catalog are unchanged, fitted
 * again after an import. The missing cell of an additive table is predicted
 * as its closed form (ln ms = chip + model effects).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedBenchmarkPredictor } from '../../services/predictor/benchmark-predictor.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const chipEffect = [0, 0.6, 1.3, 2.2];
const modelEffect = [0.1, 0.9, 1.8, 2.5, 3.1];
const row = (c: number, m: number, percentile: number, extra: Partial<Record<string, unknown>> = {}) => ({
  source: 'mlperf-test', model_id: `model-${m}`, device: `board${c}`, chip: `chip-${c}`, batch: 1, scenario: 'SingleStream', percentile,
  latency_ms: Math.exp(chipEffect[c]! + modelEffect[m]!) * (percentile === 0.5 ? 0.9 : 1), system: `v3.0/closed/Sub/board${c}-tflite`, ...extra,
});

describe('cachedBenchmarkPredictor', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('benchpred');
    const rows = [];
    for (let c = 0; c < chipEffect.length; c++) {
      for (let m = 0; m < modelEffect.length; m++) {
        if (c === 3 && m === 4) continue; // model-4 was never benchmarked on chip-3
        rows.push(row(c, m, 0.9), row(c, m, 0.5));
      }
    }
    // Rows the predictor must not read: other scenarios and batch sizes.
    rows.push(row(3, 4, 0.9, { scenario: 'Offline', latency_ms: 1 }), row(3, 4, 0.9, { batch: 8, latency_ms: 1 }));
    await w.insert(`${w.database}.benchmark_latency`, rows);
  }, 60_000);
  afterAll(async () => w?.close());

  it('predicts the missing pair from the stored p90 rows, reuses the fit, and refits after an import', async () => {
    const get = cachedBenchmarkPredictor();
    const first = await get(w);
    const p = first('model-4', 'chip-3')!;
    expect(Math.abs(p.p90Ms / Math.exp(2.2 + 3.1) - 1)).toBeLessThan(0.005);
    expect(p.rows).toBe(3);
    expect(first('model-4', 'chip-2')).toBeNull(); // measured there: benchmark evidence
    expect(await get(w)).toBe(first);
    await w.insert(`${w.database}.benchmark_latency`, [row(0, 4, 0.9, { system: 'v3.0/closed/Other/board0-armnn', latency_ms: Math.exp(3.2) })]);
    const second = await get(w);
    expect(second).not.toBe(first);
    expect(second('model-4', 'chip-3')!.rows).toBe(4);
    await w.exec(`INSERT INTO ${w.database}.chips (chip, kind, vendor) VALUES ('chip-3', 'npu', 'X')`);
    const third = await get(w);
    expect(third).not.toBe(second);
    // The same runs from a second source (the demo's MLPerf cut and an MLPerf import hold one run each): counted once.
    const before = third('model-4', 'chip-3')!;
    await w.insert(`${w.database}.benchmark_latency`, [0, 1, 2].map((c) => row(c, 4, 0.9, { source: 'mlperf-copy' })));
    const fourth = await get(w);
    expect(fourth).not.toBe(third);
    expect(fourth('model-4', 'chip-3')).toEqual(before);
  });
});
