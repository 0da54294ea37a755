/**
 * The retraining schedule (DESIGN §5): cron expressions (croner), the times they fire, and a
 * schedule that runs one training cycle (lifecycle.ts `runTrainingCycle`) at each, never two at once.
 */
import { Cron } from 'croner';
import type { Logger } from '../log.ts';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Time source and timers of a schedule; tests inject a fake one. */
export interface ScheduleClock {
  /** Current time, epoch ms UTC. */
  now(): number;
  /** Call `fn` after `delayMs` (>= 0); the schedule never lets `fn` reject. */
  setTimer(fn: () => Promise<void>, delayMs: number): unknown;
  /** Cancel a timer returned by {@link setTimer}. */
  clearTimer(handle: unknown): void;
}

/** The real clock: Date.now and setTimeout (a pending run keeps the process alive until {@link TrainingSchedule.stop}). */
export const systemClock: ScheduleClock = {
  now: () => Date.now(),
  setTimer: (fn, delayMs) => setTimeout(() => void fn(), delayMs),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Longest delay setTimeout honours (2^31 − 1 ms); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Parse a cron expression with croner (5 fields, or 6 with seconds first, or a nickname like `@daily`).
 *
 * @param expression  e.g. `'0 3 * * *'` (03:00 every day).
 * @param timezone    IANA zone the fields are read in. @default 'UTC'
 * @returns           A croner job without a callback (used only for `nextRun`).
 * @throws {RangeError} naming the expression when it is not a valid cron expression.
 */
export function parseCron(expression: string, timezone = 'UTC'): Cron {
  const shaped = typeof expression === 'string' && (/^\s*@[a-z]+\s*$/i.test(expression) || /^\s*\S+(\s+\S+){4,6}\s*$/.test(expression));
  try {
    if (!shaped) throw new Error('expected 5 to 7 space-separated fields or a nickname like @daily');
    return new Cron(expression, { timezone });
  } catch (cause) {
    throw new RangeError(`cron: invalid expression ${JSON.stringify(expression)}: ${message(cause)}`, { cause });
  }
}

/**
 * The times of a cron expression in (fromMs, toMs], for replaying a schedule
 * in event time (the demo retrains as a deployment on that clock would have).
 * @param limit  Most times returned. @default 1000
 * @throws {RangeError} naming the expression if it is invalid.
 */
export function scheduledRunTimes(expression: string, fromMs: number, toMs: number, limit = 1000): number[] {
  const cron = parseCron(expression);
  const out: number[] = [];
  for (let t = cron.nextRun(new Date(fromMs)); t !== null && t.getTime() <= toMs && out.length < limit; t = cron.nextRun(t)) out.push(t.getTime());
  return out;
}

/** Options of {@link startTrainingSchedule}. */
export interface TrainingScheduleOptions {
  /** Cron expression of the runs, e.g. `'0 3 * * *'`. */
  cron: string;
  /** IANA zone of the cron fields. @default 'UTC' */
  timezone?: string;
  /** @default systemClock */
  clock?: ScheduleClock;
  /** One cycle; gets the scheduled time (epoch ms UTC), usually passed as `nowMs` to {@link runTrainingCycle}. A rejection is logged. */
  runCycle: (scheduledMs: number) => Promise<unknown>;
  logger: Logger;
}

/** A running schedule. */
export interface TrainingSchedule {
  /** Time of the next run, epoch ms UTC, or null when stopped or the expression has no more runs. */
  nextRunMs(): number | null;
  /** Cancel future runs; resolves when a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Run `runCycle` at the times of a cron expression.
 *
 * Behaviour: runs never overlap; the next run is the first cron time after
 * both the finished run's scheduled time and the clock, so times missed while
 * a run overran are skipped (logged), not queued. A failed run is logged and
 * the schedule continues.
 * @throws {RangeError} naming the expression if `cron` is invalid.
 * @example see test/unit/model/lifecycle.test.ts (fake clock)
 */
export function startTrainingSchedule(options: TrainingScheduleOptions): TrainingSchedule {
  const cron = parseCron(options.cron, options.timezone);
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ component: 'model-schedule' });
  let next: number | null = null;
  let timer: unknown = null;
  let stopped = false;
  let running: Promise<void> | null = null;

  const wait = (): void => {
    if (stopped || next === null) return;
    timer = clock.setTimer(fire, Math.min(MAX_TIMER_MS, Math.max(0, next - clock.now())));
  };
  const arm = (afterMs: number): void => {
    next = cron.nextRun(new Date(afterMs))?.getTime() ?? null;
    if (next === null) logger.info({ cron: options.cron }, 'training schedule has no further runs');
    wait();
  };
  const fire = async (): Promise<void> => {
    timer = null;
    if (stopped || next === null) return;
    if (clock.now() < next) return wait(); // woke early (long delay split into timer-sized pieces)
    const scheduledMs = next;
    running = (async () => {
      try {
        await options.runCycle(scheduledMs);
      } catch (err) {
        logger.error({ err, scheduledMs }, 'training cycle failed; the schedule continues');
      }
    })();
    await running;
    running = null;
    const after = Math.max(clock.now(), scheduledMs);
    const missed = cron.nextRun(new Date(scheduledMs))?.getTime();
    // Said with the schedule and what to do (a trial: "overran" every cycle of a schedule each second, no word of why).
    if (missed !== undefined && missed <= after) {
      logger.warn({ scheduledMs, finishedMs: after, tookMs: after - scheduledMs, cron: options.cron },
        `training cycle took ${Math.round((after - scheduledMs) / 1000)} s, past the next time of its schedule "${options.cron}"; the times missed are skipped (a schedule with more time between its runs keeps up)`);
    }
    if (!stopped) arm(after);
  };

  arm(clock.now());
  return {
    nextRunMs: () => (stopped ? null : next),
    async stop() {
      stopped = true;
      if (timer !== null) clock.clearTimer(timer);
      timer = null;
      await running;
    },
  };
}

/**
 * A training cycle that runs only when its input changed: `mark` (e.g. {@link trainingDataMark}) is read before each
 * call, and a call whose mark equals that of the last complete cycle is skipped (`onSkip`). A cycle retrained on
 * unchanged telemetry makes the same models (registered as identical, nothing else), at full cost (a trial: a schedule
 * each second retrained five kinds back to back on a quiet fleet, ~33 s of CPU a cycle).
 * @param mark   The input's state now; a rejection fails the call (nothing skipped).
 * @param cycle  The cycle; resolves true when it completed (every kind trained), false when cut short (its mark is not
 *               kept: the next call runs it).
 * @param onSkip Called for a skipped call.
 * @returns A call that resolves `'skipped'`, or the cycle's own result (true: completed; false: cut short).
 */
export function whenChanged(mark: () => Promise<string>, cycle: () => Promise<boolean>, onSkip: () => void): () => Promise<'skipped' | boolean> {
  let last: string | null = null;
  return async () => {
    const now = await mark();
    if (now === last) {
      onSkip();
      return 'skipped';
    }
    const completed = await cycle();
    if (completed) last = now;
    return completed;
  };
}
