/**
 * The predictor API's zod schemas, mirroring `types.ts` field for field (a
 * type-level check below fails to compile when they drift), the one
 * validation helper that turns zod issues into `{ path, message }` values, and
 * the route table the OpenAPI 3.1 document is generated from
 * ({@link buildOpenApiDocument}), so the document and the validation cannot
 * disagree. Request schemas are strict (an unknown key is an error); response
 * schemas strip unknown keys, so only documented fields are ever sent.
 */
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { parseTimeText } from '../calendar-date.ts';
import { printable, quoteName } from '../names.ts';
import type { ModelProfile } from '../profiler/types.ts';
import { GateReportSchema, GateRequestSchema } from './gate-schemas.ts';
import { idText } from './id-schema.ts';
import { MAX_DIM, MAX_IDS_PER_LIST, MAX_INPUT_BYTES, MAX_PROFILE_DIMS, MAX_LOAD, MAX_SLO_MS, MIN_RPS, type ChipInfo, type CorrelationQuery, type CorrelationWindow, type PredictRequest, type PredictResponse, type RecommendRequest, type RecommendResponse } from './types.ts';

const text = idText;
/**
 * A model id a request names for itself (a profile's, `?model_id=`), echoed in answers: the one id rule of {@link text}
 * (a re-test: `?model_id=%20x%20` and a zero-width space were taken, and `recommend --profile` refused the profile).
 */
const ownId = text;
const fraction = z.number().min(0).max(1);
const nonNegative = z.number().min(0);
export { MAX_LOAD, MAX_SLO_MS, MIN_RPS };
const load = z.number().min(0).max(MAX_LOAD);
/** Expected load of `POST /v1/recommend`: 0 (priced at the highest load within the SLO), or MIN_RPS..MAX_LOAD. */
// A negative load is the bound's error alone (a trial: -1 was reported twice, as below 0 and as "must be 0 or at least").
// Said in the OpenAPI document too, which the refinement does not reach (a trial: it read `minimum: 0` alone).
const rpsLoad = load.refine((v) => v <= 0 || v >= MIN_RPS, { message: `must be 0 or at least ${MIN_RPS} requests/s (one request in about 11.6 days)` })
  .meta({ description: `expected load, requests/s: 0 (priced at the highest load within the SLO) or ${MIN_RPS}..${MAX_LOAD}; a value between 0 and ${MIN_RPS} is refused (400)` });
const count = z.int().min(0);
const nullableNumber = z.number().nullable();
/** Latency percentiles of a recommendation; null = unbounded (the load exceeds the chip's capacity). */
const loadPercentiles = z.object({ p50: nullableNumber, p90: nullableNumber, p99: nullableNumber })
  .meta({ description: 'latency percentiles, ms; null = unbounded: the load exceeds what the chip serves, so the queue grows without end' });

/** `LoadVector`: utilisations are fractions 0..1, the other fields are ≥ 0; queue_depth and concurrency are counts of requests (whole numbers, as a load sample carries them). */
export const LoadVectorSchema = z.strictObject({
  cpu_util: fraction.optional(),
  gpu_util: fraction.optional(),
  mem_util: fraction.optional(),
  queue_depth: count.max(MAX_LOAD).optional(),
  concurrency: count.max(MAX_LOAD).optional(),
  requests_per_s: load.optional(),
});

/** Body of `POST /v1/predict`. */
export const PredictRequestSchema = z.strictObject({
  model: text,
  chip: text,
  /** Edge server whose queueing context to use; null (as the answer's `server` says it) or absent: none, the chip's typical server. */
  server: text.nullable().transform((s) => s ?? undefined).optional()
    .meta({ description: 'edge server whose queueing context to use; null or absent: none (the chip\'s typical server)' }),
  load: LoadVectorSchema.optional(),
  /** Bytes of one request's input, ≥ 1 (as `predict --input-bytes`). */
  // The bound first, alone: 1e300 also broke z.int()'s safe-integer bound, and was reported twice.
  // One error per bound broken (the pipe); the document states both bounds and the integer type the pipe's second half
  // checks (a trial: /openapi.json said a number with a maximum only, and a client sent 0).
  input_bytes: z.number().max(MAX_INPUT_BYTES).pipe(z.int().min(1)).meta({ type: 'integer', minimum: 1 }).optional(),
});

