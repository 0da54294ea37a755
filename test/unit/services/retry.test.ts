/**
 * Back-off and retries (services/retry.ts): the delay against its closed form
 * min(max, initial · 2^k) · (1 + factor · (2u − 1)), and which failures withRetry retries.
 */
import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError, ConfigError, RetriesExhaustedError, RetryStoppedError } from '../../../errors.ts';
import { backoffDelay, isRetriable, withRetry } from '../../../services/retry.ts';

describe('backoffDelay', () => {
  it('doubles from the first delay up to the cap, with the jitter at u = 0, ½ and 1 at −factor, 0 and +factor', () => {
    const at = (u: number) => [0, 1, 2, 3, 6, 7, 20].map((k) => backoffDelay(k, { initialRetryTimeMs: 300, maxRetryTimeMs: 30_000, factor: 0.2, random: () => u }));
    expect(at(0.5)).toEqual([300, 600, 1200, 2400, 19_200, 30_000, 30_000]);
    expect(at(0)).toEqual([240, 480, 960, 1920, 15_360, 24_000, 24_000]);
    expect(at(1)).toEqual([360, 720, 1440, 2880, 23_040, 36_000, 36_000]);
  });

  it('takes kafkajs\'s defaults (300 ms, 30 s, ±20 %) and a factor of 0 has no jitter', () => {
    expect(backoffDelay(2, { random: () => 0.5 })).toBe(1200);
    expect(backoffDelay(5, { random: () => 0 })).toBe(9600 * 0.8);
    expect([0, 1, 5, 6].map((k) => backoffDelay(k, { initialRetryTimeMs: 1000, factor: 0 }))).toEqual([1000, 2000, 30_000, 30_000]);
  });
});

describe('withRetry', () => {
  const fast = { initialRetryTimeMs: 1, maxRetryTimeMs: 2 };
  const outage = () => new BrokerUnavailableError('broker gone', { retriable: true });

  it('retries a retriable failure and returns the first success, reporting each wait', async () => {
    let calls = 0;
    const waits: Array<[number, number]> = [];
    const value = await withRetry(async () => {
      if (++calls < 3) throw outage();
      return 'ok';
    }, { ...fast, onRetry: (_e, attempt, delayMs) => waits.push([attempt, delayMs]) });
    expect([value, calls, waits.map((w) => w[0])]).toEqual(['ok', 3, [1, 2]]);
    for (const [attempt, delayMs] of waits) expect(delayMs, `wait ${attempt}`).toBeGreaterThanOrEqual(0.8 * Math.min(2, 2 ** (attempt - 1)));
  });

  it('gives up after `retries` retries with RetriesExhaustedError carrying the count and the last failure', async () => {
    let calls = 0;
    const last = outage();
    const error = await withRetry(async () => { calls++; throw last; }, { ...fast, retries: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect([calls, (error as RetriesExhaustedError).retryCount, (error as RetriesExhaustedError).cause]).toEqual([4, 3, last]);
    expect((error as Error).message).toBe('gave up after 3 retries: broker gone');
  });

  it('raises a failure that is not retriable at once: a bad configuration, a programmer error', async () => {
    for (const failure of [new ConfigError('bad'), new TypeError('x is undefined'), new BrokerUnavailableError('refused')]) {
      let calls = 0;
      await expect(withRetry(async () => { calls++; throw failure; }, fast)).rejects.toBe(failure);
      expect([failure.message, calls]).toEqual([failure.message, 1]);
    }
    expect([isRetriable(outage()), isRetriable(new Error('plain'))]).toEqual([true, false]);
  });

  it('stops during a wait when its signal aborts, with RetryStoppedError whose cause is the failure', async () => {
    const stop = new AbortController();
    const failure = outage();
    let calls = 0;
    const started = Date.now();
    setTimeout(() => stop.abort(), 50);
    const error = await withRetry(async () => { calls++; throw failure; }, { initialRetryTimeMs: 60_000, maxRetryTimeMs: 60_000, signal: stop.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryStoppedError);
    expect([calls, (error as RetryStoppedError).cause]).toEqual([1, failure]);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
