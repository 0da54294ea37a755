import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { rollingCorrelation } from '../../pipelines/rolling-correlation.ts';
import { ProcessorRun } from '../../pipelines/runtime/run-processor.ts';
import { SinkRun } from '../../pipelines/runtime/run-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { runBoundedPipeline, SINK_TOPICS } from '../../services/pipeline/embedded.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { normalizeSimConfig, simulateFleet, type SimResult } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';
import { fingerprint } from '../helpers/fingerprint.ts';

interface Run {
  start(): Promise<void>;
  runBatch(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Member A starts alone; after `joinAfter` batches member B joins the group
 * (partitions move to B mid-stream, with A's uncommitted work); after
 * `leaveAfter` more rounds A leaves (everything moves to B); B runs to the end.
 */
async function runWithRebalances(make: () => Run, joinAfter: number, leaveAfter: number): Promise<void> {
  const a = make();
  await a.start();
  for (let i = 0; i < joinAfter; i++) if (await a.runBatch()) break;
  const b = make();
  await b.start();
  let aDone = false;
  let bDone = false;
  for (let round = 0; round < leaveAfter && !(aDone && bDone); round++) {
    aDone = (await a.runBatch()) || aDone;
    bDone = (await b.runBatch()) || bDone;
  }
  await a.close();
  while (!(await b.runBatch()));
  await b.close();
}

/** Members joining and leaving mid-run (rebalances, case C09) change nothing in the warehouse. */
describe('rebalances between members of one consumer group', () => {
  let sim: SimResult;
  let reference: ChdbWarehouse;
  let expected: Record<string, string>;
  const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };

  beforeAll(async () => {
    sim = simulateFleet(normalizeSimConfig({ seed: 9, servers: 6, durationMs: 3 * 60_000, maxJitterMs: 2600 }));
    reference = await createTestDatabase('rb_ref');
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    await runBoundedPipeline({ log, warehouse: reference, config, sinkBatchOffsets: 500 });
    expected = await fingerprint(reference);
  });
  afterAll(async () => reference?.close());

  it.each([
    [1, 2],
    [3, 1],
  ])('join after %i batches, leave after %i more rounds: same rows and windows as one member', async (joinAfter, leaveAfter) => {
    const warehouse = await createTestDatabase('rb');
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    const join = joinLoadLatency({ toleranceMs: config.joinToleranceMs, maxOutOfOrdernessMs: config.maxOutOfOrdernessMs });
    await runWithRebalances(() => new ProcessorRun({ log, processor: join, maxBatch: 700 }), joinAfter, leaveAfter);
    await log.seal(TOPICS.enriched);
    const corr = rollingCorrelation({ sizeMs: config.windowSizeMs, slideMs: config.windowSlideMs, maxOutOfOrdernessMs: config.maxOutOfOrdernessMs });
    await runWithRebalances(() => new ProcessorRun({ log, processor: corr, maxBatch: 700 }), joinAfter, leaveAfter);
    await log.seal(TOPICS.correlation);
    await log.seal(TOPICS.late);
    await runWithRebalances(() => new SinkRun({ log, warehouse, topics: SINK_TOPICS, batchOffsets: 500, maxBatch: 900 }), joinAfter, leaveAfter);
    expect(await fingerprint(warehouse)).toEqual(expected);
    await warehouse.close();
  });
});
