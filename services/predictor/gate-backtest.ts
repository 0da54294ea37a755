/**
 * Backtest of the deployment gate (issue 7, F3; `edgelat gate --backtest`):
 * simulate a deployment history (simulator/deployments.ts), then put every
 * rollout through the gate with only what was known before it — the
 * telemetry of the 3 days before (the target device's peaks, the fleet's
 * unloaded medians, its i/o medians of every model per chip), the deployment events up to the rollout (SLOs, the versions'
 * MACs) and the MLPerf benchmarks — and score its answers against what
 * happened. NEED_SHADOW counts as a block.
 *
 * recall = blocked rollouts that were rolled back / rolled back;
 * specificity = allowed rollouts that were kept / kept.
 */
import { simulateDeploymentHistory, type DeploymentHistory, type DeviceDay, type HistoryConfig, type RolloutTruth } from '../simulator/deployments.ts';
import { FLEET_SD_DAYS, gateServer, type DaySeries, type ServerGate } from './gate.ts';
import { GATE_DEFAULTS, type GateAnswer, type GateOptions } from './gate-options.ts';
import type { FleetIo, FleetMedian } from './gate-factor.ts';
import { nearestRankQuantile } from '../model/gbt.ts';
import { fleetLoadSensitivity } from './load-sensitivity.ts';
import { lowerQuantile } from '../../pipelines/stats/samples.ts';
import { peakWindow } from './peak-p99.ts';
import type { ServerObservations } from './whatif.ts';

/** Days before a rollout the gate may use (the server's peaks, the fleet's unloaded medians). */
const LOOKBACK_DAYS = 3;
/** Requests below this busy-worker fraction count as unloaded (as in the what-if's chip ratios). */
const UNLOADED_UTIL = 0.15;

/**
 * One rollout as the gate saw it (a row of `gate --backtest --json --details`): the names of the gate's report
 * (`version_now`, `chip_now`, `predicted_p99_ms`, `p99_low_ms`, `p99_high_ms`), ms throughout.
 */
export interface BacktestRollout {
  /** Day of the history, from 0. */
  day: number;
  server: string;
  model: string;
  /** The version and chip the server ran the model on before the rollout. */
  version_now: string;
  chip_now: string;
  /** The version and chip rolled out (one or both differ from the running ones). */
  version: string;
  chip: string;
  /** The same as one line, e.g. `v1→v2 on rk3588` or `v1→v1 on jetson-agx-orin→rk3588`. */
  change: string;
  answer: GateAnswer;
  /** Whether the p99 measured at the day's peak breached the SLO, so the rollout was rolled back. */
  rolled_back: boolean;
  slo_p99_ms: number;
  predicted_p99_ms: number | null;
  /** Bottom of the p99 band; null without a replay. */
  p99_low_ms: number | null;
  /** Top of the p99 band; null without a replay, or where the queue cannot drain at the band's top (unbounded). */
  p99_high_ms: number | null;
  /** The p99 measured at the day's peak after the rollout. */
  actual_p99_ms: number;
  reason: string;
}

/** The backtest's score (the F3 figures) and its rollouts. */
export interface BacktestResult {
  seed: number;
  rollouts: number;
  rolled_back: number;
  need_shadow: number;
  blocked: number;
  /** Blocked (BLOCK or NEED_SHADOW) among the rolled back, fraction 0..1 (null without any). */
  recall: number | null;
  /** Allowed among the kept, fraction 0..1 (null without any). */
  specificity: number | null;
  details: BacktestRollout[];
}

const median = (v: number[]): number => lowerQuantile(v, 0.5);

const observationsCache = new WeakMap<DeviceDay, ServerObservations>();

/** A device day as the what-if's observations (cached per device day, which is never mutated). */
export function deviceObservations(d: DeviceDay): ServerObservations {
  const hit = observationsCache.get(d);
  if (hit) return hit;
  const o = toObservations(d);
  observationsCache.set(d, o);
  return o;
}

function toObservations(d: DeviceDay): ServerObservations {
  const totals = [...d.total].sort((a, b) => a - b);
  const q = (p: number) => totals[Math.max(0, Math.ceil((p * totals.length) / 100) - 1)] ?? NaN;
  return {
    server: d.server, chip: d.chip, workersPerReplica: d.workers, ts: d.ts, io: d.io, compute: d.compute, util: d.util, model: d.model, total: d.total,
    measured: { p50: q(50), p99: q(99), n: d.ts.length },
  };
}

