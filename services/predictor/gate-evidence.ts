/**
 * The deployment gate on a warehouse (`edgelat gate`, `POST /v1/gate`): read
 * what the gate needs from `inference_events`, `inference_enriched`, `benchmark_latency` and
 * `shadow_verdicts`, and gate each target server (gate.ts).
 *
 * - Target servers: those given, else every server whose newest request of
 *   the model is in the lookback before the fleet's newest request of it (a
 *   server that stopped running it long ago is not gated).
 * - Per server: the model's running version and chip are those of its newest
 *   request; its requests are every one in `inference_events` (late ones too:
 *   they are demand), each with its load sample from the join where it has one
 *   (`inference_enriched`); its device is the server's rows of that chip, the candidate
 *   chip's device (if the server has one now) its rows of that chip, both over
 *   the lookback (default the 24 h before the server's newest request), one
 *   entry per UTC day; after a chip change, only the days on which that
 *   device ran what it runs now (unless no day did).
 * - Fleet: unloaded medians (and compute p90) of the model per (version, chip) over the same
 *   lookback (gpu_util < 0.15, status ok); benchmark latencies of the running and
 *   the candidate chip at a percentile both have (p50, else p90: commonBenchmark),
 *   and each chip's p90 / p50 (the spread of the kernel time);
 *   unloaded i/o medians of every model per chip (the i/o on a chip the model
 *   never ran on, from the models that ran on both: `ioOnOtherChip`).
 * - Profiles: the candidate's MACs (request `macs`, or `--onnx` through the
 *   profiler) against the running version's (`macs_now`, else the model's
 *   published MACs in data/model-profiles, taken as the running version's).
 * - Shadows: every shadow verdict window of this version on this chip beside
 *   the server, pooled (pair-weighted geometric mean of the ratios; the
 *   intervals combined by inverse variance), with each part's own ratio
 *   (`shadowParts`), all within the lookback; and the shadow's latencies of the
 *   production requests, by their arrival times, as a measurement of the
 *   candidate (`measured`) where its shadow device served it alone (`shadowRequests`).
 * - Measurements of the candidate: its requests on the server (an earlier
 *   rollout, or what runs now when that is the candidate) and its shadow's.
 * - Load sensitivity (how service slows under load) of a device that never
 *   ran loaded: the fleet's, the median over its devices that did
 *   (`fleetLoadSensitivity`, their newest 20,000 requests in the lookback).
 * - Day-to-day variation: the device's own days, shrunk toward the fleet's
 *   (`fleetDaySeries`: the 7 UTC days before the newest request, series of
 *   one model on one device with an unchanged setup, in the candidate's
 *   queue-share class), as the backtest measures it; `daySdPrior` when no
 *   series has 2 days.
 */
import type { Warehouse } from '../warehouse/types.ts';
import { REFERENCE_MACS } from './candidates.ts';
import { benchmarkPointsSql, benchmarkSpread, catalogNameClause, chipsNamed, commonBenchmark, knownChips, loadIoMedians, type BenchmarkPoint } from './evidence.ts';
import { combineAnswers, FLEET_SD_DAYS, idProblem, gateServer, type CandidateDay, type DaySeries, type ServerGate, type WorkersOfChip } from './gate.ts';
import { GATE_DEFAULTS, GATE_EXIT_CODES, type GateAnswer, type GateOptions } from './gate-options.ts';
import type { ShadowEvidence, FleetMedian } from './gate-factor.ts';
import { NoDataYetError, NotFoundError } from './types.ts';
import { fleetLoadSensitivity, type LoadSensitivity } from './load-sensitivity.ts';
import { spreadRatio } from './gate-replay.ts';
import { observationsFromRows, reportedWorkers, withReportedWorkers, type ObservedRow } from './whatif.ts';
import { nearestNames } from '../names.ts';
import { lowerQuantileSql } from '../../pipelines/stats/samples.ts';

/** What to gate (the body of `POST /v1/gate`). Times in ms. */
export interface GateRequest {
  model: string;
  version: string;
  chip: string;
  /** Target servers; default every server running the model (its newest request of it within the lookback before the fleet's newest). */
  servers?: string[];
  /** p99 objective at peak load, ms. */
  slo_p99_ms: number;
  /** MACs of the candidate version (its profile). */
  macs?: number;
  /** MACs of the running version; default the model's published MACs. */
  macs_now?: number;
  /** Hours of telemetry before each server's newest request of the model to use. @default 24 */
  lookback_hours?: number;
  /**
   * Workers of one device of the candidate chip (1..1024), for a chip no server of the fleet reports its
   * concurrency of (one seen only as a shadow, or never); default: the fleet's, else unknown.
   */
  workers?: number;
}

