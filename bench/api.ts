/**
 * HTTP latency of the predictor API at a fixed request rate (issue 5, D3).
 *
 * What it measures: `POST /v1/predict` driven open-loop by the npm load
 * generator `loadtest` (`requestsPerSecond`: one drift-corrected timer sends
 * each request on schedule, whether or not earlier ones finished, on as many
 * keep-alive connections as that needs). Latency is taken from each request's
 * INTENDED send time (start + k / rate), not from when it was actually sent,
 * so a stall of the server or of the generator shows in the figures instead of
 * thinning the schedule (coordinated omission). The reference, in the same run
 * and at the same rate, is `GET /healthz`: the ratio says what prediction,
 * validation and serialisation add on top of fastify and the network stack.
 *
 * Target: by default `edgelat serve` as a child process on `--data-dir`
 * (default: .edgelat of the repository when it holds trained models, else a
 * fresh folder where the bench first runs `edgelat demo --servers 6
 * --duration 20`); the request bodies rotate over the (model, chip) pairs of
 * the fleet the server can predict, with seeded load vectors. `--url` drives a
 * predictor that is already running; `--stub` serves `createPredictorApp` over
 * a stub backend (three 200-tree GBT quantile models per prediction) instead.
 * Usage: npm run bench:api [-- --rate 200 --duration 10 --warmup 2 --data-dir DIR | --url http://127.0.0.1:8080 | --stub]
 * (`npx tsx bench/api.ts --serve-stub` alone serves the stub predictor and prints its URL.)
 * Output: stdout and bench/results/api.txt.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { cpus, hostname, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTest } from 'loadtest';
import pino from 'pino';
import { predictGbt, trainGbt, type GbtModel } from '../services/model/gbt.ts';
import { createPredictorApp } from '../services/predictor/app.ts';
import type { PredictorBackend, PredictRequest, PredictResponse } from '../services/predictor/types.ts';
import { createRng } from '../services/simulator/prng.ts';
import { benchArgs, numberArg, usageExit } from './args.ts';

const USAGE = 'npm run bench:api [-- --rate 200 --duration 10 --warmup 2] [--url URL | --stub | --data-dir DIR]   (rate req/s 1..10000, duration and warmup s)';
const flags = benchArgs(USAGE, {
  url: { type: 'string' },
  rate: { type: 'string', default: '200' },
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '2' },
  'serve-stub': { type: 'boolean', default: false },
  stub: { type: 'boolean', default: false },
  'data-dir': { type: 'string' },
});
if (!flags['serve-stub']) {
  if ([flags.url !== undefined, flags.stub === true, flags['data-dir'] !== undefined].filter(Boolean).length > 1) usageExit(USAGE, '--url, --stub and --data-dir are alternatives: give one at most');
  if (flags.url !== undefined && !/^https?:\/\/[^/\s]+/.test(flags.url)) usageExit(USAGE, `--url: expected http://host:port, got ${JSON.stringify(flags.url)}`);
  numberArg(USAGE, 'rate', flags.rate, 1, 10_000);
  numberArg(USAGE, 'duration', flags.duration, 0.1, 3600);
  numberArg(USAGE, 'warmup', flags.warmup, 0, 3600);
}

const LOAD_KEYS = ['cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s'] as const;

/** The stub backend: predict scores three GBT quantile models on 8 features; the rest answers fixed values. */
function createStubBackend(): PredictorBackend {
  const rng = createRng(42, 'bench-api');
  const X = Array.from({ length: 3000 }, () => Array.from({ length: 8 }, () => rng.next()));
  const y = X.map((x) => Math.log(1 + 50 * x[0]!) + x[1]! * x[2]! + (x[3]! > 0.8 ? 2 : 0) + 0.1 * rng.next());
  const models: [string, GbtModel][] = [0.5, 0.9, 0.99].map((alpha) => [`p${Math.round(alpha * 100)}`, trainGbt(X, y, { loss: { kind: 'quantile', alpha }, nTrees: 200, maxDepth: 6, minSamplesLeaf: 20 })]);
  const fixed = <T>(value: T) => async (): Promise<T> => value;
  return {
    async predict(req: PredictRequest): Promise<PredictResponse> {
      const load = Object.fromEntries(LOAD_KEYS.map((k) => [k, req.load?.[k] ?? 0]));
      const features = [...LOAD_KEYS.map((k) => load[k]! / (k.endsWith('_util') ? 1 : 64)), Math.log1p(req.input_bytes ?? 602_112) / 20, 0.5];
      const [p50, p90, p99] = models.map(([, m]) => Math.exp(predictGbt(m, features))) as [number, number, number];
      return {
        model: req.model, chip: req.chip, server: req.server ?? null, input_bytes: req.input_bytes ?? 602_112, load,
        total_ms: { p50, p90: Math.max(p50, p90), p99: Math.max(p50, p90, p99) }, io_ms_p50: 0.12 * p50, compute_ms_p50: 0.88 * p50,
        benchmark: { p50_ms: 9.6, p90_ms: 11.1 }, versions: { total: 'bench-stub' }, notes: [],
      };
    },
    recommend: () => Promise.reject(new Error('not part of the benchmark')),
    profile: () => Promise.reject(new Error('not part of the benchmark')),
    gate: () => Promise.reject(new Error('not part of the benchmark')),
    chips: fixed([]),
    correlations: fixed({ windows: [], next_offset: null }),
    health: fixed({ ok: true }),
  };
}

