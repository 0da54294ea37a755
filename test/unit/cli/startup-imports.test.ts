/**
 * The CLI's start-up loads the commands' flags and help, not what they run:
 * `--help`, a usage error or `sql` must not load Kafka, ONNX Runtime, the
 * HTTP servers or the chart renderer (each command's action imports them).
 * A structural check of the modules loaded, not a timing.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PROBE = new URL('../../helpers/cli-startup-imports.mjs', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-startup-'));
// A warehouse folder (chdb's own tmp folder in it): sql and report refuse a data dir without one, or an empty one (cli.test.ts).
mkdirSync(join(dataDir, 'chdb', 'tmp'), { recursive: true });
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
/** A CSV that is no benchmark file of any format (its header has none of their columns). */
const NOT_A_BENCHMARK = join(dataDir, 'not-a-benchmark.csv');
writeFileSync(NOT_A_BENCHMARK, 'a,b\n1,2\n');

/** Packages loaded by `edgelat <args>`, its exit code and stderr. */
async function loaded(args: string[]): Promise<{ code: number; packages: string[]; stderr: string }> {
  const env = { ...process.env, EDGELAT_DATA_DIR: dataDir };
  const r = await run('node', [PROBE, ...args], { env }).then((x) => ({ code: 0, ...x }), (e: { code: number; stdout: string; stderr: string }) => e);
  const last = r.stderr.trim().split('\n').at(-1)!;
  return { code: r.code, packages: (JSON.parse(last) as { packages: string[] }).packages, stderr: r.stderr };
}

const HEAVY = ['kafkajs', 'onnxruntime-node', 'fastify', 'vega', 'vega-lite', 'prom-client', '@clickhouse/client'];