/** The gate's answer over the target servers. */
export interface GateReport {
  model: string;
  version: string;
  chip: string;
  answer: GateAnswer;
  /** 0 ALLOW, 1 BLOCK, 2 NEED_SHADOW. */
  exit_code: number;
  slo_p99_ms: number;
  servers: ServerGate[];
  /**
   * Servers that ran the model but were not gated by default (no `servers` given): their newest request of it,
   * epoch ms UTC, is older than the lookback before the fleet's newest (they no longer run it, or paused).
   * Empty when `servers` was given.
   */
  left_out: { server: string; newest_ms: number }[];
}

const UNLOADED_UTIL = 0.15;
const DAY_MS = 86_400_000;

type Row = ObservedRow & { model_version: string; chip: string };

/** The gate's benchmark evidence of a chip pair from {@link commonBenchmark}: both latencies at the percentile, or none. */
function benchmarkOf(cb: ReturnType<typeof commonBenchmark>, now: string, chip: string): { benchmark: Map<string, number>; benchmarkPercentile: number } {
  return cb ? { benchmark: new Map([[now, cb.a], [chip, cb.b]]), benchmarkPercentile: cb.percentile } : { benchmark: new Map(), benchmarkPercentile: 0.5 };
}

/**
 * A gate request that is well-formed but wrong (an id with blanks, MACs out of range or given for the
 * running version, an empty server list): the message starts with the field's name as the CLI's
 * errors do; `field` is its JSON pointer path below the body (`macs`, `servers/1`), for the API's
 * `errors[]`. A RangeError, as the gate's other refusals.
 */
