/**
 * Predictions of the telemetry latency models for a long-running service: the
 * champions' ONNX sessions, the benchmark priors and the fleet's input sizes
 * are loaded once and reused; they are re-read when older than `ttlMs`, and a
 * champion replaced in the registry is picked up then (sessions of versions no
 * longer champion are released).
 */
import { UnknownNameError, UsageError } from '../cli/usage-error.ts';
import { ModelFileError } from '../../errors.ts';
import { OnnxScorer } from '../model/onnx.ts';
import type { ModelRegistry, RegisteredModel } from '../model/registry.ts';
import { featureRow, featureRowFor, LOAD_FEATURES, loadPriors, offsetFeature, TELEMETRY_TARGETS, telemetryEncodingOf } from '../model/telemetry.ts';
import type { BenchmarkPrior, TelemetryEncoding } from '../model/telemetry.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { NoChampionError, NoEvidenceError, type PredictResponse } from './types.ts';
import { idsNamed, nearestNames, shellWord } from '../names.ts';
import { catalogNameClause } from './evidence.ts';

/** A prediction request: load values by LoadSample field (unset = 0: the lowest load; the total still carries the waits of the lowest gpu_util decile), input size in bytes. */
export interface LatencyRequest {
  model: string;
  chip: string;
  server?: string;
  load: Record<string, number>;
  inputBytes?: number;
}

interface Champion {
  model: RegisteredModel;
  scorer: OnnxScorer;
  encoding: TelemetryEncoding;
}

/**
 * Open a registered model's file for scoring, checking it is a telemetry latency model of the model's kind.
 * @returns Its scorer (the caller closes it) and its feature encoding.
 * @throws {ModelFileError} naming the version and file when it is not: not an edgelat telemetry model (a trial put another
 *   ONNX file in and fixed up its hash), a model of another kind (a trial copied an i/o model's file over the p90's, which
 *   was served as the p90), or a file onnxruntime cannot load.
 */
export async function openLatencyModel(bytes: Uint8Array, model: Pick<RegisteredModel, 'version' | 'kind' | 'filePath'>): Promise<{ scorer: OnnxScorer; encoding: TelemetryEncoding }> {
  try {
    const stored = telemetryEncodingOf(bytes);
    if (stored.target.kind !== model.kind) throw new Error(`the file is a model of ${stored.target.kind}, registered as ${model.kind}`);
    return { encoding: stored.encoding, scorer: await OnnxScorer.load(bytes) };
  } catch (cause) {
    throw new ModelFileError(`latency model ${JSON.stringify(model.version)} of ${model.kind} (file ${JSON.stringify(model.filePath)}) is not a latency model the predictor can score: ${(cause as Error).message}; \`edgelat model promote\` another version (\`edgelat model list\`) or \`edgelat model train\``, model.version, { cause });
  }
}

/** Age of the cache, in TTLs, past which requests wait for its refresh instead of being served from it. */
const MAX_STALE_TTLS = 6;

/** How long the scorer of a replaced champion stays open for requests still scoring with it, ms. */
const RETIRED_SCORER_GRACE_MS = 60_000;

/** The champion models and priors, cached. */
export class LatencyPredictor {
  private loadedAtMs = Number.NEGATIVE_INFINITY;
  private champions = new Map<string, Champion>();
  /** Registered versions per kind at the last load (any status): a kind without a champion names them. */
  private registered = new Map<string, string[]>();
  /** The message of the last refresh when it failed (the cache then serves the one before); null after a refresh that worked. */
  private refreshError: string | null = null;
  private priors = new Map<string, BenchmarkPrior>();
  /** Per model: the median input size of its requests and their p10 and p90, bytes (null: no requests). */
  private readonly inputBytes = new Map<string, InputSizes | null>();
  private serverChips = new Map<string, string>();
  /** Per `chip|model`: the fleet's servers that ran the model on the chip. */
  private modelServers = new Map<string, string[]>();
  /** Largest value of each load feature the fleet data shows per chip (`LOAD_FEATURES` order; null: never measured). */
  private loadMax = new Map<string, (number | null)[]>();
  /** Per chip: the most requests one of its servers received in a minute, / 60 s (its busiest minute), req/s. */
  private sustainedRps = new Map<string, number>();
  /** Largest input_bytes of a request per chip in the fleet data. */
  private inputBytesMax = new Map<string, number>();
  /** Per chip: the least-squares slope of i/o against input size over its ok requests, ms per byte (≥ 0). */
  private ioMsPerByte = new Map<string, number>();
  private catalog = new Set<string>();
  /** The chip catalog's ids with their other names (`chips.names`), for an unknown chip's message. */
  private catalogNames: { id: string; names: string[] }[] = [];
  private loading: Promise<void> | null = null;