/** Answer of `POST /v1/predict`. */
export const PredictResponseSchema = z.object({
  model: z.string(),
  chip: z.string(),
  server: z.string().nullable(),
  input_bytes: nonNegative,
  load: z.record(z.string(), z.number()),
  total_ms: z.object({ p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() })
    .meta({ description: 'percentiles of the total latency, ms; all null when requests_per_s keeps every worker of a device busy (utilisation law: the queue cannot drain; a note says so)' }),
  io_ms_p50: z.number(),
  compute_ms_p50: z.number(),
  benchmark: z.object({ p50_ms: z.number(), p90_ms: z.number() }),
  versions: z.record(z.string(), z.string()),
  notes: z.array(z.string()).meta({ description: 'caveats of the answer, one sentence each (a load beyond what the fleet data shows on the chip: the latency there is a lower bound)' }),
});

/** `ModelProfile` (services/profiler/types.ts); `strict` rejects unknown keys (requests), otherwise they are stripped (responses). */
function modelProfileSchema(strict: boolean) {
  const object = strict ? z.strictObject : z.object;
  return object({
    // A request's profile takes what `profile` can give: an id as `?model_id=` takes, the batch of --batch.
    model_id: strict ? ownId : z.string(),
    model_version: z.string(),
    params: count,
    macs: count,
    flops: count,
    element_ops: count,
    weight_bytes: count,
    precision: z.string(),
    op_histogram: z.record(z.string(), count),
    inputs: z.array(object({ name: z.string(), shape: z.array(count), dtype: z.string(), symbolic: z.array(z.string().nullable()), rank_unknown: z.literal(true).optional() })),
    input_bytes: count,
    batch: strict ? z.int().min(1).max(4096) : z.int().min(1),
    unknown_shape_nodes: z.array(z.string()),
  });
}

/** A `ModelProfile` as sent in a request (unknown keys rejected; FLOPs must be 2 × MACs, as `profile` writes them). */
export const ModelProfileInputSchema = modelProfileSchema(true)
  // The issue carries the flops, not the whole profile, as its value (a trial: the message quoted every field).
  .superRefine((p, ctx) => {
    if (p.flops !== 2 * p.macs) ctx.addIssue({ code: 'custom', path: ['flops'], input: p.flops, message: `expected 2 × macs = ${2 * p.macs} (FLOPs count a multiply-accumulate as 2)` });
  });
/** A `ModelProfile` as answered by `POST /v1/profile`. */
export const ModelProfileSchema = modelProfileSchema(false);

/** Body of `POST /v1/recommend`: exactly one of `model` and `profile`. */
export const RecommendRequestSchema = z
  .strictObject({
    model: text.optional(),
    profile: ModelProfileInputSchema.optional(),
    slo: z.strictObject({ percentile: z.literal([0.9, 0.99]), ms: z.number().positive().max(MAX_SLO_MS) }),
    rps: rpsLoad,
    chips: z.array(text).min(1).max(MAX_IDS_PER_LIST).optional(),
    objective: z.enum(['latency', 'cost']).optional(),
  })
  // Also when a field is bad: both given is said beside the profile's own errors (a trial: 13 missing profile fields
  // were listed and the both was not).
  .refine((r) => (r.model === undefined) !== (r.profile === undefined), {
    message: 'exactly one of "model" and "profile" is required',
    when: ({ value: v }) => typeof v === 'object' && v !== null && !Array.isArray(v)
      && (((v as Record<string, unknown>).model === undefined) === ((v as Record<string, unknown>).profile === undefined)),
  })
  .meta({ oneOf: [{ required: ['model'] }, { required: ['profile'] }] });