export class GateRequestError extends RangeError {
  override readonly name = 'GateRequestError';
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/**
 * Gate a candidate on the servers of a warehouse.
 * @throws {NotFoundError} naming the model, a server with no request of the model, or an unknown chip.
 * @throws {GateRequestError} (a RangeError, with the field) on an id that is blank or has leading or trailing blanks, an empty `servers` list, `macs` given for the version a server runs now, `workers` given where no target server moves to a new device of the chip, or
 *   `macs_now` given without `macs` (nothing would use it).
 */
export async function gateFromWarehouse(w: Warehouse, req: GateRequest, opt: GateOptions = GATE_DEFAULTS): Promise<GateReport> {
  const db = w.database;
  const lookbackMs = Math.round((req.lookback_hours ?? 24) * 3_600_000);
  const ids: [string, string][] = [['model', req.model], ['version', req.version], ['chip', req.chip], ...(req.servers ?? []).map((s, i): [string, string] => [`servers[${i}]`, s])];
  for (const [field, v] of ids) {
    const problem = idProblem(field, v);
    if (problem !== null) throw new GateRequestError(field.replace(/\[(\d+)\]$/, '/$1'), problem);
  }
  for (const [field, v] of [['macs', req.macs], ['macs_now', req.macs_now]] as const) {
    if (v !== undefined && !(v >= 1 && v <= 1e18)) throw new GateRequestError(field, `${field}: expected a number of multiply-accumulates in [1, 1e18], got ${JSON.stringify(v)}`);
  }
  if (req.macs_now !== undefined && req.macs === undefined) {
    throw new GateRequestError('macs_now', `macs_now: the running version's MACs (macs_now ${req.macs_now}) are only the other side of a MACs ratio: give the new version's (macs) too, or leave it out`);
  }
  const newest = await w.query<{ s: string; t: number }>(
    `SELECT edge_server_id AS s, toUnixTimestamp64Milli(max(ts)) AS t FROM ${db}.inference_enriched WHERE model_id = {m:String} GROUP BY s ORDER BY s`, { m: req.model });
  if (newest.length === 0) {
    const models = (await w.query<{ m: string }>(`SELECT DISTINCT model_id AS m FROM ${db}.inference_enriched ORDER BY m`)).map((r) => r.m);
    // An unknown model of a fleet is a mistyped --model; in a warehouse with no telemetry at all, there is nothing to gate on.
    if (models.length === 0) throw new NoDataYetError(`model: no request of ${JSON.stringify(req.model)} in ${db}.inference_enriched (it holds no telemetry yet: run \`edgelat demo\` (npm start) or the pipeline first)`);
    throw new NotFoundError(`model: no request of ${JSON.stringify(req.model)} in ${db}.inference_enriched (nearest models: ${nearestNames(req.model, models)})`, 'model');
  }
  if (req.servers !== undefined && req.servers.length === 0) throw new GateRequestError('servers', 'servers: expected at least one server id, got an empty list (leave it out to gate every server running the model)');
  const end = Math.max(...newest.map((r) => Number(r.t)));
  // By default the servers running the model: their newest request of it within the lookback before the fleet's newest.
  const servers = [...new Set(req.servers ?? newest.filter((r) => Number(r.t) >= end - lookbackMs).map((r) => r.s))];
  // Said, not dropped silently (a trial: at a short lookback servers 1.2 s behind the fleet's newest request vanished).
  const leftOut = req.servers ? [] : newest.filter((r) => Number(r.t) < end - lookbackMs).map((r) => ({ server: r.s, newest_ms: Number(r.t) }));
  // Every server without the model named at once (a trial: `--servers edge-04,nope1,nope2` named nope1 only).
  const without = servers.filter((s) => !newest.some((r) => r.s === s));
  if (without.length > 0) {
    // A server the fleet does not know (a typo) apart from one that does not run the model yet (a trial: both were told
    // "has no request of", and neither what to do).
    const fleet = new Set((await w.query<{ s: string }>(`SELECT DISTINCT edge_server_id AS s FROM ${db}.inference_enriched WHERE edge_server_id IN {ids:Array(String)}`, { ids: without })).map((r) => r.s));
    const unknown = without.filter((s) => !fleet.has(s));
    const list = (v: string[]) => v.slice(0, 5).map((s) => JSON.stringify(s)).join(', ') + (v.length > 5 ? ` and ${v.length - 5} more` : '');
    const first = unknown[0] ?? without[0]!;
    const running = `servers running ${JSON.stringify(req.model)}, the names closest first: ${nearestNames(first, newest.map((r) => r.s))}`;
    const idle = without.filter((s) => fleet.has(s));
    const parts = [
      ...(unknown.length > 0 ? [`${list(unknown)} ${unknown.length === 1 ? 'is no server' : 'are no servers'} of the fleet (no request in ${db}.inference_enriched)`] : []),
      ...(idle.length > 0 ? [`${list(idle)} ${idle.length === 1 ? 'does' : 'do'} not run ${JSON.stringify(req.model)}: a server is gated on its own requests of the model, replayed; for one that does not run it yet, \`edgelat recommend --model ${req.model} --slo-p99-ms ${req.slo_p99_ms} --rps <its rate>\` predicts the model's latency on each chip at a load`] : []),
    ];
    // Over HTTP, an entry of errors[] per bad server, at its own index (a re-test: one entry, at the first).
    const each = (req.servers ?? []).flatMap((s, i) => (!without.includes(s) ? [] : [{
      field: `servers/${i}`, message: fleet.has(s) ? `${JSON.stringify(s)} does not run ${JSON.stringify(req.model)}` : `${JSON.stringify(s)} is no server of the fleet (no request in ${db}.inference_enriched)`,
    }]));
    throw new NotFoundError(`servers: ${parts.join('; ')} (${running})`, `servers/${req.servers?.indexOf(first) ?? 0}`, each);
  }
  const chips = await knownChips(w);
  if (!chips.includes(req.chip)) {
    const clause = catalogNameClause(await chipsNamed(w, req.chip));
    throw new NotFoundError(`chip: unknown chip ${JSON.stringify(req.chip)}: neither the fleet, the benchmarks nor the chip catalog know it${clause === null ? '' : ' as an id'} (${clause === null ? '' : `${clause}; `}nearest known: ${nearestNames(req.chip, chips)}; all: \`edgelat chips list\`)`, 'chip');
  }
  const fleet = await w.query<FleetMedian>(
    `SELECT model_version AS version, chip, count() AS n, quantileExactLow(0.5)(io_ms) AS io, quantileExactLow(0.5)(compute_ms) AS compute,
            ${lowerQuantileSql('compute_ms', 0.9)} AS computeP90
     FROM ${db}.inference_enriched WHERE model_id = {m:String} AND status = 'ok' AND gpu_util < {u:Float64} AND ts >= fromUnixTimestamp64Milli({from:Int64})
     GROUP BY version, chip`, { m: req.model, u: UNLOADED_UTIL, from: end - lookbackMs });
  const fleetIo = await loadIoMedians(w, end - lookbackMs, UNLOADED_UTIL);
  const bench = (await w.query<BenchmarkPoint>(benchmarkPointsSql(db), { m: [req.model] }))
    .map((r) => ({ chip: r.chip, percentile: Number(r.percentile), ms: Number(r.ms) }));
  const series = await fleetDaySeries(w, end - FLEET_SD_DAYS * DAY_MS, opt.peakWindowMs);
  const sensitivity = await fleetSensitivity(w, end - lookbackMs);
  const [cw] = await w.query<{ c: number | null }>(`SELECT max(concurrency) AS c FROM ${db}.inference_enriched WHERE chip = {c:String}`, { c: req.chip });
  const reported = cw?.c === null || cw?.c === undefined ? null : Math.max(1, Number(cw.c));
  const targetWorkers: WorkersOfChip = req.workers !== undefined ? { count: req.workers, source: 'given' }
    : reported !== null ? { count: reported, source: 'fleet' } : { count: 1, source: 'assumed' };
  const results: ServerGate[] = [];
  for (const server of servers) {
    const t = Number(newest.find((r) => r.s === server)!.t);
    // Every request is demand, late ones too (inference_events, as the what-if); the load sample of each comes
    // from the join (inference_enriched), which a request behind the watermark never reached (u is then the mean);
    // one per event_id, so that a request the join wrote twice is not joined twice.
    const rows = await w.query<Row>(
      `SELECT toUnixTimestamp64Milli(r.ts) AS t, r.io_ms AS io_ms, r.compute_ms AS compute_ms, r.total_ms AS total_ms, e.u AS u, e.c AS c,
              r.model_id AS model_id, r.model_version AS model_version, r.chip AS chip
       FROM ${db}.inference_events AS r
       LEFT JOIN (SELECT event_id, any(gpu_util) AS u, any(concurrency) AS c FROM ${db}.inference_enriched
                  WHERE edge_server_id = {s:String} AND ts >= fromUnixTimestamp64Milli({from:Int64}) GROUP BY event_id) AS e ON e.event_id = r.event_id
       WHERE r.edge_server_id = {s:String} AND r.ts >= fromUnixTimestamp64Milli({from:Int64}) ORDER BY r.ts, r.event_id`,
      { s: server, from: t - lookbackMs });
    const latest = rows.filter((r) => r.model_id === req.model).at(-1)!;
    if (req.macs !== undefined && req.version === latest.model_version) {
      throw new GateRequestError('macs', `macs: ${JSON.stringify(server)} runs ${req.model} ${req.version} now, so its MACs are the running version's (macs_now); the MACs given (${req.macs}) describe a new version: give that version's own id`);
    }
    const byDay = byUtcDay(rows);
    // Workers of each device: the most requests it had in service in all its telemetry, not only this day's
    // (a quiet day may never show two at once; a trial: a 2-worker Orin replayed with 1 read p99 11.2 ms at a peak measured at 6.5).
    const workers = await reportedWorkers(w, server);
    // After a chip change, the server's device of that chip as it runs now: the other models whose
    // newest request ran there, at that version. A day on which it ran anything else (a version since
    // rolled back or replaced) does not represent its load and is left out, unless no day is left.
    const runningNow = new Map<string, string>(rows.map((r) => [r.model_id, `${r.model_version}|${r.chip}`]));
    const setupOf = (rs: readonly Row[]) => [...new Set(rs.map((r) => `${r.model_id}:${r.model_version}|${r.chip}`))].sort().join();
    const onTarget = [...runningNow].filter(([m, vc]) => m !== req.model && vc.endsWith(`|${req.chip}`)).map(([m, vc]) => `${m}:${vc}`).sort().join();
    const dayInputs = [...byDay.values()].map((dayRows) => {
      const target = dayRows.filter((r) => r.chip === req.chip && r.model_id !== req.model);
      return {
        device: withReportedWorkers(observationsFromRows(server, latest.chip, dayRows.filter((r) => r.chip === latest.chip && (r.model_id !== req.model || r.model_version === latest.model_version))), workers),
        target: req.chip !== latest.chip && target.length > 0 ? withReportedWorkers(observationsFromRows(server, req.chip, target), workers) : null,
        serverTs: dayRows.map((r) => Number(r.t)),
        asNow: req.chip === latest.chip || onTarget === '' || setupOf(target) === onTarget,
      };
    });
    const days = (dayInputs.some((d) => d.asNow) ? dayInputs.filter((d) => d.asNow) : dayInputs)
      .map(({ device, target, serverTs }) => ({ device, target: onTarget === '' ? null : target, serverTs }));
    // The candidate's own requests here: from an earlier rollout of it, or what runs now when that is the
    // candidate; and a shadow of it beside the server, on the production requests' arrival times.
    const source = req.version === latest.model_version && req.chip === latest.chip ? 'running' : 'rollout';
    const candidate: CandidateDay[] = [...byDay.values()].flatMap((dayRows) => {
      const own = dayRows.filter((r) => r.model_id === req.model && r.model_version === req.version && r.chip === req.chip);
      return own.length === 0 ? [] : [{ ts: own.map((r) => Number(r.t)), totalMs: own.map((r) => Number(r.total_ms)), serverTs: dayRows.map((r) => Number(r.t)), source }];
    });
    const shadowDays: CandidateDay[] = [];
    for (const [day, shadowRows] of byUtcDay(await shadowRequests(w, server, req, t - lookbackMs))) {
      const dayRows = byDay.get(day);
      if (dayRows) shadowDays.push({ ts: shadowRows.map((r) => Number(r.t)), totalMs: shadowRows.map((r) => Number(r.total_ms)), serverTs: dayRows.map((r) => Number(r.t)), source: 'shadow' });
    }
    const macs = new Map<string, number>();
    const now = req.macs_now ?? REFERENCE_MACS.get(req.model);
    if (now) macs.set(latest.model_version, now);
    if (req.macs) macs.set(req.version, req.macs);
    results.push(gateServer({
      days,
      measured: [...candidate, ...shadowDays],
      evidence: {
        model: req.model, versionNow: latest.model_version, chipNow: latest.chip, version: req.version, chip: req.chip,
        fleet: fleet.map((f) => ({ ...f, n: Number(f.n), computeP90: Number(f.computeP90) })), fleetIo,
        ...benchmarkOf(commonBenchmark(bench, latest.chip, req.chip), latest.chip, req.chip), benchmarkSpread: benchmarkSpread(bench), macs,
        shadow: await pooledShadow(w, server, req, latest.chip, t - lookbackMs),
      },
      targetWorkers: targetWorkers.count,
      targetWorkersSource: targetWorkers.source,
      sloP99Ms: req.slo_p99_ms,
      fleetDaySd: series,
      fleetLoadSensitivity: sensitivity,
    }, opt));
  }
  // Workers given for a chip no target server moves to a new device of: nothing would use them (as whatif's --workers).
  if (req.workers !== undefined && results.every((r) => r.target_workers === null)) {
    throw new GateRequestError('workers', `workers: ${req.workers} given, but no target server moves ${req.model} to a new device of ${req.chip} (${results.map((r) => `${r.server} runs it on ${r.chip_now}`).join(', ')}): the workers of a device the fleet runs are its own; workers is for a chip the server does not have`);
  }
  // …and said on each server that does not use them, when others do (a trial: ignored there without a word).
  const told = req.workers === undefined ? results : results.map((r) => (r.target_workers !== null ? r
    : { ...r, reason: `${r.reason}; note: workers ${req.workers} not used here: ${r.server} ${r.chip_now === req.chip ? `runs ${req.model} on ${req.chip} already` : `has a device of ${req.chip} already`}, whose workers are its own` }));
  const answer = combineAnswers(told);
  return { model: req.model, version: req.version, chip: req.chip, answer, exit_code: GATE_EXIT_CODES[answer], slo_p99_ms: req.slo_p99_ms, servers: told, left_out: leftOut };
}

/**
 * Peak p99s of every model on every device per UTC day since `fromMs`, grouped into series of days
 * on which the device ran the same (model, version) set, with the queue's mean share of those p99s,
 * 1 − p99(io + compute) / p99 (the fleet's input of `gateServer`, as the backtest's `peakSeries` over
 * simulated days). The peak of a (server, day) is its busiest `windowMs` starting on a whole minute;
 * p99 is the nearest rank (the ⌈0.99·n⌉-th smallest).
 */
export async function fleetDaySeries(w: Warehouse, fromMs: number, windowMs: number): Promise<DaySeries[]> {
  const db = w.database;
  const rows = await w.query<{ s: string; chip: string; model: string; setup: string; d: string; p99: number; p99s: number }>(
    `WITH
       minutes AS (
         SELECT edge_server_id AS s, toDate(ts) AS d, toStartOfMinute(ts) AS m0, count() AS n
         FROM ${db}.inference_enriched WHERE ts >= fromUnixTimestamp64Milli({from:Int64}) GROUP BY s, d, m0),
       windows AS (
         SELECT s, d, m0, sum(n) OVER (PARTITION BY s, d ORDER BY toUInt32(m0) RANGE BETWEEN CURRENT ROW AND {span:UInt32} FOLLOWING) AS nw
         FROM minutes),
       peaks AS (SELECT s, d, argMax(m0, (nw, -toUInt32(m0))) AS start FROM windows GROUP BY s, d),
       setups AS (
         SELECT edge_server_id AS s, chip, toDate(ts) AS d, arrayStringConcat(arraySort(groupUniqArray(concat(model_id, ':', model_version))), ',') AS setup
         FROM ${db}.inference_enriched WHERE ts >= fromUnixTimestamp64Milli({from:Int64}) GROUP BY s, chip, d)
     SELECT e.edge_server_id AS s, e.chip AS chip, e.model_id AS model, any(st.setup) AS setup, toString(toDate(e.ts)) AS d,
            arrayElement(arraySort(groupArray(e.total_ms)), toUInt64(ceil(0.99 * count()))) AS p99,
            arrayElement(arraySort(groupArray(e.io_ms + e.compute_ms)), toUInt64(ceil(0.99 * count()))) AS p99s
     FROM ${db}.inference_enriched AS e
     INNER JOIN peaks AS p ON p.s = e.edge_server_id AND p.d = toDate(e.ts)
     INNER JOIN setups AS st ON st.s = e.edge_server_id AND st.chip = e.chip AND st.d = toDate(e.ts)
     WHERE e.ts >= fromUnixTimestamp64Milli({from:Int64}) AND toUnixTimestamp64Milli(e.ts) >= toUnixTimestamp(p.start) * 1000
       AND toUnixTimestamp64Milli(e.ts) < toUnixTimestamp(p.start) * 1000 + {width:Int64}
     GROUP BY s, chip, model, d, st.setup
     ORDER BY s, chip, model, d`,
    { from: fromMs, span: Math.max(0, Math.round(windowMs / 1000) - 60), width: windowMs });
  const series = new Map<string, { share: number[]; p99: number[] }>();
  for (const r of rows) {
    const k = `${r.s}|${r.chip}|${r.model}|${r.setup}`;
    const x = series.get(k) ?? { share: [], p99: [] };
    const p99 = Number(r.p99);
    x.share.push(p99 > 0 ? 1 - Number(r.p99s) / p99 : 0);
    x.p99.push(p99);
    series.set(k, x);
  }
  return [...series.values()].map((x) => ({ queueShare: x.share.reduce((a, b) => a + b, 0) / x.share.length, p99: x.p99 }));
}

/** Rows per device read for the fleet's load sensitivity (its newest ones). */
const SENSITIVITY_ROWS = 20_000;

/**
 * The fleet's load sensitivity of compute and i/o since `fromMs`, epoch ms (`fleetLoadSensitivity`
 * over every device: one per server and chip, its newest `SENSITIVITY_ROWS` requests with status ok).
 */
export async function fleetSensitivity(w: Warehouse, fromMs: number): Promise<LoadSensitivity> {
  const rows = await w.query<ObservedRow & { s: string; chip: string }>(
    `SELECT edge_server_id AS s, chip, toUnixTimestamp64Milli(ts) AS t, io_ms, compute_ms, total_ms, gpu_util AS u, concurrency AS c, model_id
     FROM ${w.database}.inference_enriched WHERE status = 'ok' AND ts >= fromUnixTimestamp64Milli({from:Int64})
     ORDER BY s, chip, ts DESC LIMIT {n:UInt32} BY s, chip`, { from: fromMs, n: SENSITIVITY_ROWS });
  const devices = new Map<string, typeof rows>();
  for (const r of rows) {
    const k = `${r.s}|${r.chip}`;
    if (!devices.has(k)) devices.set(k, []);
    devices.get(k)!.push(r);
  }
  return fleetLoadSensitivity([...devices.values()].map((d) => observationsFromRows(d[0]!.s, d[0]!.chip, d.reverse())));
}

/**
 * A shadow's requests of a version on a chip beside one server since `fromMs` (epoch ms), as a
 * measurement of the candidate after rollout: the production request's arrival time (`request_ts`:
 * the same request, so the server's peak is its peak) and the shadow's own latency by its own clock,
 * ms; in arrival order. Only from a shadow device that served the candidate alone that UTC day: one
 * that also served other models' (or versions') shadows queues behind them, which the rollout would
 * not (a trial: a mobilenet shadow behind a resnet50 shadow measured p99 118 ms where the model alone
 * on that chip replays at 23 ms); its per-request parts still give the factor (`shadowParts`). One result per
 * request (the first by event_id): a repeat (a retry, a duplicate) counts once, as shadow-compare pairs it.
 */
async function shadowRequests(w: Warehouse, server: string, req: GateRequest, fromMs: number): Promise<{ t: number; total_ms: number }[]> {
  const db = w.database;
  return w.query<{ t: number; total_ms: number }>(
    `SELECT toUnixTimestamp64Milli(request_ts) AS t, total_ms FROM ${db}.shadow_results
     WHERE edge_server_id = {s:String} AND model_id = {m:String} AND model_version = {v:String} AND chip = {c:String}
       AND request_ts >= fromUnixTimestamp64Milli({from:Int64})
       AND (device_id, toDate(request_ts)) IN (
         SELECT device_id, toDate(request_ts) FROM ${db}.shadow_results
         WHERE edge_server_id = {s:String} AND request_ts >= fromUnixTimestamp64Milli({from:Int64})
         GROUP BY device_id, toDate(request_ts) HAVING uniqExact(model_id, model_version) = 1)
     ORDER BY request_ts, event_id LIMIT 1 BY request_id`,
    { s: server, m: req.model, v: req.version, c: req.chip, from: fromMs });
}

/** Rows grouped by UTC day (epoch ms / DAY_MS, floored), in order. */
function byUtcDay<T extends { t: number }>(rows: readonly T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of rows) {
    const d = Math.floor(Number(r.t) / DAY_MS);
    if (!out.has(d)) out.set(d, []);
    out.get(d)!.push(r);
  }
  return out;
}

