/**
 * simConfigFromFlags: demo's and simulate's flags into the simulator's configuration; an out-of-range value is a
 * usage error naming the flag typed (`--servers`), not the simulator's field (`servers`).
 */
import { describe, expect, it } from 'vitest';
import { simConfigFromFlags } from '../../../services/cli/common.ts';
import { UsageError } from '../../../services/cli/usage-error.ts';

describe('simConfigFromFlags', () => {
  it('returns the normalised configuration', () => {
    const c = simConfigFromFlags({ seed: 7, servers: 3, durationMs: 120_000, maxJitterMs: 0, shadows: { servers: 1 } });
    expect([c.seed, c.servers, c.durationMs, c.maxJitterMs, c.shadows?.servers]).toEqual([7, 3, 120_000, 0, 1]);
  });

  it.each([
    [{ seed: 1, servers: 0 }, '--servers must be an integer in [1, 1000], got 0'],
    [{ seed: 1, durationMs: 0 }, '--duration, in ms, must be an integer in [1, 604800000], got 0'],
    [{ seed: 1, servers: 2, shadows: { servers: 3 } }, '--shadows must be an integer in [0, 2], got 3'],
    [{ seed: 1.5 }, '--seed must be a safe integer, got 1.5'],
  ])('names the flag: %j', (sim, message) => {
    expect(() => simConfigFromFlags(sim)).toThrow(UsageError);
    expect(() => simConfigFromFlags(sim)).toThrow(message);
  });
});
