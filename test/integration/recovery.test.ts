import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FailPoint } from '../../pipelines/runtime/run-processor.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { runBoundedPipeline, type Stage } from '../../services/pipeline/embedded.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { normalizeSimConfig, simulateFleet, type SimResult } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { prng } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';
import { fingerprint } from '../helpers/fingerprint.ts';

class Crash extends Error {}

/**
 * A6: a bounded run stopped abruptly at random points (runtime discarded
 * mid-batch, after producing, after committing) and resumed from the
 * committed offsets yields exactly the rows and windows of an uninterrupted run.
 */
describe('recovery from a crash at a random point', () => {
  let sim: SimResult;
  let reference: ChdbWarehouse;
  let expected: Record<string, string>;
  const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };

  beforeAll(async () => {
    sim = simulateFleet(normalizeSimConfig({ seed: 5, servers: 4, durationMs: 4 * 60_000, maxJitterMs: 2600 }));
    reference = await createTestDatabase('ref');
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    await runBoundedPipeline({ log, warehouse: reference, config, sinkBatchOffsets: 700 });
    expected = await fingerprint(reference);
    expect(Number(expected.inference_enriched!.split(':')[0])).toBeGreaterThan(1000);
    expect(Number(expected.late_events!.split(':')[0])).toBeGreaterThan(0);
  });
  afterAll(async () => reference?.close());

  it.each([1, 2, 3, 4])('seed %i: crashes in every stage, then resume', async (seed) => {
    const rnd = prng(seed);
    const stages: Stage[] = ['join', 'correlation', 'sink'];
    const points: FailPoint[] = ['after-step', 'after-produce', 'after-commit'];
    // Two crashes per stage at random record counts and points.
    const crashes = stages.flatMap((stage) => [0, 1].map(() => ({ stage, point: points[Math.floor(rnd() * 3)]!, at: 1 + Math.floor(rnd() * (stage === 'sink' ? 20_000 : 6000)) })));
    const warehouse = await createTestDatabase('crash');
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    let attempts = 0;
    for (;;) {
      const next = crashes[0];
      try {
        attempts++;
        await runBoundedPipeline({
          log, warehouse, config, sinkBatchOffsets: 700,
          failPoint: (stage, point, done) => {
            if (next && stage === next.stage && point === next.point && done >= next.at) {
              crashes.shift();
              throw new Crash(`crash in ${stage} ${point} after ${done} records`);
            }
          },
        });
        break;
      } catch (error) {
        if (!(error instanceof Crash)) throw error;
      }
      expect(attempts).toBeLessThan(20);
    }
    expect(attempts).toBeGreaterThan(1);
    expect(await fingerprint(warehouse)).toEqual(expected);
    await warehouse.close();
  });
});
