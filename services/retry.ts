import { setTimeout as sleep } from 'node:timers/promises';
import { PipelineError, RetriesExhaustedError, RetryStoppedError } from '../errors.ts';

/** Back-off settings (kafkajs defaults, STYLE §2). */
export interface RetryOptions {
  /** First delay, ms. @default 300 */
  initialRetryTimeMs?: number;
  /** Cap of one delay, ms. @default 30000 */
  maxRetryTimeMs?: number;
  /** Retries after the first attempt. @default 5 */
  retries?: number;
  /** Jitter fraction 0..1 applied to each delay. @default 0.2 */
  factor?: number;
  /** Called before each wait. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Stops the retries: once aborted, no further attempt is made and a wait ends at once. */
  signal?: AbortSignal;
}

/** Defaults; tests pass faster ones. */
export const RETRY_DEFAULTS: Required<Omit<RetryOptions, 'onRetry' | 'signal'>> = { initialRetryTimeMs: 300, maxRetryTimeMs: 30_000, retries: 5, factor: 0.2 };

const PROGRAMMER_ERRORS = [TypeError, RangeError, SyntaxError, ReferenceError];

/** True when retrying `error` may help: a PipelineError marked retriable; never a programmer error. */
export function isRetriable(error: unknown): boolean {
  if (PROGRAMMER_ERRORS.some((E) => error instanceof E)) return false;
  return error instanceof PipelineError && error.retriable;
}

/**
 * Delay before retry `step` (0-based) of an exponential back-off with jitter:
 * min(max, initial · 2^step) · (1 + factor · (2u − 1)), u uniform 0..1 (kafkajs's retry formula).
 * @param step     Retries already waited for, integer ≥ 0.
 * @param options  initialRetryTimeMs, maxRetryTimeMs (ms) and the jitter factor 0..1; `random` draws u. @default RETRY_DEFAULTS, Math.random
 * @returns        Milliseconds, within min(max, initial · 2^step) · [1 − factor, 1 + factor].
 */
export function backoffDelay(step: number, options: Pick<RetryOptions, 'initialRetryTimeMs' | 'maxRetryTimeMs' | 'factor'> & { random?: () => number } = {}): number {
  const { initialRetryTimeMs, maxRetryTimeMs, factor } = { ...RETRY_DEFAULTS, ...options };
  const u = (options.random ?? Math.random)();
  return Math.min(maxRetryTimeMs, initialRetryTimeMs * 2 ** step) * (1 + factor * (2 * u - 1));
}

/**
 * Run `fn`, retrying retriable failures with exponential back-off and jitter.
 * Delay k (0-based): {@link backoffDelay}, or the error's `retryAfterMs` (a server's Retry-After) when longer,
 * at most `maxRetryTimeMs`.
 * @throws the original error when it is not retriable.
 * @throws {RetriesExhaustedError} after `retries` failed retries.
 * @throws {RetryStoppedError} when `signal` is aborted after a retriable failure (its cause: that failure).
 */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const o = { ...RETRY_DEFAULTS, ...options };
  let delay = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetriable(error)) throw error;
      if (attempt >= o.retries) throw new RetriesExhaustedError(`gave up after ${attempt} retries: ${(error as Error).message}`, attempt, delay, error);
      // A server's own wait (HTTP Retry-After on a 429 or 503: `retryAfterMs` on the error), within the cap.
      const asked = (error as { retryAfterMs?: unknown }).retryAfterMs;
      delay = Math.max(backoffDelay(attempt, o), typeof asked === 'number' && asked > 0 ? Math.min(asked, o.maxRetryTimeMs) : 0);
      const stopped = () => new RetryStoppedError(`stopped retrying after ${attempt + 1} attempt(s): ${(error as Error).message}`, error);
      if (o.signal?.aborted) throw stopped();
      o.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, undefined, { signal: o.signal }).catch(() => undefined);
      if (o.signal?.aborted) throw stopped();
    }
  }
}
