/**
 * The predictor backend over a warehouse and the model registry: what
 * `edgelat serve`'s API and the `predict` / `recommend` / `profile` / `chips`
 * commands answer with. Request errors become {@link BadRequestError} (400)
 * or {@link NotFoundError} (404); warehouse failures pass through (500).
 */
import { UnknownNameError, UsageError } from '../cli/usage-error.ts';
import type { ModelRegistry } from '../model/registry.ts';
import { OnnxProfileError } from '../profiler/profile.ts';
import { ProfileWorker } from '../profiler/profile-worker.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { exceptionFirstLine, msToDateTime64 } from '../warehouse/types.ts';
import { missingObject, UNREADABLE_FILES, warehouseFilesUnreadable } from '../warehouse/missing-object.ts';
import { pendingMigrations } from '../warehouse/migrations.ts';
import { partialDemoWarning } from '../pipeline/demo-runs.ts';
import { LatencyPredictor } from './latency-predictor.ts';
import { gatherCandidates, type BenchmarkPredictor } from './candidates.ts';
import { catalogNameClause, isHelpModel, knownChips, knownModels, loadCatalog } from './evidence.ts';
import { idsNamed, nearestNames, quoteName, someQuoted } from '../names.ts';
import { recommendChips } from './recommend.ts';
import { cachedBenchmarkPredictor } from './benchmark-predictor.ts';
import { gateFromWarehouse, GateRequestError } from './gate-evidence.ts';
import {
  BadRequestError, NoDataYetError, NotFoundError, UNNAMED_MODEL_ID, type CorrelationPage, type CorrelationQuery, type CorrelationWindow, type PredictorBackend, type RecommendRequest, type RecommendResponse,
} from './types.ts';

/** How long a readiness answer is reused, ms. */
export const HEALTH_TTL_MS = 1000;
/**
 * Age up to which a cached "ready" is given while the next answer is read in the background, ms: longer than a load
 * balancer's probe interval (a trial: probes 10 s or more apart each waited for the read, 1.6–3 s under load), so a
 * change is seen by the probe after the one that started its read.
 */
export const HEALTH_STALE_MS = 60_000;

/** Options of {@link createBackend}. */
export interface BackendOptions {
  warehouse: Warehouse;
  registry: ModelRegistry;
  /** Predicts benchmark latencies of pairs nobody measured. @default the MLPerf system predictor over the warehouse's benchmarks, fitted again when they change (benchmark-predictor.ts) */
  predictBenchmark?: BenchmarkPredictor;
  /** How long champion models and priors are reused before the registry is read again, ms. @default 10000 */
  modelTtlMs?: number;
}

/** Unknown chips a recommendation's 404 names, each with its nearest ids; the rest are counted. */
const UNKNOWN_CHIPS_SHOWN = 5;

/**
 * Rethrow a predictor error as the API's: a usage error that names a thing the data does not have
 * ({@link UnknownNameError}) as {@link NotFoundError} (404), any other {@link UsageError} as
 * {@link BadRequestError} (400), anything else unchanged (a warehouse failure: 500).
 * @throws always.
 */
export function requestError(error: unknown): never {
  if (error instanceof UnknownNameError) throw new NotFoundError(error.message, error.field);
  if (error instanceof UsageError) throw new BadRequestError(error.message, error.field);
  throw error;
}

