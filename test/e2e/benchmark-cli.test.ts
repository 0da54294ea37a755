/**
 * `edgelat import benchmark` and `edgelat model evaluate` run as processes on
 * an isolated EDGELAT_DATA_DIR: the HELP subset (test/fixtures/help-nb201-subset/)
 * and the MLPerf fixtures (test/fixtures/mlperf/) land in the warehouse with
 * the row counts the files imply, bad lines are reported as file:line on
 * stderr, and bad usage (a missing file, an unknown device) exits 2 with one
 * line naming what was wrong. `model evaluate --json` prints the report the
 * library computes.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { edgelat as runEdgelat, errLines as lines, type CliResult } from '../helpers/edgelat-cli.ts';
import { evaluateFewShot } from '../../services/model/evaluate.ts';
import { evaluateMlperf } from '../../services/model/evaluate-mlperf.ts';
import { parseHelp } from '../../services/model/help.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Run the CLI from the repository root (so fixture paths are relative, as a user types them). */
const edgelat = (args: string[], dataDir: string): Promise<CliResult> => runEdgelat(args, dataDir, ROOT);

/** The lines of stderr (without npm's own warnings when run through npx). */

const SUBSET = 'test/fixtures/help-nb201-subset/';
const ARCHITECTURES = `${SUBSET}architectures.csv`;
const LATENCY = ['latency_gpu.csv', 'latency_cpu.csv', 'latency_edge_mobile.csv'].map((f) => SUBSET + f);
const HELP_FLAGS = ['--format', 'help', '--architectures', ARCHITECTURES, '--latency', ...LATENCY];
const RUNS = 'test/fixtures/mlperf/runs_fixture.csv';
const SYSTEMS = 'test/fixtures/mlperf/systems_fixture.csv';

/** Data lines of a file, split on commas (the subset has no quoted fields). */
const dataRows = (path: string): string[][] => readFileSync(join(ROOT, path), 'utf8').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '').slice(1).map((l) => l.split(','));