  /**
   * @param ttlMs  How long loaded champions and priors are reused, ms (0 = re-read on every call). @default 10000
   * @param now    Clock, epoch ms (tests inject one). @default Date.now
   */
  constructor(
    private readonly warehouse: Warehouse,
    private readonly registry: ModelRegistry,
    private readonly ttlMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Read the champions, priors and fleet figures into new state, then swap it in at once (a request served during a
   * refresh sees one generation, never a mix). The scorers of replaced champions are closed after
   * {@link RETIRED_SCORER_GRACE_MS}, when no request still scoring with them can be left.
   */
  private async refresh(): Promise<void> {
    const next = new Map<string, Champion>();
    const registered = new Map<string, string[]>();
    const opened: OnnxScorer[] = [];
    try {
      for (const target of TELEMETRY_TARGETS) {
        // As `ModelRegistry.champion`: the newest champion; the kind's versions are kept for the message without one.
        const rows = await this.registry.list(target.kind);
        // Those with a file: a pruned version cannot be promoted (a trial was offered one in the message below).
        registered.set(target.kind, rows.filter((m) => m.filePath !== '').map((m) => m.version));
        const model = rows.filter((m) => m.status === 'champion').at(-1);
        if (!model) continue;
        // The file is read and its hash checked at every refresh, also for a champion already loaded: a file swapped or
        // deleted, or a hash changed in the registry, under a running server had been served from memory (a re-test).
        const bytes = await this.registry.readFile(model);
        const old = this.champions.get(target.kind);
        if (old && old.model.version === model.version && old.model.fileSha256 === model.fileSha256) {
          next.set(target.kind, old);
          continue;
        }
        const { scorer, encoding } = await openLatencyModel(bytes, model);
        opened.push(scorer);
        next.set(target.kind, { model, scorer, encoding });
      }
      const priors = await loadPriors(this.warehouse);
      // One scan of the fleet data: per chip, its servers and the largest value of each load feature.
      const chips = await this.warehouse.query<Record<string, number | string | string[] | null>>(
        `SELECT chip, groupUniqArray(edge_server_id) AS servers, arraySort(groupUniqArray((model_id, edge_server_id))) AS model_servers, ${LOAD_FEATURES.map((k) => `max(${k}) AS ${k}`).join(', ')}, max(input_bytes) AS input_bytes_max, simpleLinearRegressionIf(toFloat64(input_bytes), io_ms, status = 'ok').1 AS io_ms_per_byte FROM ${this.warehouse.database}.inference_enriched GROUP BY chip ORDER BY chip`);
      // The busiest minute of each server (tumbling minutes by event time), per chip: a rate carried, not a burst.
      const sustained = await this.warehouse.query<{ chip: string; rps: number }>(
        `SELECT chip, max(n) / 60 AS rps FROM (SELECT chip, edge_server_id, toStartOfMinute(ts) AS minute, count() AS n FROM ${this.warehouse.database}.inference_enriched GROUP BY chip, edge_server_id, minute) GROUP BY chip`);
      const catalogRows = await this.warehouse.query<{ c: string; names: string[] }>(`SELECT chip AS c, names FROM ${this.warehouse.database}.chips FINAL ORDER BY chip`);
      const catalog = new Set(catalogRows.map((r) => r.c));
      // Everything read: swapped in at once, with no await between.
      const retired = [...this.champions].filter(([kind, old]) => next.get(kind) !== old).map(([, old]) => old.scorer);
      this.champions = next;
      this.registered = registered;
      this.priors = priors;
      this.serverChips = new Map();
      for (const r of chips) for (const s of r.servers as string[]) if (!this.serverChips.has(s)) this.serverChips.set(s, String(r.chip));
      this.loadMax = new Map(chips.map((r) => [String(r.chip), LOAD_FEATURES.map((k) => (r[k] === null ? null : Number(r[k])))]));
      this.sustainedRps = new Map(sustained.map((r) => [String(r.chip), Number(r.rps)]));
      // The servers that ran each model on each chip, from the same scan (its (model, server) pairs, sorted).
      this.modelServers = new Map();
      for (const r of chips) {
        for (const [model, server] of r.model_servers as unknown as [string, string][]) {
          const key = `${String(r.chip)}|${model}`;
          this.modelServers.set(key, [...(this.modelServers.get(key) ?? []), server]);
        }
      }
      this.inputBytesMax = new Map(chips.map((r) => [String(r.chip), Number(r.input_bytes_max)]));
      this.ioMsPerByte = new Map(chips.map((r) => [String(r.chip), Number.isFinite(Number(r.io_ms_per_byte)) ? Math.max(Number(r.io_ms_per_byte), 0) : 0]));
      this.catalog = catalog;
      this.catalogNames = catalogRows.map((r) => ({ id: r.c, names: r.names ?? [] }));
      this.inputBytes.clear();
      this.loadedAtMs = this.now();
      this.refreshError = null;
      if (retired.length > 0) setTimeout(() => void Promise.all(retired.map((r) => r.close().catch(() => undefined))), RETIRED_SCORER_GRACE_MS).unref();
    } catch (error) {
      for (const scorer of opened) await scorer.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Load on the first call (and on every call with `ttlMs` 0); after that, a stale cache is refreshed in the background
   * while requests are served from it: a request that waited for the refresh's queries had taken up to 0.5 s every
   * 10 s (a trial's `bench:api`: p99 236 ms against 4 ms). A background refresh that fails leaves the cache as it was
   * and is tried again by the next request; once the cache is {@link MAX_STALE_TTLS} TTLs old, requests wait for the
   * refresh again, and its error is theirs. A refresh that fails on a champion's file ({@link ModelFileError}: missing,
   * changed since registration, not a latency model) drops the cache at once: the next request waits and fails with it.
   */
  private async ensureLoaded(): Promise<void> {
    const age = this.now() - this.loadedAtMs;
    if (age < this.ttlMs && this.ttlMs > 0) return;
    const wait = this.loadedAtMs === Number.NEGATIVE_INFINITY || this.ttlMs <= 0 || age >= MAX_STALE_TTLS * this.ttlMs;
    this.loading ??= this.refresh().catch((error: unknown) => {
      this.refreshError = (error as Error).message;
      // A champion's file missing, changed or not a latency model is not a passing failure (a slow warehouse is): the
      // cache is dropped, so the next request waits for a refresh and fails with it, as README says a changed file stops
      // a prediction (a trial: served from memory for up to 6 TTLs while /healthz said predict was unavailable).
      if (error instanceof ModelFileError) this.loadedAtMs = Number.NEGATIVE_INFINITY;
      throw error;
    }).finally(() => {
      this.loading = null;
    });
    if (wait) await this.loading;
    else this.loading.catch(() => undefined);
  }

  /**
   * Why predictions cannot be served now, or null: the error of the last load of the champions (a file that is not a
   * latency model of its kind, a file changed since registration), read as a prediction would read them (cached).
   * /healthz says it (a re-test: "ok" while every prediction answered 503).
   */
  async loadProblem(): Promise<string | null> {
    try {
      await this.ensureLoaded();
    } catch (error) {
      return (error as Error).message;
    }
    return this.refreshError;
  }

  private async inputSizes(model: string): Promise<InputSizes | null> {
    if (!this.inputBytes.has(model)) {
      const [row] = await this.warehouse.query<{ n: number | string; q: (number | string)[] }>(
        `SELECT count() AS n, quantilesExactLow(0.1, 0.5, 0.9)(input_bytes) AS q FROM ${this.warehouse.database}.inference_enriched WHERE model_id = {m:String}`, { m: model });
      const [p10, median, p90] = (row?.q ?? []).map(Number);
      this.inputBytes.set(model, Number(row?.n ?? 0) === 0 || median === undefined ? null : { median, p10: p10!, p90: p90! });
    }
    return this.inputBytes.get(model)!;
  }

  /**
   * Predict p50/p90/p99 of total latency and the median i/o and compute, ms.
   * @throws {NoEvidenceError} when a kind has no champion, or the known model has no benchmark prior on the known chip.
   * @throws {UnknownNameError} on an unknown model, chip or server, or a model with no requests to take the input size from.
   * @throws {UsageError} when the server runs another chip than the one asked for.
   */
  async predict(req: LatencyRequest): Promise<PredictResponse> {
    await this.ensureLoaded();
    for (const target of TELEMETRY_TARGETS) {
      // Nothing trained yet is not bad usage: the request is fine, the warehouse cannot answer it (CLI exit 1, API 404).
      if (!this.champions.has(target.kind)) {
        const versions = this.registered.get(target.kind) ?? [];
        const n = versions.length;
        const newest = versions.slice(-3).reverse().join(', ');
        throw new NoChampionError(`no champion model of kind ${target.kind}${n > 0
          ? ` among its ${n} registered version(s) with a model file (newest: ${newest}${n > 3 ? ', …' : ''}): \`edgelat model list --kind ${target.kind}\` lists them, \`edgelat model promote VERSION\` serves one`
          : ': run `edgelat demo` or `edgelat model train` first'}`);
      }
    }
    if (req.server !== undefined) {
      const chip = this.serverChips.get(req.server);
      if (chip === undefined) throw new UnknownNameError(`unknown server ${JSON.stringify(req.server)}: ${this.serverChips.size ? `nearest in the fleet data: ${nearestNames(req.server, [...this.serverChips.keys()].sort())}` : 'the fleet data has no servers'}`, 'server');
      // A model or chip nothing knows is named first, below (a re-test: "runs chip …, not "nochip"" read as if nochip
      // were a chip, for a model no benchmark has either).
      const named = [...this.priors.keys()].map((k) => k.split('|'));
      const known = named.some(([m]) => m === req.model) && (named.some(([, c]) => c === req.chip) || this.catalog.has(req.chip));
      if (chip !== req.chip && known) throw new UsageError(`server ${JSON.stringify(req.server)} runs chip ${JSON.stringify(chip)}, not ${JSON.stringify(req.chip)}: its queueing context belongs to its own chip`, 'server');
    }
    const prior = this.priors.get(`${req.model}|${req.chip}`);
    if (!prior) {
      const keys = [...this.priors.keys()];
      const chips = keys.filter((k) => k.startsWith(`${req.model}|`)).map((k) => k.split('|')[1]);
      const models = [...new Set(keys.map((k) => k.split('|')[0]))].sort();
      const allChips = [...new Set(keys.map((k) => k.split('|')[1]))].sort();
      if (!models.includes(req.model)) {
        // Benchmarked at p90 alone (an MLPerf import): known, but the model's prior needs both (a trial: "unknown model" for
        // ssd-resnet34 with 81 MLPerf rows).
        const [p90Only] = await this.warehouse.query<{ n: number }>(
          `SELECT count() AS n FROM ${this.warehouse.database}.benchmark_latency WHERE model_id = {m:String} AND scenario = 'SingleStream'`, { m: req.model });
        if (Number(p90Only?.n ?? 0) > 0) {
          // A chip nobody knows is named first (a re-test: "p90 only" hid the mistyped chip).
          if (!allChips.includes(req.chip) && !this.catalog.has(req.chip)) {
            throw new UnknownNameError(`unknown chip ${JSON.stringify(req.chip)}: ${allChips.length ? `nearest chips with benchmark p50 and p90 latencies: ${nearestNames(req.chip, allChips)}` : 'no chip has benchmark p50 and p90 latencies'}`, 'chip');
          }
          throw new NoEvidenceError(`model ${JSON.stringify(req.model)} has SingleStream benchmark latencies at p90 only (an MLPerf import): the latency model's prior needs p50 and p90 per run, which \`edgelat import benchmark --format singlestream --runs FILE\` imports (columns model, chip, mlperf_version, division, submitter, system_id, p50_ms, p90_ms; MLPerf's runs_v*.csv hold them as p50_latency_ms and p90_latency_ms); \`edgelat recommend --model ${shellWord(req.model)} --slo-p99-ms MS\` (MS: your p99 objective, ms) reads p90-only benchmarks`);
        }
      }
      if (!models.includes(req.model)) throw new UnknownNameError(`unknown model ${JSON.stringify(req.model)}: ${models.length ? `nearest models with benchmark p50 and p90 latencies: ${nearestNames(req.model, models)}` : 'no model has benchmark p50 and p90 latencies (import a benchmark or run the demo)'}`, 'model');
      if (!allChips.includes(req.chip)) {
        // A chip asked for by a name the catalog gives it is said to be that chip (a re-test: "Jetson AGX Orin 64GB").
        const clause = catalogNameClause(idsNamed(req.chip, this.catalogNames));
        const what = this.catalog.has(req.chip) ? `chip ${JSON.stringify(req.chip)} is in the chip catalog, but`
          : `unknown chip ${JSON.stringify(req.chip)}${clause === null ? ':' : ` (${clause});`}`;
        // The latency model needs both percentiles as its prior; a p90 alone (MLPerf imports) is what recommend and gate read.
        // And how to give it the prior: MLPerf's runs files hold p50 too, which the SingleStream format imports (a trial
        // built that file by hand to predict on five MLPerf chips).
        const hint = this.catalog.has(req.chip) ? `; \`edgelat recommend --model ${shellWord(req.model)} --chips ${shellWord(req.chip)} --slo-p99-ms MS\` (MS: your p99 objective, ms) reads a p90-only benchmark (MLPerf imports) and the catalog; for predict, import p50 and p90 per run of it with \`edgelat import benchmark --format singlestream --runs FILE\` (columns model, chip, mlperf_version, division, submitter, system_id, p50_ms, p90_ms: MLPerf's runs_v*.csv hold them as p50_latency_ms and p90_latency_ms)` : '';
        const both = clause === null || this.catalog.has(req.chip);
        const message = `${what}${both ? ' no model has benchmark p50 and p90 latencies on it;' : ''} chips of ${JSON.stringify(req.model)} with ${both ? 'both' : 'benchmark p50 and p90'}, nearest first: ${nearestNames(req.chip, chips, chips.length)}${hint}`;
        // A catalogued chip is known: the data cannot answer (exit 1, as for a pair without a benchmark), not bad usage.
        if (this.catalog.has(req.chip)) throw new NoEvidenceError(message);
        throw new UnknownNameError(message, 'chip');
      }
      // Both are known, the pair is not: the data cannot answer (exit 1, 404), which is not bad usage.
      throw new NoEvidenceError(`no benchmark p50 and p90 latency for model ${JSON.stringify(req.model)} on chip ${JSON.stringify(req.chip)}${chips.length
        ? `; benchmarked chips of this model: ${chips.join(', ')}`
        : `; nearest models with both: ${nearestNames(req.model, models)} (MLPerf imports carry p90 only so far)`}; \`edgelat recommend --model ${shellWord(req.model)} --chips ${shellWord(req.chip)} --slo-p99-ms MS\` (MS: your p99 objective, ms) predicts the pair from other chips' benchmarks (the MLPerf system predictor)`);
    }
    const sizes = req.inputBytes === undefined ? await this.inputSizes(req.model) : null;
    const inputBytes = req.inputBytes ?? sizes?.median ?? null;
    if (inputBytes === null) throw new UnknownNameError(`model ${JSON.stringify(req.model)} has no requests in the fleet data: give its input size with --input-bytes`);
    // Beyond the chip's largest request the trees have seen nothing: they are evaluated at that size, and the
    // chip's i/o line (least squares over its ok requests) carries the extra bytes (a trial: 1e9 bytes moved the
    // totals on some chips and not others, and p99 fell below p90). The line is fitted on all requests, not the
    // per-model medians the features use: on chips whose models share one input size those give no slope at all.
    const bytesMax = this.inputBytesMax.get(req.chip) ?? null;
    const seenBytes = bytesMax !== null && bytesMax > 0 && inputBytes > bytesMax ? bytesMax : inputBytes;
    const load = LOAD_FEATURES.map((k) => req.load[k] ?? 0);
    const predictions: Record<string, number> = {};
    const versions: Record<string, string> = {};
    for (const target of TELEMETRY_TARGETS) {
      const c = this.champions.get(target.kind)!;
      const x = featureRowFor(c.encoding, { chip: req.chip, server: req.server, modelId: req.model, prior, input_bytes: seenBytes, batch_size: 1, load }, target);
      const out = await c.scorer.predictOne(x);
      predictions[target.kind] = Math.exp(x[offsetFeature(target)]! + out);
      versions[target.kind] = c.model.version;
    }
    const extraIo = (inputBytes - seenBytes) * (this.ioMsPerByte.get(req.chip) ?? 0);
    // Without --server the queue is the chip's typical server's, a synthesis: the p99 of each fleet server that ran the
    // model on the chip, under the same load, says how far a real one's may be (a trial: 115 ms typical, 312 ms on the
    // one Rockchip server that ran resnet50, which shares its one worker with another model).
    // One batch of rows, one inference (a predict is serve's hot path; a chip may have many servers).
    const byServer: { server: string; p99: number }[] = [];
    const servers = req.server === undefined ? this.modelServers.get(`${req.chip}|${req.model}`) ?? [] : [];
    if (servers.length > 0) {
      const p99Model = this.champions.get('total_ms_p99')!;
      const p99Target = TELEMETRY_TARGETS.find((t) => t.kind === 'total_ms_p99')!;
      const rows = servers.map((server) => featureRow(p99Model.encoding, { chip: req.chip, server, modelId: req.model, prior, input_bytes: seenBytes, batch_size: 1, load }));
      const out = await p99Model.scorer.predict(rows);
      servers.forEach((server, i) => byServer.push({ server, p99: Math.exp(rows[i]![offsetFeature(p99Target)]! + out[i]!) + extraIo }));
    }
    // A request's total is queue + i/o + compute, so every quantile of the total is at least that quantile of its
    // i/o and of its compute: no total quantile below the median i/o or compute (a trial: bert-99 on the Orin at
    // 13.9 MB gave a total p99 of 83 ms over a median i/o of 122 ms; the five models are fitted apart).
    const io = predictions.io_ms_p50! + extraIo;
    const floor = Math.max(io, predictions.compute_ms_p50!);
    const [p50, p90, p99] = monotoneQuantiles([predictions.total_ms_p50!, predictions.total_ms_p90!, predictions.total_ms_p99!]).map((q) => Math.max(q + extraIo, floor)) as [number, number, number];
    // A rate that keeps every worker of a device busy (the most requests at once the chip's fleet data shows; the load's
    // concurrency on a chip without fleet data) has a queue that cannot drain: no percentile, as recommend says (a trial:
    // 1e6 req/s answered p99 2281 ms). A concurrency above the fleet's is requests waiting, not workers (a trial: with
    // concurrency=1e6, 1e6 req/s answered p99 13 ms).
    const maxConcurrency = this.loadMax.get(req.chip)?.[LOAD_FEATURES.indexOf('concurrency')] ?? null;
    const workers = Math.max(1, Math.floor(maxConcurrency ?? req.load.concurrency ?? 0));
    // A rate the chip's servers served (their load samples count every model's requests) is no saturation, whatever this
    // model's time would make of it alone (a trial: 94 of 9,059 held-out fleet requests came back with no percentile).
    const servedRps = this.loadMax.get(req.chip)?.[LOAD_FEATURES.indexOf('requests_per_s')] ?? null;
    const drains = busyWorkers(req.load, io, predictions.compute_ms_p50!) < workers || servedBy(req.load, servedRps);
    return {
      model: req.model, chip: req.chip, server: req.server ?? null, input_bytes: inputBytes,
      load: Object.fromEntries(LOAD_FEATURES.map((k) => [k, req.load[k] ?? 0])),
      total_ms: drains ? { p50, p90, p99 } : { p50: null, p90: null, p99: null },
      io_ms_p50: io, compute_ms_p50: predictions.compute_ms_p50!,
      benchmark: { p50_ms: prior.p50, p90_ms: prior.p90 }, versions,
      // Without percentiles, a rate above the fleet's is not "a lower bound" of them (a trial: both notes on one answer).
      notes: [
        // A chip no server of the fleet runs has no typical server of its own (a re-test: "the chip's typical server's queue" on one).
        ...(req.server === undefined && !this.loadMax.has(req.chip) ? [`no server of the fleet runs ${req.chip}: the queue is the fleet's typical server's, not one measured on this chip${impliedServiceText(req.load, workers, io + predictions.compute_ms_p50!)}`] : []),
        // A fleet chip that never ran this model: its compute is read from the other models' (an ML engineer's trial:
        // retinanet on rpi4-cortex-a72 answered with no word of it, where a new chip is named).
        ...(this.loadMax.has(req.chip) && !this.modelServers.has(`${req.chip}|${req.model}`) ? [`no server of the fleet ran ${req.model} on ${req.chip}: its compute is its benchmark's times the chip's ratio for the models that ran there, and its p90 and p99 are widened by the spread of that ratio between (model, chip) pairs`] : []),
        ...loadNotes(req.chip, req.load, this.loadMax.get(req.chip) ?? LOAD_FEATURES.map(() => null)).filter((n) => drains || !n.startsWith('requests_per_s=')), ...queueNotes(req.load, io, predictions.compute_ms_p50!, workers, servedRps, this.sustainedRps.get(req.chip) ?? null), ...inputBytesNotes(req.chip, inputBytes, bytesMax, this.ioMsPerByte.get(req.chip) ?? 0), ...inputSpreadNotes(req.model, sizes), ...(drains ? serverSpreadNotes(req.model, req.chip, p99, byServer) : [])],
    };
  }

