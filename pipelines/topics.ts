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
  shadow: 'edge.shadow.v1',
  shadowVerdicts: 'analytics.shadow-verdicts.v1',
  deployments: 'deploy.events.v1',
} as const;

/**
 * The topics edgelat's processors write: each record carries its lane and position (runtime/lanes.ts), by which
 * their readers tell a second copy from a record (`LaneRepeats`).
 */
export const OUTPUT_TOPICS: ReadonlySet<string> = new Set([TOPICS.enriched, TOPICS.correlation, TOPICS.late, TOPICS.shadowVerdicts]);

/** Record kind of each topic (see schemas/). */
export const TOPIC_KINDS = {
  [TOPICS.inference]: 'InferenceEvent',
  [TOPICS.load]: 'LoadSample',
  [TOPICS.enriched]: 'EnrichedInference',
  [TOPICS.correlation]: 'CorrelationUpdate',
  [TOPICS.late]: 'LateEvent',
  [TOPICS.shadow]: 'ShadowResult',
  [TOPICS.shadowVerdicts]: 'ShadowVerdict',
  [TOPICS.deployments]: 'DeploymentEvent',
} as const;

/** Dead-letter topic of a topic (DESIGN §2). */
export const dlqTopic = (topic: string): string => `${topic}.dlq`;

/** Record kind carried by a topic, `.dlq` topics included. @throws {RangeError} for a topic edgelat does not know. */
export function kindOfTopic(topic: string): (typeof TOPIC_KINDS)[keyof typeof TOPIC_KINDS] | 'DeadLetter' {
  if (topic.endsWith('.dlq')) return 'DeadLetter';
  const kind = TOPIC_KINDS[topic as keyof typeof TOPIC_KINDS];
  if (!kind) throw new RangeError(`topic: ${JSON.stringify(topic)} is not an edgelat topic (known: ${Object.keys(TOPIC_KINDS).join(', ')})`);
  return kind;
}
