/**
 * F3 (issue 7): the deployment gate's backtest. For seeds 1, 2 and 3 the
 * simulated history holds ≥ 50 rollouts with ≥ 10 rolled back, and the gate
 * blocks ≥ 90 % of the rolled-back rollouts (NEED_SHADOW counts as a block)
 * and allows ≥ 90 % of the others. The history itself is checked: every
 * rollback is a rollout whose p99 at peak breached its SLO, the events are
 * valid DeploymentEvent records, and the gate sees nothing from after a
 * rollout (the same answer on the history cut at the rollout).
 */
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../schemas/index.ts';
import { tmpdir } from 'node:os';
import { gateRollout, type BacktestResult } from '../../services/predictor/gate-backtest.ts';
import { edgelat } from '../helpers/edgelat-cli.ts';
import { simulateDeploymentHistory, type DeploymentHistory } from '../../services/simulator/deployments.ts';

describe('gate --backtest (F3)', () => {
  // Through the CLI (a child process: the test's event loop stays free), as a user runs it.
  it.each([1, 2, 3])('seed %i: `edgelat gate --backtest --json` — ≥ 50 rollouts, ≥ 10 rolled back, recall and specificity ≥ 0.9', async (seed) => {
    const res = await edgelat(['gate', '--backtest', '--seed', String(seed), '--json', '--details'], tmpdir());
    expect(res.code, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout) as BacktestResult;
    expect(Object.keys(r)).toEqual(['seed', 'rollouts', 'rolled_back', 'need_shadow', 'blocked', 'recall', 'specificity', 'details']);
    expect(r.rollouts).toBeGreaterThanOrEqual(50);
    expect(r.rolled_back).toBeGreaterThanOrEqual(10);
    expect(r.recall).toBeGreaterThanOrEqual(0.9);
    expect(r.specificity).toBeGreaterThanOrEqual(0.9);
    // The figures are counts of the details.
    const bad = r.details.filter((d) => d.rolled_back);
    const good = r.details.filter((d) => !d.rolled_back);
    expect(r.details).toHaveLength(r.rollouts);
    expect(bad).toHaveLength(r.rolled_back);
    expect(r.recall).toBe(bad.filter((d) => d.answer !== 'ALLOW').length / bad.length);
    expect(r.specificity).toBe(good.filter((d) => d.answer === 'ALLOW').length / good.length);
    expect(r.need_shadow).toBe(r.details.filter((d) => d.answer === 'NEED_SHADOW').length);
  }, 180_000);

  it('records a history whose rollbacks are exactly the breaches, as valid DeploymentEvents, and gates without looking ahead', () => {
    const h = simulateDeploymentHistory({ seed: 4, days: 6, minRollouts: 0, minRolledBack: 0 });
    expect(h.days).toHaveLength(6);
    expect(h.rollouts).toHaveLength(5 * 6);
    const codec = codecFor('DeploymentEvent');
    for (const e of h.events) expect(codec.decode(codec.encode(e))).toEqual({ ok: true, value: e });
    const rollbacks = h.events.filter((e) => e.kind === 'rollback');
    expect(rollbacks).toHaveLength(h.rollouts.filter((r) => r.rolledBack).length);
    for (const r of h.rollouts) {
      expect(r.rolledBack).toBe(r.peakP99Ms > r.sloP99Ms);
      expect(h.events.some((e) => e.kind === 'rollout' && e.ts === r.ts && e.edge_server_id === r.server && e.model_id === r.model && e.model_version === r.toVersion && e.chip === r.toChip)).toBe(true);
    }
    // Cut the history at each rollout: what the gate answers must not change.
    for (const r of h.rollouts.filter((_, i) => i % 3 === 0)) {
      const cut: DeploymentHistory = { ...h, days: h.days.slice(0, r.day), events: h.events.filter((e) => e.ts <= r.ts), rollouts: h.rollouts.filter((x) => x.ts <= r.ts) };
      expect(gateRollout(cut, r)).toEqual(gateRollout(h, r));
    }
  }, 120_000);

  it('replicates re-simulate each rollout\'s day with other arrivals without changing the history (bench/gate-oracle.ts)', () => {
    const config = { seed: 5, days: 3, minRollouts: 0, minRolledBack: 0 };
    const plain = simulateDeploymentHistory(config);
    const again = simulateDeploymentHistory({ ...config, replicates: 2 });
    expect(again.events).toEqual(plain.events);
    expect(again.days).toEqual(plain.days);
    expect(again.rollouts.map((r) => ({ ...r, replicateP99Ms: [] }))).toEqual(plain.rollouts);
    expect(plain.rollouts.every((r) => r.replicateP99Ms.length === 0)).toBe(true);
    for (const r of again.rollouts) {
      expect(r.replicateP99Ms).toHaveLength(2);
      for (const p of r.replicateP99Ms) expect(p).toBeGreaterThan(0);
    }
    // Other draws: not copies of what happened, nor of each other.
    expect(again.rollouts.filter((r) => r.replicateP99Ms.includes(r.peakP99Ms)).length).toBeLessThan(again.rollouts.length / 2);
    expect(again.rollouts.filter((r) => r.replicateP99Ms[0] === r.replicateP99Ms[1]).length).toBeLessThan(again.rollouts.length / 2);
    expect(simulateDeploymentHistory({ ...config, replicates: 2 }).rollouts).toEqual(again.rollouts);
    expect(() => simulateDeploymentHistory({ ...config, replicates: -1 })).toThrow(/replicates: expected an integer in \[0, 100\], got -1/);
  }, 120_000);
});
