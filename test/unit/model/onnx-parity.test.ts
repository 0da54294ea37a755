/**
 * C3 (issue 4): an ensemble exported to ONNX and scored by onnxruntime-node
 * agrees with the TypeScript predictor to 1e-4 relative on 10,000 random
 * inputs and on inputs at every split threshold and one float32 step either
 * side of it; bad input is refused naming the row and column.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { predictGbt, trainGbt, type GbtModel } from '../../../services/model/gbt.ts';
import { exportGbtToOnnx, OnnxScorer } from '../../../services/model/onnx.ts';
import { prng } from '../../helpers/factories.ts';

const step = (x: number, dir: 1 | -1): number => {
  const f = new Float32Array([x]);
  const i = new Int32Array(f.buffer);
  if (x === 0) return dir * 1.4e-45;
  i[0]! += (x > 0 ? 1 : -1) * dir;
  return f[0]!;
};

function trained(): { model: GbtModel; X: number[][] } {
  const rand = prng(17);
  const X = Array.from({ length: 3000 }, () => [rand() * 100, rand() * 4 - 2, Math.floor(rand() * 6), rand()]);
  const y = X.map(([a, b, c, d]) => Math.log(1 + a! * (1 + c!)) + Math.exp(b!) + (d! > 0.7 ? 3 : 0) + rand() * 0.2);
  return { model: trainGbt(X, y, { loss: { kind: 'l2' }, nTrees: 60, learningRate: 0.2, maxDepth: 5, minSamplesLeaf: 10 }), X };
}

describe('ONNX export', () => {
  it('agrees with the TypeScript predictor to 1e-4 relative on 10,000 random inputs and at every threshold ± one float32 step', async () => {
    const { model } = trained();
    const scorer = await OnnxScorer.load(exportGbtToOnnx(model));
    const rand = prng(99);
    const rows: number[][] = Array.from({ length: 10_000 }, () => [rand() * 120 - 10, rand() * 5 - 2.5, Math.floor(rand() * 8) - 1, rand() * 1.2 - 0.1]);
    // At each split threshold and one float32 step either side, the other features random.
    for (const tree of model.trees) {
      tree.feature.forEach((f, node) => {
        if (f < 0) return;
        const t = tree.threshold[node]!;
        for (const v of [step(t, -1), t, step(t, 1)]) {
          const row = [rand() * 100, rand() * 4 - 2, Math.floor(rand() * 6), rand()];
          row[f] = v;
          rows.push(row);
        }
      });
    }
    expect(rows.length).toBeGreaterThan(10_000 + 3 * 60);
    const got = await scorer.predict(rows);
    let worst = 0;
    rows.forEach((row, i) => {
      const want = predictGbt(model, row);
      worst = Math.max(worst, Math.abs(got[i]! - want) / Math.max(1e-6, Math.abs(want)));
    });
    expect(worst).toBeLessThanOrEqual(1e-4);
    await scorer.close();
  });

  it('scores a model without trees as its base value', async () => {
    const model = trainGbt([[1], [2], [3]], [4, 5, 6], { loss: { kind: 'l2' }, nTrees: 0 });
    const scorer = await OnnxScorer.load(exportGbtToOnnx(model));
    expect(Array.from(await scorer.predict([[1], [9]]))).toEqual([5, 5]);
    await scorer.close();
  });

  it('refuses rows of the wrong width or non-numbers, naming row and column (case C17 kind)', async () => {
    const { model } = trained();
    const scorer = await OnnxScorer.load(exportGbtToOnnx(model));
    await expect(scorer.predict([[1, 2, 3, 4], [1, 2, 3]])).rejects.toThrow('features[1]: expected 4 features (float32 [N, 4]), got 3');
    await expect(scorer.predict([[1, 2, Number.NaN, 4]])).rejects.toThrow('features[0][2]: expected a finite number, got NaN');
    await expect(scorer.predict([[1, 2, '3' as unknown as number, 4]])).rejects.toThrow('features[0][2]: expected a finite number, got the string "3"');
    // A rank-3 batch, a bigint row: named as what they are (a trial: both read "got 0.25" and "got 0").
    await expect(scorer.predict([[[0.25], [4], [1], [2]] as unknown as number[]])).rejects.toThrow('features[0][0]: expected a finite number, got an array [0.25] (rows are flat: float32 [N, F], one number per feature)');
    await expect(scorer.predict([new BigInt64Array([0n, 1n, 2n, 3n]) as unknown as number[]])).rejects.toThrow('features[0][0]: expected a finite number, got the bigint 0n (a BigInt64Array row? give numbers)');
    expect(scorer.featureCount).toBe(4);
    await scorer.close();
  });
});

describe('onnxruntime telemetry', () => {
  it('writes nothing under HOME when a model loads, unless ORT_DISABLE_TELEMETRY=0 asks for it (a trial: a device id and an event queue under ~/.cache/Microsoft)', () => {
    const script = `import { exportGbtToOnnx, OnnxScorer } from './services/model/onnx.ts';
      import { trainGbt } from './services/model/gbt.ts';
      const model = trainGbt([[0], [1], [2], [3]], [1, 2, 3, 4], { loss: { kind: 'l2' }, nTrees: 2, learningRate: 0.5, maxDepth: 1, minSamplesLeaf: 1 });
      const scorer = await OnnxScorer.load(exportGbtToOnnx(model));
      console.log(await scorer.predictOne([2]));`;
    const run = (extra: Record<string, string>): string[] => {
      const home = mkdtempSync(join(tmpdir(), 'edgelat-ort-home-'));
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extra };
      if (!('ORT_DISABLE_TELEMETRY' in extra)) delete env.ORT_DISABLE_TELEMETRY;
      // onnxruntime keeps its telemetry off on a CI machine (the variables it reads, from its library): the control
      // run below must not look like one (a CI=true run of this test wrote nothing even when asked to).
      for (const ci of ['CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE', 'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER']) delete env[ci];
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8' });
      return readdirSync(home, { recursive: true }).map(String).sort();
    };
    expect(run({})).toEqual([]);
    expect(run({ ORT_DISABLE_TELEMETRY: '' })).toEqual([]); // an env file's `ORT_DISABLE_TELEMETRY=` (a re-test)
    // The same run asking for it writes the files: the check above can see them.
    expect(run({ ORT_DISABLE_TELEMETRY: '0' })).toContain(join('.cache', 'Microsoft', 'DeveloperTools', '.onnxruntime', 'deviceid'));
  });
});