const ChipRecommendationSchema = z.object({
  rank: z.int().min(1),
  chip: z.string(),
  kind: z.string(),
  vendor: z.string(),
  at_load: loadPercentiles,
  idle: loadPercentiles,
  meets_slo: z.boolean(),
  max_rps_within_slo: nonNegative,
  cost_per_million: nullableNumber,
  price_per_hour: nullableNumber.meta({ description: 'the chip catalog\'s price per hour of the chip (its currency); null where it has none: cost_per_million is then null as unpriced, not as a load the chip cannot carry' }),
  evidence: z.object({
    kind: z.enum(['fleet', 'shadow', 'benchmark', 'predicted', 'catalog']).meta({
      description: 'where the service time comes from: fleet (production requests), shadow (only shadow deployments ran it on the chip), benchmark (public rows), predicted (the MLPerf system predictor or MACs scaling), catalog (nothing measured on the chip: its catalog peak ops/s, a rough estimate; see estimate_log_sd)',
    }), fleet_requests: count, benchmark_rows: count,
    shadow: z.object({
      windows: count, pairs: count, better: count, worse: count, equivalent: count, inconclusive: count,
      against: z.array(z.object({ chip: z.string(), windows: count, pairs: count, median_ratio: nullableNumber, median_p99_ratio: nullableNumber, tolerance: z.number().nonnegative() }))
        .meta({ description: 'per production chip compared with: its windows, paired requests, the median over them of the shadow / production latency ratio, the median of their p99 ratios (shadow p99 / production p99) and the verdicts\' tolerance (a fraction: within 1 ± it is EQUIVALENT)' }),
    }).nullable(),
    estimate_log_sd: z.number().nonnegative().optional()
      .meta({ description: 'catalog estimates only: log-sd of the compute estimate; meets_slo is true only if the SLO is also met with the compute e^sd slower' }),
    measured_traffic: z.enum(['dedicated', 'pooled']).optional()
      .meta({ description: 'fleet evidence with measured loads only: dedicated (requests of minutes in which their server ran only this model: the rate is the model\'s own) or pooled (every server\'s requests, other models\' traffic included)' }),
    measured_requests: count.optional().meta({ description: 'when at_load is measured: the requests of its load bucket' }),
    measured_failed: count.optional().meta({ description: 'when at_load is measured: how many of those requests failed (status timeout or error); they are in the figures at the latency they took' }),
  }),
  reason: z.string(),
});

/** Answer of `POST /v1/recommend`. */
export const RecommendResponseSchema = z.object({
  model: z.string(),
  slo: z.object({ percentile: z.number(), ms: z.number() }),
  rps: nonNegative,
  queueing_law: z.string(),
  chips: z.array(ChipRecommendationSchema),
  skipped: z.array(z.object({ chip: z.string(), reason: z.string() })),
});

/** `?dim=NAME=N` of `POST /v1/profile`: a named symbolic dim past the batch and its value, 1..1,000,000. */
const dimParam = z.string().regex(/^[^=]+=[1-9][0-9]{0,5}$|^[^=]+=1000000$/, { message: `must be NAME=N, N a whole number 1..${MAX_DIM} (a symbolic dim of the model's inputs, e.g. seq=128)` });
/** Query of `POST /v1/profile`: `batch` replaces a symbolic batch dimension (integer 1..4096); `model_id` names the profile; `dim` is one or more NAME=N. */
export const ProfileQuerySchema = z.strictObject({
  batch: z.coerce.number().int().min(1).max(4096).optional(),
  model_id: ownId.optional(),
  // One ?dim= or several, at most 64 (a trial: 65 read "expected one value … give the parameter once").
  dim: z.union([dimParam, z.array(dimParam)]).superRefine((v, ctx) => {
    if (Array.isArray(v) && v.length > MAX_PROFILE_DIMS) ctx.addIssue({ code: 'custom', message: `expected at most ${MAX_PROFILE_DIMS} dims (one ?dim=NAME=N each; ${v.length} given)` });
  }).optional(),
});