  /** Release the ONNX sessions. */
  async close(): Promise<void> {
    await this.loading?.catch(() => undefined); // a refresh under way would open scorers after this
    for (const c of this.champions.values()) await c.scorer.close();
    this.champions.clear();
  }
}

/**
 * Notes on a prediction's load: each load value above the most the fleet data shows on the chip, or any load on a
 * chip the fleet never ran.
 * Trees hold their answer at the edge of what they were trained on (they do not extrapolate), so
 * the predicted latency at such a load is what the busiest measured load gave: a lower bound, not
 * an estimate.
 * @param load     The request's load values by `LOAD_FEATURES` name (unset: 0).
 * @param maxima   The fleet's largest value per load feature on the chip, in `LOAD_FEATURES` order (null: never measured).
 * @returns One sentence per load value beyond the measured range; [] when all are within it.
 */
export function loadNotes(chip: string, load: Readonly<Record<string, number>>, maxima: readonly (number | null)[]): string[] {
  const notes: string[] = [];
  for (const [i, k] of LOAD_FEATURES.entries()) {
    const v = load[k] ?? 0;
    const max = maxima[i] ?? null;
    if (v <= 0 || (max !== null && v <= max * (1 + 1e-9))) continue;
    // A chip the fleet never ran has no "most" to be above (a trial: "above the most … (never measured)" for any value).
    notes.push(max === null
      ? `${k}=${v}: the fleet data has no request on ${chip}: how ${k} slows it is learned from other chips (an extrapolation, not a measurement of this one)`
      : `${k}=${v} is above the most the fleet data shows on ${chip} (${Number(max.toPrecision(4))}): `
      + 'the model holds its answer at the edge of what it was trained on, so the latency there is a lower bound');
  }
  return notes;
}

