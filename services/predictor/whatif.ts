/**
 * Capacity what-if (issue 7; `edgelat whatif`): a server's p50/p99 under its
 * own observed load with more replicas of its chip.
 *
 * Method (a trace-driven replay, as capacity planners replay a recorded
 * workload against a new configuration):
 * - Demand: every request the server measured, at its own arrival time, in
 *   order (`inference_events`, late ones included: ts, io_ms, compute_ms; and
 *   from the join, `inference_enriched`, gpu_util = the busy-worker fraction u
 *   of the interval before the request).
 * - Service: the load sensitivity of each part is fitted from the same rows —
 *   part ∝ (1 + k·u), a line through the medians of part / (its model's median
 *   part) in 10 bins of u (load-sensitivity.ts `fitLoadSensitivity`); where the
 *   server's rows carry no load signal (it never ran loaded enough to tell),
 *   the fleet's median sensitivity, as the gate's replay takes it —
 *   and each measured part is unloaded by it (part / (1 + k·u)).
 * - The requests are replayed through an exact FCFS queue with c' parallel
 *   workers (gate-replay.ts `replayWithContention` over simulator/queueing.ts
 *   `simulateFcfsQueue`): each service is loaded again when it starts, by the
 *   busy-worker fraction of the replay's own previous second. A mean-field
 *   u' = u·c/c' missed that work queued behind one saturated worker runs at
 *   once on two (p99 19 % low on a saturated Raspberry Pi 4). Latency = wait
 *   + service; p50 and p99 are nearest-rank over all replayed requests. The
 *   replay at the current capacity is reported next to the measured
 *   percentiles, as a check of the method on the server's own data.
 * - Workers per replica: the largest concurrency the server reported (on its chip, over all its telemetry).
 * Assumptions: replicas share one queue (a load balancer that sends each
 * request to the first free worker); demand does not change with latency.
 */
import { busiestUtilisation, traceIdleGapMs, replayWithContention, spreadAboutMedian, benchmarkSpreadRatio, spreadRatio, startedUnder } from './gate-replay.ts';
import { deviceLoadSensitivity, ownLoadSensitivity, type LoadSensitivity } from './load-sensitivity.ts';
import { benchmarkPointsSql, benchmarkSpread, catalogNameClause, chipsNamed, commonBenchmark, evidenceOnChips, knownChips, loadIoMedians, MIN_MEDIAN_REQUESTS, type BenchmarkPoint } from './evidence.ts';
import { ioMapAcrossChips, ioMapText, type FleetIo, ioUnchanged } from './gate-factor.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { NoDataYetError, NoEvidenceError } from './types.ts';
import { byCodeUnits, nearestNames } from '../names.ts';

export { NoEvidenceError };

/** What the what-if needs to know about a server (times in ms). */
export interface ServerObservations {
  server: string;
  chip: string;
  /** Parallel workers of one replica. */
  workersPerReplica: number;
  /** Arrival time of each measured request, epoch ms, non-decreasing. */
  ts: number[];
  /** Measured service parts and the utilisation at each request (aligned with ts). */
  io: number[];
  compute: number[];
  util: number[];
  model: string[];
  /** Measured latency of each request, ms (aligned with ts), when known. */
  total?: number[];
  /** Measured latency quantiles (nearest rank) over all its requests. */
  measured: { p50: number; p99: number; n: number };
  /** The server's requests on its other chips in the same period, not part of this device (absent: none). */
  otherChips?: { chip: string; requests: number }[];
}

/**
 * Result of {@link whatIfReplicas}: latency quantiles in ms, Infinity (null in JSON) when saturated: the
 * replayed requests' service time, slowed by the load it makes, is at least the workers' time over the
 * span they arrived in, in some busy period (`busiestUtilisation` ≥ 1), so the queue grows for as long as the load lasts and a
 * replay's p50/p99 would only tell how long the trace was.
 */
