/**
 * The telemetry latency models through the CLI, run as processes on an
 * isolated EDGELAT_DATA_DIR: a small demo (1 server, 20 min of event time)
 * imports the MLPerf cut and replays the retraining cron (every 10 minutes →
 * cycles at 10:10 and 10:20); `model list` shows every version with its file
 * and SHA-256; the registry keeps one champion per kind and a losing
 * challenger's reason names both losses (C5, on the real trainer);
 * `model train` runs one more cycle; `predict` answers with the champions;
 * bad input exits 2 with one line naming it; `model evaluate --format
 * telemetry` prints the C4 report.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { edgelat, errLines as lines, runSuggestions, suggestions } from '../helpers/edgelat-cli.ts';

const CUT = new URL('../../data/mlperf-singlestream/base-latency.csv', import.meta.url).pathname;

type Result = Awaited<ReturnType<typeof edgelat>>;


/** The lines of stderr (without npm's own warnings). */

interface Registered {
  version: string; kind: string; status: 'champion' | 'challenger' | 'retired'; reason: string; trained_at_ms: number; window_start_ms: number;
  window_end_ms: number; holdout_start_ms: number; rows_train: number; rows_holdout: number; holdout_loss: number; file_path: string; file_sha256: string;
  metrics: Record<string, number>;
}

interface Prediction {
  model: string; chip: string; server: string | null; input_bytes: number; load: Record<string, number>;
  total_ms: { p50: number; p90: number; p99: number }; io_ms_p50: number; compute_ms_p50: number;
  benchmark: { p50_ms: number; p90_ms: number }; versions: Record<string, string>; notes: string[];
}

const KINDS = ['total_ms_p50', 'total_ms_p90', 'total_ms_p99', 'io_ms_p50', 'compute_ms_p50'];
const LOAD_KEYS = ['cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s'];
/** The simulator starts at 2024-06-01 10:00 UTC; `*\/10 * * * *` in (10:00, 10:20] fires at 10:10 and 10:20. */
const START = Date.UTC(2024, 5, 1, 10, 0);
const CYCLES = [Date.UTC(2024, 5, 1, 10, 10), Date.UTC(2024, 5, 1, 10, 20)];
const MODEL = 'resnet50';
const CHIP = 'odroid-n2plus-s922x'; // the chip of the demo's only server (edge-01)