/** Fewest paired requests with both parts for the shadow's per-part ratios (as the fleet's unloaded medians). */
const MIN_SHADOW_PART_PAIRS = 20;

/**
 * The shadow's per-part ratios beside one server: medians of i/o and compute over the requests it shares
 * with production (by request_id, status ok on both), shadow over production, and the compute's spread
 * ratio (`spreadRatio` of ln(p90/p50)); null under `MIN_SHADOW_PART_PAIRS` pairs or a median ≤ 0.
 */
async function shadowParts(w: Warehouse, server: string, req: GateRequest, chipNow: string, fromMs: number): Promise<ShadowEvidence['parts']> {
  const db = w.database;
  const [r] = await w.query<{ n: number; sio: number; sc: number; sc90: number; pio: number; pc: number; pc90: number }>(
    `SELECT count() AS n, quantileExactLow(0.5)(s.io) AS sio, quantileExactLow(0.5)(s.c) AS sc, quantileExactLow(0.9)(s.c) AS sc90,
            quantileExactLow(0.5)(p.io) AS pio, quantileExactLow(0.5)(p.c) AS pc, quantileExactLow(0.9)(p.c) AS pc90
     FROM (SELECT request_id, any(io_ms) AS io, any(compute_ms) AS c FROM ${db}.shadow_results
           WHERE edge_server_id = {s:String} AND model_id = {m:String} AND model_version = {v:String} AND chip = {c:String} AND status = 'ok'
             AND request_ts >= fromUnixTimestamp64Milli({from:Int64}) GROUP BY request_id) AS s
     INNER JOIN (SELECT request_id, any(io_ms) AS io, any(compute_ms) AS c FROM ${db}.inference_events
           WHERE edge_server_id = {s:String} AND model_id = {m:String} AND chip = {p:String} AND status = 'ok'
             AND ts >= fromUnixTimestamp64Milli({from:Int64}) GROUP BY request_id) AS p
     ON p.request_id = s.request_id`,
    { s: server, m: req.model, v: req.version, c: req.chip, p: chipNow, from: fromMs });
  const n = Number(r?.n ?? 0);
  const [sio, sc, sc90, pio, pc, pc90] = [r?.sio, r?.sc, r?.sc90, r?.pio, r?.pc, r?.pc90].map(Number);
  if (n < MIN_SHADOW_PART_PAIRS || !(sio! > 0 && sc! > 0 && pio! > 0 && pc! > 0)) return null;
  const spread = spreadRatio(sc90! > sc! ? Math.log(sc90! / sc!) : null, pc90! > pc! ? Math.log(pc90! / pc!) : null);
  return { compute: sc! / pc!, io: sio! / pio!, spread, pairs: n };
}