describe('edgelat import benchmark', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-benchmark-'));

  it('--format help: imports one latency per non-empty cell and one profile per architecture', async () => {
    const imported = await edgelat(['import', 'benchmark', ...HELP_FLAGS, '--json'], dataDir);
    expect(lines(imported.stderr)).toEqual([]);
    expect(imported.code).toBe(0);
    const cells = LATENCY.reduce((s, f) => s + dataRows(f).reduce((t, row) => t + row.slice(1).filter((c) => c !== '').length, 0), 0);
    const architectures = dataRows(ARCHITECTURES).length;
    expect([cells, architectures]).toEqual([30_000, 3_000]);
    const summary = JSON.parse(imported.stdout) as { source: string; benchmark_rows: number; profiles: number; chips: number; problems: number };
    expect(summary).toMatchObject({ benchmark_rows: cells, profiles: architectures, chips: 0, problems: 0 });

    const counts = await edgelat(['sql', [
      'SELECT (SELECT count() FROM edgelat.benchmark_latency FINAL WHERE source = {s:String}),',
      '(SELECT uniqExact(device) FROM edgelat.benchmark_latency WHERE source = {s:String}),',
      '(SELECT count() FROM edgelat.model_profiles FINAL WHERE source = {s:String})',
    ].join(' '), '--format', 'csv', '--param', `s=${summary.source}`], dataDir);
    expect(counts.code).toBe(0);
    expect(counts.stdout.trim()).toBe(`${cells},10,${architectures}`);

    // One profile: the 35 features of architecture 0, arch_str not among them.
    const profile = await edgelat(['sql', 'SELECT features_json FROM edgelat.model_profiles WHERE model_id = {m:String}', '--format', 'tsv', '--param', `m=${summary.source}:0`], dataDir);
    const features = JSON.parse(profile.stdout.trim()) as Record<string, number>;
    expect(Object.keys(features)).toHaveLength(35);
    expect(Object.keys(features).some((k) => k.startsWith('arch_str'))).toBe(false);
    expect(features).toMatchObject({ 'e_1_0=avg_pool_3x3': 1, 'e_1_0=none': 0, n_skip_connect: 3, n_nor_conv_1x1: 2 });
  });

  it('--format mlperf: reports the bad lines as file:line on stderr, imports the good rows and exits 1 (as chips import)', async () => {
    const imported = await edgelat(['import', 'benchmark', '--format', 'mlperf', '--runs', RUNS, '--systems', SYSTEMS, '--json'], dataDir);
    expect(imported.code).toBe(1);
    const bad = lines(imported.stderr);
    for (const l of bad) expect(l).toMatch(/^edgelat: test\/fixtures\/mlperf\/\w+\.csv:\d+: \S+ = ".*": .+$/);
    // The same bad lines as test/unit/model/import-mlperf.test.ts, systems file first.
    expect(bad.map((l) => /^edgelat: (\S+?:\d+):/.exec(l)![1])).toEqual([
      ...[7, 8, 12].map((n) => `${SYSTEMS}:${n}`),
      ...[10, 11, 12, 13, 14, 15, 16, 19, 23].map((n) => `${RUNS}:${n}`),
    ]);
    expect(bad).toContain(`edgelat: ${RUNS}:10: p90_latency_ms = "abc": latency must be a number > 0 ms, got "abc"`);
    const { bad_lines: badLines, ...summary } = JSON.parse(imported.stdout) as { bad_lines: { file: string; line: number }[] };
    // Every bad line in --json, as on stderr.
    expect(badLines.map((p) => `${p.file}:${p.line}`)).toEqual(bad.map((l) => /^edgelat: (\S+?:\d+):/.exec(l)![1]));
    expect(summary).toEqual({
      source: 'mlperf', benchmark_rows: 8, profiles: 0, chips: 5, problems: 12, database: 'edgelat',
      skipped: [
        { reason: 'another accuracy target (-99 / -99.9) of a model already imported for this system', count: 1 },
        { reason: 'scenario=MultiStream', count: 1 },
        { reason: 'scenario=Offline', count: 1 },
        { reason: 'scenario=Server', count: 1 },
      ],
    });

    // 3d-unet-99 and 3d-unet-99.9 of one system are one model (`3d-unet`): the import keeps the first
    // (counted as skipped), so the 8 rows reported are the 8 in the table.
    const counts = await edgelat(['sql', [
      "SELECT (SELECT count() FROM edgelat.benchmark_latency FINAL WHERE source = 'mlperf'),",
      "(SELECT uniqExact(model_id) FROM edgelat.benchmark_latency WHERE source = 'mlperf' AND device = 'v3.0/closed/NVIDIA/Orin_TRT'),",
      '(SELECT count() FROM edgelat.chips FINAL)',
    ].join(' '), '--format', 'csv'], dataDir);
    expect(counts.stdout.trim()).toBe('8,1,5');
    // Without --json: one skipped reason a line under the summary (a re-test: long reasons made one line).
    const text = await edgelat(['import', 'benchmark', '--format', 'mlperf', '--runs', RUNS, '--systems', SYSTEMS], dataDir);
    expect(text.stdout.split('\n').slice(0, 5)).toEqual([
      'imported 8 latencies, 0 model profiles, 5 chips (source mlperf) into edgelat; 12 bad line(s); skipped:',
      '  1 another accuracy target (-99 / -99.9) of a model already imported for this system',
      '  1 scenario=MultiStream', '  1 scenario=Offline', '  1 scenario=Server',
    ]);
  });

  it('exits 2 with one line naming the flag and the path when a file is missing', async () => {
    const missing = `${SUBSET}no-such-latency.csv`;
    const r = await edgelat(['import', 'benchmark', '--format', 'help', '--architectures', ARCHITECTURES, '--latency', LATENCY[0]!, missing], dataDir);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([`edgelat: --latency ${missing}: no such file`]);
    const runs = await edgelat(['import', 'benchmark', '--format', 'mlperf', '--runs', 'no/such/runs.csv', '--systems', SYSTEMS], dataDir);
    expect(runs.code).toBe(2);
    expect(lines(runs.stderr)).toEqual(['edgelat: --runs no/such/runs.csv: no such file']);
    // File flags of the other format are refused, not ignored: by import and by model evaluate.
    const mixed = await edgelat(['import', 'benchmark', '--format', 'help', '--architectures', ARCHITECTURES, '--latency', LATENCY[0]!, '--runs', 'x.csv', '--systems', SYSTEMS], dataDir);
    expect([mixed.code, lines(mixed.stderr)]).toEqual([2, ['edgelat: --runs and --systems belong to another --format; --format help reads --architectures and --latency']]);
    const mixedEval = await edgelat(['model', 'evaluate', '--format', 'mlperf', '--runs', 'x.csv', '--systems', SYSTEMS, '--latency', LATENCY[0]!], dataDir);
    expect([mixedEval.code, lines(mixedEval.stderr)]).toEqual([2, ['edgelat: --latency: not read by --format mlperf, which takes --format, --runs, --systems, --system, --shots, --seed, --draws, --json']]);
    // So are the other flags a format does not read (--shots with telemetry ran 40 s as if not given).
    const shots = await edgelat(['model', 'evaluate', '--format', 'telemetry', '--shots', '5'], dataDir);
    expect([shots.code, lines(shots.stderr)]).toEqual([2, ['edgelat: --shots: not read by --format telemetry, which takes --format, --seed, --json']]);
    // A header without a required column is bad usage too (exit 2), named in one line.
    const noP90 = await edgelat(['import', 'benchmark', '--format', 'mlperf', '--runs', 'test/fixtures/mlperf/runs_missing_p90.csv', '--systems', SYSTEMS], dataDir);
    expect(noP90.code).toBe(2);
    expect(lines(noP90.stderr)).toEqual(['edgelat: test/fixtures/mlperf/runs_missing_p90.csv: header lacks required column "p90_latency_ms"']);
    // And in HELP's format, by import and by model evaluate (a trial: exit 1 there, 2 for MLPerf's).
    for (const command of [['import', 'benchmark'], ['model', 'evaluate']]) {
      const swapped = await edgelat([...command, '--format', 'help', '--architectures', LATENCY[0]!, '--latency', LATENCY[0]!], dataDir);
      expect([swapped.code, lines(swapped.stderr)]).toEqual([2, [expect.stringMatching(/^edgelat: .*latency_\w+\.csv: /)]]);
    }
    // A directory is named as one, as the other commands do (not EISDIR: illegal operation on a directory, read).
    const dir = await edgelat(['import', 'benchmark', '--format', 'help', '--architectures', ARCHITECTURES, '--latency', SUBSET], dataDir);
    expect([dir.code, lines(dir.stderr)]).toEqual([2, [`edgelat: --latency ${SUBSET}: is a directory`]]);
    const runsDir = await edgelat(['import', 'benchmark', '--format', 'mlperf', '--runs', 'test/fixtures/mlperf', '--systems', SYSTEMS], dataDir);
    expect([runsDir.code, lines(runsDir.stderr)]).toEqual([2, ['edgelat: --runs test/fixtures/mlperf: is a directory']]);
  });

  it('cuts a long bad value to its first 40 characters and its length, in both formats', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-long-cell-'));
    const nines = '9'.repeat(2_000_000); // a decimal number that is Infinity
    const shown = `"${'9'.repeat(40)}…" (2,000,000 characters)`;
    const write = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const architectures = write('architectures.csv', 'arch_idx,e_1_0\n0,none\n1,skip_connect\n');
    const latency = write('latency.csv', `arch_idx,raspi4\n0,${nines}\n1,5.5\n`);
    const help = await edgelat(['import', 'benchmark', '--format', 'help', '--architectures', architectures, '--latency', latency, '--source', 'long-cell'], dataDir);
    expect(help.code).toBe(1);
    expect(lines(help.stderr)).toEqual([`edgelat: ${latency}:2: raspi4 = ${shown}: latency must be a positive number of ms`]);
    expect(help.stdout).toMatch(/^imported 1 latencies, 2 model profiles, 0 chips \(source long-cell\)/);

    const runs = write('runs.csv', `mlperf_version,division,submitter,system_id,model,scenario,p50_latency_ms,p90_latency_ms,result_valid\nv3.0,closed,NVIDIA,A100_SXM4,resnet50,SingleStream,0.5,${nines},VALID\n`);
    const mlperf = await edgelat(['import', 'benchmark', '--format', 'mlperf', '--runs', runs, '--systems', SYSTEMS, '--source', 'long-cell'], dataDir);
    expect(mlperf.code).toBe(1);
    expect(lines(mlperf.stderr).filter((l) => l.startsWith(`edgelat: ${runs}:`))).toEqual([
      `edgelat: ${runs}:2: p90_latency_ms = ${shown}: latency must be a number > 0 ms, got ${shown}`,
    ]);
    for (const l of [...lines(help.stderr), ...lines(mlperf.stderr)]) expect(l.length).toBeLessThan(300);
  });
});