export interface WhatIfResult {
  server: string;
  chip: string;
  replicas: number;
  workers: number;
  p50_ms: number;
  p99_ms: number;
  /** Busy fraction the requests need with this capacity, their services slowed by it, in the busiest busy period (`busiestUtilisation`), fraction (≥ 1: saturated). */
  offered_utilisation: number;
  /** The same method at the current capacity, next to what was measured (a check of the method). */
  current: { workers: number; p50_ms: number; p99_ms: number; offered_utilisation: number; measured_p50_ms: number; measured_p99_ms: number; requests: number };
  /** Load sensitivity of compute and i/o (part ∝ 1 + k·u, k dimensionless per unit of u). */
  sensitivity: { compute: number; io: number };
  /** Where each k came from: the server's own rows, the fleet's median (no load signal here), or neither (0). */
  sensitivity_source: { compute: SensitivitySource; io: SensitivitySource };
  /** With a chip change: where its workers per replica came from ({@link ChipSwap.workersSource}). */
  workers_source?: ChipSwap['workersSource'];
  /** Requests the server ran on its other chips in the period, not replayed (absent: none). */
  other_chips?: { chip: string; requests: number }[];
  method: string;
}

/** Where a load sensitivity came from: fitted on the server's rows, the fleet's median, or 0 for want of either. */
export type SensitivitySource = 'server' | 'fleet' | 'none';

const nearestRank = (sorted: readonly number[], pct: number): number => sorted[Math.ceil((pct * sorted.length) / 100) - 1]!;

/**
 * Another chip for a server: per model, how its service parts scale from the server's chip to
 * `chip` (ratios of unloaded medians), and that chip's workers per replica.
 */
export interface ChipSwap {
  chip: string;
  workersPerReplica: number;
  /**
   * Where workersPerReplica came from: 'fleet', the largest concurrency the chip's servers reported;
   * 'assumed', 1 because none reported it (a chip seen only as a shadow: shadow results carry no
   * concurrency; a trial read 17–24 % high against shadows with 2 workers); 'given', the caller's (`--workers`).
   */
  workersSource: 'fleet' | 'assumed' | 'given';
  /**
   * Per model: io and compute ratio of medians (new chip / current chip), and the compute's spread
   * ratio (ln(p90/p50) there over here: `spreadRatio`; 1 when unknown): each request's unloaded compute
   * is mapped to the same quantile on the new chip (`spreadAboutMedian`) before the ratio. Each
   * request's unloaded i/o t becomes io·t + ioOffset (ms; absent = 0: a line across chips, `ioMapAcrossChips`).
   */
  ratio: Map<string, { io: number; compute: number; spread: number; ioOffset?: number }>;
  /** Where each model's ratio came from. */
  evidence: Map<string, 'fleet' | 'benchmark'>;
  /**
   * How each model's i/o moved where the fleet never ran it on both chips, for the method text (e.g.
   * "i/o 0.298× (through 2 other models on both)"); absent where the fleet's medians gave it.
   */
  io?: Map<string, string>;
}

/**
 * p50 and p99 of a server with `replicas` replicas of its chip (1 = as now), or of `swap.chip`,
 * under its observed load.
 * @param fleet  The fleet's load sensitivity (load-sensitivity.ts `fleetLoadSensitivity`), taken for a part
 *   the server's own rows carry no load signal of; without it such a part is not load-sensitive (k = 0).
 * @throws {RangeError} on replicas < 1.
 * @throws {NoEvidenceError} on a server with fewer than 50 measured requests.
 */