/** Load fields that reach the i/o and compute models only, not the total's queue (which follows gpu_util). */
const QUEUE_BLIND_FIELDS = ['requests_per_s', 'queue_depth', 'concurrency'] as const;

/**
 * Notes on how a load reaches the total's queue. The total's percentiles follow the queue at the load's
 * gpu_util (the busy-worker fraction), so a rate, a queue depth or a concurrency without it is read at
 * gpu_util 0, the queue of its lowest decile (a trial: resnet50 at `requests_per_s=40` on a chip that serves about
 * 10 a second answered that lowest-load p99 without a word). And a rate whose work, by the utilisation law (Harchol-Balter,
 * Performance Modeling and Design of Computer Systems, 2013, §6.2: busy workers = λ·E[S]), keeps at least one
 * worker busy all the time is said: a device serving fewer requests at once cannot drain its queue. Where the device
 * serves enough at once, a gpu_util below the busy-worker fraction such a rate makes (λ·E[S] / workers) is said too.
 * @param load       The request's load values by `LOAD_FEATURES` name (unset: 0).
 * @param ioMs       Predicted median i/o per request, ms.
 * @param computeMs  Predicted median compute per request, ms.
 * @param workers    Requests a device of the chip serves at once (≥ 1).
 * @param servedRps  The most requests/s the chip's servers reported (their load samples: every model's requests), or
 *                   null; a rate at most that is one the fleet served: said as such, not as a queue that cannot drain.
 * @param sustainedRps  The most requests/s one of the chip's servers received over a minute (its busiest one, every
 *                   model's requests), or null; a served rate above it was reached in bursts only: said so (a trial read
 *                   "served up to 52 req/s" as a rate the chip carries, where its servers' busiest minute averaged 9.6).
 * @returns Up to two sentences; [] when gpu_util is given and the rate keeps less than one worker busy, or fewer than
 *          the device has with gpu_util at least the busy-worker fraction it makes.
 */
