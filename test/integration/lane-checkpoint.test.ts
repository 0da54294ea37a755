/**
 * A processor that takes over a partition learns what its lanes already hold
 * from the commit checkpoint (lane positions + per output partition the
 * offset below which nothing newer lands) and scans only the outputs written
 * since that commit, not whole output topics; and it still drops every
 * re-emission (the outputs equal an uninterrupted run's).
 */
import { describe, expect, it } from 'vitest';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { ProcessorRun } from '../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import type { EventLog } from '../../services/eventlog/types.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';

/** The log with the records returned by `read` on output topics counted. */
function countingReads(log: EventLog, counter: { n: number }): EventLog {
  return new Proxy(log, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === 'read') {
        return async (...args: Parameters<EventLog['read']>) => {
          const rs = await target.read(...args);
          if (args[0].topic === TOPICS.enriched || args[0].topic === TOPICS.late) counter.n += rs.length;
          return rs;
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('lane checkpoints in the commit metadata', () => {
  it('bound the output scan of a restarted processor to what was written since its commit', async () => {
    const sim = simulateFleet(normalizeSimConfig({ seed: 9, servers: 4, durationMs: 6 * 60_000 }));
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    const codecs = { [TOPICS.inference]: codecFor('InferenceEvent'), [TOPICS.load]: codecFor('LoadSample'), [TOPICS.shadow]: codecFor('ShadowResult') } as const;
    const half = Math.floor(sim.arrivals.length / 2);
    const put = async (from: number, to: number) => {
      for (const a of sim.arrivals.slice(from, to)) await log.produce(a.topic, [{ key: a.key, value: codecs[a.topic].encode(a.value as never) }]);
    };
    const make = (l: EventLog) => new ProcessorRun({ log: l, processor: joinLoadLatency({ toleranceMs: 5000, maxOutOfOrdernessMs: 2000 }), maxBatch: 500 });

    await put(0, half);
    const first = make(log);
    await first.start();
    for (let i = 0; i < 40; i++) await first.runBatch();
    await first.close(); // a stop after committed batches; the rest of its state is rebuilt by replay
    const enrichedBefore = (await Promise.all([0, 1, 2, 3].map((p) => log.endOffset({ topic: TOPICS.enriched, partition: p })))).reduce((a, b) => a + b, 0);
    expect(enrichedBefore).toBeGreaterThan(3000);

    const reads = { n: 0 };
    await put(half, sim.arrivals.length);
    await log.seal(TOPICS.inference);
    await log.seal(TOPICS.load);
    const second = make(countingReads(log, reads));
    await second.start();
    // Only what was written since the oldest of the partitions' last checkpoints: within the 1000-record refresh
    // interval, against the whole output topics a scan from the beginning reads.
    expect(reads.n).toBeLessThanOrEqual(1000);
    while (!(await second.runBatch()));
    await second.close();

    // The same enriched events as an uninterrupted run, each once.
    const reference = new MemoryEventLog({ defaultPartitions: 4 });
    for (const a of sim.arrivals) await reference.produce(a.topic, [{ key: a.key, value: codecs[a.topic].encode(a.value as never) }]);
    await reference.seal(TOPICS.inference);
    await reference.seal(TOPICS.load);
    await make(reference).runToEnd();
    const ids = async (l: EventLog) => {
      const out: string[] = [];
      for (let p = 0; p < 4; p++) {
        for (const r of await l.read({ topic: TOPICS.enriched, partition: p }, 0, await l.endOffset({ topic: TOPICS.enriched, partition: p }))) {
          const d = codecFor('EnrichedInference').decode(r.value);
          if (d.ok) out.push(`${p}:${d.value.event_id}:${d.value.load_ts}`);
        }
      }
      return out.sort();
    };
    const got = await ids(log);
    expect(new Set(got).size).toBe(got.length);
    expect(got).toEqual(await ids(reference));
  });
});
