/**
 * Prediction latency of the exported latency model (issue 4, C6), in one run:
 * single predictions through onnxruntime-node (p50/p99 over 2,000 calls) and
 * one batch of 10,000 rows, next to the TypeScript predictor on the same
 * rows (the reference measured in the same run).
 * The model: 200 trees of depth 6 on 8 features (the size the latency model
 * is expected to have), trained on synthetic rows.
 * Usage: npm run bench:predict
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { predictGbt, trainGbt } from '../services/model/gbt.ts';
import { createRng } from '../services/simulator/prng.ts';
import { exportGbtToOnnx, OnnxScorer } from '../services/model/onnx.ts';
import { benchArgs } from './args.ts';

benchArgs('npm run bench:predict   (no options)', {});

const rng = createRng(7, 'bench-predict');
const rand = (): number => rng.next();
const row = (): number[] => Array.from({ length: 8 }, () => rand());
const X = Array.from({ length: 20_000 }, row);
const y = X.map((x) => Math.log(1 + 50 * x[0]!) + x[1]! * x[2]! + (x[3]! > 0.8 ? 2 : 0) + 0.1 * rand());
const started = performance.now();
const model = trainGbt(X, y, { loss: { kind: 'l2' }, nTrees: 200, learningRate: 0.1, maxDepth: 6, minSamplesLeaf: 20 });
const trainS = (performance.now() - started) / 1000;
const bytes = exportGbtToOnnx(model);
const scorer = await OnnxScorer.load(bytes);

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)]!;
const singles: number[] = [];
const tsSingles: number[] = [];
for (let i = 0; i < 2200; i++) {
  const r = row();
  const t0 = performance.now();
  await scorer.predict([r]);
  const t1 = performance.now();
  predictGbt(model, r);
  const t2 = performance.now();
  if (i >= 200) {
    singles.push(t1 - t0);
    tsSingles.push(t2 - t1);
  }
}
// The batch of 10,000, timed 5 times each after one untimed pass (a single cold timing moved the ratio 0.24–0.55×).
const batch = Array.from({ length: 10_000 }, row);
const BATCH_RUNS = 5;
const onnxBatches: number[] = [];
const tsBatches: number[] = [];
for (let k = 0; k <= BATCH_RUNS; k++) {
  const b0 = performance.now();
  await scorer.predict(batch);
  const b1 = performance.now();
  for (const r of batch) predictGbt(model, r);
  const b2 = performance.now();
  if (k > 0) {
    onnxBatches.push(b1 - b0);
    tsBatches.push(b2 - b1);
  }
}
await scorer.close();

const out = {
  trees: model.trees.length, onnxBytes: bytes.length, trainSeconds: trainS,
  onnxSingleP50Ms: pct(singles, 0.5), onnxSingleP99Ms: pct(singles, 0.99), tsSingleP50Ms: pct(tsSingles, 0.5), tsSingleP99Ms: pct(tsSingles, 0.99),
  onnxBatch10kMs: pct(onnxBatches, 0.5), tsBatch10kMs: pct(tsBatches, 0.5),
};
const f = (ms: number) => `${ms.toFixed(3)} ms`;
process.stdout.write(
  `latency model: ${out.trees} trees, depth 6, 8 features (ONNX ${(out.onnxBytes / 1024).toFixed(0)} KiB; trained in ${trainS.toFixed(1)} s on 20,000 rows)\n` +
    `  single prediction, onnxruntime-node:  p50 ${f(out.onnxSingleP50Ms)}  p99 ${f(out.onnxSingleP99Ms)}\n` +
    `  single prediction, TypeScript:        p50 ${f(out.tsSingleP50Ms)}  p99 ${f(out.tsSingleP99Ms)}\n` +
    `  batch of 10,000, onnxruntime-node:    ${f(out.onnxBatch10kMs)} (median of ${BATCH_RUNS}, after one untimed pass)\n` +
    `  batch of 10,000, TypeScript:          ${f(out.tsBatch10kMs)} (onnxruntime / TypeScript: ${(out.onnxBatch10kMs / out.tsBatch10kMs).toFixed(2)}×)\n`,
);
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${new Date().toISOString().slice(0, 10)}-${hostname()}-predict.json`), `${JSON.stringify(out, null, 2)}\n`);