export function whatIfReplicas(o: ServerObservations, replicas: number, swap?: ChipSwap, fleet?: LoadSensitivity | null): WhatIfResult {
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas: expected an integer ≥ 1, got ${JSON.stringify(replicas)}`);
  if (o.io.length < 50) throw new NoEvidenceError(`server ${JSON.stringify(o.server)}: ${o.io.length} measured request${o.io.length === 1 ? '' : 's'} in the lookback; the what-if needs at least 50 (a longer lookback holds more: --lookback-hours)`);
  const own = ownLoadSensitivity(o);
  const { compute: kc, io: kio } = deviceLoadSensitivity(o, fleet);
  const source = (part: 'compute' | 'io'): SensitivitySource => (own[part] !== null ? 'server' : fleet && fleet.fittedDevices?.[part] !== 0 ? 'fleet' : 'none');
  const c0 = o.workersPerReplica;
  const rhoNow = startedUnder(o);
  const gapMs = traceIdleGapMs(o.ts);
  const at = (workers: number, to?: ChipSwap): [number, number, number] => {
    const r = (i: number) => to?.ratio.get(o.model[i]!) ?? { io: 1, compute: 1, spread: 1, ioOffset: 0 };
    // Unloaded parts on the target chip; the replay loads them again at the utilisation it gives.
    const baseIo = o.io.map((io, i) => Math.max(0, (io / (1 + kio * rhoNow[i]!)) * r(i).io + (r(i).ioOffset ?? 0)));
    const unloadedC = o.compute.map((c, i) => c / (1 + kc * rhoNow[i]!));
    const baseC = spreadAboutMedian(unloadedC, o.model, (m) => to?.ratio.get(m)?.spread ?? 1).map((c, i) => c * r(i).compute);
    const rho = busiestUtilisation(o.ts, baseIo, baseC, { compute: kc, io: kio }, workers, gapMs);
    if (rho >= 1) return [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, rho];
    const arrivals = Float64Array.from(o.ts);
    const q = replayWithContention(arrivals, baseIo, baseC, { compute: kc, io: kio }, workers);
    const latency = Array.from(q.latencyMs).sort((a, b) => a - b);
    return [nearestRank(latency, 50), nearestRank(latency, 99), rho];
  };
  const workers = (swap ? swap.workersPerReplica : c0) * replicas;
  const [p50, p99, rho] = at(workers, swap);
  const [cur50, cur99, curRho] = at(c0);
  return {
    server: o.server, chip: swap ? swap.chip : o.chip, replicas, workers, p50_ms: p50, p99_ms: p99, offered_utilisation: rho,
    current: { workers: c0, p50_ms: cur50, p99_ms: cur99, offered_utilisation: curRho, measured_p50_ms: o.measured.p50, measured_p99_ms: o.measured.p99, requests: o.measured.n },
    sensitivity: { compute: kc, io: kio },
    sensitivity_source: { compute: source('compute'), io: source('io') },
    ...(swap ? { workers_source: swap.workersSource } : {}),
    ...(o.otherChips && o.otherChips.length > 0 ? { other_chips: o.otherChips } : {}),
    method: swap
      ? `replay of the server's measured requests through an FCFS queue with ${workers} worker(s) of ${swap.chip}${swap.workersSource === 'assumed' ? ` (1 per replica assumed: no server of ${swap.chip} reports its concurrency; --workers sets it)` : ''}: each part unloaded by 1 + k·u at the utilisation it started under, mapped to the same quantile of its model's unloaded compute on the new chip (ratio of medians; of p90/p50 spreads where both are known: ${[...swap.evidence].map(([m, e]) => `${m}: ${e}${swap.ratio.get(m)!.spread !== 1 ? `, spread ×${swap.ratio.get(m)!.spread.toFixed(2)}` : ''}${swap.io?.has(m) ? `, ${swap.io.get(m)!}` : ''}`).join('; ')}), loaded again when the replay starts it, at the busy-worker fraction of the replay's previous second`
      : `replay of the server's measured requests (arrival times; io + compute unloaded by 1 + k·u at the utilisation each started under) through an FCFS queue with ${workers} worker(s), each service loaded again when the replay starts it, at the busy-worker fraction of the replay's previous second`,
  };
}

/** Default lookback of the what-if: the hours before the server's newest request that it replays (the gate's default too). */
export const WHATIF_LOOKBACK_HOURS = 24;

/**
 * Read a server's observations from the warehouse: its requests in `inference_events` within `lookbackHours`
 * before its newest one, late ones included, with the load sample the join gave each in `inference_enriched`
 * (a request without one, late or unmatched, takes the server's mean utilisation). The device is the server's
 * chip that served the most of them (the newer on a tie); requests on its other chips (a model moved to
 * another device of the server) are not replayed and are counted in `otherChips`. Its workers per replica:
 * the largest concurrency the server reported on that chip in all its telemetry, the lookback's or before.
 * @param lookbackHours  Hours before the server's newest request, > 0. @default {@link WHATIF_LOOKBACK_HOURS}
 * @throws {RangeError} naming the server when it has no request in `inference_events` (and the servers that have).
 * @throws {NoEvidenceError} when `inference_events` holds no request at all.
 */
