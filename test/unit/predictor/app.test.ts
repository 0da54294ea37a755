/**
 * Contract tests of the predictor's HTTP layer (services/predictor/app.ts)
 * through fastify `inject`, against a stub backend answering fixed, realistic
 * values: every route's success body, and every problem (400, 404, 405, 413,
 * 415, 500, 503) with its status, media type and RFC 9457 fields. The OpenAPI
 * document is checked to list every route and, through ajv, to accept and
 * reject the same bodies as the app.
 */
import { gzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { STATUS_CODES } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createPredictorApp, GATE_PARALLEL, malformedQueryPart, MAX_GATES_WAITING, MAX_PROFILES_WAITING, type PredictorAppOptions } from '../../../services/predictor/app.ts';
import { MAX_BODY_DEPTH, MAX_PROBLEM_ERRORS, parseJsonBody, PROBLEM_TYPES } from '../../../services/predictor/problems.ts';
import { API_ROUTES } from '../../../services/predictor/schemas.ts';
import type { GateReport } from '../../../services/predictor/gate-evidence.ts';
import { ModelFileError, WarehouseError } from '../../../errors.ts';
import { BadRequestError, NoChampionError, NoDataYetError, NoEvidenceError, NotFoundError, type ChipInfo, type CorrelationWindow, type ModelProfile, type PredictorBackend, type PredictResponse, type RecommendResponse } from '../../../services/predictor/types.ts';
import { rawRequest } from '../../helpers/raw-http.ts';

const PREDICTION: PredictResponse = {
  model: 'resnet50', chip: 'jetson-agx-orin', server: 'edge-eu-1', input_bytes: 602_112,
  load: { cpu_util: 0.62, gpu_util: 0.71, mem_util: 0.4, queue_depth: 3, concurrency: 4, requests_per_s: 38 },
  total_ms: { p50: 14.2, p90: 21.7, p99: 38.9 }, io_ms_p50: 1.8, compute_ms_p50: 12.4,
  benchmark: { p50_ms: 9.6, p90_ms: 11.1 }, versions: { total: 'gbt-2026-11-29', io: 'gbt-2026-11-29' }, notes: [],
};
const PROFILE: ModelProfile = {
  model_id: 'tiny-cnn', model_version: '1', params: 4_634, macs: 1_204_224, flops: 2_408_448, element_ops: 65_536, weight_bytes: 18_536,
  precision: 'float32', op_histogram: { Conv: 2, Relu: 2, Gemm: 1 },
  inputs: [{ name: 'input', shape: [8, 3, 32, 32], dtype: 'float32', symbolic: ['N', null, null, null] }],
  input_bytes: 98_304, batch: 8, unknown_shape_nodes: [],
};
const RECOMMENDATION: RecommendResponse = {
  model: 'resnet50', slo: { percentile: 0.99, ms: 50 }, rps: 30, queueing_law: 'M/G/1 (Pollaczek-Khinchine)',
  chips: [{
    rank: 1, chip: 'jetson-agx-orin', kind: 'gpu', vendor: 'nvidia', at_load: { p50: 14.2, p90: 21.7, p99: 38.9 }, idle: { p50: 9.6, p90: 11.1, p99: 13 },
    meets_slo: true, max_rps_within_slo: 41, cost_per_million: 1.37, price_per_hour: 0.2, evidence: { kind: 'fleet', fleet_requests: 120_000, benchmark_rows: 3, shadow: { windows: 4, pairs: 2515, better: 4, worse: 0, equivalent: 0, inconclusive: 0, against: [{ chip: 'jetson-xavier-nx', windows: 4, pairs: 2515, median_ratio: 0.37, median_p99_ratio: 0.41, tolerance: 0.1 }] } },
    reason: 'meets p99 50 ms up to 41 req/s; fastest measured in the fleet',
  }],
  skipped: [{ chip: 'hailo-8', reason: 'no fleet, benchmark or prediction for resnet50' }],
};
const CHIPS: ChipInfo[] = [{ chip: 'jetson-agx-orin', kind: 'gpu', vendor: 'nvidia', names: ['Jetson AGX Orin 64GB'], peak_ops_per_s: 2.75e14, memory_bw_bytes_s: 2.048e11, power_w: 60, price_per_hour: null }];
const WINDOWS: CorrelationWindow[] = [{
  scope: 'server_model', edge_server_id: 'edge-eu-1', model_id: 'resnet50', chip: 'jetson-agx-orin', window_start: '2026-11-30T08:00:00.000Z', window_end: '2026-11-30T08:05:00.000Z',
  x_metric: 'gpu_util', y_metric: 'latency_ms', n: 412, pearson_r: 0.81, ci_low: 0.77, ci_high: 0.84, slope: 22.5, intercept: 4.1, p_value: 1e-12, null_reason: null, alert_state: 'firing',
}];
const GATE: GateReport = {
  model: 'resnet50', version: 'v2', chip: 'jetson-xavier-nx', answer: 'BLOCK', exit_code: 1, slo_p99_ms: 40,
  servers: [{
    server: 'edge-04', version_now: 'v1', chip_now: 'jetson-xavier-nx', answer: 'BLOCK', reason: 'p99 at peak 70.4 ms (at least 48.9 ms) breaches the SLO 40.0 ms', slo_p99_ms: 40,
    now_p99_ms: 67.2, predicted_p99_ms: 70.4, p99_low_ms: 48.9, p99_high_ms: 101.3, peak: { start_ms: 1717236420000, end_ms: 1717236720000, requests: 1500, model_requests: 817 }, offered_utilisation: 0.62,
    factor: { compute: 2.051, io: 1, io_offset_ms: 0, spread: 1, log_sd: 0.12, io_uncertain: false, sources: ['version: MACs 8.000e+9 / 3.900e+9 (profiles)'] }, measured: null, target_workers: null,
  }],
  left_out: [],
};
const GATE_BODY = { model: 'resnet50', version: 'v2', chip: 'jetson-xavier-nx', slo_p99_ms: 40, macs: 8e9 };
const PREDICT_BODY = { model: 'resnet50', chip: 'jetson-agx-orin', load: { cpu_util: 0.62, gpu_util: 0.71 } };
const RECOMMEND_BODY = { model: 'resnet50', slo: { percentile: 0.99, ms: 50 }, rps: 30 };

/** A backend answering the fixed values above and recording what it was asked. */
function stubBackend(overrides: Partial<PredictorBackend> = {}) {
  const calls: { method: string; args: unknown[] }[] = [];
  const record = <T>(method: string, value: T) => async (...args: unknown[]): Promise<T> => {
    calls.push({ method, args });
    return structuredClone(value);
  };
  const backend: PredictorBackend = {
    predict: record('predict', PREDICTION), recommend: record('recommend', RECOMMENDATION), profile: record('profile', PROFILE),
    chips: record('chips', CHIPS), correlations: record('correlations', { windows: WINDOWS, next_offset: 101 }), gate: record('gate', GATE), health: record('health', { ok: true, details: { model: 'loaded' } }),
    ...overrides,
  };
  return { backend, calls };
}

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function setup(overrides: Partial<PredictorBackend> = {}, options: Partial<PredictorAppOptions> = {}) {
  const { backend, calls } = stubBackend(overrides);
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const app = createPredictorApp({ backend, logger, ...options });
  apps.push(app);
  return { app, calls, logs };
}

type Injected = Awaited<ReturnType<ReturnType<typeof setup>['app']['inject']>>;