export function queueNotes(load: Readonly<Record<string, number>>, ioMs: number, computeMs: number, workers = 1, servedRps: number | null = null, sustainedRps: number | null = null): string[] {
  const notes: string[] = [];
  const given = QUEUE_BLIND_FIELDS.filter((k) => (load[k] ?? 0) > 0);
  if (given.length > 0 && !((load.gpu_util ?? 0) > 0)) {
    notes.push(`${given.map((k) => `${k}=${load[k]}`).join(', ')} with gpu_util 0 or none: the total follows the queue at gpu_util (the busy-worker fraction, 0..1), here its lowest decile, with the waits of the requests there; `
      + `${given.join(' and ')} ${given.length === 1 ? 'moves' : 'move'} only the i/o and compute: give gpu_util for the queue at this load`);
  }
  const rps = load.requests_per_s ?? 0;
  const busy = busyWorkers(load, ioMs, computeMs);
  if (busy >= workers && servedBy(load, servedRps)) {
    const bursts = sustainedRps !== null && rps > sustainedRps;
    // Without gpu_util the percentiles are the lowest decile's queue (the note above): nothing of the rate's data is in
    // them (a trial read "the answer stands on their data" beside the idle p99 of 115 ms at 50 req/s).
    const queued = (load.gpu_util ?? 0) > 0;
    notes.push(`requests_per_s=${rps} at ${Number((ioMs + computeMs).toPrecision(3))} ms of i/o and compute per request would keep ${busyText(busy)} busy on average (utilisation law) if every request were this model's; `
      + `the fleet's servers of the chip served up to ${Number(servedRps!.toPrecision(4))} req/s (a load sample's rate counts every model's requests)`
      + (queued ? ', so the answer stands on their data, where this model\'s share of the rate set its queue' : '')
      + (bursts ? `${queued ? '; but' : ','} only in bursts: their busiest minute averaged ${Number(sustainedRps.toPrecision(3))} req/s, ${queued ? 'so these are the percentiles of requests that came in such a burst, and ' : ''}as a sustained rate its queue could not drain` : ''));
  } else if (busy >= workers) {
    // A concurrency above the workers is requests waiting, not workers: said, since it was asked for (a trial read
    // "a device serving fewer requests at once" next to its concurrency=20 as the value ignored without a word).
    const waiting = (load.concurrency ?? 0) > workers
      ? ` (concurrency=${load.concurrency} is taken as requests in the device, waiting ones included, not as workers: the chip's fleet data shows at most ${workers} served at once)`
      : '';
    notes.push(`requests_per_s=${rps} at ${Number((ioMs + computeMs).toPrecision(3))} ms of i/o and compute per request keeps ${busyText(busy)} busy on average (utilisation law): `
      + (workers === 1 ? `a device serving fewer requests at once cannot drain its queue at this rate, and no percentile holds there${waiting}`
        : `at least the ${workers} requests a device of the chip serves at once (the most the fleet data shows; the load's concurrency on a chip without fleet data): its queue cannot drain at this rate, and no percentile holds there${waiting}`));
  } else if (busy >= 1 && (load.gpu_util ?? 0) > 0 && load.gpu_util! < busy / workers) {
    // The queue drains, but the load's busy-worker fraction is below the one its rate makes (a trial: 800 req/s at gpu_util
    // 0.2 kept 1.55 of 2 workers busy and answered the p99 of 40 req/s without a word).
    const implied = Number((busy / workers).toPrecision(3));
    notes.push(`requests_per_s=${rps} at ${Number((ioMs + computeMs).toPrecision(3))} ms of i/o and compute per request keeps ${Number(busy.toPrecision(3))} of the ${workers} workers a device of the chip serves at once busy on average (utilisation law): `
      + `a busy-worker fraction of ${implied}, above gpu_util=${load.gpu_util}; the total follows the queue at gpu_util: give gpu_util=${implied} for the queue at this rate`);
  }
  return notes;
}

