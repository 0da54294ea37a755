/**
 * The alert state of a load-versus-latency correlation (DESIGN §3 "Alerts"):
 * `none → rising → firing → resolved`, per (key, metric pair), over the
 * sequence of sliding windows of the rolling correlation.
 *
 * A window is classified ({@link classifyWindow}):
 * - `strong`: n ≥ minN, |r| ≥ threshold and the 95 % CI excludes 0;
 * - `clear`: n ≥ minN, r defined, and |r| < threshold − hysteresis or the CI
 *   includes 0 (evidence that the relationship is gone);
 * - `neutral`: anything else (too few rows, r undefined, or |r| inside the
 *   hysteresis band): no evidence either way. A window that never fired (no
 *   rows) is neutral.
 *
 * The state of window w ({@link alertStateAt}) is a function of the classes
 * of the last {@link historyLength} windows only, so a processor rebuilds it
 * exactly by replaying that many windows' input (no state outside the log).
 * Let strong(v) be the number of strong windows in (v − lookback, v] after the
 * last run of `clearAfter` consecutive clear windows ending at or before v:
 * - firing(w): strong(v) ≥ `fireAfter` for some v in (w − lookback, w] with no
 *   clear run ending in (v, w] and strong(u) ≥ 1 for every u in [v, w] ("k of
 *   n" to fire; it stays firing while strong windows keep coming, at least one
 *   per lookback, for up to `lookback` windows after they last numbered k; a
 *   run of clear windows resolves at once);
 * - resolved(w): not firing(w) but firing(w − 1) (shown for one window);
 * - rising(w): neither, and strong(w) ≥ 1: evidence is building (so a state
 *   never jumps from none to firing: the window before a firing one already
 *   counted fireAfter − 1 strong windows);
 * - none otherwise.
 * Hysteresis: two thresholds, k of n to fire and a run of clear windows to
 * resolve. A series that flaps around the threshold (strong and band windows,
 * never `clearAfter` clear in a row) fires once when `fireAfter` strong
 * windows fall within `lookback`, and stays firing while its strong windows
 * come at least once per `lookback` and reach `fireAfter` per `lookback`
 * again within `lookback` windows (a trial: a series at |r| 0.43–0.52 had
 * resolved when its strong windows fell to 2 in 20 and fired again 90 s later);
 * one strong window never fires and one clear window never resolves. An alert
 * whose strong windows stop for `lookback` windows, or stay below `fireAfter`
 * per `lookback` for `lookback` windows, resolves (bounded memory: it cannot be
 * confirmed by one old episode).
 */

/** Alert policy. Defaults: threshold 0.5, hysteresis 0.1, minN 30, fireAfter 3, clearAfter 3, lookback 20 (windows: 10 min at the default 30 s slide). */
export interface AlertPolicy {
  /** |Pearson r| at or above which a window is strong, 0..1. */
  threshold: number;
  /** A window is clear when |r| < threshold − hysteresis (or its CI includes 0), 0..threshold. */
  hysteresis: number;
  /** Fewest rows (n of the pair) a window needs to count as evidence. */
  minN: number;
  /** Strong windows within `lookback` that fire an alert (≥ 1, ≤ lookback). */
  fireAfter: number;
  /** Consecutive clear windows that resolve it (≥ 1). */
  clearAfter: number;
  /** Windows over which strong ones are counted (≥ 1). */
  lookback: number;
}

/** The default {@link AlertPolicy}. */
export const DEFAULT_ALERT_POLICY: Readonly<AlertPolicy> = { threshold: 0.5, hysteresis: 0.1, minN: 30, fireAfter: 3, clearAfter: 3, lookback: 20 };

/** Alert state of one window (schemas/types.ts `AlertState`). */
export type AlertStateName = 'none' | 'rising' | 'firing' | 'resolved';

/** What a window says about the relationship. */
export type WindowClass = 'strong' | 'clear' | 'neutral';

/** The statistics of a window that the classification reads (a CorrelationUpdate has them). */
export interface WindowEvidence {
  n: number;
  pearson_r: number | null;
  ci_low: number | null;
  ci_high: number | null;
}

/**
 * Check and complete a policy.
 * @param p  Partial policy; missing fields take {@link DEFAULT_ALERT_POLICY}.
 * @returns  The full policy.
 * @throws {RangeError} naming each bad field and its value (`; `-separated): threshold outside (0, 1], hysteresis outside
 *         [0, threshold), minN < 3 or not an integer, fireAfter / clearAfter / lookback < 1 or not
 *         integers, fireAfter > lookback.
 */