/** Unloaded medians (and compute p90) per (version, chip) of one model over some device days. */
export function fleetMedians(devices: readonly DeviceDay[], model: string): FleetMedian[] {
  const groups = new Map<string, { version: string; chip: string; io: number[]; compute: number[] }>();
  for (const d of devices) {
    for (let i = 0; i < d.ts.length; i++) {
      if (d.model[i] !== model || !(d.util[i]! < UNLOADED_UTIL)) continue;
      const key = `${d.version[i]}|${d.chip}`;
      if (!groups.has(key)) groups.set(key, { version: d.version[i]!, chip: d.chip, io: [], compute: [] });
      groups.get(key)!.io.push(d.io[i]!);
      groups.get(key)!.compute.push(d.compute[i]!);
    }
  }
  return [...groups.values()].map((g) => ({ version: g.version, chip: g.chip, io: median(g.io), compute: median(g.compute), computeP90: lowerQuantile(g.compute, 0.9), n: g.io.length }));
}

/** Unloaded i/o medians per (model, chip) over some device days (≥ 1 request each; the gate wants ≥ 20). */
export function fleetIoMedians(devices: readonly DeviceDay[]): FleetIo[] {
  const groups = new Map<string, { model: string; chip: string; io: number[] }>();
  for (const d of devices) {
    for (let i = 0; i < d.ts.length; i++) {
      if (!(d.util[i]! < UNLOADED_UTIL)) continue;
      const key = `${d.model[i]}|${d.chip}`;
      if (!groups.has(key)) groups.set(key, { model: d.model[i]!, chip: d.chip, io: [] });
      groups.get(key)!.io.push(d.io[i]!);
    }
  }
  return [...groups.values()].map((g) => ({ model: g.model, chip: g.chip, io: median(g.io), n: g.io.length }));
}

/**
 * Peak p99 of every model on every device, per day, grouped into series of days on which the
 * device ran the same (model, version) set, with the queue's mean share of those p99s: the fleet's
 * input of `gateServer` (`DaySeries`).
 * @param days  Device days, grouped by day.
 */
export function peakSeries(days: readonly (readonly DeviceDay[])[], peakWindowMs: number): DaySeries[] {
  const series = new Map<string, { share: number[]; p99: number[] }>();
  for (const devices of days) {
    for (const e of dayPeaks(devices, peakWindowMs)) {
      if (!series.has(e.key)) series.set(e.key, { share: [], p99: [] });
      series.get(e.key)!.share.push(e.queueShare);
      series.get(e.key)!.p99.push(e.p99);
    }
  }
  return [...series.values()].map((x) => ({ queueShare: x.share.reduce((a, b) => a + b, 0) / x.share.length, p99: x.p99 }));
}

interface DayPeak { key: string; p99: number; queueShare: number }

const dayPeakCache = new WeakMap<readonly DeviceDay[], { peakWindowMs: number; entries: DayPeak[] }>();

/** One day's peak p99 per (server, chip, model, setup), with the queue's share of it, 1 − p99(io + compute) / p99 (cached per day). */
function dayPeaks(devices: readonly DeviceDay[], peakWindowMs: number): DayPeak[] {
  const cached = dayPeakCache.get(devices);
  if (cached && cached.peakWindowMs === peakWindowMs) return cached.entries;
  const entries: DayPeak[] = [];
  for (const server of new Set(devices.map((d) => d.server))) {
    const mine = devices.filter((d) => d.server === server);
    const peak = peakWindow(mine.flatMap((d) => d.ts).sort((a, b) => a - b), peakWindowMs);
    for (const d of mine) {
      const setup = [...new Set(d.model.map((m, i) => `${m}:${d.version[i]}`))].sort().join();
      for (const m of new Set(d.model)) {
        const idx = d.ts.flatMap((t, i) => (d.model[i] === m && t >= peak.startMs && t < peak.endMs ? [i] : []));
        if (idx.length === 0) continue;
        const p99 = nearestRankQuantile(idx.map((i) => d.total[i]!), 0.99);
        entries.push({ key: `${server}|${d.chip}|${m}|${setup}`, p99, queueShare: p99 > 0 ? 1 - nearestRankQuantile(idx.map((i) => d.io[i]! + d.compute[i]!), 0.99) / p99 : 0 });
      }
    }
  }
  dayPeakCache.set(devices, { peakWindowMs, entries });
  return entries;
}