/** Build the backend. */
export function createBackend(options: BackendOptions): PredictorBackend & { close(): Promise<void> } {
  const { warehouse: w, registry } = options;
  const predictor = new LatencyPredictor(w, registry, options.modelTtlMs);
  const benchmarkPredictor = cachedBenchmarkPredictor();
  const profiles = new ProfileWorker();
  let healthCache: { atMs: number; value: { ok: boolean; details?: unknown } } | null = null;
  let healthLoading: Promise<{ ok: boolean; details?: unknown }> | null = null;
  /** What /healthz answers, read now (never throws: a failure is the answer). */
  const readHealth = async (): Promise<{ ok: boolean; details?: unknown }> => {
    let value: { ok: boolean; details?: unknown };
    try {
      // A table dropped by hand (or a database gone) fails the routes that read it: not ready, naming the mend.
      const pending = await pendingMigrations(w);
      // A database ClickHouse cannot read is not listed either: a read of one of its tables tells the two apart (a
      // re-test: a data folder made unreadable was reported as "no database: run edgelat migrate").
      const unreadable = pending === null ? await w.query(`SELECT 1 FROM ${w.database}.chips LIMIT 1`).then(() => false, (error: unknown) => warehouseFilesUnreadable(error)) : false;
      if (unreadable) {
        return { ok: false, details: { warehouse: w.database, reason: UNREADABLE_FILES } };
      }
      if (pending === null || pending.length > 0) {
        value = { ok: false, details: { warehouse: w.database, reason: pending === null ? `the warehouse has no database ${w.database}: run \`edgelat migrate\` (or the demo, or the pipeline) first` : `the warehouse lacks ${pending.length} migration(s) (${pending.slice(0, 3).join(', ')}${pending.length > 3 ? ', …' : ''}), a table dropped or never created: run \`edgelat migrate\` (through the ClickHouse port of this server, EDGELAT_CLICKHOUSE_URL=http://HOST:SQL_PORT, where it holds the embedded warehouse, which one process at a time opens; or with it stopped)` } };
        return value;
      }
      // Each kind once (a kind left with two champions by a hand edit was listed twice).
      const championRows = (await registry.list()).filter((m) => m.status === 'champion');
      const champions = [...new Set(championRows.map((m) => m.kind))].sort();
      // The version each kind serves, its newest champion (a trial: neither /healthz nor /metrics named them).
      const served = champions.length === 0 ? {} : { champion_versions: Object.fromEntries(champions.map((k) => [k, championRows.filter((m) => m.kind === k).at(-1)!.version])) };
      // One per chip: a catalog import replaces rows by chip (ReplacingMergeTree), and unmerged versions are not chips (a trial read 67 of 55).
      const [catalog] = await w.query<{ n: number | string }>(`SELECT uniqExact(chip) AS n FROM ${w.database}.chips`);
      const chips = Number(catalog?.n ?? 0);
      // Champions registered but not servable (a file that is not a latency model of its kind): predictions cannot be
      // answered, said here; ready still when the catalog answers recommend.
      const predictProblem = champions.length > 0 ? await predictor.loadProblem() : null;
      if (predictProblem !== null) {
        return { ok: chips > 0, details: { warehouse: w.database, champions, ...served, chips, predict_unavailable: predictProblem.split('\n')[0]!.replace(/ \(file "[^"]*"\)/, '') } };
      }
      if (champions.length > 0 || chips > 0) {
        // Ready, but said: the answers cover part of a run (a trial: the CLI warned of a demo cut short, the API did not).
        const partial = await partialDemoWarning(w);
        value = { ok: true, details: { warehouse: w.database, champions, ...served, chips, ...(partial !== null ? { warning: partial.replace(/^warning: /, '') } : {}) } };
      } else {
        // Telemetry without a catalog or models (an older edgelat's demo, a pipeline's run) is no empty folder (an
        // upgrade trial: "a new, empty EDGELAT_DATA_DIR?" beside 71,582 enriched rows).
        // Raw or enriched: a pipeline whose join has not run yet has the raw events only (a re-test).
        const [held] = await w.query<{ n: number | string }>(`SELECT greatest((SELECT count() FROM ${w.database}.inference_events), (SELECT count() FROM ${w.database}.inference_enriched)) AS n`);
        const events = Number(held?.n ?? 0);
        const what = events > 0 ? `${events.toLocaleString('en-US')} inference event${events === 1 ? '' : 's'} but no chip catalog and no champion latency model` : 'no chip catalog and no champion latency model';
        const why = events > 0 ? 'an older edgelat\'s data, or a pipeline\'s without models?' : 'a new, empty EDGELAT_DATA_DIR?';
        value = { ok: false, details: { warehouse: w.database, champions, chips, reason: `the warehouse holds ${what}: predict, recommend and gate cannot answer (${why}); run \`edgelat demo\`, or import a catalog (\`edgelat chips import\`) or a benchmark (\`edgelat import benchmark\`) and train models (\`edgelat model train\`)` } };
      }
    } catch (error) {
      // What is missing, without the statement (a trial's 503 carried the registry's whole SELECT).
      value = { ok: false, details: { error: missingObject(error) ?? exceptionFirstLine((error as Error).message).replace(/ in scope [\s\S]*$/, '') } };
    }
    return value;
  };
  return {
    async predict(req) {
      try {
        return await predictor.predict({ model: req.model, chip: req.chip, server: req.server, load: req.load ?? {}, inputBytes: req.input_bytes });
      } catch (error) {
        return requestError(error);
      }
    },

    async recommend(req: RecommendRequest): Promise<RecommendResponse> {
      if ((req.model === undefined) === (req.profile === undefined)) throw new BadRequestError('give exactly one of model and profile');
      const model = req.model ?? req.profile!.model_id;
      const known = await knownModels(w);
      if (req.model !== undefined && !known.includes(req.model)) {
        if (await isHelpModel(w, req.model)) {
          throw new NotFoundError(`model ${JSON.stringify(req.model)} has only HELP benchmark rows, measured on HELP's devices, which are not chips of the catalog: `
            + 'they serve SQL (benchmark_latency, scenario help) and `edgelat model evaluate --format help`, not a chip ranking; for a network of your own give its ONNX profile', 'model');
        }
        // An empty warehouse is missing data, not a wrong name: exit 1 as gate and whatif say it (a trial: exit 2, usage).
        if (known.length === 0) throw new NoDataYetError(`model ${JSON.stringify(req.model)}: no model is known yet: the warehouse holds no telemetry and no benchmark (run \`edgelat demo\` (npm start) or the pipeline, or \`edgelat import benchmark\`); for a new model give its ONNX profile`);
        throw new NotFoundError(`unknown model ${JSON.stringify(req.model)}: nearest known: ${nearestNames(req.model, known)}; for a new model give its ONNX profile`, 'model');
      }
      if (req.chips) {
        // Any chip the default ranking holds: the catalog's, the fleet's, the shadows' and the benchmarks'.
        const rankable = await knownChips(w, { rankable: true });
        const known = new Set(rankable);
        const unknown = [...new Set(req.chips.filter((c) => !known.has(c)))];
        if (unknown.length > 0 && known.size > 0) {
          // The first few, each with its nearest (a trial: 1,024 unknown ids gave a 633 kB answer); a chip whose catalog
          // names hold it first, said so (a re-test: "Raspberry Pi 4" suggested apple-m1 first).
          const catalog = (await loadCatalog(w)).map((c) => ({ id: c.chip, names: c.names }));
          const shown = unknown.slice(0, UNKNOWN_CHIPS_SHOWN).map((c) => {
            const named = idsNamed(c, catalog).filter((id) => known.has(id));
            const rest = rankable.filter((id) => !named.includes(id));
            const clause = catalogNameClause(named);
            return `${quoteName(c)} (${clause === null ? '' : `${clause}; `}nearest: ${nearestNames(c, rest, 4)})`;
          }).join(', ');
          const more = unknown.length > UNKNOWN_CHIPS_SHOWN ? ` and ${unknown.length - UNKNOWN_CHIPS_SHOWN} more` : '';
          throw new NotFoundError(`unknown chip(s) ${shown}${more}: neither the chip catalog (GET /v1/chips, \`edgelat chips list\`), the fleet, its shadows nor the benchmarks know ${unknown.length === 1 ? 'it' : 'them'} as an id`, 'chips');
        }
      }
      // A known model on a chip nobody measured it on: the MLPerf system predictor over the warehouse's benchmarks.
      const predictBenchmark = options.predictBenchmark ?? (req.model !== undefined ? await benchmarkPredictor(w) : undefined);
      const { candidates, skipped } = await gatherCandidates(w, { model, profile: req.profile, rps: req.rps, chips: req.chips, predictBenchmark });
      return recommendChips({ model, slo: req.slo, rps: req.rps, objective: req.objective }, candidates, skipped);
    },

    async gate(req) {
      try {
        return await gateFromWarehouse(w, req);
      } catch (error) {
        if (error instanceof RangeError) throw new BadRequestError(error.message, error instanceof GateRequestError ? error.field : undefined);
        return requestError(error);
      }
    },

    // On a worker thread: a large graph is seconds of synchronous work that would stall every other route.
    async profile(onnx, opts) {
      try {
        const profile = await profiles.profile(onnx, opts);
        // No `?model_id=` and no graph name that is an id: "model", an id POST /v1/recommend takes (a re-test: "" was
        // answered, and posting that profile to /v1/recommend was refused).
        return profile.model_id === '' ? { ...profile, model_id: UNNAMED_MODEL_ID } : profile;
      } catch (error) {
        // A `dim` or `batch` of the query string at fault is named as the field (a trial: `?dim=N=4` had no `errors` entry).
        if (error instanceof OnnxProfileError || error instanceof RangeError) throw new BadRequestError(error.message, /^(dim|batch) /.exec(error.message)?.[1]);
        throw error;
      }
    },

    chips: () => loadCatalog(w),

    async correlations(q: CorrelationQuery): Promise<CorrelationPage> {
      const limit = q.limit ?? 100;
      const offset = q.offset ?? 0;
      // One more than the page: whether another page follows.
      const rows = await w.query<Record<string, unknown>>(
        `SELECT scope, edge_server_id, model_id, chip, concat(replaceOne(toString(c.window_start, 'UTC'), ' ', 'T'), 'Z') AS window_start,
                concat(replaceOne(toString(c.window_end, 'UTC'), ' ', 'T'), 'Z') AS window_end, x_metric, y_metric, n, pearson_r, ci_low, ci_high,
                slope, intercept, p_value, null_reason, alert_state
         FROM ${w.database}.load_latency_correlations AS c
         WHERE ({server:String} = '' OR c.edge_server_id = {server:String}) AND ({model:String} = '' OR c.model_id = {model:String})
           AND ({x:String} = '' OR c.x_metric = {x:String}) AND ({y:String} = '' OR c.y_metric = {y:String})
           AND c.window_end >= {since:DateTime64(3, 'UTC')}
         ORDER BY c.window_end DESC, edge_server_id, scope, ifNull(model_id, ''), ifNull(chip, ''), x_metric, y_metric LIMIT {limit:UInt32} OFFSET {offset:UInt64}`,
        { server: q.server ?? '', model: q.model ?? '', x: q.xMetric ?? '', y: q.yMetric ?? '', since: msToDateTime64(q.sinceMs ?? 0), limit: limit + 1, offset });
      if (rows.length === 0 && offset === 0 && (q.server || q.model || q.xMetric || q.yMetric)) {
        // No window: a filter that names nothing the table has is a mistyped id (404), not an empty answer.
        const [known] = await w.query<{ servers: string[]; models: string[]; xs: string[]; ys: string[] }>(
          `SELECT groupUniqArray(edge_server_id) AS servers, arrayFilter(m -> m != '', groupUniqArray(ifNull(model_id, ''))) AS models,
                  groupUniqArray(toString(x_metric)) AS xs, groupUniqArray(toString(y_metric)) AS ys FROM ${w.database}.load_latency_correlations`);
        const unknown = (field: string, what: string, given: string | undefined, ids: string[] | undefined): void => {
          const all = [...(ids ?? [])].sort();
          if (given && all.length > 0 && !all.includes(given)) throw new NotFoundError(`${field}: no correlation window of ${what} ${JSON.stringify(given)} (nearest known: ${nearestNames(given, all)})`, field);
        };
        unknown('server', 'server', q.server, known?.servers);
        unknown('model', 'model', q.model, known?.models);
        unknown('x_metric', 'load metric', q.xMetric, known?.xs);
        unknown('y_metric', 'latency metric', q.yMetric, known?.ys);
        // Both known, never together: a server and a model mixed up (a trial: edge-01 with bert-99 answered [] as if its
        // windows were yet to come), said with the server's models.
        if (q.server && q.model) {
          const [pair] = await w.query<{ models: string[] }>(
            `SELECT arraySort(arrayFilter(m -> m != '', groupUniqArray(ifNull(model_id, '')))) AS models FROM ${w.database}.load_latency_correlations WHERE edge_server_id = {server:String}`, { server: q.server });
          const models = pair?.models ?? [];
          if (models.length > 0 && !models.includes(q.model)) {
            throw new NotFoundError(`model: server ${JSON.stringify(q.server)} has no correlation window of model ${JSON.stringify(q.model)} (its models: ${someQuoted(models)})`, 'model');
          }
        }
      }
      const windows = rows.slice(0, limit).map((r) => ({ ...r, n: Number(r.n) }) as unknown as CorrelationWindow);
      return { windows, next_offset: rows.length > limit ? offset + limit : null };
    },

    /** Release the cached ONNX sessions and end the profile worker. */
    close: async () => {
      await profiles.close();
      await predictor.close();
    },

    /**
     * Readiness, cached for {@link HEALTH_TTL_MS} (a probe should not cost a warehouse query each time): the warehouse
     * answers and holds something to answer from, a chip catalog or a champion latency model (a trial's `serve` on an
     * empty folder, a mistyped EDGELAT_DATA_DIR, said "ok" to a load balancer while predict, recommend and gate
     * answered 404).
     */
    async health() {
      const now = Date.now();
      if (healthCache && now - healthCache.atMs < HEALTH_TTL_MS) return healthCache.value;
      healthLoading ??= readHealth().then((value) => {
        healthCache = { atMs: Date.now(), value };
        return value;
      }).finally(() => {
        healthLoading = null;
      });
      // A recent "ready" is given while the next answer is read: a probe had waited for its queries once a second (a
      // trial's bench:api reference, /healthz, p99 649 ms). A "not ready" waits for the fresh answer.
      if (healthCache?.value.ok && now - healthCache.atMs < HEALTH_STALE_MS) return healthCache.value;
      return healthLoading;
    },
  };
}
