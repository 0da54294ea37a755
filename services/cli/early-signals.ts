/**
 * SIGINT, SIGTERM and SIGHUP that come while `pipeline run` or `serve` starts (loading its modules, connecting to Kafka, waiting for and
 * opening the warehouse), before it installs its own handlers: bin/edgelat.js holds them from its first line, instead of the default
 * action ending the process (a trial: interrupted in its first second, the run exited 130 or 143 without a word, where
 * README says it exits 0 after SIGTERM or Ctrl-C); a second one there ends the process by the default action. The run
 * takes the held ones when its handlers are in place and stops as for a signal then.
 *
 * The entry point is plain JavaScript that loads either the build or the sources, so the two share the held signals
 * through the global symbol registry (`Symbol.for`), not a module.
 */

/** What bin/edgelat.js leaves under `Symbol.for('edgelat.held-signals')` while it holds signals. */
interface HeldSignals {
  /** The signals held, in order. */
  held: NodeJS.Signals[];
  /** The listener on {@link HeldSignals.signals} that holds them. */
  listener: (signal: NodeJS.Signals) => void;
  /** The signals held (SIGINT, SIGTERM, SIGHUP). */
  signals?: NodeJS.Signals[];
  /** Called by the listener with each signal it holds (set by {@link onHeldSignal}). */
  notify: ((signal: NodeJS.Signals) => void) | null;
}

const KEY = Symbol.for('edgelat.held-signals');

/**
 * Stop holding signals: the caller's handlers take them from now on.
 * @returns The signals held since the process started, in order (empty when none came, or nothing held them: a
 *   caller other than bin/edgelat.js's `pipeline run`).
 */
export function releaseSignals(): NodeJS.Signals[] {
  const store = (globalThis as Record<symbol, HeldSignals | undefined>)[KEY];
  if (store === undefined) return [];
  for (const s of store.signals ?? ['SIGINT', 'SIGTERM']) process.off(s, store.listener);
  store.notify = null;
  delete (globalThis as Record<symbol, HeldSignals | undefined>)[KEY];
  return store.held.splice(0);
}

/**
 * Call `listener` when a signal is held from now on (at once for one held already): a start that waits (for the
 * warehouse's folder) stops waiting. Nothing when no signals are held (a caller other than bin/edgelat.js's
 * `pipeline run`). {@link releaseSignals} ends it.
 */
export function onHeldSignal(listener: (signal: NodeJS.Signals) => void): void {
  const store = (globalThis as Record<symbol, HeldSignals | undefined>)[KEY];
  if (store === undefined) return;
  store.notify = listener;
  if (store.held.length > 0) listener(store.held[0]!);
}
