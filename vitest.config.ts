import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { LongestFirstSequencer } from './test/sequencer.ts';

/**
 * The integration and end-to-end files that mostly wait (on group joins and session timeouts of the mock cluster, a
 * stalled broker, a 10 s warehouse outage): under a tenth of their time on the CPU in a run of the suite measured
 * per process (2026-12-07). `npm test` runs them in a run of their own beside the others (scripts/test.mjs).
 */
const WAITING = [
  'test/integration/eventlog-conformance.kafka.test.ts',
  'test/e2e/pipeline-cluster-change.test.ts',
  'test/integration/warehouse-outage.test.ts',
  'test/integration/kafka-retention.test.ts',
  'test/integration/sql-endpoint-engine.test.ts',
  'test/integration/kafka-join-timeout.test.ts',
  'test/integration/non-utf8-kafka.test.ts',
  'test/e2e/pipeline-registry-wait.test.ts',
];

/**
 * Test selection by TEST_MODE (STYLE §5): unit | integration | e2e | waiting | all (default), or a comma-separated
 * list of them (`npm test` runs TEST_MODE=unit and TEST_MODE=waiting beside TEST_MODE=integration,e2e:
 * scripts/test.mjs); integration and e2e leave out the files of `waiting` ({@link WAITING}).
 * chdb allows one engine per process: the integration and end-to-end files run each in a fork of its own;
 * the unit files share one fork (see the project below).
 */
const globs: Record<string, string[]> = {
  unit: ['test/unit/**/*.test.ts'],
  integration: ['test/integration/**/*.test.ts'],
  e2e: ['test/e2e/**/*.test.ts'],
  waiting: WAITING,
};
const modes = (process.env.TEST_MODE || 'all').split(',').map((m) => m.trim());
const unknown = modes.filter((m) => m !== 'all' && !(m in globs));
if (unknown.length > 0) throw new Error(`unknown TEST_MODE ${JSON.stringify(process.env.TEST_MODE)}: expected one of ${[...Object.keys(globs), 'all'].join(', ')}, or a comma-separated list of them`);
const wanted = (kind: string): boolean => modes.includes('all') || modes.includes(kind);
const project = (name: string, extra: TestProjectInlineConfiguration['test'] = {}): TestProjectInlineConfiguration => ({ extends: true, test: { name, include: globs[name], ...(name === 'waiting' || name === 'unit' ? {} : { exclude: [...configDefaults.exclude, ...WAITING] }), ...extra } });

export default defineConfig({
  test: {
    pool: 'forks',
    // Two test files at a time (vitest 3 defaults to CPUs − 1 forks: one on a 2-core CI machine). The suite
    // is mostly waiting on child processes and brokers; two forks took it from about 500 s to about 300 s here.
    maxWorkers: 2,
    minWorkers: 1,
    // Longest files first (test/sequencer.ts): both forks end together.
    sequence: { sequencer: LongestFirstSequencer },
    // One temporary folder for the whole run (TMPDIR), removed at its end.
    globalSetup: ['./test/global-tmp.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      // The unit files start no brokers and restore what they change (process.env.TZ, spies, registries they
      // fill with versions of their own): one fork runs them all without a module reload per file (whole suite
      // here: 496 s → 454 s, against a fork start and a module load each before). Their chdb databases share that
      // fork's one data folder (test/helpers/warehouse.ts). vitest runs such a fork after every other project's
      // files, alone: `npm test` (scripts/test.mjs) runs this project in a vitest run of its own beside the others.
      // (In both forks, one fork per file, they made the whole suite slower, 623 s → 650 s.)
      ...(wanted('unit') ? [project('unit', { poolOptions: { forks: { isolate: false, singleFork: true } } })] : []),
      ...['integration', 'e2e', 'waiting'].filter(wanted).map((name) => project(name)),
    ],
  },
});
