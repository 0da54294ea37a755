/**
 * Which days the gate's backtest replays for a rollout (gate-backtest.ts `rolloutDays`): the
 * running device on the days it ran what runs now, and after a chip change the server's device of
 * the new chip on the days it ran what runs there now. On a hand-built history whose answer is known.
 */
import { describe, expect, it } from 'vitest';
import { rolloutDays } from '../../../services/predictor/gate-backtest.ts';
import type { DeviceDay, RolloutTruth } from '../../../services/simulator/deployments.ts';
import type { DeploymentEvent } from '../../../schemas/types.ts';

const DAY_MS = 86_400_000;
const T0 = Date.UTC(2024, 5, 1);

function deviceDay(day: number, chip: string, model: string, version: string): DeviceDay {
  const ts = [T0 + day * DAY_MS + 1000, T0 + day * DAY_MS + 2000];
  return { day, server: 's1', chip, workers: 1, ts, io: [1, 1], compute: [5, 5], total: [6, 6], util: [0, 0], model: [model, model], version: [version, version] };
}

function event(ts: number, model: string, version: string, chip: string, kind: DeploymentEvent['kind']): DeploymentEvent {
  return { deployment_id: `dep-${model}-${chip}-${version}@s1`, ts, edge_server_id: 's1', model_id: model, model_version: version, chip, runtime: 'onnxruntime', kind, reason: null, slo_p99_ms: 50, macs: null };
}

function rollout(day: number, toChip: string): RolloutTruth {
  return {
    id: 0, day, ts: T0 + day * DAY_MS, server: 's1', model: 'm', fromVersion: 'v1', toVersion: 'v1', fromChip: 'A', toChip, fromMacs: 1, toMacs: 1,
    trueComputeFactor: 1, sloP99Ms: 50, peakP99Ms: NaN, rolledBack: false, replicateP99Ms: [],
  };
}

// Model m runs v1 on chip A; model x runs on chip B: v1, then v2 on day 1 (rolled back at its end), then v1.
const days = [0, 1, 2].map((d) => [deviceDay(d, 'A', 'm', 'v1'), deviceDay(d, 'B', 'x', d === 1 ? 'v2' : 'v1')]);
const events = [
  event(T0, 'm', 'v1', 'A', 'rollout'), event(T0, 'x', 'v1', 'B', 'rollout'),
  event(T0 + DAY_MS, 'x', 'v2', 'B', 'rollout'), event(T0 + 2 * DAY_MS - 1, 'x', 'v1', 'B', 'rollback'),
];
const picked = (r: ReturnType<typeof rolloutDays>) => r.map(({ device, target }) => [device.day, device.chip, target && `${target.chip}:${target.version[0]}`]);

describe('rolloutDays', () => {
  it('moves onto the new chip\'s device only on the days it ran what it runs now (not a version since rolled back)', () => {
    expect(picked(rolloutDays({ days, events }, rollout(3, 'B')))).toEqual([[0, 'A', 'B:v1'], [2, 'A', 'B:v1']]);
  });

  it('takes every day of the running device without a target when the chip does not change or the server has no device of it', () => {
    expect(picked(rolloutDays({ days, events }, rollout(3, 'A')))).toEqual([[0, 'A', null], [1, 'A', null], [2, 'A', null]]);
    expect(picked(rolloutDays({ days, events }, rollout(3, 'C')))).toEqual([[0, 'A', null], [1, 'A', null], [2, 'A', null]]);
  });

  it('keeps the days as they were when none ran the new chip\'s device as it is now, and refuses a history without the running device', () => {
    // x moved to v3 at the end of day 2: no day of B ran it.
    const later = [...events, event(T0 + 3 * DAY_MS - 1, 'x', 'v3', 'B', 'rollout')];
    expect(picked(rolloutDays({ days, events: later }, rollout(3, 'B')))).toEqual([[0, 'A', 'B:v1'], [1, 'A', 'B:v2'], [2, 'A', 'B:v1']]);
    expect(() => rolloutDays({ days: days.map((d) => d.slice(1)), events }, rollout(3, 'B'))).toThrow(/no telemetry of m v1 on s1 \(A\)/);
  });
});
