import { codecFor } from '../../schemas/index.ts';
import { TOPIC_KINDS, TOPICS } from '../../pipelines/topics.ts';
import type { EventLog } from '../eventlog/types.ts';
import type { SimArrival } from '../simulator/index.ts';

/** Topics a simulation produces to (and seals at its end). */
export const SIM_TOPICS = [TOPICS.inference, TOPICS.load, TOPICS.shadow] as const;

/** Single-object Avro bytes of a simulated record, by the codec of its topic. */
export function encodeArrival(a: SimArrival): Buffer {
  return codecFor(TOPIC_KINDS[a.topic]).encode(a.value as never);
}

/**
 * Produce simulated arrivals in arrival order, `chunk` records per produce
 * call (split by topic inside a chunk), record timestamp = arrival time, then
 * seal the input topics ({@link SIM_TOPICS}). Batched produce is what makes Kafka fast: one
 * message set per call instead of one per record.
 * @param chunk  Records per produce call, >= 1. @default 500
 */
export async function produceInChunks(log: EventLog, arrivals: readonly SimArrival[], chunk = 500): Promise<void> {
  for (let i = 0; i < arrivals.length; i += chunk) {
    const part = arrivals.slice(i, i + chunk);
    for (const topic of SIM_TOPICS) {
      const records = part.filter((a) => a.topic === topic).map((a) => ({ key: a.key, value: encodeArrival(a), timestampMs: a.arrivalMs }));
      if (records.length) await log.produce(topic, records);
    }
  }
  for (const topic of SIM_TOPICS) await log.seal(topic);
}
