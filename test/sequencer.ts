/**
 * Test file order: longest first, so that the two forks finish together
 * (vitest's default on a fresh clone, with no results cache, runs larger
 * files first, and a long file started last held the suite ~50 s past the
 * rest). Durations are seconds of one run of the whole suite on the 2-core
 * machine (2026-12-07, `CI=true bash .ci/run` on a fresh clone: the integration and end-to-end run took 589 s);
 * files not listed (under 3 s) follow, larger first. The unit files run apart, in a vitest run of their own beside
 * this one (scripts/test.mjs), so their order does not balance anything.
 * Refresh the table when a file's duration changes much.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds per test file, from one run of the whole suite. */
export const FILE_SECONDS: Readonly<Record<string, number>> = {
  'test/e2e/cli.test.ts': 133,
  'test/e2e/model-cli.test.ts': 107,
  'test/e2e/recommend-cli.test.ts': 93,
  'test/e2e/demo-cli.test.ts': 65,
  'test/e2e/report-cli.test.ts': 60,
  'test/integration/whatif.test.ts': 52,
  'test/e2e/alerts-sigkill.test.ts': 44,
  'test/e2e/pipeline-two-instances.test.ts': 44,
  'test/e2e/pipeline-sigkill.test.ts': 34,
  'test/e2e/pipeline-broker-lost.test.ts': 31,
  'test/integration/eventlog-conformance.kafka.test.ts': 31,
  'test/e2e/pipeline-cluster-change.test.ts': 30,
  'test/e2e/benchmark-cli.test.ts': 26,
  'test/integration/rerun-after-end.test.ts': 23,
  'test/integration/pipeline-kafka.test.ts': 21,
  'test/integration/gate-backtest.test.ts': 18,
  'test/integration/producer-retry-repeats.test.ts': 14,
  'test/integration/redrive-kafka.test.ts': 14,
  'test/integration/warehouse-outage.test.ts': 13,
  'test/e2e/pipeline-sigterm.test.ts': 12,
  'test/e2e/gate-empty-warehouse.test.ts': 11,
  'test/e2e/pipeline-registry-wait.test.ts': 11,
  'test/integration/kafka-retention.test.ts': 11,
  'test/integration/recovery.test.ts': 11,
  'test/integration/sql-endpoint-engine.test.ts': 11,
  'test/integration/backend-correlations.test.ts': 9,
  'test/integration/kafka-join-timeout.test.ts': 9,
  'test/integration/rebalance.test.ts': 9,
  'test/integration/alert-delivery.test.ts': 8,
  'test/integration/confluent-wire.test.ts': 8,
  'test/integration/non-utf8-kafka.test.ts': 8,
  'test/integration/sql-endpoint-stream.test.ts': 8,
  'test/integration/late-shadow-seal.test.ts': 7,
  'test/integration/second-job-settings.test.ts': 7,
  'test/integration/shadow-lag.test.ts': 7,
  'test/integration/simulate-kafka.test.ts': 7,
  'test/integration/catalog-candidates.test.ts': 6,
  'test/integration/retrain-window.test.ts': 6,
  'test/integration/warehouse-conformance.test.ts': 6,
  'test/integration/correlation-vs-clickhouse.test.ts': 5,
  'test/integration/demo-replace.test.ts': 5,
  'test/integration/kafka-security-compression.test.ts': 5,
  'test/integration/alerts-tail-kafka.test.ts': 4,
  'test/integration/demo-staging.test.ts': 4,
  'test/integration/streaming-restart.test.ts': 4,
  'test/integration/lane-checkpoint.test.ts': 3,
  'test/integration/report-queries.test.ts': 3,
  'test/integration/streaming-metrics.test.ts': 3,
};

/** Runs the files of {@link FILE_SECONDS} longest first, then the rest in vitest's order. */
export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rest = await super.sort(files);
    const seconds = (f: TestSpecification): number => FILE_SECONDS[relative(this.ctx.config.root, f.moduleId).split('\\').join('/')] ?? 0;
    return rest.map((f, i) => ({ f, i })).sort((a, b) => seconds(b.f) - seconds(a.f) || a.i - b.i).map((x) => x.f);
  }
}