export async function loadServerObservations(w: Warehouse, server: string, lookbackHours = WHATIF_LOOKBACK_HOURS): Promise<ServerObservations> {
  if (!(lookbackHours > 0 && Number.isFinite(lookbackHours))) throw new RangeError(`--lookback-hours: expected a number > 0, got ${JSON.stringify(lookbackHours)}`);
  const db = w.database;
  // Every request is demand, late ones too (inference_events); the load sample of each comes from the join
  // (inference_enriched), which a request behind the watermark never reached (its u is then the mean).
  const rows = await w.query<{ t: number; io_ms: number; compute_ms: number; total_ms: number; u: number | null; c: number | null; model_id: string; chip: string }>(
    `SELECT toUnixTimestamp64Milli(r.ts) AS t, r.io_ms AS io_ms, r.compute_ms AS compute_ms, r.total_ms AS total_ms, e.u AS u, e.c AS c, r.model_id AS model_id, r.chip AS chip
     FROM ${db}.inference_events AS r
     LEFT JOIN (SELECT event_id, any(gpu_util) AS u, any(concurrency) AS c FROM ${db}.inference_enriched WHERE edge_server_id = {s:String} GROUP BY event_id) AS e ON e.event_id = r.event_id
     WHERE r.edge_server_id = {s:String}
       AND r.ts >= (SELECT max(ts) FROM ${db}.inference_events WHERE edge_server_id = {s:String}) - toIntervalMillisecond({ms:Int64})
     ORDER BY r.ts, r.event_id`, { s: server, ms: Math.round(lookbackHours * 3_600_000) });
  if (rows.length === 0) {
    const servers = (await w.query<{ s: string }>(`SELECT DISTINCT edge_server_id AS s FROM ${db}.inference_events ORDER BY s`)).map((r) => r.s);
    if (servers.length === 0) throw new NoDataYetError(`--server: no request of ${JSON.stringify(server)} in ${db}.inference_events (it holds no telemetry yet: run \`edgelat demo\` (npm start) or the pipeline first)`);
    throw new RangeError(`--server: no request of ${JSON.stringify(server)} in ${db}.inference_events (nearest servers: ${nearestNames(server, servers)})`);
  }
  const perChip = new Map<string, { requests: number; newest: number }>();
  for (const r of rows) {
    const c = perChip.get(r.chip) ?? { requests: 0, newest: 0 };
    c.requests++;
    c.newest = Math.max(c.newest, Number(r.t));
    perChip.set(r.chip, c);
  }
  const [chip] = [...perChip].sort(([, a], [, b]) => b.requests - a.requests || b.newest - a.newest)[0]!;
  // Workers: the largest concurrency the server's device ever reported, not only in the lookback. Concurrency is the
  // requests in service when a sample was taken, so a quiet hour may never show two at once (a trial: a 2-worker
  // Orin read 1 over 0.2 h, and its "now" replay queued what had run side by side: p99 13.6 ms against 9.5 measured).
  const o = withReportedWorkers(observationsFromRows(server, chip, rows.filter((r) => r.chip === chip)), await reportedWorkers(w, server));
  const otherChips = [...perChip].filter(([c]) => c !== chip).map(([c, v]) => ({ chip: c, requests: v.requests })).sort((a, b) => b.requests - a.requests || byCodeUnits(a.chip, b.chip));
  return otherChips.length > 0 ? { ...o, otherChips } : o;
}

/**
 * The largest concurrency a server reported per chip in all its telemetry (`inference_enriched`: the load sample in
 * force at each request), requests in service: the fewest workers each of its devices has.
 */