/** Factor by which the service a load implies may exceed the model's own before a prediction on a chip without fleet data says so. */
export const IMPLIED_SERVICE_FACTOR = 3;

/**
 * On a chip without fleet data the waits are scaled to the service time the load implies (utilisation law: E[S] =
 * gpu_util · workers / requests_per_s), which other work on the device can make far longer than this model's: said,
 * with the gpu_util this model's own service would make (a trial: an H100 at gpu_util 0.2 and 2 req/s got p99 47 ms
 * from 100 ms of implied service, against its 2.9 ms, and nothing said why). `''` when the load gives no rate or no
 * gpu_util, or the implied service is within {@link IMPLIED_SERVICE_FACTOR}× the model's.
 * @param load       The request's load values by name.
 * @param workers    Requests a device serves at once (≥ 1).
 * @param serviceMs  The model's predicted i/o + compute per request, ms.
 * @returns          A clause starting with `; `, or `''`.
 */
export function impliedServiceText(load: Readonly<Record<string, number>>, workers: number, serviceMs: number): string {
  const rps = load.requests_per_s ?? 0;
  const util = load.gpu_util ?? 0;
  if (!(rps > 0 && util > 0 && serviceMs > 0)) return '';
  const impliedMs = (util * workers * 1000) / rps;
  if (impliedMs <= IMPLIED_SERVICE_FACTOR * serviceMs) return '';
  const p = (v: number): number => Number(v.toPrecision(3));
  return `; gpu_util=${util} at requests_per_s=${rps} implies ${p(impliedMs)} ms of service per request (utilisation law), ${p(impliedMs / serviceMs)}× this model's ${p(serviceMs)} ms on the chip, and the waits are scaled to it (other work on the device); this model alone at that rate would make gpu_util ${p((rps * serviceMs) / 1000 / workers)}`;
}