const ChipInfoSchema = z.object({
  chip: z.string(),
  kind: z.enum(['cpu', 'gpu', 'npu', 'fpga', 'asic']),
  vendor: z.string(),
  names: z.array(z.string()),
  peak_ops_per_s: nullableNumber,
  memory_bw_bytes_s: nullableNumber,
  power_w: nullableNumber,
  price_per_hour: nullableNumber,
});

/**
 * Answer of `GET /v1/chips`: the valid rows, and the rows left out (a `kind` or figure that `chips import` would
 * refuse, written into the table some other way: `sql --write`, the ClickHouse port).
 */
export const ChipsResponseSchema = z.object({
  chips: z.array(ChipInfoSchema),
  invalid: z.array(z.object({ chip: z.string(), problem: z.string() })).optional(),
});


/**
 * `since`: epoch milliseconds or an ISO 8601 date(-time), as epoch ms, read as the CLI's `--since` (`parseTimeText`:
 * without a zone, UTC; before 2300; 10–11 digits from 1e9 refused as epoch seconds; a day or time that does not exist
 * refused, not rolled over into the next month as `Date.parse` would).
 */
const sinceMs = z.string().transform((value, ctx) => {
  const t = parseTimeText(value.trim()); // blanks around it, as the CLI's --since
  if ('ms' in t) return t.ms;
  // A `+` of a zone offset arrives as a space (a query string's `+` is one: a trial's `+02:00`): said how to send it.
  const plus = /\d \d{2}(:?\d{2})?$/.test(value.trim()) ? ' (a "+" in a query string reads as a space: send a zone offset\'s "+" as %2B)' : '';
  ctx.addIssue({ code: 'custom', message: `${t.problem}${plus}`, input: value });
  return z.NEVER;
});

/** A count in a query string: decimal digits only (`0x10`, `1e3` and an empty value are refused, not read as 16, 1000 or 0). */
// Past its bound a count is said once: `int()` would add "not a safe integer" for 20 digits (a trial: two errors, one field).
// Documented as an integer of its range (a trial's generated client typed `offset` as a string, so `next_offset`, a number,
// could not be passed back).
const countParam = (min: number, max: number) => z.string().regex(/^[0-9]+$/, { message: 'must be a whole number in decimal digits' }).transform(Number).pipe(z.number().min(min).max(max, { abort: true }).int())
  .meta({ type: 'integer', minimum: min, maximum: max });

/** Query of `GET /v1/correlations`, parsed into a `CorrelationQuery`. */
export const CorrelationQuerySchema = z
  .strictObject({
    server: text.optional(), model: text.optional(),
    x_metric: text.optional().meta({ description: 'load metric of the pair, e.g. queue_depth' }),
    y_metric: text.optional().meta({ description: 'latency metric of the pair, e.g. total_ms' }),
    since: sinceMs.optional(),
    limit: countParam(1, 10_000).optional().meta({ description: 'windows per page, 1..10000 (default 100)' }),
    offset: countParam(0, 100_000_000).optional().meta({ description: 'matching windows to skip: the next_offset of the page before (default 0)' }),
  })
  .transform(({ server, model, x_metric, y_metric, since, limit, offset }): CorrelationQuery => {
    const query: CorrelationQuery = {};
    if (server !== undefined) query.server = server;
    if (model !== undefined) query.model = model;
    if (x_metric !== undefined) query.xMetric = x_metric;
    if (y_metric !== undefined) query.yMetric = y_metric;
    if (since !== undefined) query.sinceMs = since;
    if (limit !== undefined) query.limit = limit;
    if (offset !== undefined) query.offset = offset;
    return query;
  });