export async function reportedWorkers(w: Warehouse, server: string): Promise<Map<string, number>> {
  const rows = await w.query<{ chip: string; c: number | null }>(
    `SELECT chip, max(concurrency) AS c FROM ${w.database}.inference_enriched WHERE edge_server_id = {s:String} GROUP BY chip`, { s: server });
  return new Map(rows.filter((r) => r.c !== null).map((r) => [r.chip, Number(r.c)]));
}

/** Observations with workers per replica raised to what the server ever reported on their chip ({@link reportedWorkers}). */
export function withReportedWorkers(o: ServerObservations, reported: ReadonlyMap<string, number>): ServerObservations {
  return { ...o, workersPerReplica: Math.max(o.workersPerReplica, reported.get(o.chip) ?? 0) };
}

/** One measured request (times ms, epoch ms; u = gpu_util, c = concurrency of its load sample, null without one). */
export interface ObservedRow { t: number; io_ms: number; compute_ms: number; total_ms: number; u: number | null; c: number | null; model_id: string }

/**
 * Observations of a device from its rows in ts order (a row without a load sample takes the mean
 * utilisation; workers per replica = the largest concurrency reported).
 */
export function observationsFromRows(server: string, chip: string, rows: readonly ObservedRow[]): ServerObservations {
  const known = rows.filter((r) => r.u !== null);
  const meanU = known.length ? known.reduce((a, r) => a + Number(r.u), 0) / known.length : 0;
  const totals = rows.map((r) => r.total_ms).sort((a, b) => a - b);
  return {
    server, chip,
    // A loop, not Math.max(...rows): a spread of 120,000+ rows overflows the call stack (a trial).
    workersPerReplica: rows.reduce((top, r) => Math.max(top, Number(r.c ?? 0)), 1),
    ts: rows.map((r) => Number(r.t)), io: rows.map((r) => r.io_ms), compute: rows.map((r) => r.compute_ms),
    util: rows.map((r) => (r.u === null ? meanU : Number(r.u))), model: rows.map((r) => r.model_id), total: rows.map((r) => r.total_ms),
    measured: totals.length ? { p50: nearestRank(totals, 50), p99: nearestRank(totals, 99), n: rows.length } : { p50: NaN, p99: NaN, n: 0 },
  };
}

/** Requests below this busy-worker fraction count as unloaded for the chip ratios. */
const UNLOADED_UTIL = 0.15;

/**
 * The ratios for moving a server's models to another chip: unloaded medians (gpu_util < 0.15,
 * status ok) of each model on both chips in the fleet; where the fleet never ran the model on the
 * new chip, the ratio of benchmark latencies (`benchmark_latency`, SingleStream, at a percentile both chips
 * have: {@link commonBenchmark}) for compute, and for i/o the map `ioMapAcrossChips` gives from the
 * model's own i/o medians on both chips or the other models' measured on both (`loadIoMedians`: the
 * fleet's, or where it never ran a model on a chip, its shadows'), else 1. The compute's spread ratio: ln(p90/p50)
 * of the unloaded compute on both chips in the fleet, else of the benchmark latencies (where both
 * chips have p50 and p90) with the spread the fleet measured on the current chip
 * (`benchmarkSpreadRatio`: the host's part adds to the new chip's benchmark), else 1.
 * Workers per replica of the new chip: the largest concurrency any server of it reported (1 if none:
 * `workersSource` 'assumed').
 * @throws {RangeError} on a chip the warehouse does not know.
 * @throws {NoEvidenceError} naming a model with neither fleet nor benchmark evidence on one of the chips.
 */
