/**
 * Test file order: longest first, so that the two forks finish together
 * (vitest's default on a fresh clone, with no results cache, runs larger
 * files first, and a long file started last held the suite ~50 s past the
 * rest). Durations are seconds of one run of the whole suite on the 2-core
 * machine (2026-12-01, session 17: the CLI now loads a command's modules
 * only when it runs, and the CLI files got faster); files not listed (under
 * 3 s) follow, larger first.
 * Refresh the table when a file's duration changes much.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds per test file, from one run of the whole suite. */
export const FILE_SECONDS: Readonly<Record<string, number>> = {
  'test/e2e/alerts-sigkill.test.ts': 73,
  'test/e2e/model-cli.test.ts': 67,
  'test/integration/gate-backtest.test.ts': 61,
  'test/e2e/cli.test.ts': 56,
  'test/e2e/report-cli.test.ts': 53,
  'test/e2e/pipeline-sigkill.test.ts': 51,
  'test/e2e/recommend-cli.test.ts': 47,
  'test/integration/eventlog-conformance.kafka.test.ts': 47,
  'test/e2e/pipeline-two-instances.test.ts': 46,
  'test/e2e/benchmark-cli.test.ts': 42,
  'test/integration/whatif.test.ts': 29,
  'test/integration/pipeline-kafka.test.ts': 24,
  'test/integration/kafka-security-compression.test.ts': 20,
  'test/e2e/demo-cli.test.ts': 17,
  'test/integration/simulate-kafka.test.ts': 14,
  'test/e2e/pipeline-sigterm.test.ts': 14,
  'test/integration/warehouse-outage.test.ts': 13,
  'test/integration/confluent-wire.test.ts': 12,
  'test/integration/recovery.test.ts': 11,
  'test/integration/alert-delivery.test.ts': 10,
  'test/integration/rebalance.test.ts': 8,
  'test/integration/shadow-lag.test.ts': 6,
  'test/unit/model/evaluate-mlperf.test.ts': 6,
  'test/unit/model/help-evaluate.test.ts': 5,
  'test/integration/warehouse-conformance.test.ts': 4,
  'test/integration/correlation-vs-clickhouse.test.ts': 4,
  'test/integration/kafka-retention.test.ts': 4,
  'test/integration/sql-endpoint-engine.test.ts': 4,
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