const CorrelationWindowSchema = z.object({
  scope: z.string(),
  edge_server_id: z.string(),
  model_id: z.string().nullable(),
  chip: z.string().nullable(),
  window_start: z.iso.datetime({ offset: true }),
  window_end: z.iso.datetime({ offset: true }),
  x_metric: z.string(),
  y_metric: z.string(),
  n: count,
  pearson_r: nullableNumber,
  ci_low: nullableNumber,
  ci_high: nullableNumber,
  slope: nullableNumber,
  intercept: nullableNumber,
  p_value: nullableNumber,
  null_reason: z.string().nullable(),
  alert_state: z.string(),
});

/** Answer of `GET /v1/correlations`: one page of closed windows, newest first, and where the next page starts. */
export const CorrelationsResponseSchema = z.object({
  windows: z.array(CorrelationWindowSchema),
  next_offset: z.int().min(1).nullable().meta({ description: 'offset of the next page when more windows match (the page is cut at limit); null when this page holds the last' }),
});

/** Answer of `GET /healthz` when ready (200). */
export const HealthResponseSchema = z.object({ status: z.literal('ok'), details: z.unknown().optional() });

/** An RFC 9457 problem (`application/problem+json`); `errors` lists validation failures. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  // Absent where the request could not be read (408, 431, malformed HTTP: no URL to name; a trial's client required it).
  instance: z.string().optional(),
  request_id: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  // What a 503 of /healthz found (the warehouse, its champions and chips, the reason).
  details: z.record(z.string(), z.unknown()).optional(),
});

/** Mutual assignability of the inferred and the contract types (compile-time only). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
/** Compile-time proof that each zod schema's output type equals its contract type (a mismatch fails `tsc`). */
export type SchemaContractChecks = [
  Assert<Same<z.output<typeof PredictRequestSchema>, PredictRequest>>,
  Assert<Same<z.output<typeof PredictResponseSchema>, PredictResponse>>,
  Assert<Same<z.output<typeof RecommendRequestSchema>, RecommendRequest>>,
  Assert<Same<z.output<typeof RecommendResponseSchema>, RecommendResponse>>,
  Assert<Same<z.output<typeof ModelProfileSchema>, ModelProfile>>,
  Assert<Same<z.output<typeof ChipInfoSchema>, ChipInfo>>,
  Assert<Same<z.output<typeof CorrelationWindowSchema>, CorrelationWindow>>,
];

/** One failed check: `path` is a JSON Pointer fragment into the validated document (`#/load/cpu_util`, `#` for the root). */
export interface FieldError {
  path: string;
  message: string;
}

/** What {@link validate} returns: data errors are values (STYLE §2). */
export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

const pointer = (path: readonly PropertyKey[]): string => `#${path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')}`;

