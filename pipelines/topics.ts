/**
 * Topic names (DESIGN §1) and the record kind each carries. Every telemetry
 * topic is keyed by `edge_server_id`, so one server's records share a partition.
 */
export const TOPICS = {
  inference: 'edge.inference.v1',
  load: 'edge.load.v1',
  enriched: 'analytics.inference-enriched.v1',
  correlation: 'analytics.load-latency-correlation.v1',
  late: 'analytics.late-events.v1',
} as const;

/** Record kind of each topic (see schemas/). */
export const TOPIC_KINDS = {
  [TOPICS.inference]: 'InferenceEvent',
  [TOPICS.load]: 'LoadSample',
  [TOPICS.enriched]: 'EnrichedInference',
  [TOPICS.correlation]: 'CorrelationUpdate',
  [TOPICS.late]: 'LateEvent',
} as const;

/** Dead-letter topic of a topic (DESIGN §2). */
export const dlqTopic = (topic: string): string => `${topic}.dlq`;