/** Seeded request bodies over (model, chip) pairs, rotated through so the server cannot answer from one hot path. */
function predictBodies(n: number, pairs: readonly { model: string; chip: string }[]): string[] {
  const rng = createRng(7, 'bench-api-bodies');
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      model: pairs[i % pairs.length]!.model,
      chip: pairs[i % pairs.length]!.chip,
      load: { cpu_util: rng.next(), gpu_util: rng.next(), mem_util: rng.next(), queue_depth: Math.floor(rng.next() * 16), concurrency: 1 + Math.floor(rng.next() * 8), requests_per_s: 100 * rng.next() },
      input_bytes: 150_528 * (1 + (i % 4)),
    }),
  );
}

interface Phase {
  sent: number;
  ok: number;
  errors: number;
  /** Latency from intended send time to the end of the response, ms. */
  latencyMs: number[];
  /** The same from the actual send time (what a closed-loop tool would report), ms. */
  sentMs: number[];
  /** How late each request left against its intended time (the generator's own timer lag), ms. */
  lagMs: number[];
  /** From first intended send to last response, ms. */
  spanMs: number;
}

/**
 * Drive `url` at `rate` requests/s for `seconds` with loadtest and measure every
 * request from its intended send time. The k-th tick of loadtest's timer is
 * intended at anchor + k / rate; the anchor is the earliest grid that no
 * request was sent before (min over k of sentAt_k − k / rate), so a tick that
 * fired late is charged its lateness and none is credited for being early.
 */