/** Busy workers as a note says them: 3 significant digits, "1 worker" in the singular. */
const busyText = (busy: number): string => {
  const n = Number(busy.toPrecision(3));
  return `${n} worker${n === 1 ? '' : 's'}`;
};

/** Whether a load's request rate (> 0) is at most `servedRps`, the most the chip's servers reported (null: none). */
function servedBy(load: Readonly<Record<string, number>>, servedRps: number | null): boolean {
  const rps = load.requests_per_s ?? 0;
  return rps > 0 && servedRps !== null && rps <= servedRps;
}

/** Workers a load's request rate keeps busy on average, by the utilisation law: λ·E[S] (requests/s × (i/o + compute) ms / 1000). */
export function busyWorkers(load: Readonly<Record<string, number>>, ioMs: number, computeMs: number): number {
  return ((load.requests_per_s ?? 0) * (ioMs + computeMs)) / 1000;
}

/**
 * Note on a prediction's input size: above the largest request the fleet data shows on the chip, the models are
 * evaluated at that largest size and the extra i/o of the chip's line of i/o against input size (least squares over
 * its ok requests, ClickHouse `simpleLinearRegression`) is added to the i/o and to every total quantile: an
 * extrapolation. A flat line (slope 0) says so: the prediction is then a lower bound.
 * @param inputBytes  The request's input size, bytes. @param max  The fleet's largest on the chip, bytes (null: none).
 * @param ioMsPerByte The chip's line's slope, ms per byte (0: flat).
 * @returns One sentence, or [] within the measured range.
 */
