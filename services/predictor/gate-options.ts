/** The deployment gate's answers, their exit codes, and its tunables (gate.ts, gate-factor.ts). */

/** The gate's answer; CLI exit codes 0 / 1 / 2. */
export type GateAnswer = 'ALLOW' | 'BLOCK' | 'NEED_SHADOW';

/** Exit code of each answer (for CI/CD pipelines). */
export const GATE_EXIT_CODES: Readonly<Record<GateAnswer, number>> = { ALLOW: 0, BLOCK: 1, NEED_SHADOW: 2 };

/** Tunables of the gate, with their defaults. */
export interface GateOptions {
  /**
   * Normal quantile of each side of the band. @default 0.95 (one-sided 83 %). First chosen at 0.842
   * over backtests of seeds 1–16 (0.5 / 0.84 / 1.0 / 1.28 gave mean specificity 0.96 / 0.94 / 0.93 /
   * 0.90 at recall 0.93 / 0.95 / 0.95 / 0.96). Re-chosen over 136 histories (seeds 1–120 and 16
   * round numbers) once the band stopped pushing the i/o of a new version and idle devices took the
   * fleet's load sensitivity: 0.842 / 0.95 / 1.0 met recall and specificity ≥ 0.9 on 135 / 136 / 135
   * (1.0: on the histories before the load-sensitivity change); a rollback weighs ~7× a kept rollout in
   * its rate (~20 against ~140 a history). Held-out seeds 121–200 then gave 79 of 80 at 0.95. Once a
   * p99 at peak was read over ≥ 100 requests (`modelPeakWindow`, in the simulator's rollback rule and
   * here), 0.842 / 0.95 met it on 213 / 214 of 215 histories (seeds 1–200 and 15 round numbers):
   * 0.842 failed seeds 110 and 137 on recall (so did 0.9), 0.95 seed 5 on specificity, 0.893. With each
   * service unloaded at the utilisation it started under (`measuredContention`), 0.95 met it on 214 of
   * the same 215 (seed 5) and on 49 of held-out seeds 201–250 (seed 238: recall 0.85; README).
   */
  z: number;
  /** Relative margin on the observed peak load, fraction. @default 0.1 */
  loadMargin: number;
  /** Peak window, ms. @default 300000 */
  peakWindowMs: number;
  /** Log-sd of a factor measured in the fleet (unloaded medians of ≥ 20 requests each). @default 0.05 */
  fleetSd: number;
  /** Log-sd of compute scaled by a MACs ratio within one model (kernel efficiency varies). @default 0.12 */
  profileSd: number;
  /** Log-sd of compute between two versions with the same MACs (a retrain of one architecture: same kernels). @default 0.03 */
  retrainSd: number;
  /** Log-sd of a chip ratio taken from MLPerf benchmarks (other systems, other software). @default 0.15 */
  benchmarkSd: number;
  /** Weight, in degrees of freedom, of the fleet's day-to-day sd against the device's own days. @default 4 */
  daySdDof: number;
  /** Day-to-day log-sd of peak p99 assumed when the fleet has fewer than 2 comparable days. @default 0.2 */
  daySdPrior: number;
}

/** Defaults of {@link GateOptions}. */
export const GATE_DEFAULTS: Readonly<GateOptions> = Object.freeze({ z: 0.95, loadMargin: 0.1, peakWindowMs: 300_000, fleetSd: 0.05, profileSd: 0.12, retrainSd: 0.03, benchmarkSd: 0.15, daySdDof: 4, daySdPrior: 0.2 });
