/**
 * A second job over the same topics (its own consumer groups: another EDGELAT_KAFKA_GROUP_PREFIX)
 * takes the output already in the topics as its own and drops its own emissions as repeats. A breaker
 * trial ran one with 60 s windows after one with 5-minute windows: its warehouse got the 5-minute
 * windows without a word. Emissions now carry their processor's settings fingerprint, and a run that
 * takes over output made with other settings refuses to start; with the same settings it runs and adds nothing.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { ProcessorRun } from '../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { at, makeInference, makeLoad } from '../helpers/factories.ts';
import { readTopic } from '../helpers/pipeline.ts';

const T0 = at('2024-06-01T10:00:00.000Z');

async function sealedLog(): Promise<MemoryEventLog> {
  const log = new MemoryEventLog({ defaultPartitions: 2 });
  for (const server of ['edge-1', 'edge-2']) {
    await log.produce(TOPICS.load, Array.from({ length: 20 }, (_, i) => ({ key: server, value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: server, ts: T0 + 1000 * i })) })));
    await log.produce(TOPICS.inference, Array.from({ length: 40 }, (_, i) => ({ key: server, value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: server, ts: T0 + 500 * i + 250, event_id: `${server}-${i}` })) })));
  }
  await log.seal(TOPICS.load);
  await log.seal(TOPICS.inference);
  return log;
}

describe('a second job over the same topics', () => {
  it('refuses to take over output made with other settings, naming the topic and both settings; with the same settings it adds nothing', async () => {
    const log = await sealedLog();
    await new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000 }), groupId: 'first-join' }).runToEnd();
    const enriched = (await readTopic(log, TOPICS.enriched)).length;
    expect(enriched).toBeGreaterThan(0);

    const other = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 1000 }), groupId: 'second-join' });
    const refused = await other.runToEnd().then(() => null, (error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(new RegExp(`^${TOPICS.enriched} already holds join-load-latency output made with other settings than this run's \\{"toleranceMs":1000,"maxOutOfOrdernessMs":2000\\} \\(fingerprint [0-9a-f]{16} there, [0-9a-f]{16} here\\): a job over the same topics`));
    await other.close();

    await new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000 }), groupId: 'third-join' }).runToEnd();
    expect(await readTopic(log, TOPICS.enriched)).toHaveLength(enriched);
  });
});