export function inputBytesNotes(chip: string, inputBytes: number, max: number | null, ioMsPerByte: number): string[] {
  if (max === null || !(max > 0) || inputBytes <= max) return [];
  const head = `input_bytes=${inputBytes} is above the largest request the fleet data shows on ${chip} (${max} bytes): the prediction is the one at ${max} bytes`;
  // A flat line (slope clamped at 0: the chip's i/o did not grow with input size in its data) adds nothing.
  if (!(ioMsPerByte > 0)) return [`${head}; the chip's i/o does not grow with input size in the fleet data, so nothing is added for the extra bytes: a lower bound`];
  const extraIoMs = (inputBytes - max) * ioMsPerByte;
  return [`${head} plus ${Number(extraIoMs.toPrecision(3))} ms of i/o from the chip's line of i/o against input size (least squares over its requests: ${Number((ioMsPerByte * 1e6).toPrecision(3))} ms per MB), an extrapolation`];
}

/** Ratio of a fleet server's p99 to the typical server's (either way) past which predict names the fleet's servers. */
const SERVER_SPREAD_NOTE_RATIO = 1.25;

/**
 * A note when a prediction without a server (the chip's typical server's queue) is far from what the fleet's own
 * servers that ran the model on the chip would have under the same load: their p99s (the p99 model with each server),
 * the three farthest first, when one is more than {@link SERVER_SPREAD_NOTE_RATIO}× off either way.
 * @param typicalP99  The answer's p99, ms.
 * @param byServer    Each such server and its predicted p99, ms.
 */
export function serverSpreadNotes(model: string, chip: string, typicalP99: number, byServer: readonly { server: string; p99: number }[]): string[] {
  const off = (p: number) => Math.abs(Math.log(p / typicalP99));
  if (!(typicalP99 > 0) || !byServer.some((s) => s.p99 > 0 && off(s.p99) > Math.log(SERVER_SPREAD_NOTE_RATIO))) return [];
  const shown = [...byServer].filter((s) => s.p99 > 0).sort((a, b) => off(b.p99) - off(a.p99)).slice(0, 3);
  const more = byServer.length - shown.length;
  return [`the p99 is the chip's typical server's (a new server's); the fleet's servers that ran ${model} on ${chip} have their own queues (other models, other loads): `
    + `${shown.map((s) => `${s.server} ${Number(s.p99.toPrecision(3))} ms`).join(', ')}${more > 0 ? ` and ${more} more` : ''} at this load (--server for one)`];
}

/** Input sizes of a model's requests in the fleet data, bytes: median, p10 and p90 (lower nearest rank). */
export interface InputSizes { median: number; p10: number; p90: number }

/** p90/p10 of a model's input sizes past which a prediction at its median size says it is one size of many. */
const INPUT_SPREAD_NOTE_RATIO = 2;

/**
 * A note when a prediction is read at a model's median input size (none given) and its requests' sizes spread
 * (p90 / p10 > {@link INPUT_SPREAD_NOTE_RATIO}): the percentiles are of requests of that one size, and the i/o follows
 * the size, so they are not the model's percentiles over all its requests (a trial: retinanet's p99 36 ms at the
 * median 1.96 MB against 94.5 ms measured over its requests of 0.1–7 MB).
 * @param model  The model. @param sizes  Its input sizes, or null when a size was given (or none is known).
 */
export function inputSpreadNotes(model: string, sizes: InputSizes | null): string[] {
  if (sizes === null || !(sizes.p10 > 0) || sizes.p90 / sizes.p10 <= INPUT_SPREAD_NOTE_RATIO) return [];
  return [`the percentiles are at input_bytes=${sizes.median}, the median of ${model}'s requests, which span ${sizes.p10}–${sizes.p90} bytes (p10–p90) in the fleet data: `
    + 'the i/o grows with the size, so over all of its requests they are wider; --input-bytes (input_bytes over HTTP) for another size'];
}

/**
 * Quantile predictions made non-decreasing by rearrangement (sorting them), the fix for quantile crossing of
 * separately fitted quantile models (Chernozhukov, Fernández-Val & Galichon 2010, "Quantile and probability
 * curves without crossing", Econometrica 78(3)).
 * @param q  Predictions for increasing quantile levels, ms. @returns The same values in increasing order.
 */
export function monotoneQuantiles(q: readonly number[]): number[] {
  return [...q].sort((a, b) => a - b);
}
