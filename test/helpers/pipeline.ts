import { codecFor } from '../../schemas/index.ts';
import type { EnrichedInference, InferenceEvent, LoadSample } from '../../schemas/types.ts';
import type { EventLog, LogRecord } from '../../services/eventlog/types.ts';
import { kindOfTopic, TOPICS } from '../../pipelines/topics.ts';

/** One record to put on the log, in arrival order. */
export type Arrival = { topic: typeof TOPICS.inference; value: InferenceEvent; partition?: number } | { topic: typeof TOPICS.load; value: LoadSample; partition?: number };

/** Produce arrivals in order (keyed by edge_server_id unless a partition is given), then seal both input topics. */
export async function produceArrivals(log: EventLog, arrivals: Arrival[], partitions = 4): Promise<void> {
  await log.ensureTopic(TOPICS.inference, partitions);
  await log.ensureTopic(TOPICS.load, partitions);
  for (const a of arrivals) {
    const codec = a.topic === TOPICS.inference ? codecFor('InferenceEvent') : codecFor('LoadSample');
    await log.produce(a.topic, [{ key: a.value.edge_server_id, value: codec.encode(a.value as never), partition: a.partition }]);
  }
  await log.seal(TOPICS.inference);
  await log.seal(TOPICS.load);
}

/** Every record of a topic, decoded, with its position. */
export async function readTopic<T>(log: EventLog, topic: string): Promise<{ record: LogRecord; value: T }[]> {
  const out: { record: LogRecord; value: T }[] = [];
  const partitions = (await log.partitionCount(topic)) ?? 0;
  const codec = codecFor(kindOfTopic(topic));
  for (let p = 0; p < partitions; p++) {
    for (const record of await log.read({ topic, partition: p }, 0, await log.endOffset({ topic, partition: p }))) {
      const d = codec.decode(record.value);
      if (!d.ok) throw new Error(`undecodable record in ${topic}: ${d.reason}`);
      out.push({ record, value: d.value as T });
    }
  }
  return out;
}

/** Enriched rows of a topic by event_id. */
export async function enrichedById(log: EventLog): Promise<Map<string, EnrichedInference>> {
  return new Map((await readTopic<EnrichedInference>(log, TOPICS.enriched)).map((r) => [r.value.event_id, r.value]));
}