describe('edgelat import benchmark: values outside one inference\'s range, and failed imports', () => {
  it('reports a latency below 1 µs or above 1 hour, and a model name past 256 characters, as bad lines; a failed import writes no chips', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-benchmark-range-'));
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-range-files-'));
    const write = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    // A trial: a cell of 1e308 ms made a device's MAPE 2.8e148 %; a runs file in seconds put an A100 at 0.4 µs.
    const architectures = write('architectures.csv', 'arch_idx,e_1_0\n0,none\n1,skip_connect\n2,none\n3,none\n4,skip_connect\n');
    const latency = write('latency.csv', 'arch_idx,raspi4\n0,1e308\n1,5.5\n2,0.0004\n3,0.001\n4,3600000\n');
    const help = await edgelat(['import', 'benchmark', '--format', 'help', '--architectures', architectures, '--latency', latency, '--source', 'range'], dataDir);
    expect([help.code, lines(help.stderr)]).toEqual([1, [
      `edgelat: ${latency}:2: raspi4 = "1e308": latency 1e+308 ms is above 1 hour (3600000 ms) for one inference: a figure in µs or ns instead of ms, or a damaged value?`,
      `edgelat: ${latency}:4: raspi4 = "0.0004": latency 0.0004 ms is below 1 µs (0.001 ms): a figure in seconds instead of ms?`,
    ]]);
    // The bounds themselves are inside.
    expect(help.stdout).toMatch(/^imported 3 latencies, 5 model profiles, 0 chips/);

    const head = 'mlperf_version,division,submitter,system_id,model,scenario,p50_latency_ms,p90_latency_ms,result_valid\n';
    const runs = write('runs.csv', `${head}v3.0,closed,NVIDIA,A100_SXM4,resnet50,SingleStream,0.0003,0.000398,VALID\n`
      + `v3.0,closed,NVIDIA,A100_SXM4,bert-99,SingleStream,,7200000,VALID\nv3.0,closed,NVIDIA,A100_SXM4,${'m'.repeat(300)},SingleStream,1,2,VALID\n`);
    const mlperf = await edgelat(['import', 'benchmark', '--format', 'mlperf', '--runs', runs, '--systems', SYSTEMS, '--json'], dataDir);
    expect(mlperf.code).toBe(1);
    expect(lines(mlperf.stderr).filter((l) => l.startsWith(`edgelat: ${runs}:`))).toEqual([
      `edgelat: ${runs}:2: p90_latency_ms = "0.000398": latency 0.000398 ms is below 1 µs (0.001 ms): a figure in seconds instead of ms?`,
      `edgelat: ${runs}:3: p90_latency_ms = "7200000": latency 7200000 ms is above 1 hour (3600000 ms) for one inference: a figure in µs or ns instead of ms, or a damaged value?`,
      `edgelat: ${runs}:4: model = "${'m'.repeat(40)}…" (300 characters): expected an id of at most 256 characters, got 300`,
    ]);
    expect(JSON.parse(mlperf.stdout)).toMatchObject({ benchmark_rows: 0, chips: 0 });
    // No run imported: the systems file's chips stay out of the catalog (a trial's failed import wrote 33 of them).
    const stored = await edgelat(['sql', 'SELECT (SELECT count() FROM edgelat.chips FINAL), (SELECT count() FROM edgelat.benchmark_latency FINAL)', '--format', 'csv'], dataDir);
    expect(stored.stdout.trim()).toBe('0,3'); // the HELP rows above
  });
});