const historyCaches = new WeakMap<DeploymentHistory, Map<string, unknown>>();

/** A memo of values derived from a history's days (never mutated), shared by the gating of its rollouts. */
function historyMemo(h: DeploymentHistory): <T>(key: string, make: () => T) => T {
  let cache = historyCaches.get(h);
  if (!cache) {
    cache = new Map();
    historyCaches.set(h, cache);
  }
  const c = cache;
  return <T>(key: string, make: () => T): T => {
    if (!c.has(key)) c.set(key, make());
    return c.get(key) as T;
  };
}

/**
 * The days of a rollout's server that the gate replays, from the `LOOKBACK_DAYS` before it: the
 * device now running the model (`fromChip`) on the days it ran exactly what runs now (the deployment
 * events before the rollout: the same models at the same versions; a day with a change since rolled
 * back or replaced does not represent its load), and after a chip change the server's device of the
 * new chip as it runs now (its other models at their running versions), on the days it ran exactly
 * that. When no day has the device of the new chip as it is now, its days as they were (better than none).
 * @returns Per day: the running device and the new chip's device (null when the chip does not change
 *          or the server has no device of it now), in day order.
 * @throws {RangeError} when the history has no such day of the running device.
 */
export function rolloutDays(h: Pick<DeploymentHistory, 'days' | 'events'>, r: RolloutTruth): { device: DeviceDay; target: DeviceDay | null }[] {
  const fleetDays = h.days.slice(Math.max(0, r.day - LOOKBACK_DAYS), r.day).flat();
  // What the server runs now (the deployment events before the rollout); only days of the device
  // that ran exactly that represent its load (another model moved away or rolled back changes it).
  const running = new Map<string, { version: string; chip: string }>();
  for (const e of h.events) if (e.edge_server_id === r.server && e.ts < r.ts) running.set(e.model_id, { version: e.model_version, chip: e.chip });
  const onDevice = [...running].filter(([, v]) => v.chip === r.fromChip).map(([m]) => m).sort();
  const same = (d: DeviceDay): boolean => d.model.every((m, i) => running.get(m)?.version === d.version[i] && running.get(m)?.chip === d.chip)
    && [...new Set(d.model)].sort().join() === onDevice.join();
  const own = fleetDays.filter((d) => d.server === r.server && d.chip === r.fromChip && same(d));
  if (own.length === 0) throw new RangeError(`rollout ${r.id}: no telemetry of ${r.model} ${r.fromVersion} on ${r.server} (${r.fromChip}) in the days before`);
  const onTarget = [...running].filter(([m, v]) => v.chip === r.toChip && m !== r.model).map(([m]) => m).sort();
  const deviceOf = (day: number): DeviceDay | undefined => h.days[day]!.find((x) => x.server === r.server && x.chip === r.toChip);
  const targetOf = (day: number): DeviceDay | null | undefined => {
    if (r.toChip === r.fromChip || onTarget.length === 0) return null;
    const t = deviceOf(day);
    return t && t.model.every((m, i) => m !== r.model && running.get(m)?.version === t.version[i]) && [...new Set(t.model)].sort().join() === onTarget.join() ? t : undefined;
  };
  const usable = own.filter((d) => targetOf(d.day) !== undefined);
  if (usable.length > 0) return usable.map((d) => ({ device: d, target: targetOf(d.day)! }));
  return own.map((d) => ({ device: d, target: deviceOf(d.day) ?? null }));
}

/**
 * Put one rollout of a history through the gate with what was known before it.
 * @throws {RangeError} when the history has no device day before the rollout for its server.
 */
