/**
 * `edgelat gate` on a migrated warehouse that holds no telemetry yet: exit 70 (a failure, not bad usage), one
 * line naming the flag as usage errors do (a trial read "model: no request of …" where they say "--model: …").
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { edgelat, errLines } from '../helpers/edgelat-cli.ts';
import { OnnxGraphBuilder } from '../helpers/onnx-graph.ts';

describe('gate on an empty warehouse', () => {
  it('exits 70 with one line in the flags\' words, pointing at the demo or the pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-gate-empty-'));
    expect((await edgelat(['migrate'], join(dir, 'new', 'data'))).code).toBe(0);
    // The data folder and its warehouse folder, made by edgelat, are the user's alone (a security trial found 0755);
    // a folder above them that it made too is left as any other (only the data folder was asked for).
    expect(['new', 'new/data', 'new/data/chdb'].map((p) => (statSync(join(dir, p)).mode & 0o777).toString(8))).toEqual([(0o777 & ~process.umask()).toString(8), '700', '700']);
    expect((await edgelat(['migrate'], dir)).code).toBe(0);
    const r = await edgelat(['gate', '--model', 'resnet50', '--version', 'v2', '--chip', 'rpi4-cortex-a72', '--slo-p99-ms', '5'], dir);
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([70, '', [
      'edgelat: --model: no request of "resnet50" in edgelat.inference_enriched (it holds no telemetry yet: run `edgelat demo` (npm start) or the pipeline first)',
    ]]);
    // With --json the error is on stdout too, as JSON (a trial: a pipeline's `jq -r .answer` read nothing), for a
    // failure and for a usage error commander finds; not for --help.
    const json = await edgelat(['gate', '--model', 'resnet50', '--version', 'v2', '--chip', 'rpi4-cortex-a72', '--slo-p99-ms', '5', '--json'], dir);
    expect([json.code, JSON.parse(json.stdout), errLines(json.stderr).length]).toEqual([70, {
      error: '--model: no request of "resnet50" in edgelat.inference_enriched (it holds no telemetry yet: run `edgelat demo` (npm start) or the pipeline first)', exit_code: 70,
    }, 1]);
    const usage = await edgelat(['gate', '--backtest', '--seed', '-1', '--json'], dir);
    expect([usage.code, JSON.parse(usage.stdout)]).toEqual([64, { error: 'option \'--seed <n>\' argument \'-1\' is invalid. --seed must be an integer >= 0, got "-1"', exit_code: 64 }]);
    const help = await edgelat(['gate', '--json', '--help'], dir);
    expect([help.code, help.stdout.startsWith('Usage: edgelat gate')]).toEqual([0, true]);
  }, 60_000);

  it('refuses an option whose value is another option\'s name, before the warehouse opens (trials: `--version --json` read the version "--json", exit 2 with text; `--model --version v1` read "too many arguments")', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-gate-taken-'));
    const empty = await edgelat(['gate', '--model', 'bert-99', '--version', '--json', '--chip', 'jetson-agx-orin', '--slo-p99-ms', '50'], dir);
    const taken = '--version "--json": an option\'s name taken as its value (an empty shell variable leaves an option none): give it a value';
    // The --json meant for the output still asks for JSON: the error is on stdout too.
    expect([empty.code, JSON.parse(empty.stdout), errLines(empty.stderr)]).toEqual([64, { error: taken, exit_code: 64 }, [`edgelat: ${taken}`]]);
    const shifted = await edgelat(['gate', '--model', '--version', 'v1', '--chip', 'jetson-agx-orin', '--slo-p99-ms', '50'], dir);
    expect([shifted.code, errLines(shifted.stderr)]).toEqual([64, ['edgelat: --model "--version": an option\'s name taken as its value (an empty shell variable leaves an option none): give it a value']]);
    // Another command: exit 2, as its usage errors.
    const predict = await edgelat(['predict', '--model', '--chip', 'x'], dir);
    expect([predict.code, errLines(predict.stderr)]).toEqual([2, ['edgelat: --model "--chip": an option\'s name taken as its value (an empty shell variable leaves an option none): give it a value']]);
    // A command below another (a re-test: `model train --kinds --seed 3` read "too many arguments").
    const nested = await edgelat(['model', 'train', '--kinds', '--seed', '3'], dir);
    expect([nested.code, errLines(nested.stderr)]).toEqual([2, ['edgelat: --kinds "--seed": an option\'s name taken as its value (an empty shell variable leaves an option none): give it a value']]);
  }, 60_000);

  it('takes --z only with --backtest (a trial: --z 10 turned an ALLOW into NEED_SHADOW, and neither the report nor POST /v1/gate could say so)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-gate-z-'));
    const r = await edgelat(['gate', '--model', 'bert-99', '--version', 'v1', '--chip', 'jetson-agx-orin', '--slo-p99-ms', '50', '--z', '10'], dir);
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([64, '', ['edgelat: --z is used only with --backtest']]);
  }, 60_000);

  it('refuses an --onnx whose MACs are a lower bound (a dim counted as 1), before the warehouse opens', async () => {
    // Its cost would read low and could ALLOW it; recommend says "may miss" of such a profile.
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-gate-onnx-'));
    const g = new OnnxGraphBuilder('seq');
    g.output(g.node('MatMul', [g.input('x', ['N', 'seq', 64]), g.weight('w', [64, 32])]));
    const file = join(dir, 'seq.onnx');
    writeFileSync(file, g.build());
    const r = await edgelat(['gate', '--model', 'resnet50', '--version', 'v2', '--chip', 'rpi4-cortex-a72', '--slo-p99-ms', '5', '--onnx', file], dir);
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([64, '', [
      `edgelat: --onnx ${JSON.stringify(file)}: its 2048 MACs are a lower bound (1 dim(s) counted as 1: input "x" dim 1 "seq": not set, counted as 1 (a lower bound; set it: --dim seq=<n>, or ?dim=seq=<n> over HTTP)), so its cost would read low: give --macs with the whole count, or run it as a shadow`,
    ]]);
    // The batch dim given as --dim: the gate counts it as 1 and has no --batch to point to (a trial).
    const batch = await edgelat(['gate', '--model', 'resnet50', '--version', 'v2', '--chip', 'rpi4-cortex-a72', '--slo-p99-ms', '5', '--onnx', file, '--dim', 'N=4'], dir);
    expect([batch.code, errLines(batch.stderr)]).toEqual([64, [`edgelat: --onnx ${JSON.stringify(file)}: dim "N" is the batch dim (the first of an input): the gate counts it as 1 (per request): leave it out of --dim`]]);
  }, 60_000);
});

describe('recommend on an empty warehouse', () => {
  it('says no chip is known, exit 2, with nothing on stdout (a trial: an empty table and its legend before the error)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-recommend-empty-'));
    expect((await edgelat(['migrate'], dir)).code).toBe(0);
    const r = await edgelat(['recommend', '--onnx', 'test/fixtures/onnx/tiny-cnn.onnx', '--slo-p99-ms', '10'], dir);
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([2, '', [
      'edgelat: no chip is known: import a benchmark (`edgelat import benchmark`), import a chip catalog (`edgelat chips import`) or run the demo',
    ]]);
    // A model by name: exit 1 as for missing data, not 2 as for a wrong name (a trial: "unknown model", exit 2).
    const named = await edgelat(['recommend', '--model', 'resnet50', '--slo-p99-ms', '50'], dir);
    expect([named.code, named.stdout, errLines(named.stderr)]).toEqual([1, '', [
      'edgelat: model "resnet50": no model is known yet: the warehouse holds no telemetry and no benchmark (run `edgelat demo` (npm start) or the pipeline, or `edgelat import benchmark`); for a new model give its ONNX profile',
    ]]);
  }, 60_000);
});
