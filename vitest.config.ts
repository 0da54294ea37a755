import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/sequencer.ts';

/**
 * Test selection by TEST_MODE (STYLE §5): unit | integration | e2e | all (default).
 * chdb allows one engine per process, so every test file runs in its own fork.
 */
const globs: Record<string, string[]> = {
  unit: ['test/unit/**/*.test.ts'],
  integration: ['test/integration/**/*.test.ts'],
  e2e: ['test/e2e/**/*.test.ts'],
  all: ['test/**/*.test.ts'],
};
const mode = process.env.TEST_MODE ?? 'all';
const include = globs[mode];
if (!include) throw new Error(`unknown TEST_MODE ${JSON.stringify(mode)}: expected one of ${Object.keys(globs).join(', ')}`);

export default defineConfig({
  test: {
    include,
    pool: 'forks',
    // Two test files at a time (vitest 3 defaults to CPUs − 1 forks: one on a 2-core CI machine). The suite
    // is mostly waiting on child processes and brokers; two forks took it from about 500 s to about 300 s here.
    maxWorkers: 2,
    minWorkers: 1,
    // Longest files first (test/sequencer.ts): both forks end together.
    sequence: { sequencer: LongestFirstSequencer },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
