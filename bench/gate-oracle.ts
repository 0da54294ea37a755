/**
 * How much of F3 (issue 7) any gate can reach: for each seed, the deployment
 * history of `edgelat gate --backtest` is simulated with every rollout's day
 * re-simulated R times (other arrivals and service-time draws, the same
 * change and the same demand: simulator/deployments.ts `replicates`). An
 * oracle gate knows the true compute factor and the day's demand, so the
 * re-simulations are what it can know of the outcome; it blocks a rollout
 * when at least k of the R re-simulated p99s breach the SLO. Its recall and
 * specificity against the rollbacks that happened are printed next to the
 * gate's (which knows only the days before the rollout), per seed and as the
 * number of seeds meeting both ≥ 0.9.
 *
 * Usage: npm run bench:gate-oracle [-- --seeds 1-16 --replicates 8]
 * Results: bench/results/<date>-<host>-gate-oracle.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gateRollout } from '../services/predictor/gate-backtest.ts';
import { simulateDeploymentHistory } from '../services/simulator/deployments.ts';
import { benchArgs, numberArg, seedsArg } from './args.ts';

const USAGE = 'npm run bench:gate-oracle [-- --seeds 1-16|a,b,c --replicates 8]   (replicates 1..100)';
const values = benchArgs(USAGE, { seeds: { type: 'string', default: '1-16' }, replicates: { type: 'string', default: '8' } });
const seeds = seedsArg(USAGE, values.seeds);
const R = numberArg(USAGE, 'replicates', values.replicates, 1, 100, true);

/** Recall and specificity of a blocking rule against what happened. */
function score(rolledBack: readonly boolean[], blocked: readonly boolean[]): { recall: number; specificity: number } {
  const bad = rolledBack.map((r, i) => (r ? blocked[i]! : null)).filter((x) => x !== null);
  const good = rolledBack.map((r, i) => (!r ? !blocked[i]! : null)).filter((x) => x !== null);
  return { recall: bad.filter(Boolean).length / bad.length, specificity: good.filter(Boolean).length / good.length };
}

const thresholds = Array.from({ length: R }, (_, i) => i + 1);
const rows: { seed: number; rollouts: number; rolled_back: number; gate: { recall: number; specificity: number }; oracle: { k: number; recall: number; specificity: number }[]; seconds: number }[] = [];
for (const seed of seeds) {
  const t0 = performance.now();
  const h = simulateDeploymentHistory({ seed, replicates: R });
  const rolledBack = h.rollouts.map((r) => r.rolledBack);
  const gate = score(rolledBack, h.rollouts.map((r) => gateRollout(h, r).answer !== 'ALLOW'));
  const breaches = h.rollouts.map((r) => r.replicateP99Ms.filter((p) => p > r.sloP99Ms).length);
  const oracle = thresholds.map((k) => ({ k, ...score(rolledBack, breaches.map((b) => b >= k)) }));
  const row = { seed, rollouts: h.rollouts.length, rolled_back: rolledBack.filter(Boolean).length, gate, oracle, seconds: (performance.now() - t0) / 1000 };
  rows.push(row);
  const f = (x: { recall: number; specificity: number }) => `${x.recall.toFixed(3)}/${x.specificity.toFixed(3)}`;
  process.stdout.write(`seed ${String(seed).padStart(3)}: ${row.rollouts} rollouts, ${row.rolled_back} rolled back; gate ${f(gate)}; oracle (block when ≥ k of ${R} breach) ${oracle.map((o) => `k=${o.k} ${f(o)}`).join('  ')}  (${row.seconds.toFixed(0)} s)\n`);
}
const meets = (x: { recall: number; specificity: number }) => x.recall >= 0.9 && x.specificity >= 0.9;
const summary = {
  seeds: rows.length,
  gate_meets: rows.filter((r) => meets(r.gate)).length,
  oracle_meets: thresholds.map((k) => ({ k, seeds: rows.filter((r) => meets(r.oracle[k - 1]!)).length })),
};
process.stdout.write(`seeds meeting recall ≥ 0.9 and specificity ≥ 0.9: gate ${summary.gate_meets} of ${summary.seeds}; oracle ${summary.oracle_meets.map((o) => `k=${o.k}: ${o.seeds}`).join(', ')}\n`);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(out, { recursive: true });
const date = new Date().toISOString();
writeFileSync(join(out, `${date.slice(0, 10)}-${hostname()}-gate-oracle.json`), `${JSON.stringify({ date, node: process.version, cpu: cpus()[0]?.model, replicates: R, summary, rows }, null, 2)}\n`);