export async function loadChipSwap(w: Warehouse, o: ServerObservations, chip: string): Promise<ChipSwap> {
  const db = w.database;
  const chips = await knownChips(w);
  if (!chips.includes(chip)) {
    const clause = catalogNameClause(await chipsNamed(w, chip));
    throw new RangeError(`--chip: unknown chip ${JSON.stringify(chip)}: neither the fleet, the benchmarks nor the chip catalog know it${clause === null ? '' : ' as an id'} (${clause === null ? '' : `${clause}; `}nearest known: ${nearestNames(chip, chips)}; all: \`edgelat chips list\`)`);
  }
  const models = [...new Set(o.model)];
  const med = await w.query<{ chip: string; model_id: string; n: number; io: number; c: number; c90: number }>(
    `SELECT chip, model_id, count() AS n, quantileExactLow(0.5)(io_ms) AS io, quantileExactLow(0.5)(compute_ms) AS c,
            quantileExactLow(0.9)(compute_ms) AS c90
     FROM ${db}.inference_enriched WHERE chip IN ({a:String}, {b:String}) AND has({m:Array(String)}, model_id) AND status = 'ok' AND gpu_util < {u:Float64}
     GROUP BY chip, model_id`, { a: o.chip, b: chip, m: models, u: UNLOADED_UTIL });
  const bench = await w.query<BenchmarkPoint & { model_id: string }>(benchmarkPointsSql(db), { m: models });
  const [cw] = await w.query<{ c: number | null }>(`SELECT max(concurrency) AS c FROM ${db}.inference_enriched WHERE chip = {b:String}`, { b: chip });
  const ratio = new Map<string, { io: number; compute: number; spread: number; ioOffset?: number }>();
  const ioText = new Map<string, string>();
  let fleetIo: FleetIo[] | null = null;
  const fleetSpread = (r: { c: number; c90: number }): number | null => (Number(r.c90) > Number(r.c) && Number(r.c) > 0 ? Math.log(Number(r.c90) / Number(r.c)) : null);
  const evidence = new Map<string, 'fleet' | 'benchmark'>();
  for (const m of models) {
    const fa = med.find((r) => r.chip === o.chip && r.model_id === m && Number(r.n) >= MIN_MEDIAN_REQUESTS);
    const fb = med.find((r) => r.chip === chip && r.model_id === m && Number(r.n) >= MIN_MEDIAN_REQUESTS);
    if (fa && fb && fa.c > 0 && fa.io > 0) {
      ratio.set(m, { io: fb.io / fa.io, compute: fb.c / fa.c, spread: spreadRatio(fleetSpread(fb), fleetSpread(fa)) });
      evidence.set(m, 'fleet');
      continue;
    }
    const points = bench.filter((r) => r.model_id === m).map((r) => ({ chip: r.chip, percentile: Number(r.percentile), ms: Number(r.ms) }));
    const cb = commonBenchmark(points, o.chip, chip);
    if (!cb) {
      const n = (c: string) => Number(med.find((r) => r.chip === c && r.model_id === m)?.n ?? 0);
      throw new NoEvidenceError(`--chip: no fleet measurement or benchmark to compare on both chips: ${evidenceOnChips(m, o.chip, chip, n, points)}`);
    }
    const spreads = benchmarkSpread(points);
    const spread = benchmarkSpreadRatio(spreads.get(chip) ?? null, spreads.get(o.chip) ?? null, fa ? fleetSpread(fa) : null).ratio;
    // I/O: the model's own medians (the fleet's, or its shadows'), else the other models measured on both chips.
    fleetIo ??= await loadIoMedians(w, null, UNLOADED_UTIL);
    const ioOf = (c: string) => fleetIo!.find((f) => f.model === m && f.chip === c && f.io > 0);
    const ioFrom = fa && fa.io > 0 ? Number(fa.io) : ioOf(o.chip)?.io ?? null;
    const map = ioFrom === null ? null : ioMapAcrossChips(m, ioFrom, ioOf(chip)?.io ?? null, o.chip, chip, fleetIo);
    ratio.set(m, { io: map?.slope ?? 1, ioOffset: map?.offset ?? 0, compute: cb.b / cb.a, spread });
    // Name every chip whose i/o of the model only shadows measured (the running one too), as the gate does.
    const byShadows = [...(fa && fa.io > 0 ? [] : [o.chip]), chip].filter((c) => ioOf(c)?.source === 'shadow');
    ioText.set(m, map ? ioMapText(map, byShadows) : ioUnchanged(false));
    evidence.set(m, 'benchmark');
  }
  const reported = cw?.c === null || cw?.c === undefined ? null : Number(cw.c);
  return { chip, workersPerReplica: Math.max(1, reported ?? 1), workersSource: reported === null ? 'assumed' : 'fleet', ratio, evidence, io: ioText };
}