/**
 * Pool the shadow verdict windows of a version on a chip beside one server that end in the lookback
 * (since `fromMs`, epoch ms), with the shadow's per-part ratios over the requests from the first such window's start
 * (the windows' own requests, a window that began before the lookback whole) and the failed requests of every
 * window; null without any window, ratio 0 when none gave a ratio (`shadowUnusable` in gate-factor.ts says why).
 */
async function pooledShadow(w: Warehouse, server: string, req: GateRequest, chipNow: string, fromMs: number): Promise<ShadowEvidence | null> {
  const all = await w.query<{ ratio: number | null; lo: number | null; hi: number | null; pairs: number; failed: number; start: number | string; p99: number | null }>(
    `SELECT ratio, ratio_ci_low AS lo, ratio_ci_high AS hi, pairs, failed_pairs AS failed, toUnixTimestamp64Milli(window_start) AS start, shadow_p99_ms AS p99 FROM ${w.database}.shadow_verdicts
     WHERE edge_server_id = {s:String} AND model_id = {m:String} AND production_chip = {p:String} AND shadow_chip = {c:String} AND shadow_version = {v:String}
       AND window_end > fromUnixTimestamp64Milli({from:Int64}) AND pairs + failed_pairs > 0`,
    { s: server, m: req.model, p: chipNow, c: req.chip, v: req.version, from: fromMs });
  // A window where the shadow measured no request (silent, late, or skewed: 0 pairs, 0 failed) is no evidence.
  if (all.length === 0) return null;
  // Windows, pairs and failed requests over every window, those that gave no ratio too, so that failures are weighed
  // against the pairs of the same windows (a trial: 445 time-outs beside 25 pairs went unsaid).
  const failed = all.reduce((t, r) => t + Number(r.failed), 0);
  const pairs = all.reduce((t, r) => t + Number(r.pairs), 0);
  const p99s = all.map((r) => r.p99).filter((x): x is number => x !== null && Number.isFinite(Number(x))).map(Number);
  const p99Ms = p99s.length === 0 ? null : { low: Math.min(...p99s), high: Math.max(...p99s), windows: p99s.length };
  const rows = all.filter((r): r is { ratio: number; lo: number; hi: number; pairs: number; failed: number; start: number | string; p99: number | null } => r.ratio !== null && Number(r.lo) > 0 && Number(r.hi) > 0);
  if (rows.length === 0) return { ratio: 0, low: 0, high: 0, windows: all.length, pairs, failed, ratioWindows: 0, parts: null, p99Ms };
  let wsum = 0;
  let mean = 0;
  let precision = 0;
  for (const r of rows) {
    const se = Math.max(Math.log(r.hi / r.lo) / (2 * 1.96), 1e-6);
    wsum += Number(r.pairs);
    mean += Number(r.pairs) * Math.log(r.ratio);
    precision += 1 / se ** 2;
  }
  const center = mean / wsum;
  const se = 1 / Math.sqrt(precision);
  return { ratio: Math.exp(center), low: Math.exp(center - 1.96 * se), high: Math.exp(center + 1.96 * se), windows: all.length, pairs, failed, ratioWindows: rows.length, p99Ms,
    // The parts over the requests of the same windows (from the first one's start): from the lookback's start alone, a
    // short lookback took them from 21 requests beside a ratio and interval of the window's 446 (a trial).
    parts: await shadowParts(w, server, req, chipNow, Math.min(fromMs, ...all.map((r) => Number(r.start)))) };
}