function quote(value: unknown): string {
  // JSON has no Infinity or NaN (a body's 1e999 parses to Infinity): say what it is, not "null".
  // What JSON leaves raw (bidirectional marks, line separators, C1 controls, what does not show) escaped too (printable).
  const json = typeof value === 'number' && !Number.isFinite(value) ? String(value) : printable(JSON.stringify(value) ?? String(value));
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/**
 * Check `input` against `schema`.
 *
 * Behaviour: every issue becomes one {@link FieldError} with a lower-case
 * message quoting the offending value as JSON; an unknown key gets its own
 * error whose path ends with that key; a missing field says "is required";
 * a value of the wrong type gets that error alone; errors of the whole input
 * (path `#`) come first.
 * @param schema  Any of this module's schemas.
 * @param input   Parsed JSON body, query object or backend answer.
 * @returns       `{ ok: true, value }` (the schema's output) or `{ ok: false, errors }` (at least one).
 * @example see test/unit/predictor/app.test.ts
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown): Validated<z.output<S>> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  const errors: FieldError[] = [];
  // A value of the wrong type fails that check alone: zod 4 goes on to the field's other checks, and a
  // string's min length measured on an array sent in its place added "expected array to have >=1 items".
  const wrongType = new Set(result.error.issues.filter((i) => i.code === 'invalid_type').map((i) => pointer(i.path)));
  for (const issue of result.error.issues) {
    if (issue.code !== 'invalid_type' && issue.code !== 'unrecognized_keys' && wrongType.has(pointer(issue.path))) continue;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ path: pointer([...issue.path, key]), message: `unknown key ${quoteName(key)}` });
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      errors.push({ path: pointer(issue.path), message: `is required (${issue.expected})` });
    } else {
      const message = issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
      errors.push({ path: pointer(issue.path), message: 'input' in issue && issue.path.length > 0 ? `${message}, got ${quote(issue.input)}` : message });
    }
  }
  // The body's own errors first (`#`: "exactly one of model and profile" with both given): the problem's detail
  // names the first, and a trial read 13 errors of an incomplete profile that was not to be sent at all.
  return { ok: false, errors: [...errors.filter((e) => e.path === '#'), ...errors.filter((e) => e.path !== '#')] };
}

/** One route of the API as the OpenAPI document describes it. */
export interface RouteSpec {
  method: 'get' | 'post';
  /** Path as registered in fastify, e.g. `/v1/predict`. */
  path: string;
  operationId: string;
  summary: string;
  /** Request body: its media type and schema (null: raw bytes). */
  body?: { contentType: string; schema: z.ZodType | null };
  /** Query-string schema; each property becomes one `in: query` parameter. */
  query?: z.ZodType;
  /** The success answer; a null schema is text. */
  ok: { status: number; contentType: string; schema: z.ZodType | null; description: string };
  /** Statuses answered as `application/problem+json` ({@link EVERY_ROUTE_ERRORS} are added to every route). */
  errors: number[];
}

const JSON_TYPE = 'application/json';
/**
 * Problems any route may answer (app.ts): 400 malformed HTTP, 403 a request a browser may have sent for a web page
 * (`browserRefusal`), 405 another method on the route's path, 408 a request not received whole in time, 417 an
 * `Expect` other than 100-continue, 431 headers over 16 KiB, 500 a failure of the server.
 */
const EVERY_ROUTE_ERRORS = [400, 403, 405, 408, 417, 431, 500];
const POST_JSON_ERRORS = [400, 404, 413, 415, 503];

/** Every route of the predictor, in document order. `createPredictorApp` registers exactly these. */
export const API_ROUTES: readonly RouteSpec[] = [
  { method: 'post', path: '/v1/predict', operationId: 'predict', summary: 'Predict end-to-end latency percentiles of a model on a chip under a load.', body: { contentType: JSON_TYPE, schema: PredictRequestSchema }, ok: { status: 200, contentType: JSON_TYPE, schema: PredictResponseSchema, description: 'The prediction.' }, errors: POST_JSON_ERRORS },
  { method: 'post', path: '/v1/recommend', operationId: 'recommend', summary: 'Rank chips for a model (known id or profile) against a latency SLO at a load.', body: { contentType: JSON_TYPE, schema: RecommendRequestSchema }, ok: { status: 200, contentType: JSON_TYPE, schema: RecommendResponseSchema, description: 'Chips, best first.' }, errors: POST_JSON_ERRORS },
  { method: 'post', path: '/v1/gate', operationId: 'gate', summary: 'Deployment gate: ALLOW, BLOCK or NEED_SHADOW for a model version on a chip at the target servers\' observed peak load against a p99 SLO.', body: { contentType: JSON_TYPE, schema: GateRequestSchema }, ok: { status: 200, contentType: JSON_TYPE, schema: GateReportSchema, description: 'The answer, per server and over all.' }, errors: POST_JSON_ERRORS },
  { method: 'post', path: '/v1/profile', operationId: 'profile', summary: 'Profile an ONNX file sent as the raw request body.', body: { contentType: 'application/octet-stream', schema: null }, query: ProfileQuerySchema, ok: { status: 200, contentType: JSON_TYPE, schema: ModelProfileSchema, description: 'The model profile.' }, errors: [400, 413, 415, 503] },
  { method: 'get', path: '/v1/chips', operationId: 'chips', summary: 'List the chip catalog.', query: z.strictObject({}), ok: { status: 200, contentType: JSON_TYPE, schema: ChipsResponseSchema, description: 'Every chip.' }, errors: [400, 503] },
  { method: 'get', path: '/v1/correlations', operationId: 'correlations', summary: 'List closed load-versus-latency correlation windows, newest first.', query: CorrelationQuerySchema, ok: { status: 200, contentType: JSON_TYPE, schema: CorrelationsResponseSchema, description: 'Matching windows.' }, errors: [400, 404, 503] },
  { method: 'get', path: '/healthz', operationId: 'health', summary: 'Readiness of the backend.', ok: { status: 200, contentType: JSON_TYPE, schema: HealthResponseSchema, description: 'Ready.' }, errors: [503] },
  { method: 'get', path: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics (text exposition format).', ok: { status: 200, contentType: 'text/plain', schema: null, description: 'Metrics.' }, errors: [] },
  { method: 'get', path: '/openapi.json', operationId: 'openapi', summary: 'This document.', ok: { status: 200, contentType: JSON_TYPE, schema: null, description: 'OpenAPI 3.1 document.' }, errors: [] },
];

type JsonObject = Record<string, unknown>;

/** JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) of a schema's input (requests) or output (responses). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonObject;
  return rest;
}

/**
 * Build the OpenAPI 3.1 document of {@link API_ROUTES} from the same zod schemas that validate requests and responses.
 *
 * Behaviour: request bodies and query parameters use the schemas' input side,
 * answers their output side; every error answer refers to `#/components/schemas/Problem`.
 * @param version  `info.version`, e.g. the package version. @default '0.1.0'
 * @returns        A JSON-serialisable document (served at `GET /openapi.json`).
 */
export function buildOpenApiDocument(version = '0.1.0'): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of API_ROUTES) {
    const operation: JsonObject = { operationId: route.operationId, summary: route.summary };
    if (route.query) {
      const query = jsonSchema(route.query, 'input') as { properties?: Record<string, JsonObject>; required?: string[] };
      // A count is an integer of its range; the digits-only rule it is read by is the server's (`1e3`, `0x10` refused).
      const shaped = (schema: JsonObject): JsonObject => (schema.type === 'integer' ? Object.fromEntries(Object.entries(schema).filter(([k]) => k !== 'pattern')) : schema);
      operation.parameters = Object.entries(query.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: query.required?.includes(name) ?? false, schema: shaped(schema) }));
    }
    if (route.body) {
      const schema = route.body.schema ? jsonSchema(route.body.schema, 'input') : { type: 'string', contentMediaType: route.body.contentType };
      operation.requestBody = { required: true, content: { [route.body.contentType]: { schema } } };
    }
    const okSchema = route.ok.schema ? jsonSchema(route.ok.schema, 'output') : { type: route.ok.contentType === JSON_TYPE ? 'object' : 'string' };
    const responses: JsonObject = { [route.ok.status]: { description: route.ok.description, content: { [route.ok.contentType]: { schema: okSchema } } } };
    for (const status of [...new Set([...route.errors, ...EVERY_ROUTE_ERRORS])].sort((x, y) => x - y)) {
      responses[status] = { description: STATUS_CODES[status] ?? String(status), content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    (paths[route.path] ??= {})[route.method] = { ...operation, responses };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'edgelat predictor', version, description: 'Latency predictions and chip recommendations for edge inference. Errors are RFC 9457 problems.' },
    paths,
    components: { schemas: { Problem: jsonSchema(ProblemSchema, 'output') } },
  };
}
