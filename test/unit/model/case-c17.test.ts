/**
 * Case C17 (shared/cases, copied to test/fixtures/cases/C17.json): a model whose input is float32 [N, 3]
 * scores a batch of events as one [N, 3] tensor and a single event as [1, 3]; nothing is dropped, and a
 * single event passed as a flat row (the rank-1 tensor of onnxruntime#22498) is refused naming it.
 *
 * The case's trees are rebuilt as a GbtModel from the JSON's description and exported by the product's
 * own exporter; the expected values are the case's ([[30], [85], [45]], and [[85]] for B alone).
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { predictGbt, type GbtModel, type GbtTree } from '../../../services/model/gbt.ts';
import { exportGbtToOnnx, ONNX_INPUT, ONNX_OUTPUT, OnnxScorer } from '../../../services/model/onnx.ts';

interface CaseStump { feature: string; threshold: number; rule: string; left_leaf: number; right_leaf: number }
interface CaseC17 {
  model: { input: { columns: string[]; shape: [string, number] }; base_value: number; aggregate: string; trees: CaseStump[] };
  events: Array<Record<string, number | string>>;
}

const c17 = JSON.parse(readFileSync(new URL('../../fixtures/cases/C17.json', import.meta.url), 'utf8')) as CaseC17;
const columns = c17.model.input.columns;

/** The case's stumps as the product's trees: node 0 splits (x <= threshold goes left), nodes 1 and 2 are leaves. */
function caseModel(): GbtModel {
  expect(c17.model.aggregate).toBe('SUM');
  const trees: GbtTree[] = c17.model.trees.map((t) => {
    expect(t.rule).toBe('x <= threshold -> left');
    const f = columns.indexOf(t.feature);
    expect(f).toBeGreaterThanOrEqual(0);
    return { feature: [f, -1, -1], threshold: [t.threshold, 0, 0], left: [1, 0, 0], right: [2, 0, 0], value: [0, t.left_leaf, t.right_leaf] };
  });
  return { base: c17.model.base_value, trees, featureCount: columns.length, loss: { kind: 'l2' }, trainLoss: [], validLoss: [] };
}

const rowOf = (e: Record<string, number | string>): number[] => columns.map((c) => e[c] as number);

describe('case C17: ONNX input rank and dtype', () => {
  it('scores the batch as float32 [3, 3] → [3, 1] = [[30], [85], [45]], and event B alone as [1, 3] → [[85]]', async () => {
    const bytes = exportGbtToOnnx(caseModel());
    const rows = c17.events.map(rowOf);
    expect(c17.events.map((e) => e.event_id)).toEqual(['A', 'B', 'C']);

    // The runtime's own view of the exported graph: the dims the case names.
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', Float32Array.from(rows.flat()), [3, 3]) });
    expect(out[ONNX_OUTPUT]!.dims).toEqual([3, 1]);
    expect(Array.from(out[ONNX_OUTPUT]!.data as Float32Array)).toEqual([30, 85, 45]);
    await session.release();

    // The product's scorer: a batch, a single event, and Float64Array rows (float64 input to a float32 model).
    const scorer = await OnnxScorer.load(bytes);
    expect(scorer.featureCount).toBe(3);
    expect(Array.from(await scorer.predict(rows))).toEqual([30, 85, 45]);
    expect(await scorer.predictOne(rows[1]!)).toBe(85);
    expect(Array.from(await scorer.predict([rows[1]!]))).toEqual([85]);
    expect(Array.from(await scorer.predict(rows.map((r) => Float64Array.from(r))))).toEqual([30, 85, 45]);
    await scorer.close();
  });

  it('the TypeScript predictor and ONNX agree at a threshold that is no float32 value (x <= 0.3 goes left)', async () => {
    // A hand-built stump at 0.3: ONNX compares float32 x with the float32 threshold; the TypeScript predictor
    // compared fround(x) with the float64 0.3 and sent x = 0.3 right (42.5), where ONNX and the rule say left (27.5).
    const stump: GbtModel = { ...caseModel(), trees: [{ feature: [1, -1, -1], threshold: [0.3, 0, 0], left: [1, 0, 0], right: [2, 0, 0], value: [0, 27.5, 42.5] }] };
    const xs = [0.3, Math.fround(0.3), 0.29999999, 0.3000000001, 0.30000003, 0.2999999, 0.31];
    const rows = xs.map((x) => [1, x, 4]);
    const scorer = await OnnxScorer.load(exportGbtToOnnx(stump));
    const onnx = Array.from(await scorer.predict(rows));
    await scorer.close();
    const ts = rows.map((r) => predictGbt(stump, r));
    // x <= 0.3 is left by the rule; x within float32 rounding of 0.3 lands with it (fround(x) == fround(0.3)).
    const expected = xs.map((x) => stump.base + (Math.fround(x) <= Math.fround(0.3) ? 27.5 : 42.5));
    expect(expected.slice(0, 3)).toEqual([stump.base + 27.5, stump.base + 27.5, stump.base + 27.5]);
    expect(expected[4]).toBe(stump.base + 42.5);
    expect(ts).toEqual(expected);
    expect(onnx).toEqual(expected.map((v) => Math.fround(v)));
  });

  it('refuses a single event passed as a flat row, naming the input and the fix', async () => {
    const scorer = await OnnxScorer.load(exportGbtToOnnx(caseModel()));
    const b = rowOf(c17.events[1]!);
    await expect(scorer.predict(b as unknown as number[][])).rejects.toThrow(
      'features[0]: expected a row of 3 features (float32 [N, 3]), got the number 0.75; score one event as [row] or with predictOne(row)');
    await expect(scorer.predict(Float32Array.from(b) as unknown as number[][])).rejects.toThrow('features: expected an array of rows (float32 [N, 3]), got a Float32Array of 3 values (one event\'s row? use predictOne)');
    await expect(scorer.predict([b, null as unknown as number[]])).rejects.toThrow('features[1]: expected a row of 3 features (float32 [N, 3]), got null');
    await expect(scorer.predictOne([0.75, 12])).rejects.toThrow('features[0]: expected 3 features (float32 [N, 3]), got 2');
    await scorer.close();
  });
});
