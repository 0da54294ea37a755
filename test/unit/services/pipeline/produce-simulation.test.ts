/**
 * The demo's producer (services/pipeline/demo.ts `produceSimulation`): every arrival in arrival order, and exactly the
 * bad records asked for on the inference topic, also when no inference event comes after the last slot's point.
 */
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../../../schemas/index.ts';
import { MemoryEventLog } from '../../../../services/eventlog/memory.ts';
import { produceSimulation } from '../../../../services/pipeline/demo.ts';
import { TOPICS } from '../../../../pipelines/topics.ts';
import { normalizeSimConfig, simulateFleet } from '../../../../services/simulator/index.ts';

/** The records of a topic, across its partitions. */
async function recordsOf(log: MemoryEventLog, topic: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let p = 0; p < ((await log.partitionCount(topic)) ?? 0); p++) {
    const end = await log.endOffset({ topic, partition: p });
    if (end > 0) out.push(...(await log.read({ topic, partition: p }, 0, end)).map((r) => r.value as Buffer));
  }
  return out;
}

describe('produceSimulation', () => {
  const sim = simulateFleet(normalizeSimConfig({ seed: 3, servers: 2, durationMs: 60_000 }));
  const inference = sim.arrivals.filter((a) => a.topic === TOPICS.inference).length;
  // The inference events, then load samples (repeated) three times as many: every slot past the first quarter.
  const load = sim.arrivals.filter((a) => a.topic !== TOPICS.inference);
  const firstQuarter = [...sim.arrivals.filter((a) => a.topic === TOPICS.inference), ...Array.from({ length: Math.ceil((3 * inference) / load.length) }, () => load).flat()];

  it.each([
    ['in arrival order', sim],
    // Every inference event first, the load samples after (a trial's trace put its requests in a burst at the start):
    // the slots after the last inference event are filled after it (it had injected 2 of 3, without a word).
    ['with the inference events all in the first quarter', { ...sim, arrivals: firstQuarter }],
  ])('injects every bad record asked for, %s', async (_name, s) => {
    const log = new MemoryEventLog({ defaultPartitions: 2, now: () => 0 });
    expect(await produceSimulation(log, s, 3)).toBe(3);
    const values = await recordsOf(log, TOPICS.inference);
    const bad = values.filter((v) => !codecFor('InferenceEvent').decode(v).ok);
    expect([values.length, bad.length]).toEqual([inference + 3, 3]);
  });
});