export function alertPolicy(p: Partial<AlertPolicy> = {}): AlertPolicy {
  const q = { ...DEFAULT_ALERT_POLICY, ...p };
  // Every problem at once, `; `-separated (a re-test: a bad hysteresis hid fireAfter > lookback).
  const problems: string[] = [];
  if (!(q.threshold > 0 && q.threshold <= 1)) problems.push(`alert threshold: expected a |r| in (0, 1], got ${JSON.stringify(q.threshold)}`);
  if (!(q.hysteresis >= 0 && q.hysteresis < q.threshold)) problems.push(`alert hysteresis: expected 0 ≤ hysteresis < threshold (${q.threshold}), got ${JSON.stringify(q.hysteresis)}`);
  if (!Number.isInteger(q.minN) || q.minN < 3) problems.push(`alert minN: expected an integer ≥ 3 (r needs 3 rows), got ${JSON.stringify(q.minN)}`);
  for (const k of ['fireAfter', 'clearAfter', 'lookback'] as const) {
    if (!Number.isInteger(q[k]) || q[k] < 1) problems.push(`alert ${k}: expected an integer ≥ 1 (windows), got ${JSON.stringify(q[k])}`);
  }
  if (q.fireAfter > q.lookback) problems.push(`alert fireAfter: expected ≤ lookback (${q.lookback}), got ${q.fireAfter}`);
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return q;
}

/** Windows of classes one strong count reads: lookback + clearAfter − 1 (the window itself included). */
function countSpan(p: AlertPolicy): number {
  return p.lookback + p.clearAfter - 1;
}

/**
 * Windows of history that the state of one window reads: the strong counts of the last `lookback` windows,
 * 2·lookback + clearAfter − 2 (the window itself included; 41 at the defaults). {@link alertStateAt} reads one
 * more (the previous state).
 */
export function historyLength(p: AlertPolicy): number {
  return countSpan(p) + p.lookback - 1;
}

/**
 * Classify one window (see the module doc).
 * @param w  The window's n and Pearson r with its 95 % CI (null when undefined).
 * @param p  The policy.
 */
export function classifyWindow(w: WindowEvidence, p: AlertPolicy): WindowClass {
  if (w.n < p.minN || w.pearson_r === null) return 'neutral';
  const r = Math.abs(w.pearson_r);
  const ciHasZero = w.ci_low === null || w.ci_high === null || (w.ci_low <= 0 && w.ci_high >= 0);
  if (r >= p.threshold && !ciHasZero) return 'strong';
  if (r < p.threshold - p.hysteresis || ciHasZero) return 'clear';
  return 'neutral';
}

/** Strong windows in the lookback of window `w` of `classes` (oldest first; default the last) after the last clear run. */
function strongCount(classes: readonly WindowClass[], p: AlertPolicy, w = classes.length - 1): number {
  let clearRun = 0;
  let strong = 0;
  for (let i = Math.max(0, w - countSpan(p) + 1); i <= w; i++) {
    clearRun = classes[i] === 'clear' ? clearRun + 1 : 0;
    if (clearRun >= p.clearAfter) strong = 0; // a clear run resets the count
    else if (classes[i] === 'strong' && i > w - p.lookback) strong++;
  }
  return strong;
}

/**
 * The alert state at the newest window.
 * @param classes  Classes of consecutive windows, oldest first, newest last; windows before the
 *                 first are neutral. Only the last {@link historyLength} + 1 are read.
 * @param p        The policy.
 * @returns        `none`, `rising`, `firing` or `resolved` by the rules of the module doc.
 * @throws {RangeError} on an empty history.
 */
export function alertStateAt(classes: readonly WindowClass[], p: AlertPolicy): AlertStateName {
  if (classes.length === 0) throw new RangeError('alertStateAt: no window');
  if (firingAt(classes, p)) return 'firing';
  if (classes.length > 1 && firingAt(classes, p, classes.length - 2)) return 'resolved';
  return strongCount(classes, p) > 0 ? 'rising' : 'none';
}

/** Whether window `w` of `classes` (oldest first; default the last) is firing, by the rule of the module doc. */
function firingAt(classes: readonly WindowClass[], p: AlertPolicy, w = classes.length - 1): boolean {
  if (strongCount(classes, p, w) === 0) return false;
  // The end of the newest run of clearAfter clear windows within the history read (−1: none).
  let lastClearEnd = -1;
  let run = 0;
  for (let i = Math.max(0, w - historyLength(p) + 1); i <= w; i++) {
    run = classes[i] === 'clear' ? run + 1 : 0;
    if (run >= p.clearAfter) lastClearEnd = i;
  }
  // Back from w while every window still counts a strong one (the evidence never lapsed): firing once one counts fireAfter.
  for (let v = w; v > w - p.lookback && v > lastClearEnd && v >= 0; v--) {
    const n = strongCount(classes, p, v);
    if (n === 0) return false;
    if (n >= p.fireAfter) return true;
  }
  return false;
}

/**
 * The state of every window of a sequence (a reference for tests and reports).
 * @param classes  Classes of consecutive windows, oldest first.
 * @returns        One state per window.
 */
export function alertStates(classes: readonly WindowClass[], p: AlertPolicy): AlertStateName[] {
  return classes.map((_, i) => alertStateAt(classes.slice(0, i + 1), p));
}