export function gateRollout(h: DeploymentHistory, r: RolloutTruth, opt: GateOptions = GATE_DEFAULTS): ServerGate {
  const fleetDays = h.days.slice(Math.max(0, r.day - LOOKBACK_DAYS), r.day).flat();
  const memo = historyMemo(h);
  const macs = new Map<string, number>();
  for (const e of h.events) if (e.model_id === r.model && e.ts <= r.ts && e.macs !== null) macs.set(e.model_version, e.macs);
  // Arrival times of all the server's requests on a day (its peak), sorted.
  const serverTsOf = (day: number): number[] => memo(`ts|${day}|${r.server}`, () => h.days[day]!.filter((x) => x.server === r.server).flatMap((x) => x.ts).sort((p, q) => p - q));
  const workers = Math.max(1, ...fleetDays.filter((d) => d.chip === r.toChip).map((d) => d.workers));
  return gateServer({
    days: rolloutDays(h, r).map(({ device, target }) => ({ device: deviceObservations(device), target: target ? deviceObservations(target) : null, serverTs: serverTsOf(device.day) })),
    // An earlier rollout of the same candidate on this server (rolled back, or replaced since).
    measured: fleetDays.filter((d) => d.server === r.server && d.chip === r.toChip).flatMap((d) => {
      const idx = d.model.flatMap((m, i) => (m === r.model && d.version[i] === r.toVersion ? [i] : []));
      if (idx.length === 0) return [];
      return [{ ts: idx.map((i) => d.ts[i]!), totalMs: idx.map((i) => d.total[i]!), serverTs: serverTsOf(d.day) }];
    }),
    evidence: {
      model: r.model, versionNow: r.fromVersion, chipNow: r.fromChip, version: r.toVersion, chip: r.toChip,
      fleet: memo(`fleet|${r.day}|${r.model}`, () => fleetMedians(fleetDays, r.model)),
      fleetIo: memo(`fleet-io|${r.day}`, () => fleetIoMedians(fleetDays)),
      benchmark: new Map(h.benchmarks.filter((b) => b.model === r.model).map((b) => [b.chip, b.p50Ms])),
      benchmarkSpread: new Map(h.benchmarks.filter((b) => b.model === r.model && b.p90Ms > b.p50Ms && b.p50Ms > 0).map((b) => [b.chip, Math.log(b.p90Ms / b.p50Ms)])),
      macs,
    },
    targetWorkers: workers,
    sloP99Ms: r.sloP99Ms,
    fleetDaySd: memo(`series|${r.day}|${opt.peakWindowMs}`, () => peakSeries(h.days.slice(Math.max(0, r.day - FLEET_SD_DAYS), r.day), opt.peakWindowMs)),
    fleetLoadSensitivity: memo(`load-sensitivity|${r.day}`, () => fleetLoadSensitivity(fleetDays.map(deviceObservations))),
  }, opt);
}

/**
 * Simulate a history and score the gate on every rollout of it.
 * @param config    History options (seed, days, …).
 * @param opt       Gate options.
 * @param progress  Called after each rollout (done, total).
 */
export function backtestGate(config: HistoryConfig, opt: GateOptions = GATE_DEFAULTS, progress?: (done: number, total: number) => void): BacktestResult {
  const h = simulateDeploymentHistory(config);
  const details: BacktestRollout[] = h.rollouts.map((r, k) => {
    const g = gateRollout(h, r, opt);
    progress?.(k + 1, h.rollouts.length);
    return {
      day: r.day, server: r.server, model: r.model, version_now: r.fromVersion, chip_now: r.fromChip, version: r.toVersion, chip: r.toChip,
      change: `${r.fromVersion}→${r.toVersion} on ${r.fromChip}${r.toChip !== r.fromChip ? `→${r.toChip}` : ''}`,
      answer: g.answer, rolled_back: r.rolledBack, slo_p99_ms: r.sloP99Ms, predicted_p99_ms: g.predicted_p99_ms,
      p99_low_ms: g.p99_low_ms, p99_high_ms: g.p99_low_ms !== null ? g.p99_high_ms : null,
      actual_p99_ms: r.peakP99Ms, reason: g.reason,
    };
  });
  const bad = details.filter((d) => d.rolled_back);
  const good = details.filter((d) => !d.rolled_back);
  const blocked = (d: BacktestRollout) => d.answer !== 'ALLOW';
  return {
    seed: h.config.seed, rollouts: details.length, rolled_back: bad.length,
    need_shadow: details.filter((d) => d.answer === 'NEED_SHADOW').length, blocked: details.filter(blocked).length,
    recall: bad.length ? bad.filter(blocked).length / bad.length : null,
    specificity: good.length ? good.filter((d) => !blocked(d)).length / good.length : null,
    details,
  };
}