describe('CLI start-up', () => {
  it('--help loads commander, not the warehouse, Kafka, ONNX Runtime, servers or charts', async () => {
    const r = await loaded(['--help']);
    expect(r.code).toBe(0);
    expect(r.packages).toContain('commander');
    for (const p of [...HEAVY, 'chdb']) expect(r.packages, p).not.toContain(p);
  });

  it('a usage error of gate exits 64 without loading the gate\'s evidence (chdb) or the profiler', async () => {
    const r = await loaded(['gate', '--model', 'resnet50']);
    expect(r.code).toBe(64);
    for (const p of [...HEAVY, 'chdb', 'onnx-proto']) expect(r.packages, p).not.toContain(p);
  });

  it('sql loads chdb, and none of the rest', async () => {
    const r = await loaded(['sql', 'SELECT 1', '--format', 'csv']);
    expect(r.code).toBe(0);
    expect(r.packages).toContain('chdb');
    for (const p of HEAVY) expect(r.packages, p).not.toContain(p);
  });

  it('report loads the chart renderer only to draw a chart (test/e2e/report-cli.test.ts draws them)', async () => {
    // No data: the report exits 1 (no request matches) and draws no chart of nothing, so Vega is not loaded.
    const out = join(dataDir, 'report');
    expect((await loaded(['migrate'])).code).toBe(0); // the report reads the tables, and does not create them
    const r = await loaded(['report', 'load-latency', '--out', out, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.packages).toContain('chdb');
    expect(r.packages).not.toContain('vega');
    expect(r.packages).not.toContain('vega-lite');
  });

  // Usage errors that need no data are said before the command loads its warehouse (chdb) and models (ONNX Runtime):
  // they had cost ~0.7 s of CPU first (`model train --kinds nope`: 2.9 s on a loaded machine).
  it.each<[string[], string, number?]>([
    [['model', 'train', '--kinds', 'total_ms_p50,nope'], '--kinds: unknown model kind "nope"'],
    [['predict', '--model', 'resnet50', '--chip', 'jetson-agx-orin', '--load', 'gpu_util=1.5'], '--load gpu_util: a utilisation is a fraction 0..1, got 1.5'],
    [['recommend', '--model', 'resnet50'], 'give exactly one of --slo-p99-ms and --slo-p90-ms'],
    [['demo', '--servers', '2', '--shadows', '5'], '--shadows 5 is more than --servers 2'],
    [['demo', '--servers', '1000'], '--servers 1000 × --duration 20 is 20,000 server-minutes'],
    [['demo', '--shadows', '0', '--shadow-sample', '0.5'], '--shadow-sample: no shadow deployment to apply it to'],
    [['model', 'promote', ''], 'model promote: expected a version'],
    [['report', 'load-latency', '--out', '/proc/edgelat-report'], '--out: cannot create the folder "/proc/edgelat-report"'],
    // commander's own line, its quoted argument escaped: one line (a trial: the line break split it).
    [['predict', '--model', 'resnet50\n', '--chip', 'x'], "edgelat: option '--model <id>' argument 'resnet50\\n' is invalid. --model must not hold control characters"],
    [['predict', '--model', "it's\nbad", '--chip', 'x'], "edgelat: option '--model <id>' argument 'it's\\nbad' is invalid. --model must not hold control characters"],
    [['import', 'benchmark', '--format', 'help', '--latency', 'l.csv'], '--format help needs --architectures A.csv'],
    // A file that is not the format's: parsed before the warehouse too (a trial: exit 75 after the wait).
    [['import', 'benchmark', '--format', 'singlestream', '--runs', NOT_A_BENCHMARK], `${NOT_A_BENCHMARK}: the header has no `],
    [['import', 'benchmark', '--format', 'mlperf', '--runs', NOT_A_BENCHMARK, '--systems', NOT_A_BENCHMARK], `${NOT_A_BENCHMARK}`],
    [['import', 'benchmark', '--format', 'help', '--architectures', NOT_A_BENCHMARK, '--latency', NOT_A_BENCHMARK], `${NOT_A_BENCHMARK}`],
    [['report', 'load-latency', '--out', ''], '--out: expected a folder, got ""'],
    [['report', 'load-latency', '--out', 'r', '--since', '2024-06-02', '--until', '2024-06-01'], '--since must be before --until'],
    [['gate', '--model', 'm', '--version', 'v', '--chip', 'c', '--slo-p99-ms', '50', '--servers', ''], '--servers: expected server ids separated by commas, got a blank value', 64],
    [['gate', '--model', 'm', '--version', 'v', '--chip', 'c', '--slo-p99-ms', '50', '--macs', '1.5'], '--macs must be a whole number of multiply-accumulates, got "1.5"', 64],
  ])('%j: bad usage before chdb or ONNX Runtime is loaded', async (args, message, code = 2) => {
    // A warehouse another process holds would have been waited for first (a trial: exit 75 after EDGELAT_LOCK_WAIT_S).
    const r = await loaded(args);
    expect([r.code, r.stderr]).toEqual([code, expect.stringContaining(message)]);
    for (const p of [...HEAVY, 'chdb', 'onnx-proto', 'avsc']) expect(r.packages, p).not.toContain(p);
  });

  it('import benchmark of SingleStream files with no run says so without the warehouse: exit 1, nothing created (a re-test: it waited for a held one)', async () => {
    const header = join(dataDir, 'header-only.csv');
    writeFileSync(header, 'model,chip,mlperf_version,division,submitter,system_id,p50_ms,p90_ms\n');
    const r = await loaded(['import', 'benchmark', '--format', 'singlestream', '--runs', header, '--json']);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([1, 'edgelat: no latency was imported (the files hold no usable run)']);
    expect(r.packages).not.toContain('chdb');
  });

  it('recommend reads its model file before it loads the warehouse: one it cannot read is bad usage, said at once', async () => {
    // A re-test: `--onnx` of a missing file waited for a warehouse another process held, then exited 75.
    const r = await loaded(['recommend', '--onnx', '/nonexistent/model.onnx', '--slo-p99-ms', '50']);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('--onnx "/nonexistent/model.onnx": no such file')]);
    expect(r.packages).not.toContain('chdb');
  });
});