/** Assert an RFC 9457 problem and return its body. */
function expectProblem(res: Injected, status: number, type: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = res.json();
  expect(problem).toMatchObject({ type, status, title: expect.any(String), detail: expect.any(String), instance: expect.stringMatching(/^\//) });
  expect(problem.request_id).toBe(res.headers['x-request-id']);
  return problem;
}

const postJson = (url: string, payload: unknown) => ({ method: 'POST' as const, url, payload: payload as object, headers: { 'content-type': 'application/json' } });
const postOnnx = (url: string, payload: Buffer) => ({ method: 'POST' as const, url, payload, headers: { 'content-type': 'application/octet-stream' } });

describe('POST /v1/predict', () => {
  it('answers the backend prediction for a valid body', async () => {
    const { app, calls } = setup();
    const res = await app.inject(postJson('/v1/predict', PREDICT_BODY));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual(PREDICTION);
    expect(calls).toEqual([{ method: 'predict', args: [PREDICT_BODY] }]);
  });

  it('takes "server": null as no server, as its own answers say it (the body of an answer with server null is a valid request)', async () => {
    const { app, calls } = setup({ predict: async (...args: unknown[]) => { calls.push({ method: 'predict', args }); return { ...PREDICTION, server: null }; } });
    const res = await app.inject(postJson('/v1/predict', { ...PREDICT_BODY, server: null }));
    expect(res.statusCode).toBe(200);
    const answer = res.json() as PredictResponse;
    expect(answer.server).toBeNull();
    const again = await app.inject(postJson('/v1/predict', { model: answer.model, chip: answer.chip, server: answer.server, load: answer.load }));
    expect(again.statusCode).toBe(200);
    // The backend is asked without a server (undefined), exactly as when the key is left out.
    expect(calls.map((c) => (c.args[0] as { server?: string }).server)).toEqual([undefined, undefined]);
    expect(calls[0]!.args[0]).toEqual(PREDICT_BODY);
    const named = await app.inject(postJson('/v1/predict', { ...PREDICT_BODY, server: 'edge-eu-1' }));
    expect([named.statusCode, (calls[2]!.args[0] as { server?: string }).server]).toEqual([200, 'edge-eu-1']);
  });

  it.each([
    ['unknown top-level key', { ...PREDICT_BODY, batch: 4 }, '#/batch', /unknown key "batch"/],
    ['unknown load key', { ...PREDICT_BODY, load: { disk_util: 0.2 } }, '#/load/disk_util', /unknown key "disk_util"/],
    ['utilisation above 1', { ...PREDICT_BODY, load: { gpu_util: 1.5 } }, '#/load/gpu_util', /got 1\.5/],
    ['negative utilisation', { ...PREDICT_BODY, load: { cpu_util: -0.1 } }, '#/load/cpu_util', /got -0\.1/],
    ['negative requests_per_s', { ...PREDICT_BODY, load: { requests_per_s: -1 } }, '#/load/requests_per_s', /got -1/],
    ['fractional input_bytes', { ...PREDICT_BODY, input_bytes: 1.5 }, '#/input_bytes', /got 1\.5/],
    ['fractional concurrency (a count of requests)', { ...PREDICT_BODY, load: { concurrency: 0.5 } }, '#/load/concurrency', /got 0\.5/],
    ['fractional queue_depth', { ...PREDICT_BODY, load: { queue_depth: 2.5 } }, '#/load/queue_depth', /got 2\.5/],
    ['input_bytes above 1 TiB', { ...PREDICT_BODY, input_bytes: 9e15 }, '#/input_bytes', /got 9000000000000000/],
    ['input_bytes above the safe integers', { ...PREDICT_BODY, input_bytes: 1e300 }, '#/input_bytes', /^too big: expected number to be <=1099511627776, got 1e\+300$/],
    ['missing model', { chip: 'jetson-agx-orin' }, '#/model', /is required/],
    ['chip not a string', { model: 'resnet50', chip: 7 }, '#/chip', /expected string.*got 7/],
    ['empty server', { ...PREDICT_BODY, server: '' }, '#/server', /got ""/],
    ['server not a string or null', { ...PREDICT_BODY, server: 3 }, '#/server', /got 3/],
    // The one id rule of /v1/gate and the CLI (a trial: answered 404 with the override echoed).
    ['a bidirectional override in the model', { ...PREDICT_BODY, model: 'resnet50\u202e' }, '#/model', /^expected an id without bidirectional or line-separator marks, got "resnet50\\u202e"$/],
    ['blanks around the chip', { ...PREDICT_BODY, chip: ' jetson-agx-orin' }, '#/chip', /^expected an id without leading or trailing blanks, got " jetson-agx-orin"$/],
    // Quoted with what does not show escaped, as the CLI quotes it (a trial: "res<U+200B>net50" read as resnet50).
    ['a zero-width space in the model', { ...PREDICT_BODY, model: 'res\u200bnet50' }, '#/model', /^expected an id without characters that do not show, got "res\\u200bnet50"$/],
    ['an unknown key with a zero-width space', { ...PREDICT_BODY, 'mod\u200bel': 1 }, '#/mod\u200bel', /^unknown key "mod\\u200bel"$/],
    ['not an object', [1, 2], '#', /expected object/],
  ])('answers 400 for %s', async (_name, body, path, message) => {
    const { app, calls } = setup();
    const problem = expectProblem(await app.inject(postJson('/v1/predict', body)), 400, PROBLEM_TYPES.validation);
    // One error per field (a trial: input_bytes 1e300 broke two bounds and was reported twice).
    expect(problem.errors.filter((e: { path: string }) => e.path === path)).toHaveLength(1);
    expect(problem.errors).toContainEqual({ path, message: expect.stringMatching(message) });
    // The detail is for a person: a key's pointer there has what does not show escaped (errors[].path keeps it as sent).
    expect(problem.detail).toContain(path.replaceAll('\u200b', '\\u200b'));
    expect(calls).toEqual([]);
  });

  it('answers 400 for malformed and empty JSON', async () => {
    const { app } = setup();
    const post = (payload: string) => app.inject({ method: 'POST', url: '/v1/predict', payload, headers: { 'content-type': 'application/json' } });
    // The JSON parser's own reason, with its position where it has one.
    expect(expectProblem(await post('{"model": '), 400, PROBLEM_TYPES.malformedBody).detail).toBe('request body is not valid JSON: Unexpected end of JSON input');
    expect(expectProblem(await post('{"model": "a",}'), 400, PROBLEM_TYPES.malformedBody).detail)
      .toBe('request body is not valid JSON: Expected double-quoted property name in JSON at position 14');
    expect(expectProblem(await post('{"model": tru}'), 400, PROBLEM_TYPES.malformedBody).detail).toBe("request body is not valid JSON: unexpected token '}'");
    // Prototype poisoning (what Fastify's parser refuses), named by its JSON pointer.
    expect(expectProblem(await post('{"__proto__": {"model": "x"}}'), 400, PROBLEM_TYPES.malformedBody).detail)
      .toBe('request body has a "__proto__" key at #/__proto__: refused (prototype poisoning)');
    expect(expectProblem(await post('{"model": "m", "load": {"constructor": {"prototype": {"x": 1}}}}'), 400, PROBLEM_TYPES.malformedBody).detail)
      .toBe('request body has a "constructor" key at #/load/constructor: refused (prototype poisoning)');
    const empty = await app.inject({ method: 'POST', url: '/v1/predict', payload: '', headers: { 'content-type': 'application/json' } });
    expect(expectProblem(empty, 400, PROBLEM_TYPES.malformedBody).detail).toMatch(/empty/);
    // Bytes that are not UTF-8 break the body, named with their offset (a trial: 0xFF became U+FFFD in an id, refused as a
    // character that does not show); a body in UTF-8, a byte order mark first, is read.
    const bytes = Buffer.concat([Buffer.from('{"model":"res'), Buffer.from([0xff]), Buffer.from('net50","chip":"c"}')]);
    const broken = await app.inject({ method: 'POST', url: '/v1/predict', payload: bytes, headers: { 'content-type': 'application/json' } });
    expect(expectProblem(broken, 400, PROBLEM_TYPES.malformedBody).detail).toBe('request body is not valid UTF-8 (byte 0xff at offset 13): send application/json in UTF-8 (RFC 8259 §8.1)');
    const truncated = Buffer.concat([Buffer.from('{"model":"é'), Buffer.from([0xc3])]);
    expect(expectProblem(await app.inject({ method: 'POST', url: '/v1/predict', payload: truncated, headers: { 'content-type': 'application/json' } }), 400, PROBLEM_TYPES.malformedBody).detail)
      .toBe('request body is not valid UTF-8 (byte 0xc3 at offset 12): send application/json in UTF-8 (RFC 8259 §8.1)');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(PREDICT_BODY))]);
    expect((await app.inject({ method: 'POST', url: '/v1/predict', payload: bom, headers: { 'content-type': 'application/json' } })).statusCode).toBe(200);
  });

  it('answers 413 above the JSON body limit', async () => {
    const { app, calls } = setup({}, { jsonBodyLimitBytes: 256 });
    const res = await app.inject(postJson('/v1/predict', { ...PREDICT_BODY, server: 'x'.repeat(300) }));
    expect(expectProblem(res, 413, PROBLEM_TYPES.bodyTooLarge).detail).toBe('request body exceeds the limit of 256 bytes');
    expect(calls).toEqual([]);
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/octet-stream']])('answers 415 for %s', async (contentType) => {
    const { app } = setup();
    const res = await app.inject({ method: 'POST', url: '/v1/predict', payload: 'model=resnet50', headers: { 'content-type': contentType } });
    expect(expectProblem(res, 415, PROBLEM_TYPES.unsupportedMediaType).detail).toBe(`content type ${JSON.stringify(contentType)} is not accepted: send "application/json"`);
  });

  it('answers 415 for a JSON charset other than UTF-8, and takes utf-8, utf8 and a byte order mark (RFC 8259 §8.1)', async () => {
    const { app, calls } = setup();
    const body = JSON.stringify(PREDICT_BODY);
    for (const charset of ['utf-16', 'latin1', '"UTF-16LE"']) {
      const res = await app.inject({ method: 'POST', url: '/v1/predict', payload: body, headers: { 'content-type': `application/json; charset=${charset}` } });
      expect(expectProblem(res, 415, PROBLEM_TYPES.unsupportedMediaType).detail).toBe(`charset ${JSON.stringify(charset.replace(/"/g, ''))} is not accepted: send application/json in UTF-8 (RFC 8259 §8.1)`);
    }
    expect(calls).toEqual([]);
    for (const [charset, payload] of [['UTF-8', body], ['utf8', body], ['utf-8', `\uFEFF${body}`]]) {
      const res = await app.inject({ method: 'POST', url: '/v1/predict', payload, headers: { 'content-type': `application/json; charset=${charset}` } });
      expect([charset, res.statusCode]).toEqual([charset, 200]);
    }
    expect(calls.map((c) => c.args[0])).toEqual([PREDICT_BODY, PREDICT_BODY, PREDICT_BODY]);
  });

  it('answers 415 for a gzip body (it was read as JSON that does not parse), and takes identity', async () => {
    const { app, calls } = setup();
    const gzipped = gzipSync(JSON.stringify(PREDICT_BODY));
    const res = await app.inject({ method: 'POST', url: '/v1/predict', payload: gzipped, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    expect(expectProblem(res, 415, PROBLEM_TYPES.unsupportedMediaType).detail)
      .toBe('content encoding "gzip" is not accepted: send the body uncompressed (Content-Encoding: identity or none)');
    expect(calls).toEqual([]);
    const plain = await app.inject({ ...postJson('/v1/predict', PREDICT_BODY), headers: { 'content-type': 'application/json', 'content-encoding': 'identity' } });
    expect(plain.statusCode).toBe(200);
  });

  it('maps BadRequestError to 400 and NotFoundError to 404 with their messages', async () => {
    const bad = setup({ predict: async () => { throw new BadRequestError('unknown load key "disk_util"'); } });
    expect(expectProblem(await bad.app.inject(postJson('/v1/predict', PREDICT_BODY)), 400, PROBLEM_TYPES.badRequest).detail).toBe('unknown load key "disk_util"');
    const missing = setup({ predict: async () => { throw new NotFoundError('unknown chip "tpu-v9"'); } });
    expect(expectProblem(await missing.app.inject(postJson('/v1/predict', PREDICT_BODY)), 404, PROBLEM_TYPES.notFound).detail).toBe('unknown chip "tpu-v9"');
    // Nothing in the data answers the pair: 404 as well, not a 500.
    const gap = setup({ predict: async () => { throw new NoEvidenceError('no benchmark p50 and p90 latency for model "bert-99" on chip "rpi4-cortex-a72"'); } });
    expect(expectProblem(await gap.app.inject(postJson('/v1/predict', PREDICT_BODY)), 404, PROBLEM_TYPES.notFound).detail).toMatch(/^no benchmark p50 and p90 latency/);
    // No champion model trained yet: the server's state, not the request's (a trial: 404 for a well-formed predict).
    const empty = setup({ predict: async () => { throw new NoChampionError('no champion model of kind total_ms_p50: run `edgelat demo` or `edgelat model train` first'); } });
    expect(expectProblem(await empty.app.inject(postJson('/v1/predict', PREDICT_BODY)), 503, PROBLEM_TYPES.unavailable).detail).toMatch(/^no champion model of kind total_ms_p50/);
    // A warehouse with no telemetry at all: 503 on every route, as predict (a trial: recommend and gate answered 404).
    const noData = setup({ recommend: async () => { throw new NoDataYetError('model "resnet50": no model is known yet: the warehouse holds no telemetry and no benchmark'); } });
    expect(expectProblem(await noData.app.inject(postJson('/v1/recommend', RECOMMEND_BODY)), 503, PROBLEM_TYPES.unavailable).detail).toMatch(/^model "resnet50": no model is known yet/);
  });

  it('answers 503 where the warehouse cannot read its own files, naming no path (a trial: a data folder made unreadable answered 500 on every route)', async () => {
    const cause = new WarehouseError('Code: 76. DB::Exception: Cannot open file /srv/edgelat/chdb/store/abc/data.bin, errno: 13, strerror: Permission denied. (CANNOT_OPEN_FILE)', 76);
    const { app, logs } = setup({ predict: async () => { throw cause; } });
    const res = await app.inject(postJson('/v1/predict', PREDICT_BODY));
    const problem = expectProblem(res, 503, PROBLEM_TYPES.unavailable);
    expect(problem.detail).toBe('the warehouse cannot read or write its own files (the server\'s log names the file and why): check the data folder\'s permissions for the user serve runs as, and the disk\'s free space');
    expect(res.body).not.toContain('/srv/edgelat');
    expect(logs.find((l) => l.msg === 'the warehouse cannot read or write its own files')).toMatchObject({ err: { message: expect.stringContaining('Permission denied') } });
    // Another warehouse error is still unexpected (500).
    const other = setup({ predict: async () => { throw new WarehouseError('Code: 43. DB::Exception: Illegal type String of argument of function sqrt. (ILLEGAL_TYPE_OF_ARGUMENT)', 43); } });
    expect((await other.app.inject(postJson('/v1/predict', PREDICT_BODY))).statusCode).toBe(500);
  });

  it('answers 500 with a generic detail for an unexpected error, and logs it', async () => {
    const { app, logs } = setup({ predict: async () => { throw new TypeError('cannot read properties of undefined (reading "trees")'); } });
    const res = await app.inject(postJson('/v1/predict', PREDICT_BODY));
    const problem = expectProblem(res, 500, PROBLEM_TYPES.internal);
    expect(problem.detail).toContain(problem.request_id);
    expect(res.body).not.toMatch(/trees|TypeError|at .*\.ts/);
    const logged = logs.find((l) => l.level === 50);
    expect(logged).toMatchObject({ request_id: problem.request_id, err: { type: 'TypeError', message: expect.stringContaining('trees') } });
  });

  it('logs every answer\'s status as a number, and a problem with its route and method (a trial: "200" beside 400 in one log store)', async () => {
    const { app, logs } = setup({});
    expect((await app.inject(postJson('/v1/predict', PREDICT_BODY))).statusCode).toBe(200);
    expect((await app.inject(postJson('/v1/predict', { ...PREDICT_BODY, model: '' }))).statusCode).toBe(400);
    const lines = logs.filter((l) => l.msg === 'request completed' || l.msg === 'request answered with a problem');
    expect(lines.map((l) => [l.msg, l.status])).toEqual([['request completed', 200], ['request answered with a problem', 400], ['request completed', 400]]);
    expect(lines[1]).toMatchObject({ route: '/v1/predict', method: 'POST' });
  });

  it('answers 500, never the body, when the backend answer is malformed', async () => {
    const { app, logs } = setup({ predict: async () => ({ ...PREDICTION, total_ms: { p50: 'fast' } }) as unknown as PredictResponse });
    const res = await app.inject(postJson('/v1/predict', PREDICT_BODY));
    expectProblem(res, 500, PROBLEM_TYPES.internal);
    expect(res.body).not.toContain('fast');
    expect(JSON.stringify(logs.find((l) => l.level === 50))).toContain('#/total_ms/p50');
  });
});

describe('POST /v1/gate', () => {
  it('answers the gate\'s report (200 whatever the answer) and passes the body on', async () => {
    const { app, calls } = setup();
    const res = await app.inject(postJson('/v1/gate', GATE_BODY));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(GATE);
    expect(calls).toEqual([{ method: 'gate', args: [GATE_BODY] }]);
  });

  it('reads null in an optional field as absent (a trial: a template\'s or Python\'s None for "unset" got 400)', async () => {
    const { app, calls } = setup();
    const nulls = { servers: null, macs: null, macs_now: null, lookback_hours: null, workers: null };
    const res = await app.inject(postJson('/v1/gate', { ...GATE_BODY, ...nulls }));
    expect(res.statusCode).toBe(200);
    const { servers: _s, macs: _m, macs_now: _n, lookback_hours: _l, workers: _w, ...required } = GATE_BODY as Record<string, unknown>;
    expect(calls).toEqual([{ method: 'gate', args: [required] }]);
    // Not a required one.
    const problem = expectProblem(await app.inject(postJson('/v1/gate', { ...GATE_BODY, slo_p99_ms: null })), 400, PROBLEM_TYPES.validation);
    expect(problem.errors).toContainEqual({ path: '#/slo_p99_ms', message: 'invalid input: expected number, received null' });
  });

  it.each([
    ['a missing version', { model: 'resnet50', chip: 'x', slo_p99_ms: 40 }, '#/version', /is required/],
    ['an SLO of 0', { ...GATE_BODY, slo_p99_ms: 0 }, '#/slo_p99_ms', /got 0/],
    ['negative MACs', { ...GATE_BODY, macs: -1 }, '#/macs', /got -1/],
    ['MACs below 1 (an infinite ratio)', { ...GATE_BODY, macs_now: 1e-300 }, '#/macs_now', /got 1e-300/],
    ['an empty server list', { ...GATE_BODY, servers: [] }, '#/servers', /got \[\]/],
    ['a fraction of a MAC (a trial: gated as 1.500e+0 MACs)', { ...GATE_BODY, macs: 1.5 }, '#/macs', /whole number of multiply-accumulates, got 1\.5/],
    ['an unknown key', { ...GATE_BODY, canary: true }, '#/canary', /unknown key "canary"/],
  ])('answers 400 for %s', async (_name, body, path, message) => {
    const { app } = setup();
    const problem = expectProblem(await app.inject(postJson('/v1/gate', body)), 400, PROBLEM_TYPES.validation);
    expect(problem.errors).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('gives a value of the wrong type one error (zod 4 also measured an array sent for a string by the string\'s min length)', async () => {
    const { app } = setup();
    const problem = expectProblem(await app.inject(postJson('/v1/gate', { ...GATE_BODY, chip: [] })), 400, PROBLEM_TYPES.validation);
    expect(problem.errors).toEqual([{ path: '#/chip', message: 'invalid input: expected string, received array, got []' }]);
  });

  it('refuses a bad id as predict does: validation-failed, the field named (a re-test: bad-request here, validation-failed there)', async () => {
    const { app } = setup();
    for (const route of ['/v1/gate', '/v1/predict'] as const) {
      const body = route === '/v1/gate' ? { ...GATE_BODY, model: 'resnet50\u202e' } : { ...PREDICT_BODY, model: 'resnet50\u202e' };
      const problem = expectProblem(await app.inject(postJson(route, body)), 400, PROBLEM_TYPES.validation);
      expect([route, problem.errors!.map((e: { path: string }) => e.path)]).toEqual([route, ['#/model']]);
    }
  });

  it('answers 400 bad-request with the field in errors[] when the backend refuses a field (as a 404 and a 400 validation have it)', async () => {
    const refuse = (field: string, message: string) => setup({ gate: async () => { throw new BadRequestError(message, field); } }).app;
    const macs = 'macs: "edge-04" runs bert-99 v1 now, so its MACs are the running version\'s (macs_now)';
    const problem = expectProblem(await refuse('macs', macs).inject(postJson('/v1/gate', GATE_BODY)), 400, PROBLEM_TYPES.badRequest);
    expect(problem.detail).toBe(macs);
    expect(problem.errors).toEqual([{ path: '#/macs', message: '"edge-04" runs bert-99 v1 now, so its MACs are the running version\'s (macs_now)' }]);
    // An entry of a list, named as the CLI names it (servers[1]): the path points at it.
    const blank = 'servers[1]: expected an id without leading or trailing blanks, got " edge-04"';
    expect(expectProblem(await refuse('servers/1', blank).inject(postJson('/v1/gate', GATE_BODY)), 400, PROBLEM_TYPES.badRequest).errors)
      .toEqual([{ path: '#/servers/1', message: 'expected an id without leading or trailing blanks, got " edge-04"' }]);
  });

  it('names a number JSON cannot hold (1e999 parses to Infinity) as Infinity, not null', async () => {
    const { app } = setup();
    const payload = '{"model":"resnet50","version":"v2","chip":"jetson-xavier-nx","slo_p99_ms":1e999}';
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/gate', headers: { 'content-type': 'application/json' }, payload }), 400, PROBLEM_TYPES.validation);
    expect(problem.errors).toContainEqual({ path: '#/slo_p99_ms', message: 'expected a finite number: the value given is beyond the largest double (about 1.8e308), which JSON.parse reads as Infinity' });
  });

  it('refuses a key given twice with two values (a trial: slo_p99_ms 5 then 50 was gated at 50), nested ones too', async () => {
    const { app } = setup();
    const post = (payload: string) => app.inject({ method: 'POST', url: '/v1/gate', headers: { 'content-type': 'application/json' }, payload });
    const twice = '{"model":"bert-99","version":"v1","chip":"jetson-agx-orin","slo_p99_ms":5,"slo_p99_ms":50,"servers":["edge-04"]}';
    expect(expectProblem(await post(twice), 400, PROBLEM_TYPES.malformedBody).detail)
      .toBe(`request body has the key "slo_p99_ms" twice in one object, with two values (at character ${twice.indexOf('"slo_p99_ms":50') + 1}): give each key once`);
    const nested = '{"model":"resnet50","load":{"gpu_util":0.1,"gpu_util":0.9}}';
    expect(expectProblem(await app.inject({ method: 'POST', url: '/v1/predict', headers: { 'content-type': 'application/json' }, payload: nested }), 400, PROBLEM_TYPES.malformedBody).detail)
      .toMatch(/^request body has the key "gpu_util" twice in one object/);
    // One key however it is escaped ("\u0061" is "a"); the same key in two objects is two keys.
    expect(expectProblem(await post('{"model":"bert-99","version":"v1","chip":"x","slo_p99_ms":5,"slo_p99_m\\u0073":50}'), 400, PROBLEM_TYPES.malformedBody).detail)
      .toMatch(/^request body has the key "slo_p99_ms" twice in one object/);
    expect(expectProblem(await app.inject({ method: 'POST', url: '/v1/predict', headers: { 'content-type': 'application/json' }, payload: '{"model":"m","load":{"gpu_util":0.1},"x":{"gpu_util":0.9}}' }), 400, PROBLEM_TYPES.validation).detail)
      .not.toMatch(/twice/);
    // The same value twice says nothing else: the body is read as sent.
    const res = await post('{"model":"resnet50","version":"v2","version":"v2","chip":"jetson-xavier-nx","slo_p99_ms":40}');
    expect(res.statusCode).toBe(200);
    // Text inside a string that looks like a key is not one (`"\"chip\": x"` beside "chip").
    expect(expectProblem(await post('{"model":"m\\"chip\\":","version":"v1","chip":"x"}'), 400, PROBLEM_TYPES.validation).detail).not.toMatch(/twice/);
  });

  it('reads a string of 200,000 escaped quotes in one pass (a trial: the duplicate-key check took 52 s on it, the API held)', async () => {
    const { app } = setup();
    // Within the test's 5 s, where the check tried again from every quote (time growing with the square of the length).
    const payload = `{"model":"${'\\"'.repeat(200_000)}","chip":"x"}`;
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/predict', headers: { 'content-type': 'application/json' }, payload }), 400, PROBLEM_TYPES.validation);
    expect(problem.detail).not.toMatch(/twice/);
    const twice = `{"model":"${'\\"'.repeat(200_000)}","chip":"x","chip":"y"}`;
    expect(expectProblem(await app.inject({ method: 'POST', url: '/v1/predict', headers: { 'content-type': 'application/json' }, payload: twice }), 400, PROBLEM_TYPES.malformedBody).detail)
      .toMatch(/^request body has the key "chip" twice in one object/);
  });

  it('refuses a body nested deeper than any request (a trial: 50,000 levels overflowed the duplicate-key parser, HTTP 500)', async () => {
    const { app } = setup();
    const post = (payload: string) => app.inject({ method: 'POST', url: '/v1/predict', headers: { 'content-type': 'application/json' }, payload });
    const deep = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    const problem = expectProblem(await post(deep), 400, PROBLEM_TYPES.malformedBody);
    expect(problem.detail).toBe(`request body nests objects or arrays more than ${MAX_BODY_DEPTH} levels deep (at #${'/a'.repeat(MAX_BODY_DEPTH)}): no request of this API nests more than 5`);
    // Arrays count as objects do; the limit is exactly MAX_BODY_DEPTH containers.
    const nest = (levels: number) => `{"model":"m","load":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
    expect(expectProblem(await post(nest(MAX_BODY_DEPTH + 1)), 400, PROBLEM_TYPES.malformedBody).detail).toMatch(/^request body nests objects or arrays more than 32 levels deep \(at #\/load(\/0)+\)/);
    expect(expectProblem(await post(nest(MAX_BODY_DEPTH)), 400, PROBLEM_TYPES.validation).detail).not.toMatch(/levels deep/);
    // The deepest body the API takes (a profile's input shape) passes the check.
    expect(() => parseJsonBody('{"profile":{"inputs":[{"shape":[1,3]}]}}')).not.toThrow();
  });

  it('answers 404 when the backend knows no such model, with the field in errors[] as a 400 has it', async () => {
    const { app } = setup({ gate: async () => { throw new NotFoundError('model: no request of "nope" in edgelat.inference_enriched', 'model'); } });
    const problem = expectProblem(await app.inject(postJson('/v1/gate', { ...GATE_BODY, model: 'nope' })), 404, PROBLEM_TYPES.notFound);
    expect(problem.detail).toBe('model: no request of "nope" in edgelat.inference_enriched');
    expect(problem.errors).toEqual([{ path: '#/model', message: 'no request of "nope" in edgelat.inference_enriched' }]);
    // An entry of a list: the path points at it.
    const { app: list } = setup({ gate: async () => { throw new NotFoundError('servers: "edge-99" has no request of "m"', 'servers/1'); } });
    expect(expectProblem(await list.inject(postJson('/v1/gate', GATE_BODY)), 404, PROBLEM_TYPES.notFound).errors).toEqual([{ path: '#/servers/1', message: '"edge-99" has no request of "m"' }]);
    // Several bad servers: an entry each, at its own index.
    const { app: several } = setup({ gate: async () => { throw new NotFoundError('servers: "a" and "b"', 'servers/0', [{ field: 'servers/0', message: '"a" is no server' }, { field: 'servers/2', message: '"b" does not run "m"' }]); } });
    expect(expectProblem(await several.inject(postJson('/v1/gate', GATE_BODY)), 404, PROBLEM_TYPES.notFound).errors).toEqual([{ path: '#/servers/0', message: '"a" is no server' }, { path: '#/servers/2', message: '"b" does not run "m"' }]);
    // Without a field (a message naming no request field): the detail alone.
    const { app: bare } = setup({ gate: async () => { throw new NotFoundError('no such thing'); } });
    expect(expectProblem(await bare.inject(postJson('/v1/gate', GATE_BODY)), 404, PROBLEM_TYPES.notFound).errors).toBeUndefined();
  });
});

describe('POST /v1/gate: one gate computed at a time', () => {
  /** A backend whose gates wait until released, counting how many run at once. */
  function heldGates() {
    let running = 0;
    let most = 0;
    let calls = 0;
    const waiting: (() => void)[] = [];
    const gate = async () => {
      calls++;
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => waiting.push(r));
      running--;
      return structuredClone(GATE);
    };
    const releaseOne = async () => {
      while (waiting.length === 0) await new Promise((r) => setTimeout(r, 2));
      waiting.shift()!();
    };
    return { gate, releaseOne, stats: () => ({ calls, most }) };
  }

  it('computes gates one at a time; past the waiting limit answers 503 busy with Retry-After; other routes answer meanwhile (a trial: 20 gates held a predict 13 s)', async () => {
    const held = heldGates();
    const { app } = setup({ gate: held.gate });
    const pending = Array.from({ length: 1 + MAX_GATES_WAITING }, () => app.inject(postJson('/v1/gate', GATE_BODY)));
    while (held.stats().calls === 0) await new Promise((r) => setTimeout(r, 2));
    const busy = await app.inject(postJson('/v1/gate', GATE_BODY));
    expect(busy.headers['retry-after']).toBe('5');
    expect(expectProblem(busy, 503, PROBLEM_TYPES.busy).detail).toBe(`busy: 1 gate request(s) being answered and ${MAX_GATES_WAITING} waiting (at most ${MAX_GATES_WAITING} wait); retry later`);
    expect((await app.inject(postJson('/v1/predict', PREDICT_BODY))).statusCode).toBe(200);
    for (let i = 0; i < pending.length; i++) await held.releaseOne();
    const answers = await Promise.all(pending);
    expect([answers.map((a) => a.statusCode), held.stats()]).toEqual([Array(1 + MAX_GATES_WAITING).fill(200), { calls: 1 + MAX_GATES_WAITING, most: GATE_PARALLEL }]);
  });

  it('once told it is stopping, answers the gates still waiting 503, and a running one whose query the stop cancelled 503 too (a re-test: serve\'s SIGTERM waited for 12 queued gates)', async () => {
    let cancel!: (error: Error) => void;
    let calls = 0;
    const gate = () => {
      calls++;
      return new Promise<never>((_resolve, reject) => { cancel = reject; });
    };
    const { app } = setup({ gate });
    const pending = Array.from({ length: 4 }, () => app.inject(postJson('/v1/gate', GATE_BODY)));
    while (calls === 0) await new Promise((r) => setTimeout(r, 2));
    expect(app.beginStop()).toEqual({ running: 1, waiting: 3 });
    // serve's KILL QUERY: the running gate's warehouse query fails with ClickHouse's 394.
    cancel(new Error('Code: 394. DB::Exception: Query was cancelled. (QUERY_WAS_CANCELLED)'));
    const answers = await Promise.all(pending);
    expect(answers.map((a) => [a.statusCode, a.headers['retry-after'], expectProblem(a, 503, PROBLEM_TYPES.unavailable).detail])).toEqual([
      [503, '5', 'the server is stopping: the gate was cancelled; retry once it is back'],
      ...Array(3).fill([503, '5', 'the server is stopping: the gate was not computed; retry once it is back']),
    ]);
    expect(calls).toBe(1);
  });

  it('does not compute a gate whose client closed the connection while it waited, nor count it as waiting, over a real socket', async () => {
    const held = heldGates();
    const { app } = setup({ gate: held.gate });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const body = JSON.stringify(GATE_BODY);
    const request = `POST /v1/gate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const send = (close: boolean) => new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(request);
        if (close) setTimeout(() => socket.destroy(), 100);
      });
      socket.on('data', (d) => {
        text += d.toString();
        if (text.includes('"answer"')) socket.end();
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    const first = send(false);
    while (held.stats().calls === 0) await new Promise((r) => setTimeout(r, 2));
    // As many waiting requests as may wait, behind the first, and each client goes: none of them counts any more (a
    // re-test: abandoned requests kept live ones out with 503 busy until their turn came).
    await Promise.all(Array.from({ length: MAX_GATES_WAITING }, () => send(true)));
    // Until the server has seen them go (a loaded CI run sent the next one first, which was then refused busy): only the
    // first's connection left.
    const connections = () => new Promise<number>((resolve, reject) => app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
    for (let waited = 0; (await connections()) > 1 && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    const third = send(false); // not busy: computed once the first is done
    await new Promise((r) => setTimeout(r, 200)); // its request in the queue before the first is released
    await held.releaseOne();
    expect(await first).toMatch(/^HTTP\/1\.1 200 OK/);
    await held.releaseOne();
    expect(await third).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(held.stats().calls).toBe(2);
    // The gate given up is counted, as 499 (no answer went out for Fastify's hooks to count).
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect([metrics.match(/edgelat_http_requests_total\{route="\/v1\/gate",method="POST",status="(\d+)"\} (\d+)/g)?.sort()]).toEqual([[
      'edgelat_http_requests_total{route="/v1/gate",method="POST",status="200"} 2', `edgelat_http_requests_total{route="/v1/gate",method="POST",status="499"} ${MAX_GATES_WAITING}`,
    ]]);
  });

  it('lists at most MAX_PROBLEM_ERRORS field errors in a 400 (a body of 60,000 unknown keys answered 3.3 MB), counting all in the detail', async () => {
    const { app } = setup();
    const body: Record<string, unknown> = { ...GATE_BODY };
    for (let i = 0; i < 2000; i++) body[`k${i}`] = i;
    const res = await app.inject(postJson('/v1/gate', body));
    const problem = expectProblem(res, 400, PROBLEM_TYPES.validation);
    expect([problem.errors.length, problem.detail]).toEqual([MAX_PROBLEM_ERRORS, 'invalid request body: #/k0 unknown key "k0" (and 1999 more)']);
  });
});

describe('POST /v1/recommend', () => {
  it('answers the ranked chips for a known model, and for a profile', async () => {
    const { app, calls } = setup();
    const res = await app.inject(postJson('/v1/recommend', RECOMMEND_BODY));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(RECOMMENDATION);
    const byProfile = { profile: PROFILE, slo: { percentile: 0.9, ms: 20 }, rps: 5, chips: ['jetson-agx-orin'], objective: 'cost' };
    expect((await app.inject(postJson('/v1/recommend', byProfile))).statusCode).toBe(200);
    expect(calls.map((c) => c.args[0])).toEqual([RECOMMEND_BODY, byProfile]);
  });

  it('answers 503 with the CLI\'s words when the data knows no chip at all (a trial: 200 with no chips, where the CLI exits 2)', async () => {
    const { app } = setup({ recommend: async () => ({ ...structuredClone(RECOMMENDATION), chips: [], skipped: [] }) });
    expect(expectProblem(await app.inject(postJson('/v1/recommend', RECOMMEND_BODY)), 503, PROBLEM_TYPES.unavailable).detail)
      .toBe('no chip is known: import a benchmark (`edgelat import benchmark`), import a chip catalog (`edgelat chips import`) or run the demo');
    // Every chip skipped is an answer (the reasons are the evidence): 200.
    const { app: skipped } = setup({ recommend: async () => ({ ...structuredClone(RECOMMENDATION), chips: [] }) });
    expect((await skipped.inject(postJson('/v1/recommend', RECOMMEND_BODY))).statusCode).toBe(200);
  });

  it.each([
    ['both model and profile', { ...RECOMMEND_BODY, profile: PROFILE }, '#', /exactly one of "model" and "profile"/],
    ['neither model nor profile', { slo: RECOMMEND_BODY.slo, rps: 30 }, '#', /exactly one/],
    ['percentile 0.95', { ...RECOMMEND_BODY, slo: { percentile: 0.95, ms: 50 } }, '#/slo/percentile', /got 0\.95/],
    ['slo.ms of 0', { ...RECOMMEND_BODY, slo: { percentile: 0.99, ms: 0 } }, '#/slo/ms', /got 0/],
    ['negative rps', { ...RECOMMEND_BODY, rps: -2 }, '#/rps', /got -2/],
    // Its cost per million would overflow to Infinity, shown as "unpriced" (a trial: 5e-324 on a priced chip).
    ['rps of 5e-324', { ...RECOMMEND_BODY, rps: 5e-324 }, '#/rps', /^must be 0 or at least 0\.000001 requests\/s \(one request in about 11\.6 days\)/],
    ['unknown slo key', { ...RECOMMEND_BODY, slo: { percentile: 0.99, ms: 50, target: 1 } }, '#/slo/target', /unknown key "target"/],
    ['unknown profile key', { profile: { ...PROFILE, layers: 3 }, slo: RECOMMEND_BODY.slo, rps: 1 }, '#/profile/layers', /unknown key "layers"/],
    // The value is the flops, not the whole profile (a trial: the message quoted every field).
    ['profile FLOPs not 2 × MACs', { profile: { ...PROFILE, flops: 1 }, slo: RECOMMEND_BODY.slo, rps: 1 }, '#/profile/flops', /^expected 2 × macs = 2408448 \(FLOPs count a multiply-accumulate as 2\), got 1$/],
    // What `profile` takes, a profile takes (a trial: batch 99999, and a 5,004-character id with U+202E, were accepted).
    ['profile batch above 4096', { profile: { ...PROFILE, batch: 99999 }, slo: RECOMMEND_BODY.slo, rps: 1 }, '#/profile/batch', /99999/],
    ['profile model_id with U+202E', { profile: { ...PROFILE, model_id: 'a\u202eb' }, slo: RECOMMEND_BODY.slo, rps: 1 }, '#/profile/model_id', /expected an id without bidirectional or line-separator marks/],
    // The one id rule, as `profile` gives ids (a re-test: blanks around it and a zero-width space were taken here).
    ['profile model_id with blanks around it', { profile: { ...PROFILE, model_id: ' x ' }, slo: RECOMMEND_BODY.slo, rps: 1 }, '#/profile/model_id', /expected an id without leading or trailing blanks/],
    ['profile model_id with U+200B', { profile: { ...PROFILE, model_id: 'res\u200bnet' }, slo: RECOMMEND_BODY.slo, rps: 1 }, '#/profile/model_id', /expected an id without characters that do not show/],
    ['empty profile model_id (a trial: the answer\'s header read ": SLO …")', { profile: { ...PROFILE, model_id: '' }, slo: RECOMMEND_BODY.slo, rps: 1 }, '#/profile/model_id', /got ""/],
    ['profile model_id of 257 characters', { profile: { ...PROFILE, model_id: 'm'.repeat(257) }, slo: RECOMMEND_BODY.slo, rps: 1 }, '#/profile/model_id', /256/],
  ])('answers 400 for %s', async (_name, body, path, message) => {
    const { app } = setup();
    const problem = expectProblem(await app.inject(postJson('/v1/recommend', body)), 400, PROBLEM_TYPES.validation);
    expect(problem.errors).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('says both model and profile were given also when the profile is bad, and a negative rps once (two trials)', async () => {
    const { app } = setup();
    const both = expectProblem(await app.inject(postJson('/v1/recommend', { ...RECOMMEND_BODY, profile: {} })), 400, PROBLEM_TYPES.validation);
    // First, and in the detail: the profile's own errors follow (a trial read 13 of them first).
    expect([both.errors![0], both.detail]).toEqual([{ path: '#', message: 'exactly one of "model" and "profile" is required' }, 'invalid request body: # exactly one of "model" and "profile" is required (and 13 more)']);
    expect(both.errors!.filter((e: { path: string }) => e.path.startsWith('#/profile/')).length).toBeGreaterThan(0);
    const negative = expectProblem(await app.inject(postJson('/v1/recommend', { ...RECOMMEND_BODY, rps: -1 })), 400, PROBLEM_TYPES.validation);
    expect(negative.errors!.filter((e: { path: string }) => e.path === '#/rps')).toHaveLength(1);
  });

  it('answers 415 for a non-JSON body and 413 above the limit', async () => {
    const { app } = setup({}, { jsonBodyLimitBytes: 64 });
    expectProblem(await app.inject({ method: 'POST', url: '/v1/recommend', payload: 'x', headers: { 'content-type': 'text/plain' } }), 415, PROBLEM_TYPES.unsupportedMediaType);
    expectProblem(await app.inject(postJson('/v1/recommend', { ...RECOMMEND_BODY, chips: Array(20).fill('jetson-agx-orin') })), 413, PROBLEM_TYPES.bodyTooLarge);
  });
});

describe('POST /v1/profile', () => {
  const onnx = Buffer.from([0x08, 0x07, 0x12, 0x04, 0x74, 0x65, 0x73, 0x74]);

  it('hands the raw bytes, batch and model id to the backend', async () => {
    const { app, calls } = setup();
    const res = await app.inject(postOnnx('/v1/profile?batch=8&model_id=tiny-cnn', onnx));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(PROFILE);
    expect(calls).toHaveLength(1);
    expect(Buffer.from(calls[0]!.args[0] as Uint8Array)).toEqual(onnx);
    expect(calls[0]!.args[1]).toEqual({ batch: 8, modelId: 'tiny-cnn' });
    // Named symbolic dims past the batch, as `profile --dim` (one or several).
    await app.inject(postOnnx('/v1/profile?dim=seq=128', onnx));
    await app.inject(postOnnx('/v1/profile?dim=seq=1000000&dim=width=2', onnx));
    expect(calls.slice(1).map((c) => c.args[1])).toEqual([{ dims: { seq: 128 } }, { dims: { seq: 1_000_000, width: 2 } }]);
    // `__proto__` is a dim's name as any other (the profiler refuses a name no input has, as on the CLI), not the prototype (a trial: 200).
    await app.inject(postOnnx('/v1/profile?dim=__proto__=5', onnx));
    const dims = (calls[3]!.args[1] as { dims: Record<string, number> }).dims;
    expect([Object.keys(dims), Object.getOwnPropertyDescriptor(dims, '__proto__')?.value]).toEqual([['__proto__'], 5]);
  });

  it('profiles one at a time; past the waiting limit answers 503 busy with Retry-After (a trial: abandoned 60-MB uploads queued without end)', async () => {
    const waiting: (() => void)[] = [];
    let calls = 0;
    let running = 0;
    let most = 0;
    const profile = async () => {
      calls++;
      most = Math.max(most, ++running);
      await new Promise<void>((r) => waiting.push(r));
      running--;
      return structuredClone(PROFILE);
    };
    const { app } = setup({ profile });
    const pending = Array.from({ length: 1 + MAX_PROFILES_WAITING }, () => app.inject(postOnnx('/v1/profile', onnx)));
    while (calls === 0) await new Promise((r) => setTimeout(r, 2));
    const busy = await app.inject(postOnnx('/v1/profile', onnx));
    expect(busy.headers['retry-after']).toBe('5');
    expect(expectProblem(busy, 503, PROBLEM_TYPES.busy).detail).toBe(`busy: 1 profile(s) being computed and ${MAX_PROFILES_WAITING} waiting (at most ${MAX_PROFILES_WAITING} wait); retry later`);
    for (let i = 0; i < pending.length; i++) {
      while (waiting.length === 0) await new Promise((r) => setTimeout(r, 2));
      waiting.shift()!();
    }
    expect((await Promise.all(pending)).map((a) => a.statusCode)).toEqual(Array(1 + MAX_PROFILES_WAITING).fill(200));
    expect([calls, most]).toEqual([1 + MAX_PROFILES_WAITING, 1]);
  });

  it.each([
    ['batch=0', '#/batch'], ['batch=4097', '#/batch'], ['batch=1.5', '#/batch'], ['batch=many', '#/batch'], ['model=x', '#/model'],
    // An id echoed in the answer: no control or bidirectional characters (a trial: %E2%80%AE and %00 were echoed).
    ['model_id=%E2%80%AEevil', '#/model_id'], ['model_id=a%00b', '#/model_id'], ['model_id=', '#/model_id'],
    // The one id rule (a re-test: blanks around it and a zero-width space were taken, and /v1/recommend refused the profile).
    ['model_id=%20x%20', '#/model_id'], ['model_id=res%E2%80%8Bnet', '#/model_id'],
    ['dim=seq', '#/dim'], ['dim=seq=0', '#/dim'], ['dim=seq=1000001', '#/dim'], ['dim=seq=2&dim=seq=3', '#/dim'], ['dim==4', '#/dim'],
    ['dim=__proto__=5&dim=__proto__=6', '#/dim'], [Array.from({ length: 65 }, (_, i) => `dim=d${i}=1`).join('&'), '#/dim'],
  ])('answers 400 for ?%s', async (query, path) => {
    const { app, calls } = setup();
    const problem = expectProblem(await app.inject(postOnnx(`/v1/profile?${query}`, onnx)), 400, PROBLEM_TYPES.validation);
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    expect(calls).toEqual([]);
  });

  it('says how many dims a profile takes, not "give the parameter once" (a trial: 65 of them)', async () => {
    const { app } = setup();
    const query = Array.from({ length: 65 }, (_, i) => `dim=d${i}=1`).join('&');
    const problem = expectProblem(await app.inject(postOnnx(`/v1/profile?${query}`, onnx)), 400, PROBLEM_TYPES.validation);
    expect(problem.detail).toMatch(/^invalid query string: #\/dim expected at most 64 dims \(one \?dim=NAME=N each; 65 given\), got \["d0=1",/);
  });

  it('quotes a batch that is not a number as sent', async () => {
    const { app } = setup();
    for (const [query, got] of [['batch=abc', '"abc"'], ['batch=2&batch=3', '["2","3"]'], ['batch=', '""']]) {
      const problem = expectProblem(await app.inject(postOnnx(`/v1/profile?${query}`, onnx)), 400, PROBLEM_TYPES.validation);
      expect(problem.detail).toBe(`invalid query string: #/batch expected a whole number 1..4096, got ${got}`);
    }
  });

  it('answers 400 for an empty body and for a malformed file (BadRequestError)', async () => {
    const { app } = setup({ profile: async () => { throw new BadRequestError('not an ONNX ModelProto: truncated varint at byte 6'); } });
    expectProblem(await app.inject(postOnnx('/v1/profile', Buffer.alloc(0))), 400, PROBLEM_TYPES.malformedBody);
    const res = await app.inject(postOnnx('/v1/profile', onnx));
    expect(expectProblem(res, 400, PROBLEM_TYPES.badRequest).detail).toMatch(/truncated varint/);
  });

  it('answers 413 above profileBodyLimitBytes, while accepting more than the JSON limit', async () => {
    const { app } = setup({}, { profileBodyLimitBytes: 4096, jsonBodyLimitBytes: 16 });
    expect((await app.inject(postOnnx('/v1/profile', Buffer.alloc(4096, 1)))).statusCode).toBe(200);
    const res = await app.inject(postOnnx('/v1/profile', Buffer.alloc(4097, 1)));
    expect(expectProblem(res, 413, PROBLEM_TYPES.bodyTooLarge).detail).toBe('request body exceeds the limit of 4096 bytes');
  });

  it('answers 415 for JSON, multipart or no content type', async () => {
    const { app } = setup();
    const json = await app.inject(postJson('/v1/profile', { onnx: 'AAEC' }));
    expect(expectProblem(json, 415, PROBLEM_TYPES.unsupportedMediaType).detail).toMatch(/send "application\/octet-stream"/);
    const multipart = await app.inject({ method: 'POST', url: '/v1/profile', payload: 'x', headers: { 'content-type': 'multipart/form-data; boundary=b' } });
    expectProblem(multipart, 415, PROBLEM_TYPES.unsupportedMediaType);
    expect(expectProblem(await app.inject({ method: 'POST', url: '/v1/profile', payload: onnx }), 415, PROBLEM_TYPES.unsupportedMediaType).detail).toMatch(/^missing content type/);
  });
});

describe('GET routes', () => {
  it('GET /v1/chips answers the catalog', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/v1/chips' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ chips: CHIPS });
  });

  it('GET /v1/chips names a catalog row it cannot answer instead of failing the whole catalog (a trial: one bad kind, a 500)', async () => {
    const bad = { ...CHIPS[0]!, chip: 'odd-npu', kind: 'tpu' } as unknown as (typeof CHIPS)[number];
    const worse = { ...CHIPS[0]!, chip: 'Y BAD\n', vendor: 'V\u0000', peak_ops_per_s: -1 };
    const { app, logs } = setup({ chips: async () => [...structuredClone(CHIPS), bad, worse] });
    const res = await app.inject({ method: 'GET', url: '/v1/chips' });
    expect(logs.filter((l) => l.msg === 'chip catalog row left out of GET /v1/chips').map((l) => l.chip)).toEqual(['odd-npu', 'Y BAD\n']);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      chips: CHIPS,
      invalid: [
        { chip: 'odd-npu', problem: 'kind: expected one of cpu, gpu, npu, fpga, asic, got "tpu"' },
        { chip: 'Y BAD\n', problem: 'chip: expected an id of at most 256 lower-case letters, digits, \'.\', \'_\', \'-\' and \'+\', got "Y BAD\\n"; vendor: expected a name without control characters, got "V\\u0000"; peak_ops_per_s: expected null or a number in [1000000, 1e+21] ops/s, got -1' },
      ],
    });
  });

  it('GET /v1/correlations parses since (ISO-8601 or epoch ms) and limit', async () => {
    const { app, calls } = setup();
    const iso = await app.inject({ method: 'GET', url: '/v1/correlations?server=edge-eu-1&model=resnet50&since=2026-11-30T08:00:00Z&limit=5' });
    expect(iso.statusCode).toBe(200);
    expect(iso.json()).toEqual({ windows: WINDOWS, next_offset: 101 });
    await app.inject({ method: 'GET', url: '/v1/correlations?since=1796025600000' });
    await app.inject({ method: 'GET', url: '/v1/correlations' });
    await app.inject({ method: 'GET', url: '/v1/correlations?x_metric=queue_depth&y_metric=total_ms&limit=100&offset=100' });
    expect(calls.map((c) => c.args[0])).toEqual([{ server: 'edge-eu-1', model: 'resnet50', sinceMs: Date.UTC(2026, 10, 30, 8), limit: 5 }, { sinceMs: 1796025600000 }, {},
      { xMetric: 'queue_depth', yMetric: 'total_ms', limit: 100, offset: 100 }]);
  });

  it.each([['since=yesterday', '#/since'], ['limit=0', '#/limit'], ['limit=10001', '#/limit'], ['offset=-1', '#/offset'], ['offset=1e3', '#/offset'], ['offset=1000000000', '#/offset'], ['x_metric=', '#/x_metric'], ['chip=x', '#/chip'], ['server=a&server=b', '#/server']])(
    'GET /v1/correlations answers 400 for ?%s',
    async (query, path) => {
      const { app } = setup();
      const problem = expectProblem(await app.inject({ method: 'GET', url: `/v1/correlations?${query}` }), 400, PROBLEM_TYPES.validation);
      expect(problem.errors[0].path).toBe(path);
    },
  );

  it('GET /v1/correlations names an offset of 20 digits once (a trial: "too big" and "not a safe integer" for one field)', async () => {
    const { app } = setup();
    const problem = expectProblem(await app.inject({ method: 'GET', url: '/v1/correlations?offset=99999999999999999999' }), 400, PROBLEM_TYPES.validation);
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['#/offset']);
    expect(problem.errors[0].message).toMatch(/<=\s*100000000.*got 99999999999999999999$/);
  });

  it('GET /v1/correlations answers 400 for ?since= in epoch seconds (read as ms, a day of January 1970: every window)', async () => {
    const { app, calls } = setup();
    const problem = expectProblem(await app.inject({ method: 'GET', url: '/v1/correlations?since=1717236300' }), 400, PROBLEM_TYPES.validation);
    expect(problem.errors).toEqual([{ path: '#/since', message: 'takes epoch ms or an ISO 8601 time: 1717236300 looks like epoch seconds (2024-06-01T10:05:00.000Z): epoch ms is 1717236300000, got "1717236300"' }]);
    expect(calls).toEqual([]);
  });

  it('GET /v1/correlations: a zone offset\'s "+" sent as is (a space in a query string) is said how to send (a trial)', async () => {
    const { app, calls } = setup();
    const plus = expectProblem(await app.inject({ method: 'GET', url: '/v1/correlations?since=2024-06-01T10:20:00+02:00' }), 400, PROBLEM_TYPES.validation);
    expect(plus.errors).toEqual([{ path: '#/since', message: expect.stringMatching(/ \(a "\+" in a query string reads as a space: send a zone offset's "\+" as %2B\), got "2024-06-01T10:20:00 02:00"$/) }]);
    const sent = await app.inject({ method: 'GET', url: '/v1/correlations?since=2024-06-01T10:20:00%2B02:00' });
    expect([sent.statusCode, calls]).toEqual([200, [{ method: 'correlations', args: [{ sinceMs: Date.UTC(2024, 5, 1, 8, 20) }] }]]);
  });

  it.each(['999999999999999', '2300-01-01', '9999-12-31T00:00:00Z'])('GET /v1/correlations answers 400 for ?since=%s, 2300 or later (it answered 500)', async (since) => {
    const { app, calls } = setup();
    const problem = expectProblem(await app.inject({ method: 'GET', url: `/v1/correlations?since=${since}` }), 400, PROBLEM_TYPES.validation);
    expect(problem.errors).toEqual([{ path: '#/since', message: `must be before 2300-01-01 (epoch ms < ${Date.UTC(2300, 0, 1)}), got ${JSON.stringify(since)}` }]);
    expect(calls).toEqual([]);
  });

  it.each([
    ['2024-02-30T00:00:00Z', 'day 30 of 2024-02 does not exist (the month has 29 days)'],
    ['2023-02-29', 'day 29 of 2023-02 does not exist (the month has 28 days)'],
    ['2024-04-31T10:00:00+02:00', 'day 31 of 2024-04 does not exist (the month has 30 days)'],
    ['2024-06-01T24:30:00Z', 'hour 24 does not exist (write 00:00 of the next day)'],
  ])('GET /v1/correlations answers 400 naming since and the value for a day or time that does not exist (?since=%s)', async (since, why) => {
    const { app, calls } = setup();
    const problem = expectProblem(await app.inject({ method: 'GET', url: `/v1/correlations?since=${encodeURIComponent(since)}` }), 400, PROBLEM_TYPES.validation);
    const message = `must be a date and time that exist: ${why}, got ${JSON.stringify(since)}`;
    expect(problem.errors).toEqual([{ path: '#/since', message }]);
    expect(problem.detail).toBe(`invalid query string: #/since ${message}`);
    expect(calls).toEqual([]);
  });

  it('GET /v1/correlations takes 29 February of a leap year and the last millisecond of a day', async () => {
    const { app, calls } = setup();
    for (const since of ['2024-02-29T00:00:00Z', '2024-02-28T23:59:59.999Z']) expect((await app.inject({ method: 'GET', url: `/v1/correlations?since=${since}` })).statusCode).toBe(200);
    expect(calls.map((c) => c.args[0])).toEqual([{ sinceMs: Date.UTC(2024, 1, 29) }, { sinceMs: Date.UTC(2024, 1, 29) - 1 }]);
  });

  it('GET /v1/correlations reads a since without a zone as UTC, whatever the server\'s time zone', async () => {
    const { app, calls } = setup();
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      for (const since of ['2024-06-01T10:00', '2024-06-01%2010:00:30', '2024-06-01T10:00:00.250', '2024-06-01']) expect((await app.inject({ method: 'GET', url: `/v1/correlations?since=${since}` })).statusCode).toBe(200);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    expect(calls.map((c) => c.args[0])).toEqual([
      { sinceMs: Date.UTC(2024, 5, 1, 10) }, { sinceMs: Date.UTC(2024, 5, 1, 10, 0, 30) }, { sinceMs: Date.UTC(2024, 5, 1, 10, 0, 0, 250) }, { sinceMs: Date.UTC(2024, 5, 1) },
    ]);
  });

  it('answers 400 for a query string whose percent-encoding is malformed, before any lookup (a trial: ?server=%FF was a 404 naming "%FF")', async () => {
    const { app, calls } = setup({});
    for (const [query, part] of [['server=%FF', 'server=%FF'], ['server=%ZZ&model=m', 'server=%ZZ'], ['model=m&server=edge%2', 'server=edge%2'], ['server=%C3%28', 'server=%C3%28']]) {
      expect(expectProblem(await app.inject({ method: 'GET', url: `/v1/correlations?${query}` }), 400, PROBLEM_TYPES.malformedRequest).detail)
        .toBe(`the query string's ${JSON.stringify(part)} is not percent-encoded UTF-8 (RFC 3986 §2.1: "%" then two hex digits, the bytes UTF-8; a literal "%" is %25)`);
    }
    expect(calls).toEqual([]);
    // Well-formed escapes, UTF-8 past ASCII and "+" pass.
    expect(malformedQueryPart('/v1/correlations?server=edge%2D01&model=r%C3%A9snet+50&x=%25')).toBeNull();
    expect(malformedQueryPart('/v1/chips')).toBeNull();
  });

  it('GET /v1/correlations answers 404 for an unknown server (NotFoundError)', async () => {
    const { app } = setup({ correlations: async () => { throw new NotFoundError('unknown edge server "edge-xx"'); } });
    expect(expectProblem(await app.inject({ method: 'GET', url: '/v1/correlations?server=edge-xx' }), 404, PROBLEM_TYPES.notFound).detail).toBe('unknown edge server "edge-xx"');
  });

  it('POST /v1/predict answers 503 naming the model and the mend when a champion\'s file is damaged; its path stays in the log', async () => {
    // A trial: a champion whose file had one byte changed answered a bare 500 "an unexpected error occurred".
    const damaged = new ModelFileError('model file "/srv/edgelat/models/total_ms_p50-0001.onnx" of "total_ms_p50-0001" has sha256 "ab", the registry expects "cd"', 'total_ms_p50-0001');
    const { app, logs } = setup({ predict: async () => { throw damaged; } });
    const problem = expectProblem(await app.inject(postJson('/v1/predict', PREDICT_BODY)), 503, PROBLEM_TYPES.unavailable);
    expect(problem.detail).toBe('the file of latency model "total_ms_p50-0001" cannot be used: missing, not the file registered, or not a latency model of its kind (the server\'s log says which): `edgelat model train` writes it back, or trains a model to replace it, or `edgelat model promote` another version (through the ClickHouse port of this server, EDGELAT_CLICKHOUSE_URL=http://HOST:SQL_PORT, where it holds the embedded warehouse, which one process at a time opens; or with it stopped)');
    expect(logs.some((l) => (l.err as { message?: string } | undefined)?.message === damaged.message)).toBe(true);
  });

  it('answers 503 naming a table dropped from the warehouse, without the statement (a trial: a bare 500)', async () => {
    const dropped = new WarehouseError("query failed: Code: 60. DB::Exception: Unknown table expression identifier 'edgelat.load_latency_correlations' in scope SELECT * FROM edgelat.load_latency_correlations. (UNKNOWN_TABLE)", 60);
    const { app } = setup({ correlations: async () => { throw dropped; } });
    const problem = expectProblem(await app.inject({ method: 'GET', url: '/v1/correlations' }), 503, PROBLEM_TYPES.unavailable);
    expect(problem.detail).toBe('the warehouse has no table edgelat.load_latency_correlations (dropped, or never created): run `edgelat migrate` to create the tables again, then the pipeline or the demo to fill them (through the ClickHouse port of this server, EDGELAT_CLICKHOUSE_URL=http://HOST:SQL_PORT, where it holds the embedded warehouse, which one process at a time opens; or with it stopped)');
  });

  it('answers 503 naming the command that fills a dropped table again: chips import for the chip catalog (a trial: "the pipeline or the demo")', async () => {
    const dropped = new WarehouseError("query failed: Code: 60. DB::Exception: Table edgelat.chips does not exist. (UNKNOWN_TABLE)", 60);
    const { app } = setup({ chips: async () => { throw dropped; } });
    const problem = expectProblem(await app.inject({ method: 'GET', url: '/v1/chips' }), 503, PROBLEM_TYPES.unavailable);
    expect(problem.detail).toMatch(/^the warehouse has no table edgelat\.chips \(dropped, or never created\): run `edgelat migrate` to create the tables again, then `edgelat chips import data\/chips\/edge-chips\.csv` \(or the demo\) to fill it \(through /);
  });

  it('GET /healthz answers 200 when ready, 503 problems when not ready or throwing', async () => {
    const ok = await setup().app.inject({ method: 'GET', url: '/healthz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok', details: { model: 'loaded' } });
    const down = await setup({ health: async () => ({ ok: false, details: { warehouse: 'unreachable' } }) }).app.inject({ method: 'GET', url: '/healthz' });
    expect(expectProblem(down, 503, PROBLEM_TYPES.unavailable).details).toEqual({ warehouse: 'unreachable' });
    const thrown = await setup({ health: async () => { throw new Error('chdb gone'); } }).app.inject({ method: 'GET', url: '/healthz' });
    expect(expectProblem(thrown, 503, PROBLEM_TYPES.unavailable).detail).not.toContain('chdb');
  });

  it('GET /metrics exports request counts and durations by route, method and status, plus process metrics', async () => {
    const { app } = setup();
    await app.inject(postJson('/v1/predict', PREDICT_BODY));
    await app.inject(postJson('/v1/predict', { model: 1 }));
    await app.inject({ method: 'GET', url: '/nowhere' });
    await app.inject({ method: 'GET', url: '/v1/predict?x=1' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('edgelat_http_requests_total{route="/v1/predict",method="POST",status="200"} 1');
    expect(res.body).toContain('edgelat_http_requests_total{route="/v1/predict",method="POST",status="400"} 1');
    expect(res.body).toContain('edgelat_http_requests_total{route="unmatched",method="GET",status="404"} 1');
    expect(res.body).toContain('edgelat_http_requests_total{route="/v1/predict",method="GET",status="405"} 1');
    expect(res.body).toMatch(/edgelat_http_request_duration_seconds_bucket\{le="0\.5",route="\/v1\/predict",method="POST",status="200"\} 1/);
    expect(res.body).toContain('process_cpu_user_seconds_total');
  });

  it('answers CONNECT with a 405 problem, and an HTTP/1.0 request without Host (no browser\'s) as any other, over a real socket', async () => {
    const { app } = setup();
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as AddressInfo;
      const send = (request: string) => rawRequest(port, request);
      // A trial: CONNECT closed the connection with 0 bytes.
      const [head, body] = (await send('CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n')).split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
      expect(JSON.parse(body!)).toMatchObject({ type: PROBLEM_TYPES.methodNotAllowed, status: 405, detail: 'method "CONNECT" is not allowed: this server is no proxy' });
      // A trial: refused as a browser's request, "Host:  is not this machine's loopback name".
      const plain = await send('GET /v1/chips HTTP/1.0\r\n\r\n');
      expect(plain).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      // HTTP/1.1 without Host: 400 with a problem that says so (a trial: Node's bare 400, no body).
      const [noHostHead, noHostBody] = (await send('GET /v1/chips HTTP/1.1\r\nConnection: close\r\n\r\n')).split('\r\n\r\n');
      expect(noHostHead).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(JSON.parse(noHostBody!)).toMatchObject({ type: PROBLEM_TYPES.malformedRequest, status: 400, detail: 'an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2), and this one has none: send Host: 127.0.0.1:<port> (curl and every HTTP client do), or speak HTTP/1.0' });
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain('edgelat_http_requests_total{route="unmatched",method="CONNECT",status="405"} 1');
    } finally {
      await app.close();
    }
  });

  it('answers a URL over the HTTP parser\'s limit with a 431 problem, over a real socket', async () => {
    const { app } = setup();
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as AddressInfo;
      const raw = await rawRequest(port, `GET /v1/chips?x=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const [head, body] = raw.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large/);
      // With its charset, as Fastify's problem answers carry it (a trial: these alone had none).
      expect(head).toMatch(/Content-Type: application\/problem\+json; charset=utf-8\r\n/);
      const problem = JSON.parse(body!);
      expect(problem).toMatchObject({ type: PROBLEM_TYPES.headersTooLarge, status: 431, title: 'Request Header Fields Too Large' });
      // A request id as the routes' answers have, in the header and the body, and counted in /metrics.
      expect(problem.request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(head).toContain(`X-Request-Id: ${problem.request_id}`);
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain('edgelat_http_requests_total{route="unmatched",method="unknown",status="431"} 1');
    } finally {
      await app.close();
    }
  });

  it('answers 408 to a client that declared a body and stalled (a trial held a connection open over 5 minutes), over a real socket', async () => {
    const { app, logs } = setup({}, { requestTimeoutMs: 400 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as AddressInfo;
      const started = Date.now();
      // The client keeps its own end open (half-open), as a stalled one does.
      let client: ReturnType<typeof connect> | undefined;
      const raw = await new Promise<string>((resolve, reject) => {
        let text = '';
        const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.write('POST /v1/gate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":'));
        client = socket;
        socket.on('data', (d) => { text += d.toString(); });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      // The server lets the connection go within a few seconds whatever the client does (a trial: it stayed open in
      // FIN-WAIT-2 as long as the client kept its end, and a SIGTERM waited 10 s for it).
      const open = () => new Promise<number>((resolve) => app.server.getConnections((_, n) => resolve(n)));
      expect(await open()).toBe(1);
      await new Promise((r) => setTimeout(r, 2_500));
      expect(await open()).toBe(0);
      client?.destroy();
      // Logged, with its status (a re-test: counted in /metrics only).
      expect(logs.filter((l) => l.msg === 'connection answered outside the routes').map((l) => [l.status, l.code])).toEqual([[408, 'ERR_HTTP_REQUEST_TIMEOUT']]);
      const [head, body] = raw.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
      expect(JSON.parse(body!)).toEqual({ type: PROBLEM_TYPES.requestTimeout, title: 'Request Timeout', status: 408,
        detail: 'the request was not received whole within 400 ms (a body shorter than its Content-Length?)', request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    } finally {
      await app.close();
    }
    expect(() => setup({}, { requestTimeoutMs: 0 })).toThrow('requestTimeoutMs must be a positive integer, got 0');
  });

  it('reads and drops a body over the limit, so that a client that sends it whole gets the 413, not a broken pipe (a trial: Node fetch failed with EPIPE)', async () => {
    const { app } = setup({});
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as AddressInfo;
      // 2 MB and 20 MB against the 1 MiB JSON limit, five of each, as fetch sends them (no Expect: 100-continue).
      const statuses: number[] = [];
      for (const size of [2_000_000, 20_000_000]) {
        const body = `{"model":"${'x'.repeat(size)}"}`;
        for (let i = 0; i < 5; i++) {
          const res = await fetch(`http://127.0.0.1:${port}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          // The connection is kept (the body read to its end), not closed under the client's writes.
          statuses.push(res.status);
          expect([res.headers.get('connection') === 'close', (await res.json() as { type: string }).type]).toEqual([false, PROBLEM_TYPES.bodyTooLarge]);
        }
      }
      expect(statuses).toEqual(Array(10).fill(413));
      // A body declared over 64 MiB is not read: the 413 closes the connection.
      const head = await new Promise<string>((resolve, reject) => {
        let text = '';
        const socket = connect(port, '127.0.0.1', () => socket.write('POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{'));
        socket.on('data', (d) => { text += d.toString(); });
        socket.on('end', () => resolve(text.split('\r\n\r\n')[0]!));
        socket.on('error', reject);
      });
      expect([head.split('\r\n')[0], head.toLowerCase().includes('connection: close')]).toEqual(['HTTP/1.1 413 Payload Too Large', true]);
    } finally {
      await app.close();
    }
  });

  it('answers 413 to `Expect: 100-continue` with a declared body over the route\'s limit, before it is sent; 100 Continue under it', async () => {
    const { app } = setup({}, { profileBodyLimitBytes: 1024 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as AddressInfo;
      const firstAnswer = (head: string, body?: string) => new Promise<string>((resolve, reject) => {
        let text = '';
        const socket = connect(port, '127.0.0.1', () => socket.write(head));
        socket.on('data', (d) => {
          text += d.toString();
          // The interim 100 Continue (possibly in one chunk with the answer): send the body, keep what follows.
          if (text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && body !== undefined) {
            socket.write(body);
            body = undefined;
            text = text.slice('HTTP/1.1 100 Continue\r\n\r\n'.length);
          }
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      const raw = await firstAnswer('POST /v1/profile HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 3000000\r\nExpect: 100-continue\r\n\r\n');
      const [head, body] = raw.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
      const problem = JSON.parse(body!);
      expect(problem).toMatchObject({ type: PROBLEM_TYPES.bodyTooLarge, status: 413, detail: 'request body exceeds the limit of 1024 bytes (Content-Length 3000000)', instance: '/v1/profile' });
      // A request id and a count in /metrics, as the routes' answers have (a trial: a refused 38 MB upload had neither).
      expect(problem.request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(head!.toLowerCase()).toContain(`x-request-id: ${problem.request_id}`);
      expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain('edgelat_http_requests_total{route="/v1/profile",method="POST",status="413"} 1');
      // Under the limit: 100 Continue, then the route reads the body sent after it (a 400 naming what it lacks).
      const payload = '{"model":"m"}';
      const after = await firstAnswer(`POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`, payload);
      expect(after).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(after).toContain('invalid request body: #/chip is required (string)');
      // Not a POST route: Fastify answers as usual (404 / 405), and a path no URL parser takes ("//") does not crash the
      // server (a review: new URL('//', base) threw in the listener, outside any catch).
      for (const [line, status] of [['POST // HTTP/1.1', 404], ['POST /v2/nope HTTP/1.1', 404], ['PUT /v1/profile HTTP/1.1', 405]] as const) {
        const answer = await firstAnswer(`${line}\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`, '{}');
        expect(answer.split('\r\n')[0], line).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
      }
      // Another expectation: a 417 problem with a request id, counted (a re-test: Node's bare 417, no body, no id).
      const odd = await firstAnswer('POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: foo\r\nConnection: close\r\n\r\n');
      const [oddHead, oddBody] = odd.split('\r\n\r\n');
      expect(oddHead).toMatch(/^HTTP\/1\.1 417 Expectation Failed\r\n/);
      const oddProblem = JSON.parse(oddBody!);
      expect(oddProblem).toMatchObject({ status: 417, detail: 'Expect: "foo" is not an expectation this server meets (only 100-continue)', instance: '/v1/predict' });
      expect(oddHead!.toLowerCase()).toContain(`x-request-id: ${oddProblem.request_id}`);
      // Under its route (a trial: counted as "unmatched" while its problem named /v1/predict); a path no route has stays unmatched.
      await firstAnswer('POST /v2/nope HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nExpect: foo\r\nConnection: close\r\n\r\n');
      const metricsText = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metricsText).toContain('edgelat_http_requests_total{route="/v1/predict",method="POST",status="417"} 1');
      expect(metricsText).toContain('edgelat_http_requests_total{route="unmatched",method="POST",status="417"} 1');
      expect(app.server.keepAliveTimeout).toBe(72_000); // Fastify's own, kept with the server factory
    } finally {
      await app.close();
    }
  });

  it('answers 404 problems for unknown routes and 405 with Allow for a wrong method', async () => {
    const { app } = setup();
    const missing = await app.inject({ method: 'POST', url: '/v2/predict', payload: 'x', headers: { 'content-type': 'text/plain' } });
    expect(expectProblem(missing, 404, PROBLEM_TYPES.noRoute).detail).toBe('no route "POST /v2/predict": see /openapi.json');
    const wrong = await app.inject({ method: 'GET', url: '/v1/predict?x=1' });
    expectProblem(wrong, 405, PROBLEM_TYPES.methodNotAllowed);
    expect(wrong.headers.allow).toBe('POST');
    expect((await app.inject({ method: 'DELETE', url: '/v1/chips' })).headers.allow).toBe('GET, HEAD');
    // Before the body is read: an empty or malformed JSON body on a wrong method is still a 405.
    const empty = await app.inject({ method: 'PUT', url: '/v1/chips', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(expectProblem(empty, 405, PROBLEM_TYPES.methodNotAllowed).detail).toBe('method "PUT" is not allowed on "/v1/chips": use GET or HEAD');
    expectProblem(await app.inject({ method: 'PATCH', url: '/v1/gate', headers: { 'content-type': 'application/json' }, payload: '{"a":' }), 405, PROBLEM_TYPES.methodNotAllowed);
  });

  it('quotes a query value that is not a number as sent, and refuses query parameters /v1/chips does not take', async () => {
    const { app } = setup();
    const abc = expectProblem(await app.inject({ method: 'GET', url: '/v1/correlations?limit=abc' }), 400, PROBLEM_TYPES.validation);
    expect(abc.errors[0]).toEqual({ path: '#/limit', message: 'must be a whole number in decimal digits, got "abc"' });
    // An empty value said "got 0", and 0x10 was read as 16 (the CLI refuses hexadecimal too).
    for (const sent of ['', '0x10', '1e3']) {
      const p = expectProblem(await app.inject({ method: 'GET', url: `/v1/correlations?limit=${sent}` }), 400, PROBLEM_TYPES.validation);
      expect(p.errors[0]).toEqual({ path: '#/limit', message: `must be a whole number in decimal digits, got ${JSON.stringify(sent)}` });
    }
    // Digits past what a double holds are quoted as sent, not as the number they round to (a trial: 1e20 for 20 nines).
    const huge = expectProblem(await app.inject({ method: 'GET', url: '/v1/correlations?limit=99999999999999999999' }), 400, PROBLEM_TYPES.validation);
    expect(huge.errors[0].path).toBe('#/limit');
    expect(huge.errors[0].message).toContain('99999999999999999999');
    expect(huge.errors[0].message).not.toContain('100000000000000000000');
    const twice = expectProblem(await app.inject({ method: 'GET', url: '/v1/correlations?limit=1&limit=2' }), 400, PROBLEM_TYPES.validation);
    expect(twice.errors[0]).toEqual({ path: '#/limit', message: 'expected one value, got 2 (["1","2"]): give the parameter once' });
    const chips = expectProblem(await app.inject({ method: 'GET', url: '/v1/chips?x=1' }), 400, PROBLEM_TYPES.validation);
    expect(chips.detail).toMatch(/^invalid query string: .*"x"/);
    // The POST routes read their body; a query parameter is a mistake the caller should hear of (a trial: ignored).
    for (const [url, body] of [['/v1/predict', PREDICT_BODY], ['/v1/recommend', RECOMMEND_BODY], ['/v1/gate', GATE_BODY]] as const) {
      const p = expectProblem(await app.inject(postJson(`${url}?chip=jetson-agx-orin`, body)), 400, PROBLEM_TYPES.validation);
      expect(p.detail).toMatch(/^invalid query string: .*"chip"/);
    }
    expect((await app.inject(postJson('/v1/predict', PREDICT_BODY))).statusCode).toBe(200);
  });
});

describe('requests a browser may have sent for a web page', () => {
  // The API has no authentication: a DNS-rebinding page sends its own Host, another site its Origin (a trial
  // found the SQL port refusing these while the API answered them, a POST /v1/gate included).
  it.each([
    ['Host of another name', { host: 'evil.example.com' }],
    ['Origin of another site', { origin: 'http://evil.example.com' }],
    ['Origin on another port', { origin: 'http://localhost:3000' }],
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }],
  ])('refuses a %s with 403 before the backend runs', async (_what, headers) => {
    const { app, calls } = setup();
    const res = await app.inject({ ...postJson('/v1/gate', GATE_BODY), headers: { 'content-type': 'application/json', ...headers } });
    const problem = expectProblem(res, 403, PROBLEM_TYPES.forbidden);
    expect(problem.detail).toMatch(/^a request a browser may have sent for a web page \((Host|Origin|Sec-Fetch-Site): .+\): the edgelat API has no authentication/);
    // A Host it does not know says how to name one (a trial: a load balancer's name, and no word of --allowed-hosts).
    expect(problem.detail.endsWith('; a name of this server that clients use (a load balancer\'s, a proxy\'s) is answered once given to `edgelat serve --allowed-hosts NAME`')).toBe('host' in headers);
    expect(calls).toEqual([]);
    const get = await app.inject({ method: 'GET', url: '/healthz', headers });
    expect(get.statusCode).toBe(403);
  });

  it('answers clients outside a browser, the API\'s own page, and any Host where told to', async () => {
    const { app } = setup();
    expect((await app.inject({ method: 'GET', url: '/v1/chips', headers: { host: '127.0.0.1:8080' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/chips', headers: { host: 'localhost:8080', origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-origin' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/chips', headers: { host: 'edge-gw.internal:8080' } })).statusCode).toBe(403);
    const named = setup({}, { allowedHosts: ['edge-gw.internal'] }).app;
    expect((await named.inject({ method: 'GET', url: '/v1/chips', headers: { host: 'edge-gw.internal:8080' } })).statusCode).toBe(200);
    const any = setup({}, { allowedHosts: 'any' }).app;
    expect((await any.inject({ method: 'GET', url: '/v1/chips', headers: { host: 'edge-gw.internal:8080' } })).statusCode).toBe(200);
    expect((await any.inject({ method: 'GET', url: '/v1/chips', headers: { host: 'edge-gw.internal:8080', origin: 'http://evil.example.com' } })).statusCode).toBe(403);
  });
});

describe('GET /openapi.json', () => {
  const EXPECTED = ['post /v1/predict', 'post /v1/recommend', 'post /v1/gate', 'post /v1/profile', 'get /v1/chips', 'get /v1/correlations', 'get /healthz', 'get /metrics', 'get /openapi.json'];

  async function documentOf(app: ReturnType<typeof setup>['app']) {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    return res.json();
  }

  it('is OpenAPI 3.1 and lists every route the app serves', async () => {
    const { app } = setup();
    const doc = await documentOf(app);
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(listed.sort()).toEqual([...EXPECTED].sort());
    expect(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual([...EXPECTED].sort());
    for (const entry of EXPECTED) {
      const [method, url] = entry.split(' ') as [string, string];
      expect(app.hasRoute({ method: method.toUpperCase() as 'GET', url }), entry).toBe(true);
    }
    expect(doc.paths['/v1/predict'].post.responses['415'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    for (const entry of EXPECTED) {
      const [method, url] = entry.split(' ') as [string, string];
      expect(Object.keys(doc.paths[url][method].responses), entry).toEqual(expect.arrayContaining(['400', '403', '405', '408', '417', '431', '500']));
    }
    // The statuses the app answers before any route (a trial: 405, 408 and 431 were not in the document).
    const wrongMethod = await app.inject({ method: 'DELETE', url: '/v1/predict' });
    expect(wrongMethod.statusCode).toBe(405);
    expect(Object.keys(doc.paths['/v1/predict'].post.responses)).toEqual(['200', '400', '403', '404', '405', '408', '413', '415', '417', '431', '500', '503']);
    // The 503s of profile (busy), chips and correlations (a table dropped), which a trial's client met undocumented.
    for (const [path, method] of [['/v1/profile', 'post'], ['/v1/chips', 'get'], ['/v1/correlations', 'get']] as const) expect(Object.keys(doc.paths[path][method].responses), path).toContain('503');
    // A page's offset and size are integers (a trial's generated client typed them as strings: next_offset could not go back).
    expect(doc.paths['/v1/correlations'].get.parameters.filter((p: { name: string }) => ['limit', 'offset'].includes(p.name)).map((p: { schema: object }) => p.schema)).toEqual([
      { description: 'windows per page, 1..10000 (default 100)', type: 'integer', minimum: 1, maximum: 10_000 },
      { description: 'matching windows to skip: the next_offset of the page before (default 0)', type: 'integer', minimum: 0, maximum: 100_000_000 },
    ]);
    // A problem without instance (408, 431: no URL read) and /healthz's 503 with its details fit the Problem schema (a trial: both failed it).
    const ajv = new Ajv2020({ allErrors: true });
    const problem = ajv.compile(doc.components.schemas.Problem);
    expect([problem({ type: 'urn:x', title: 'Request Header Fields Too Large', status: 431, detail: 'd', request_id: 'r' }), problem({ type: 'urn:x', title: 'Service Unavailable', status: 503, detail: 'd', instance: '/healthz', details: { chips: 0 } })]).toEqual([true, true]);
    expect(doc.paths['/v1/profile'].post.parameters.map((p: { name: string }) => p.name)).toEqual(['batch', 'model_id', 'dim']);
    // "server": null is described as a request may send it (no server), as the answer sends it.
    expect(doc.paths['/v1/predict'].post.requestBody.content['application/json'].schema.properties.server).toEqual({
      description: 'edge server whose queueing context to use; null or absent: none (the chip\'s typical server)',
      // The id rule said in words (a trial: " resnet50" refused by a rule the document did not state).
      anyOf: [{ type: 'string', minLength: 1, maxLength: 256, description: 'an id: 1 to 256 characters, no blanks around them, no control characters, bidirectional marks or characters that do not show' }, { type: 'null' }],
    });
    expect(doc.paths['/v1/predict'].post.responses['200'].content['application/json'].schema.properties.server).toEqual({ type: ['string', 'null'] });
  });

  it('has request schemas that accept and reject the same bodies as the app, and response schemas that fit real answers', async () => {
    const { app } = setup();
    const doc = await documentOf(app);
    const ajv = new Ajv2020({ allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(doc.components.schemas.Problem, '#/components/schemas/Problem');
    const requestSchema = (path: string) => ajv.compile(doc.paths[path].post.requestBody.content['application/json'].schema);
    const okSchema = (path: string, method: string) => ajv.compile(doc.paths[path][method].responses['200'].content['application/json'].schema);
    const cases: [string, unknown][] = [
      ['/v1/predict', PREDICT_BODY],
      ['/v1/predict', { ...PREDICT_BODY, extra: 1 }],
      ['/v1/predict', { ...PREDICT_BODY, load: { cpu_util: 1.01 } }],
      ['/v1/predict', { ...PREDICT_BODY, load: { requests_per_s: -1 } }],
      ['/v1/predict', { chip: 'x' }],
      ['/v1/predict', { ...PREDICT_BODY, server: null }],
      ['/v1/predict', { ...PREDICT_BODY, server: 'edge-eu-1' }],
      ['/v1/predict', { ...PREDICT_BODY, server: '' }],
      // input_bytes: a whole number from 1 (a trial: the document had said any number up to its maximum).
      ['/v1/predict', { ...PREDICT_BODY, input_bytes: 4096 }],
      ['/v1/predict', { ...PREDICT_BODY, input_bytes: 0 }],
      ['/v1/predict', { ...PREDICT_BODY, input_bytes: 1.5 }],
      ['/v1/recommend', RECOMMEND_BODY],
      ['/v1/recommend', { ...RECOMMEND_BODY, profile: PROFILE }],
      ['/v1/recommend', { slo: RECOMMEND_BODY.slo, rps: 1 }],
      ['/v1/recommend', { profile: PROFILE, slo: { percentile: 0.9, ms: 5 }, rps: 0 }],
      ['/v1/recommend', { ...RECOMMEND_BODY, slo: { percentile: 0.5, ms: 5 } }],
      ['/v1/recommend', { ...RECOMMEND_BODY, slo: { percentile: 0.9, ms: 0 } }],
      ['/v1/recommend', { ...RECOMMEND_BODY, objective: 'speed' }],
      ['/v1/gate', GATE_BODY],
      ['/v1/gate', { ...GATE_BODY, servers: ['edge-04'], lookback_hours: 6 }],
      ['/v1/gate', { ...GATE_BODY, slo_p99_ms: 0 }],
      ['/v1/gate', { ...GATE_BODY, version: '' }],
      ['/v1/gate', { ...GATE_BODY, servers: [] }],
      ['/v1/gate', { model: 'resnet50', chip: 'x', slo_p99_ms: 1 }],
    ];
    for (const [path, body] of cases) {
      const status = (await app.inject(postJson(path, body))).statusCode;
      expect(requestSchema(path)(body), `${path} ${JSON.stringify(body).slice(0, 80)} → ${status}`).toBe(status === 200);
    }
    const answers: [string, string, unknown][] = [
      ['/v1/predict', 'post', PREDICTION], ['/v1/recommend', 'post', RECOMMENDATION], ['/v1/gate', 'post', GATE], ['/v1/profile', 'post', PROFILE],
      ['/v1/chips', 'get', { chips: CHIPS }], ['/v1/correlations', 'get', { windows: WINDOWS, next_offset: 101 }], ['/healthz', 'get', { status: 'ok' }],
    ];
    for (const [path, method, answer] of answers) expect(okSchema(path, method)(answer), `${method} ${path}`).toBe(true);
    const problem = (await app.inject(postJson('/v1/predict', { model: 1 }))).json();
    expect(ajv.getSchema('#/components/schemas/Problem')!(problem)).toBe(true);
  });
});