/** Benchmark rows of the cut for one model: chip → p50s and p90s (the 4th and 3rd columns from the end; system names may hold quoted commas). */
function cutOf(model: string): Map<string, { p50: number[]; p90: number[] }> {
  const out = new Map<string, { p50: number[]; p90: number[] }>();
  for (const l of readFileSync(CUT, 'utf8').split('\n').slice(1).filter((x) => x.trim() !== '')) {
    const c = l.split(',');
    if (c[0] !== model) continue;
    const e = out.get(c[1]!) ?? { p50: [], p90: [] };
    e.p50.push(Number(c.at(-4)));
    e.p90.push(Number(c.at(-3)));
    out.set(c[1]!, e);
  }
  return out;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('edgelat model train | list | evaluate, predict', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-model-cli-'));
  let demo: Result;
  let train: Result;
  /** `model list --json` after the demo and one more `model train` cycle. */
  let models: Registered[];
  /** The versions the demo's two cycles registered. */
  let demoModels: Registered[];

  // One process at a time holds the embedded warehouse: demo, then one more cycle, then the list.
  beforeAll(async () => {
    demo = await edgelat(['demo', '--duration', '20', '--servers', '1', '--seed', '42'], dataDir);
    // A kind named twice trains once.
    train = await edgelat(['model', 'train', '--kinds', 'total_ms_p50,total_ms_p50', '--seed', '1', '--json'], dataDir);
    const list = await edgelat(['model', 'list', '--json'], dataDir);
    expect(list.code).toBe(0);
    models = JSON.parse(list.stdout) as Registered[];
    demoModels = models.filter((m) => CYCLES.includes(m.trained_at_ms));
  });

  it('every command the demo suggests runs on the data it leaves, predict included', async () => {
    const list = suggestions(demo.stdout);
    expect(list.map((a) => a[0])).toEqual(['sql', 'sql', 'predict', 'recommend', 'gate']);
    await runSuggestions(list, dataDir);
  });

  it('the demo trains at each 10-minute boundary and prints the latency-models lines', () => {
    expect(lines(demo.stderr).filter((l) => /error/i.test(l))).toEqual([]);
    expect(demo.code).toBe(0);
    const head = /latency models: (\d+) retraining cycles? \(cron "\*\/10 \* \* \* \*"[^)]*\), (\d+) versions in edgelat\.latency_models, (\d+) promotion records? on models\.latency\.v1; the last cycle:\n((?:  .+\n)+)/.exec(demo.stdout);
    expect(head, demo.stdout).not.toBeNull();
    const [, cycles, versions, promotions, last] = head!;
    expect(Number(cycles)).toBe(2);
    // One line per kind, all of the 10:20 cycle.
    const lastLines = last!.trimEnd().split('\n').map((l) => l.trim().split(/\s+/));
    expect(lastLines.map((l) => l[0])).toEqual(KINDS.map((k) => `${k}-20240601T102000Z-0001`));
    for (const l of lastLines) expect(['champion', 'challenger']).toContain(l[1]);

    expect(demoModels).toHaveLength(Number(versions));
    expect(models).toHaveLength(Number(versions) + 1);
    // Each kind: one version per cycle, the window from the start of the data, the newest 20 % held out.
    for (const kind of KINDS) {
      const mine = demoModels.filter((m) => m.kind === kind).sort((a, b) => a.trained_at_ms - b.trained_at_ms);
      expect(mine.map((m) => m.version)).toEqual(CYCLES.map((t) => `${kind}-${new Date(t).toISOString().replace(/[-:]/g, '').replace('.000Z', 'Z')}-0001`));
      expect(mine.map((m) => [m.trained_at_ms, m.window_start_ms, m.window_end_ms, m.holdout_start_ms])).toEqual(
        CYCLES.map((t) => [t, START, t, t - Math.round(0.2 * (t - START))]),
      );
      for (const m of mine) expect(m.rows_train).toBeGreaterThan(100);
    }
    // One promotion record per model that became champion in the demo: the champions and those a later model replaced
    // (the extra `model train` cycle writes no record: it has no event log).
    const promoted = demoModels.filter((m) => m.status === 'champion' || m.reason.startsWith('replaced by '));
    expect(promoted).toHaveLength(Number(promotions));
  });

  it('every model file exists with the registered SHA-256; one champion per kind; a challenger names both losses (C5)', () => {
    expect(demoModels.length).toBeGreaterThanOrEqual(2 * KINDS.length);
    for (const m of models) {
      expect(existsSync(m.file_path), m.file_path).toBe(true);
      expect(m.file_path.startsWith(join(dataDir, 'models'))).toBe(true);
      expect(sha256(m.file_path), m.version).toBe(m.file_sha256);
    }
    for (const kind of KINDS) {
      expect(models.filter((m) => m.kind === kind && m.status === 'champion'), kind).toHaveLength(1);
      if (kind === 'total_ms_p50') continue; // a third cycle ran: see the next test
      const [first, second] = demoModels.filter((m) => m.kind === kind).sort((a, b) => a.trained_at_ms - b.trained_at_ms) as [Registered, Registered];
      // The first cycle had no champion; the second compared with it on the same holdout.
      expect(first.reason).toMatch(/^holdout loss \S+; no champion$|^replaced by /);
      if (second.status === 'challenger') {
        const m = /^holdout loss (\S+) ≥ champion (\S+) (\S+)$/.exec(second.reason);
        expect(m, second.reason).not.toBeNull();
        expect(m![2]).toBe(first.version);
        expect(Number(m![1])).toBeGreaterThanOrEqual(Number(m![3]));
        expect(Number(m![1])).toBeCloseTo(second.holdout_loss, 2);
        expect(first.status).toBe('champion');
      } else {
        expect(second.status).toBe('champion');
        const m = /^holdout loss (\S+) < champion (\S+) (\S+)$/.exec(second.reason);
        expect(m, second.reason).not.toBeNull();
        expect(m![2]).toBe(first.version);
        expect(Number(m![1])).toBeLessThan(Number(m![3]));
        expect([first.status, first.reason]).toEqual(['retired', `replaced by ${second.version}: ${second.reason}`]);
      }
    }
  });

  it('model train runs one more cycle: promoted iff its holdout loss is lower than the champion\'s on the same rows', () => {
    // A line per kind as it starts (each takes seconds), nothing else.
    expect(lines(train.stderr)).toEqual([expect.stringMatching(/^edgelat: training total_ms_p50 \(1 of 1, \d+\.\d s\)$/)]);
    expect(train.code).toBe(0);
    const results = JSON.parse(train.stdout) as { version: string; status: string; promoted: boolean; reason: string; challenger_loss: number; champion_loss: number | null; champion_version: string | null }[];
    expect(results).toHaveLength(1);
    const [x] = results as [(typeof results)[0]];
    expect(models.filter((m) => m.kind === 'total_ms_p50')).toHaveLength(3);
    const [first, second] = demoModels.filter((m) => m.kind === 'total_ms_p50').sort((a, b) => a.trained_at_ms - b.trained_at_ms) as [Registered, Registered];
    const third = models.find((m) => m.version === x.version)!;
    // Its clock defaults to just after the newest request and after every registered model (the demo's 10:20:00.000
    // cycle), so it sorts last; its window is all the data (from the first request).
    expect(third.window_start_ms).toBeGreaterThanOrEqual(START);
    expect(third.window_start_ms).toBeLessThan(START + 60_000);
    expect(third.trained_at_ms).toBe(CYCLES[CYCLES.length - 1]! + 1);
    expect(third.window_end_ms).toBe(third.trained_at_ms);
    // The champion at the end of the demo is one of its two cycles' models: the 10:20 one exactly when it was promoted.
    const secondPromoted = first.status === 'retired' && first.reason.startsWith(`replaced by ${second.version}`);
    const demoChampion = secondPromoted ? second : first;
    expect(x.champion_version).toBe(demoChampion.version);
    expect(x.champion_loss).not.toBeNull();
    expect(x.promoted).toBe(x.challenger_loss < x.champion_loss!);
    expect([x.status, third.status, third.reason]).toEqual([x.promoted ? 'champion' : 'challenger', x.status, x.reason]);
    const m = /^holdout loss (\S+) (<|≥) champion (\S+) (\S+)$/.exec(x.reason);
    expect(m, x.reason).not.toBeNull();
    expect([m![2], m![3]]).toEqual([x.promoted ? '<' : '≥', demoChampion.version]);
    expect(Number(m![1])).toBeCloseTo(x.challenger_loss, 2);
    expect(Number(m![4])).toBeCloseTo(x.champion_loss!, 2);
    expect(third.holdout_loss).toBe(x.challenger_loss);
    if (x.promoted) expect([demoChampion.status, demoChampion.reason]).toEqual(['retired', `replaced by ${x.version}: ${x.reason}`]);
    else expect(demoChampion.status).toBe('champion');
  });

  it('model train again on unchanged data with the same seed registers nothing: it names the identical model (a trial: three runs, three byte-identical versions)', async () => {
    const [x] = JSON.parse(train.stdout) as { version: string; status: string }[];
    const again = await edgelat(['model', 'train', '--kinds', 'total_ms_p50', '--seed', '1', '--json'], dataDir);
    expect([again.code, lines(again.stderr)]).toEqual([0, [expect.stringMatching(/^edgelat: training total_ms_p50 \(1 of 1, \d+\.\d s\)$/)]]);
    const [y] = JSON.parse(again.stdout) as { version: string; status: string; promoted: boolean; reason: string }[];
    expect(y).toMatchObject({ version: x!.version, status: x!.status, promoted: false });
    expect(y!.reason).toBe(`identical to ${x!.version} (${x!.status}): the same model file from as many rows (unchanged data; a seed changes this kind's model only where its training samples); not registered again`);
    const after = JSON.parse((await edgelat(['model', 'list', '--json'], dataDir)).stdout) as Registered[];
    expect(after.map((m) => m.version).sort()).toEqual(models.map((m) => m.version).sort());
    // Its file damaged (one byte): a prediction writes the registered bytes back from the warehouse's copy
    // (latency_model_files) and answers.
    const file = after.find((m) => m.version === x!.version)!.file_path;
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[200] = bad[200]! ^ 0xff;
    writeFileSync(file, bad);
    expect((await edgelat(['predict', '--model', MODEL, '--chip', CHIP], dataDir)).code).toBe(0);
    expect(readFileSync(file).equals(good)).toBe(true);
    // Without that copy (a model registered before the warehouse kept them): predictions refuse it, and the same
    // retrain writes the registered bytes back (a trial: retraining said "identical" and left every prediction failing).
    expect((await edgelat(['sql', '--write', 'TRUNCATE TABLE edgelat.latency_model_files'], dataDir)).code).toBe(0);
    writeFileSync(file, bad);
    const refused = await edgelat(['predict', '--model', MODEL, '--chip', CHIP], dataDir);
    expect([refused.code, lines(refused.stderr)[0]]).toEqual([1, expect.stringContaining(`the registry expects "${createHash('sha256').update(good).digest('hex')}"; the file changed after registration`)]);
    const mend = await edgelat(['model', 'train', '--kinds', 'total_ms_p50', '--seed', '1', '--json'], dataDir);
    expect(mend.code, mend.stderr).toBe(0);
    expect((JSON.parse(mend.stdout) as { reason: string }[])[0]!.reason).toBe(`${y!.reason}; its file was changed, and is written again`);
    expect(readFileSync(file).equals(good)).toBe(true);
    expect((await edgelat(['predict', '--model', MODEL, '--chip', CHIP], dataDir)).code).toBe(0);
  });

  it('predict: a larger input raises the total as it raises the i/o (a trial: the total stayed 83.2 ms from 10 kB to 1 MB while the i/o rose)', async () => {
    const at = async (bytes: number): Promise<Prediction> => {
      const r = await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--input-bytes', String(bytes), '--json'], dataDir);
      expect([r.code, lines(r.stderr)]).toEqual([0, []]);
      return JSON.parse(r.stdout) as Prediction;
    };
    const [small, large] = [await at(10_000), await at(1_000_000)];
    expect(large.io_ms_p50).toBeGreaterThan(small.io_ms_p50);
    // The total holds the i/o: it rises by at least half the i/o's rise (the rest of the service and the wait do not fall).
    expect(large.total_ms.p50 - small.total_ms.p50).toBeGreaterThanOrEqual(0.5 * (large.io_ms_p50 - small.io_ms_p50));
  });

  it('predict --json answers with the champions; p50 ≤ p90 ≤ p99; more GPU load does not lower the p99', async () => {
    const idle = await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--json'], dataDir);
    expect(lines(idle.stderr)).toEqual([]);
    expect(idle.code).toBe(0);
    const busy = await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--load', 'gpu_util=0.9', '--json'], dataDir);
    expect(busy.code).toBe(0);
    const [p, q] = [JSON.parse(idle.stdout), JSON.parse(busy.stdout)] as [Prediction, Prediction];

    const champions = Object.fromEntries(models.filter((m) => m.status === 'champion').map((m) => [m.kind, m.version]));
    expect(Object.keys(champions).sort()).toEqual([...KINDS].sort());

    // Benchmark prior: the median over the cut's three systems (an odd count, so one middle value).
    const cut = cutOf(MODEL).get(CHIP)!;
    const mid = (v: number[]): number => [...v].sort((a, b) => a - b)[(v.length - 1) / 2]!;
    expect(cut.p50).toHaveLength(3);
    for (const x of [p, q]) {
      expect([x.model, x.chip, x.server]).toEqual([MODEL, CHIP, null]);
      expect(x.versions).toEqual(champions);
      expect(x.benchmark).toEqual({ p50_ms: mid(cut.p50), p90_ms: mid(cut.p90) });
      expect(x.total_ms.p50).toBeGreaterThan(0);
      expect(x.total_ms.p50).toBeLessThanOrEqual(x.total_ms.p90);
      expect(x.total_ms.p90).toBeLessThanOrEqual(x.total_ms.p99);
      expect(x.io_ms_p50).toBeGreaterThan(0);
      expect(x.compute_ms_p50).toBeGreaterThan(0);
      expect(x.input_bytes).toBeGreaterThan(0);
    }
    expect(p.input_bytes).toBe(q.input_bytes);
    expect(p.load).toEqual(Object.fromEntries(LOAD_KEYS.map((k) => [k, 0])));
    expect(q.load).toEqual(Object.fromEntries(LOAD_KEYS.map((k) => [k, k === 'gpu_util' ? 0.9 : 0])));
    expect(q.total_ms.p99).toBeGreaterThanOrEqual(p.total_ms.p99);

    // Read at the model's median input size, the answer says which sizes its requests span (a trial: retinanet's p99 at
    // its median 1.96 MB read as the p99 over requests of 0.1–7 MB): p10 and p90 as the fleet data has them.
    const spread = /^the percentiles are at input_bytes=(\d+), the median of resnet50's requests, which span (\d+)–(\d+) bytes \(p10–p90\) in the fleet data: the i\/o grows with the size, so over all of its requests they are wider; --input-bytes \(input_bytes over HTTP\) for another size$/;
    expect(p.notes).toEqual([expect.stringMatching(spread)]);
    const [median, p10, p90] = spread.exec(p.notes[0]!)!.slice(1).map(Number) as [number, number, number];
    // The fleet data's figures the answers below are checked against, read by one `edgelat sql` (a process each cost ~1 s):
    // the chip's most concurrency, gpu_util, queue_depth and input_bytes; ClickHouse's least squares of io_ms on
    // input_bytes over the chip's ok requests; and the model's shares of requests below and at p10 and p90.
    const reference = await edgelat(['sql', `SELECT
        (SELECT max(concurrency) FROM edgelat.inference_enriched WHERE chip = {c:String}),
        (SELECT max(gpu_util) FROM edgelat.inference_enriched WHERE chip = {c:String}),
        (SELECT max(queue_depth) FROM edgelat.inference_enriched WHERE chip = {c:String}),
        (SELECT max(input_bytes) FROM edgelat.inference_enriched WHERE chip = {c:String}),
        (SELECT simpleLinearRegression(toFloat64(input_bytes), io_ms).1 FROM edgelat.inference_enriched WHERE chip = {c:String} AND status = 'ok'),
        (SELECT countIf(input_bytes < ${p10}) / count() FROM edgelat.inference_enriched WHERE model_id = {m:String}),
        (SELECT countIf(input_bytes <= ${p10}) / count() FROM edgelat.inference_enriched WHERE model_id = {m:String}),
        (SELECT countIf(input_bytes < ${p90}) / count() FROM edgelat.inference_enriched WHERE model_id = {m:String}),
        (SELECT countIf(input_bytes <= ${p90}) / count() FROM edgelat.inference_enriched WHERE model_id = {m:String})`,
      '--format', 'csv', '--param', `c=${CHIP}`, '--param', `m=${MODEL}`], dataDir);
    expect([reference.code, lines(reference.stderr)]).toEqual([0, []]);
    const [concurrencyMax, gpuMax, depthMax, bytesMax, slope, belowP10, atP10, belowP90, atP90] = reference.stdout.trim().split(',').map(Number) as [number, number, number, number, number, number, number, number, number];

    // A rate that keeps more workers busy than a device of the chip has (utilisation law) has no percentile (a trial: 1e6
    // req/s answered p99 2281 ms beside a note saying none holds; recommend said unbounded).
    const flood = await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--load', 'requests_per_s=1000000', '--load', 'gpu_util=1', '--json'], dataDir);
    expect(flood.code, flood.stderr).toBe(0);
    const f = JSON.parse(flood.stdout) as { total_ms: unknown; notes: string[]; io_ms_p50: number; compute_ms_p50: number };
    expect(f.total_ms).toEqual({ p50: null, p90: null, p99: null });
    const busyNow = Number((1e6 * (f.io_ms_p50 + f.compute_ms_p50) / 1000).toPrecision(3));
    expect(f.notes.some((n) => n.includes(`keeps ${busyNow} workers busy on average (utilisation law): `) && n.includes(concurrencyMax > 1 ? `at least the ${concurrencyMax} requests a device of the chip serves at once` : 'no percentile holds there'))).toBe(true);
    // A concurrency above the fleet's is requests waiting, not more workers (a trial: concurrency=1e6 answered p99 13 ms).
    const crowd = await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--load', 'requests_per_s=1000000', '--load', 'gpu_util=1', '--load', 'concurrency=1000000', '--json'], dataDir);
    expect([crowd.code, (JSON.parse(crowd.stdout) as { total_ms: unknown }).total_ms]).toEqual([0, { p50: null, p90: null, p99: null }]);
    // No percentile, so no "lower bound" of one for the rate above the fleet's (a trial: both notes on one answer).
    expect(f.notes.filter((n) => n.startsWith('requests_per_s=1000000 is above the most'))).toEqual([]);

    // A load above the most the fleet data shows on the chip gets a note naming that maximum.
    const note = (k: string, v: number, max: number) => `${k}=${v} is above the most the fleet data shows on ${CHIP} (${max}): the model holds its answer at the edge of what it was trained on, so the latency there is a lower bound`;
    expect(depthMax).toBeGreaterThan(0);
    expect(median).toBe(p.input_bytes);
    // Lower nearest ranks: at most a tenth of the requests below p10 and at least a tenth at or below it; likewise p90.
    expect([belowP10 <= 0.1, atP10 >= 0.1, belowP90 <= 0.9, atP90 >= 0.9, p90 / p10 > 2]).toEqual([true, true, true, true, true]);
    expect(q.notes).toEqual([...(0.9 > gpuMax ? [note('gpu_util', 0.9, Number(gpuMax.toPrecision(4)))] : []), p.notes[0]]);
    // So does an input larger than any request there (a trial: 1e9 bytes gave the default's totals without a word).
    const deep = await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--load', `queue_depth=${10 * depthMax}`, '--input-bytes', '1e9'], dataDir);
    expect(deep.code).toBe(0);
    // Without --server, the header names whose queue the totals follow.
    expect(deep.stdout.split('\n')[0]).toBe(`${MODEL} on ${CHIP} (the chip's typical server's queue: --server for another), 1,000,000,000 input bytes, load: queue_depth=${10 * depthMax}`);
    // Beyond the largest request, the prediction is the one at that size plus the chip's i/o line's extra i/o, the
    // same on the i/o and on every total quantile (a trial: totals moved on some chips, not others; p99 fell below p90).
    const at = async (bytes: number) => JSON.parse((await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--load', `queue_depth=${10 * depthMax}`, '--input-bytes', String(bytes), '--json'], dataDir)).stdout);
    const [edge, far] = [await at(bytesMax), await at(1e9)];
    const extra = far.io_ms_p50 - edge.io_ms_p50;
    // The line: ClickHouse's least squares of io_ms on input_bytes over the chip's ok requests, times the extra bytes.
    expect(slope).toBeGreaterThan(0);
    expect(extra).toBeCloseTo(slope * (1e9 - bytesMax), 6);
    for (const q of ['p50', 'p90', 'p99']) {
      // Every total quantile is at least the median i/o and compute (total = queue + i/o + compute); above that floor
      // the extra i/o is added as it is.
      expect(far.total_ms[q]).toBeGreaterThanOrEqual(Math.max(far.io_ms_p50, far.compute_ms_p50));
      if (edge.total_ms[q] > Math.max(edge.io_ms_p50, edge.compute_ms_p50) + 1e-9) expect(far.total_ms[q] - edge.total_ms[q]).toBeCloseTo(extra, 6);
    }
    expect(far.total_ms.p50).toBeLessThanOrEqual(far.total_ms.p90);
    expect(far.total_ms.p90).toBeLessThanOrEqual(far.total_ms.p99);
    const beyond = `input_bytes=1000000000 is above the largest request the fleet data shows on ${CHIP} (${bytesMax} bytes): the prediction is the one at ${bytesMax} bytes`;
    // queue_depth without gpu_util reaches the i/o and compute only: said (a trial: requests_per_s=40 gave the idle p99).
    const blind = (k: string, v: number) => `${k}=${v} with gpu_util 0 or none: the total follows the queue at gpu_util (the busy-worker fraction, 0..1), here its lowest decile, with the waits of the requests there; ${k} moves only the i/o and compute: give gpu_util for the queue at this load`;
    expect(deep.stdout.split('\n').filter((l) => l.startsWith('  note: '))).toEqual([
      `  note: ${note('queue_depth', 10 * depthMax, depthMax)}`,
      `  note: ${blind('queue_depth', 10 * depthMax)}`,
      `  note: ${beyond}${extra >= 0.001
        ? ` plus ${Number(extra.toPrecision(3))} ms of i/o from the chip's line of i/o against input size (least squares over its requests: ${Number((slope * 1e6).toPrecision(3))} ms per MB), an extrapolation`
        : "; the chip's i/o does not grow with input size in the fleet data, so nothing is added for the extra bytes: a lower bound"}`,
    ]);
    expect(edge.notes).toEqual([note('queue_depth', 10 * depthMax, depthMax), blind('queue_depth', 10 * depthMax)]);
  });

  it('predict and model train refuse bad input with exit 2 and one line naming it (no champion yet: exit 1)', async () => {
    // The checks that need no data run on fresh data dirs (one each, so they run side by side);
    // the unknown chip on the demo's, which has the benchmark.
    const dir = (): string => mkdtempSync(join(tmpdir(), 'edgelat-model-cli-fresh-'));
    // Tables and nothing in them (predict refuses a data dir without a warehouse, or without the tables: cli.test.ts).
    const migrated = dir();
    expect((await edgelat(['migrate'], migrated)).code).toBe(0);
    const [noChampion, loadKey, loadRange, kinds, chip] = await Promise.all([
      edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--json'], migrated),
      edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--load', 'foo=1'], dir()),
      edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--load', 'gpu_util=1.5'], dir()),
      edgelat(['model', 'train', '--kinds', 'total_ms_p50,nope'], dir()),
      edgelat(['predict', '--model', MODEL, '--chip', 'tpu-v9', '--json'], dataDir),
    ]);
    expect(noChampion.code).toBe(1); // nothing trained yet is not bad usage (2): the warehouse cannot answer
    expect(lines(noChampion.stderr)).toHaveLength(1);
    expect(lines(noChampion.stderr)[0]).toBe('edgelat: no champion model of kind total_ms_p50: run `edgelat demo` or `edgelat model train` first');
    // Asked for JSON, the error is on stdout too (what a script parses).
    expect(JSON.parse(noChampion.stdout)).toEqual({ error: 'no champion model of kind total_ms_p50: run `edgelat demo` or `edgelat model train` first', exit_code: 1 });

    expect(loadKey.code).toBe(2);
    expect(lines(loadKey.stderr)).toEqual([`edgelat: --load "foo=1": expected key=value with key one of ${LOAD_KEYS.join(', ')}`]);
    expect(loadRange.code).toBe(2);
    expect(lines(loadRange.stderr)).toEqual(['edgelat: --load gpu_util: a utilisation is a fraction 0..1, got 1.5']);
    expect(kinds.code).toBe(2);
    expect(lines(kinds.stderr)).toEqual([`edgelat: --kinds: unknown model kind "nope"; kinds are ${KINDS.join(', ')}`]);

    // An unknown chip: named, with the chips the cut benchmarks this model on.
    expect(chip.code).toBe(2);
    expect(lines(chip.stderr)).toHaveLength(1);
    const line = lines(chip.stderr)[0]!;
    expect(JSON.parse(chip.stdout)).toEqual({ error: line.replace(/^edgelat: /, ''), exit_code: 2 });
    const m = /^edgelat: unknown chip "tpu-v9": no model has benchmark p50 and p90 latencies on it; chips of "resnet50" with both, nearest first: (.+)$/.exec(line);
    expect(m, line).not.toBeNull();
    expect(m![1]!.split(', ').sort()).toEqual([...cutOf(MODEL).keys()].sort());
    // An unknown server is named, with the servers of the fleet data (the one-server demo: edge-01), and a
    // server is known with the chip it runs.
    const server = await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--server', 'edge-99'], dataDir);
    expect([server.code, lines(server.stderr)]).toEqual([2, ['edgelat: unknown server "edge-99": nearest in the fleet data: edge-01']]);
    const benchmarked = [...cutOf(MODEL).keys()].find((c) => c !== CHIP)!;
    const own = await edgelat(['predict', '--model', MODEL, '--chip', benchmarked, '--server', 'edge-01'], dataDir);
    expect([own.code, lines(own.stderr)]).toEqual([2, [`edgelat: server "edge-01" runs chip "${CHIP}", not "${benchmarked}": its queueing context belongs to its own chip`]]);
    // With a chip nothing knows, the chip is named, not the server's (a re-test: "runs chip …, not "nochip"").
    const nochip = await edgelat(['predict', '--model', MODEL, '--chip', 'nochip', '--server', 'edge-01'], dataDir);
    expect([nochip.code, lines(nochip.stderr)[0]!.startsWith('edgelat: unknown chip "nochip": ')]).toEqual([2, true]);
    // A chip no server of the fleet runs (the one-server demo runs one) is answered with the fleet's typical queue, said
    // (a re-test: "the chip's typical server's queue" on a chip without servers).
    const other = [...cutOf(MODEL).keys()].find((c) => c !== CHIP)!;
    const away = await edgelat(['predict', '--model', MODEL, '--chip', other, '--json'], dataDir);
    expect([away.code, JSON.parse(away.stdout).notes]).toEqual([0, [`no server of the fleet runs ${other}: the queue is the fleet's typical server's, not one measured on this chip`, expect.stringMatching(/^the percentiles are at input_bytes=\d+, the median of resnet50's requests, which span /)]]);
    // Under a load whose gpu_util the rate cannot make with this model's service: the implied service is said (a trial:
    // an H100 at gpu_util 0.2 and 2 req/s got p99 47 ms from 100 ms of implied service, against its 2.9 ms).
    const loaded = await edgelat(['predict', '--model', MODEL, '--chip', other, '--load', 'gpu_util=0.5', '--load', 'requests_per_s=0.5', '--json'], dataDir);
    expect([loaded.code, JSON.parse(loaded.stdout).notes[0]]).toEqual([0, expect.stringMatching(new RegExp(`^no server of the fleet runs ${other}: the queue is the fleet's typical server's, not one measured on this chip; gpu_util=0\\.5 at requests_per_s=0\\.5 implies 1000 ms of service per request \\(utilisation law\\), [\\d.]+× this model's [\\d.]+ ms on the chip, and the waits are scaled to it`))]);
    // A fleet chip that never ran the model (a prior imported for the pair, in a copy of the folder): said, as a chip
    // without fleet data is (an ML engineer's trial: retinanet on rpi4-cortex-a72 answered with no word of it).
    const copy = mkdtempSync(join(tmpdir(), 'edgelat-model-cli-pair-'));
    cpSync(dataDir, copy, { recursive: true });
    const prior = join(copy, 'prior.csv');
    writeFileSync(prior, `model,chip,mlperf_version,division,submitter,system_id,p50_ms,p90_ms\nbert-99,${CHIP},v4.0,closed,trial,trial_1,900,1000\n`);
    expect((await edgelat(['import', 'benchmark', '--format', 'singlestream', '--runs', prior], copy)).code).toBe(0);
    // (bert-99 has no request in this one-server fleet: its input size is given.)
    const unrun = await edgelat(['predict', '--model', 'bert-99', '--chip', CHIP, '--input-bytes', '5000', '--json'], copy);
    expect([unrun.code, (JSON.parse(unrun.stdout) as { notes: string[] }).notes[0]]).toEqual([0, `no server of the fleet ran bert-99 on ${CHIP}: its compute is its benchmark's times the chip's ratio for the models that ran there, and its p90 and p99 are widened by the spread of that ratio between (model, chip) pairs`]);
    const ran = await edgelat(['predict', '--model', MODEL, '--chip', CHIP, '--json'], copy);
    expect((JSON.parse(ran.stdout) as { notes: string[] }).notes.filter((n) => n.startsWith('no server of the fleet'))).toEqual([]);
    // A known model on a known chip with no benchmark of the pair: the data cannot answer (exit 1), and recommend can.
    const gap = await edgelat(['predict', '--model', 'bert-99', '--chip', 'rpi4-cortex-a72'], dataDir);
    expect([gap.code, lines(gap.stderr)]).toEqual([1, [expect.stringMatching(/^edgelat: no benchmark p50 and p90 latency for model "bert-99" on chip "rpi4-cortex-a72"; .*; `edgelat recommend --model bert-99 --chips rpi4-cortex-a72 --slo-p99-ms MS` \(MS: your p99 objective, ms\) predicts the pair from other chips' benchmarks \(the MLPerf system predictor\)$/)]]);
    // An unknown model is named as one (not as a missing benchmark of a pair).
    const model = await edgelat(['predict', '--model', 'nosuch', '--chip', CHIP], dataDir);
    expect([model.code, lines(model.stderr)]).toEqual([2, [expect.stringMatching(/^edgelat: unknown model "nosuch": nearest models with benchmark p50 and p90 latencies: [^;]+$/)]]);
    // A chip of the catalog without benchmarks is not "unknown": it is named as catalogued, and the data cannot answer
    // (exit 1, as for the pair above; a trial: exit 2, bad usage, while whatif --chip of it exited 1).
    const csv = join(dataDir, 'catalog-npu.csv');
    writeFileSync(csv, 'chip,kind,vendor,names\ncatalog-npu,npu,Acme,Acme NPU Board 9000\n');
    expect((await edgelat(['chips', 'import', csv], dataDir)).code).toBe(0);
    // Asked for by the name the catalog gives it: said to be that chip (a re-test: "Jetson AGX Orin 64GB" was only unknown).
    const byName = await edgelat(['predict', '--model', MODEL, '--chip', 'NPU Board 9000'], dataDir);
    expect([byName.code, lines(byName.stderr)[0]]).toEqual([2, expect.stringMatching(/^edgelat: unknown chip "NPU Board 9000" \(a name the chip catalog gives catalog-npu: ask for it by its id\); chips of "resnet50" with benchmark p50 and p90, nearest first: /)]);
    const listed = await edgelat(['predict', '--model', MODEL, '--chip', 'catalog-npu'], dataDir);
    expect([listed.code, lines(listed.stderr)]).toEqual([1, [expect.stringMatching(/^edgelat: chip "catalog-npu" is in the chip catalog, but no model has benchmark p50 and p90 latencies on it; chips of "resnet50" with both, nearest first: [^;]+; `edgelat recommend --model resnet50 --chips catalog-npu --slo-p99-ms MS` \(MS: your p99 objective, ms\) reads a p90-only benchmark \(MLPerf imports\) and the catalog; for predict, import p50 and p90 per run of it with `edgelat import benchmark --format singlestream --runs FILE` \(columns model, chip, mlperf_version, division, submitter, system_id, p50_ms, p90_ms: MLPerf's runs_v\*\.csv hold them as p50_latency_ms and p90_latency_ms\)$/)]]);
    // A model benchmarked at p90 only (an MLPerf import) is not "unknown" (a trial): the data cannot answer, saying why.
    const insert = await edgelat(['sql', '--write', `INSERT INTO edgelat.benchmark_latency (source, model_id, device, chip, batch, scenario, percentile, latency_ms, system)
      VALUES ('mlperf', 'ssd-resnet34', 'v1.1/closed/X/s', 'nvidia-t4', 1, 'SingleStream', 0.9, 12.5, 'v1.1/closed/X/s')`], dataDir);
    expect(insert.code, insert.stderr).toBe(0);
    const p90Only = await edgelat(['predict', '--model', 'ssd-resnet34', '--chip', CHIP], dataDir);
    expect([p90Only.code, lines(p90Only.stderr)]).toEqual([1, ['edgelat: model "ssd-resnet34" has SingleStream benchmark latencies at p90 only (an MLPerf import): the latency model\'s prior needs p50 and p90 per run, which `edgelat import benchmark --format singlestream --runs FILE` imports (columns model, chip, mlperf_version, division, submitter, system_id, p50_ms, p90_ms; MLPerf\'s runs_v*.csv hold them as p50_latency_ms and p90_latency_ms); `edgelat recommend --model ssd-resnet34 --slo-p99-ms MS` (MS: your p99 objective, ms) reads p90-only benchmarks']]);
    const typo = await edgelat(['predict', '--model', 'ssd-resnet34', '--chip', 'no-such-chip'], dataDir);
    expect([typo.code, lines(typo.stderr)]).toEqual([2, [expect.stringMatching(/^edgelat: unknown chip "no-such-chip": nearest chips with benchmark p50 and p90 latencies: /)]]);
  });

  it('model evaluate --format telemetry --json prints the C4 report', async () => {
    const r = await edgelat(['model', 'evaluate', '--format', 'telemetry', '--seed', '1', '--json'], dataDir);
    // Each step on stderr as it starts (a trial waited 52 s in silence); nothing else.
    expect(lines(r.stderr).map((l) => l.replace(/[\d,]+ (?=(held-out )?requests)/, 'N ').replace(/\(\d+\.\d s\)$/, '(t)'))).toEqual([
      'edgelat: reading the telemetry and the simulator\'s ground truth (t)',
      'edgelat: training total_ms_p50 on N requests (1 of 3) (t)',
      'edgelat: training total_ms_p90 on N requests (2 of 3) (t)',
      'edgelat: training total_ms_p99 on N requests (3 of 3) (t)',
      'edgelat: scoring N held-out requests (t)',
    ]);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(e).sort()).toEqual(['group_details', 'groups', 'held_out_pairs', 'new_server', 'p50_mape', 'p50_mape_requests', 'p90_coverage', 'p99_coverage', 'test_rows', 'train_rows']);
    expect(Object.keys(e.new_server as object).sort()).toEqual(['p50_mape', 'p99_coverage']);
    // The demo's one server runs two models on its chip: a quarter of two pairs rounds to one held out.
    const pairs = ['mobilenet-v2-int8', 'resnet50'].map((m) => `${m}|${CHIP}`);
    expect(e.held_out_pairs).toHaveLength(1);
    expect(pairs).toContain((e.held_out_pairs as string[])[0]);
    for (const k of ['train_rows', 'test_rows', 'groups']) {
      expect(Number.isInteger(e[k]), k).toBe(true);
      expect(e[k] as number, k).toBeGreaterThan(0);
    }
    // Groups are (pair × load decile) with ≥ 30 requests: at most 10 for one held-out pair.
    expect(e.groups as number).toBeLessThanOrEqual(10);
    for (const k of ['p50_mape', 'p50_mape_requests', 'p90_coverage', 'p99_coverage']) {
      expect(e[k] as number, k).toBeGreaterThanOrEqual(0);
      expect(e[k] as number, k).toBeLessThanOrEqual(1);
    }
    // The demo's one server, treated as unseen: its chip's typical server is itself, so the same waits
    // (per unit of its service, times its service: equal to rounding).
    const fresh = e.new_server as { p50_mape: number; p99_coverage: number };
    expect(fresh.p50_mape).toBeCloseTo(e.p50_mape as number, 3);
    expect(fresh.p99_coverage).toBeCloseTo(e.p99_coverage as number, 3);
  });

  it('model prune: a dry run changes nothing; --keep 0 removes every non-champion\'s file and copy, the rows stay retired, predict answers', async () => {
    const before = JSON.parse((await edgelat(['model', 'list', '--json'], dataDir)).stdout) as Registered[];
    const others = before.filter((m) => m.status !== 'champion' && m.file_sha256 !== '');
    expect(others.length).toBeGreaterThan(0);
    const dry = await edgelat(['model', 'prune', '--keep', '0', '--dry-run', '--json'], dataDir);
    expect([dry.code, lines(dry.stderr)]).toEqual([0, []]);
    const planned = JSON.parse(dry.stdout) as { pruned: { version: string; file: string | null; file_bytes: number }[]; kept: number; copies_removed: number; dry_run: boolean };
    expect(planned.pruned.map((p) => p.version).sort()).toEqual(others.map((m) => m.version).sort());
    // Each file as model list names it, its size on disk.
    for (const p of planned.pruned) expect([p.file, p.file_bytes]).toEqual([others.find((m) => m.version === p.version)!.file_path, statSync(p.file!).size]);
    expect([planned.kept, planned.dry_run]).toEqual([before.filter((m) => m.status === 'champion').length, true]);
    const bad = await edgelat(['model', 'prune', '--keep', '-1'], dataDir);
    expect([bad.code, lines(bad.stderr)]).toEqual([2, [`edgelat: option '--keep <n>' argument '-1' is invalid. --keep must be an integer from 0 to 1000000, got "-1"`, '(run with --help for usage)']]);
    const run = await edgelat(['model', 'prune', '--keep', '0'], dataDir);
    expect([run.code, lines(run.stderr)]).toEqual([0, []]);
    expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^pruned ${others.length} versions: ${others.length} files \\([\\d.]+ KB\\) and ${planned.copies_removed} copies in latency_model_files \\([\\d.]+ (KB|MB) of base64\\); `));
    expect(others.every((m) => !existsSync(m.file_path))).toBe(true);
    const after = JSON.parse((await edgelat(['model', 'list', '--json'], dataDir)).stdout) as Registered[];
    expect(after.map((m) => m.version).sort()).toEqual(before.map((m) => m.version).sort());
    for (const m of after.filter((x) => others.some((o) => o.version === x.version))) {
      const was = others.find((o) => o.version === m.version)!;
      expect([m.status, m.file_path, m.file_sha256, m.reason]).toEqual(['retired', '', was.file_sha256, `pruned by edgelat model prune --keep 0: file removed; was ${was.status}${was.reason ? `: ${was.reason}` : ''}`]);
    }
    expect((await edgelat(['predict', '--model', MODEL, '--chip', CHIP], dataDir)).code).toBe(0);
    const left = await edgelat(['sql', 'SELECT uniqExact(file_sha256) FROM edgelat.latency_model_files', '--format', 'csv'], dataDir);
    expect(Number(left.stdout.trim())).toBeLessThanOrEqual(after.filter((m) => m.status === 'champion').length);
  });
});

describe('edgelat model train --kinds that names no kind', () => {
  it.each([',', '', ' '])('--kinds %j exits 2 naming --kinds and the kinds, and trains nothing', async (value) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-model-kinds-'));
    const r = await edgelat(['model', 'train', '--kinds', value, '--json'], dataDir);
    const text = `--kinds: expected at least one model kind, comma-separated; kinds are ${KINDS.join(', ')}`;
    // --json: the error on stdout too, as JSON.
    expect([r.code, JSON.parse(r.stdout), lines(r.stderr)]).toEqual([2, { error: text, exit_code: 2 }, [`edgelat: ${text}`]]);
  });
});