async function drive(url: string, rate: number, seconds: number, body?: () => string): Promise<Phase> {
  const intervalMs = 1000 / rate;
  const sends: { sentAt: number; endAt: number; ok: boolean }[] = [];
  let pending = 0;
  const requestGenerator = (_options: unknown, params: RequestOptions, request: (o: RequestOptions, cb: (res: IncomingMessage) => void) => ClientRequest, callback: (res: IncomingMessage) => void): ClientRequest => {
    const send = { sentAt: performance.now(), endAt: Number.NaN, ok: false };
    sends.push(send);
    pending++;
    const once = (ok: boolean) => {
      if (!Number.isNaN(send.endAt)) return;
      send.endAt = performance.now();
      send.ok = ok;
      pending--;
    };
    const req = request(params, (res) => {
      res.on('end', () => once(res.statusCode === 200));
      res.on('error', () => once(false));
      callback(res);
    });
    req.on('error', () => once(false));
    return req;
  };
  const options = {
    url, requestsPerSecond: rate, maxSeconds: seconds, agentKeepAlive: true, quiet: true, requestGenerator,
    ...(body ? { method: 'POST' as const, contentType: 'application/json', body } : {}),
  };
  await new Promise<void>((resolve, reject) => loadTest(options as never, (error: unknown) => (error ? reject(error) : resolve())));
  const deadline = performance.now() + 10_000;
  while (pending > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const anchor = Math.min(...sends.map((s, k) => s.sentAt - k * intervalMs));
  const phase: Phase = { sent: sends.length, ok: 0, errors: 0, latencyMs: [], sentMs: [], lagMs: [], spanMs: 0 };
  for (const [k, s] of sends.entries()) {
    if (!s.ok) {
      phase.errors++;
      continue;
    }
    phase.ok++;
    phase.latencyMs.push(s.endAt - (anchor + k * intervalMs));
    phase.sentMs.push(s.endAt - s.sentAt);
    phase.lagMs.push(s.sentAt - (anchor + k * intervalMs));
    phase.spanMs = Math.max(phase.spanMs, s.endAt - anchor);
  }
  return phase;
}

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(REPO, 'bin', 'edgelat.js');

/** Start `edgelat serve` on free ports over a data dir with trained models (running the demo first when needed). */
async function serveDemo(): Promise<{ child: ChildProcess; api: string; sql: string; dataDir: string; temporary: boolean }> {
  let dataDir = flags['data-dir'] ?? join(REPO, '.edgelat');
  let temporary = false;
  if (!existsSync(join(dataDir, 'models'))) {
    if (flags['data-dir']) throw new Error(`--data-dir ${JSON.stringify(dataDir)} has no trained models: run \`edgelat demo\` with EDGELAT_DATA_DIR there first`);
    dataDir = mkdtempSync(join(tmpdir(), 'edgelat-bench-api-'));
    temporary = true;
    process.stderr.write(`bench: no demo run in .edgelat; running \`edgelat demo --servers 6 --duration 20\` into ${dataDir} (about 80 s)\n`);
    execFileSync('node', [BIN, 'demo', '--servers', '6', '--duration', '20', '--seed', '5'], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir }, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const child = spawn('node', [BIN, 'serve', '--port', '0', '--sql-port', '0'], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir, EDGELAT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const urls = await new Promise<{ api: string; sql: string }>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /predictor API on (http:\/\/[\d.]+:\d+).*ClickHouse HTTP on (http:\/\/[\d.]+:\d+)/.exec(stderr);
      if (m) resolve({ api: m[1]!, sql: m[2]! });
    });
    child.once('exit', (code) => reject(new Error(`edgelat serve exited with code ${JSON.stringify(code)}: ${stderr.trim()}`)));
  });
  return { child, ...urls, dataDir, temporary };
}