describe('edgelat model evaluate', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-evaluate-'));

  it('--shots 20 --device raspi4 --json prints the documented report, equal to the library\'s', async () => {
    const r = await edgelat(['model', 'evaluate', ...HELP_FLAGS, '--device', 'raspi4', '--shots', '20', '--json'], dataDir);
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toEqual(['edgelat: 3,000 architectures, 35 features, 10 devices', expect.stringMatching(/^edgelat: raspi4 scored \(1\/1, \d+ s\)$/)]);
    const report = JSON.parse(r.stdout) as {
      devices: { device: string; n_test: number; acc10: number; mape: number; spearman: number; baseline: { acc10: number; mape: number; spearman: number } }[];
      median_acc10: number;
      median_spearman: number;
    };
    expect(report.devices).toHaveLength(1);
    const [d] = report.devices;
    expect(d).toMatchObject({ device: 'raspi4', n_test: 2980 });
    for (const s of [d!, d!.baseline]) {
      expect(s.acc10).toBeGreaterThanOrEqual(0);
      expect(s.acc10).toBeLessThanOrEqual(1);
      expect(Math.abs(s.spearman)).toBeLessThanOrEqual(1);
      // A fraction, but not bounded by 1: raspi4 times disconnected NAS-Bench-201 cells at ~0.01 ms.
      expect(Number.isFinite(s.mape) && s.mape >= 0).toBe(true);
    }
    expect([report.median_acc10, report.median_spearman]).toEqual([d!.acc10, d!.spearman]);

    const text = (path: string): { file: string; text: string } => ({ file: path, text: readFileSync(join(ROOT, path), 'utf8') });
    const expected = evaluateFewShot(parseHelp(text(ARCHITECTURES), LATENCY.map(text)), { seed: 1, shots: 20, devices: ['raspi4'] });
    expect(report).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('exits 2 naming an unknown --device, and a missing --architectures file', async () => {
    const r = await edgelat(['model', 'evaluate', ...HELP_FLAGS, '--device', 'pixel9', '--shots', '20'], dataDir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr).at(-1)).toMatch(/^edgelat: --device: unknown device "pixel9"; nearest devices: pixel2, .*, … 2 more$/);
    const missing = await edgelat(['model', 'evaluate', '--format', 'help', '--architectures', 'no/such/architectures.csv', '--latency', ...LATENCY], dataDir);
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual(['edgelat: --architectures no/such/architectures.csv: no such file']);
  });

  it('--format mlperf prints the D1 report (equal to the library\'s) and exits 2 naming an unknown --system', async () => {
    const loso = ['v2.1', 'v3.0'];
    const flags = ['--format', 'mlperf', '--runs', ...loso.map((v) => `test/fixtures/mlperf-loso/runs_${v}.csv`), '--systems', ...loso.map((v) => `test/fixtures/mlperf-loso/systems_${v}.csv`)];
    const r = await edgelat(['model', 'evaluate', ...flags, '--seed', '2', '--json'], dataDir);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { systems: { system: string }[]; mape: number; top1_within10: number; mean_regret: number; baseline: { mape: number } };
    const text = (path: string): { file: string; text: string } => ({ file: path, text: readFileSync(join(ROOT, path), 'utf8') });
    const expected = evaluateMlperf(loso.map((v) => text(`test/fixtures/mlperf-loso/runs_${v}.csv`)), loso.map((v) => text(`test/fixtures/mlperf-loso/systems_${v}.csv`)), { seed: 2 });
    expect(report).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(report.mape).toBeLessThan(report.baseline.mape);
    const bad = await edgelat(['model', 'evaluate', ...flags, '--system', 'v9/closed/X/none'], dataDir);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr).at(-1)).toMatch(/^edgelat: .*"v9\/closed\/X\/none"/);
  });

  it('--help shows the example, and its files exist', async () => {
    const r = await edgelat(['model', 'evaluate', '--help'], dataDir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Example \(NAS-Bench-201 latency tables shipped in data\/help-nasbench201\):/);
    expect(r.stdout).toMatch(/npx edgelat model evaluate --format help --architectures data\/help-nasbench201\/architectures\.csv/);
    expect(r.stdout).toMatch(/--shots 20/);
    const paths = r.stdout.match(/data\/help-nasbench201\/\S+\.csv/g)!;
    expect(paths).toHaveLength(4);
    expect(r.stdout).toMatch(/--format mlperf --runs data\/mlperf-inference\/runs_v\*\.csv --systems data\/mlperf-inference\/systems_v\*\.csv/);
    for (const p of paths) expect(existsSync(join(ROOT, p)), p).toBe(true);
  });
});
