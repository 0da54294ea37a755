import { codecFor } from '../../schemas/index.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import type { EventLog } from '../eventlog/types.ts';
import type { SimArrival } from '../simulator/index.ts';

/**
 * Produce simulated arrivals in arrival order, `chunk` records per produce
 * call (split by topic inside a chunk), record timestamp = arrival time, then
 * seal both input topics. Batched produce is what makes Kafka fast: one
 * message set per call instead of one per record.
 * @param chunk  Records per produce call, >= 1. @default 500
 */
export async function produceInChunks(log: EventLog, arrivals: readonly SimArrival[], chunk = 500): Promise<void> {
  const codecs = { [TOPICS.inference]: codecFor('InferenceEvent'), [TOPICS.load]: codecFor('LoadSample') };
  for (let i = 0; i < arrivals.length; i += chunk) {
    const part = arrivals.slice(i, i + chunk);
    for (const topic of [TOPICS.inference, TOPICS.load] as const) {
      const records = part.filter((a) => a.topic === topic).map((a) => ({ key: a.key, value: codecs[topic].encode(a.value as never), timestampMs: a.arrivalMs }));
      if (records.length) await log.produce(topic, records);
    }
  }
  await log.seal(TOPICS.inference);
  await log.seal(TOPICS.load);
}