/** The fleet's (model, chip) pairs that POST /v1/predict answers with 200. */
async function predictablePairs(api: string, sql: string): Promise<{ model: string; chip: string }[]> {
  const res = await fetch(`${sql}/?default_format=JSONEachRow`, { method: 'POST', body: 'SELECT DISTINCT model_id AS model, chip FROM edgelat.inference_enriched ORDER BY model, chip' });
  const all = (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { model: string; chip: string });
  const ok: { model: string; chip: string }[] = [];
  for (const p of all) {
    const r = await fetch(`${api}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...p, load: { gpu_util: 0.5 } }) });
    await r.arrayBuffer();
    if (r.status === 200) ok.push(p);
  }
  if (ok.length === 0) throw new Error('the server predicts no (model, chip) pair of its fleet: is the data dir a demo run with trained models?');
  return ok;
}

const pct = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

function summary(phase: Phase) {
  const sorted = [...phase.latencyMs].sort((a, b) => a - b);
  const sent = [...phase.sentMs].sort((a, b) => a - b);
  const lag = [...phase.lagMs].sort((a, b) => a - b);
  return {
    rps: (phase.ok / phase.spanMs) * 1000, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN,
    sentP50: pct(sent, 0.5), sentP99: pct(sent, 0.99), lagP50: pct(lag, 0.5), lagP99: pct(lag, 0.99),
  };
}

async function runBenchmark(): Promise<void> {
  const rate = Number(flags.rate);
  const seconds = Number(flags.duration);
  const warmup = Number(flags.warmup);
  for (const [name, value] of [['rate', rate], ['duration', seconds], ['warmup', warmup]] as const) {
    if (!Number.isFinite(value) || value < 0 || (name !== 'warmup' && value === 0)) throw new RangeError(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
  }
  let base = flags.url?.replace(/\/$/, '');
  let child: ChildProcess | undefined;
  let temporaryDir: string | undefined;
  let target = base ?? '';
  let pairs = [{ model: 'resnet50', chip: 'jetson-agx-orin' }, { model: 'ssd-mobilenet', chip: 'qualcomm-ai100-dm2e' }, { model: 'bert-99', chip: 'jetson-xavier-nx' }];
  try {
    if (!base && flags.stub) {
      child = fork(fileURLToPath(import.meta.url), ['--serve-stub'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      base = await new Promise<string>((resolve, reject) => child!.once('message', (m) => resolve((m as { url: string }).url)).once('exit', (code) => reject(new Error(`stub predictor exited with code ${JSON.stringify(code)}`))));
      target = `${base} (stub backend: 3 GBT quantile models of 200 trees, depth 6, in a child process)`;
    } else if (!base) {
      const served = await serveDemo();
      child = served.child;
      if (served.temporary) temporaryDir = served.dataDir;
      base = served.api;
      pairs = await predictablePairs(served.api, served.sql);
      target = `${base} (edgelat serve on ${served.dataDir}; ${pairs.length} (model, chip) pairs of the fleet)`;
    }
    const bodies = predictBodies(64, pairs);
    let next = 0;
    const body = () => bodies[next++ % bodies.length]!;
    if (warmup > 0) await drive(`${base}/v1/predict`, rate, warmup, body);
    const reference = await drive(`${base}/healthz`, rate, seconds);
    const predict = await drive(`${base}/v1/predict`, rate, seconds, body);
    report(target || base!, rate, seconds, predict, reference);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (temporaryDir) rmSync(temporaryDir, { recursive: true, force: true });
  }
}

function report(target: string, rate: number, seconds: number, predict: Phase, reference: Phase): void {
  const p = summary(predict);
  const r = summary(reference);
  const ms = (x: number) => `${x.toFixed(2)} ms`.padStart(10);
  const row = (name: string, phase: Phase, s: ReturnType<typeof summary>) =>
    `  ${name.padEnd(18)} ${s.rps.toFixed(1).padStart(7)} req/s  p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)}  errors ${phase.errors} of ${phase.sent}` +
    `\n  ${''.padEnd(18)} from actual send: p50 ${ms(s.sentP50)}  p99 ${ms(s.sentP99)}; send lag behind schedule p50 ${s.lagP50.toFixed(2)} ms, p99 ${s.lagP99.toFixed(2)} ms\n`;
  const text =
    `predictor API at a fixed rate: ${rate} req/s for ${seconds} s each, open loop (loadtest requestsPerSecond), latency from the intended send time\n` +
    `target: ${target}\n` +
    `machine: ${hostname()}, ${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, ${platform()} ${release()}, node ${process.version}, ${new Date().toISOString()}\n` +
    row('POST /v1/predict', predict, p) +
    row('GET /healthz (ref)', reference, r) +
    `  predict / healthz:  p50 ${(p.p50 / r.p50).toFixed(2)}×  p99 ${(p.p99 / r.p99).toFixed(2)}× (from actual send: p50 ${(p.sentP50 / r.sentP50).toFixed(2)}×  p99 ${(p.sentP99 / r.sentP99).toFixed(2)}×)\n`;
  process.stdout.write(text);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'api.txt'), text);
}

if (flags['serve-stub']) {
  const app = createPredictorApp({ backend: createStubBackend(), logger: pino({ level: 'warn' }, pino.destination(2)) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  if (process.send) {
    process.send({ url });
    process.on('disconnect', () => void app.close().then(() => process.exit(0)));
  } else process.stdout.write(`stub predictor listening on ${url}\n`);
} else {
  await runBenchmark();
}
