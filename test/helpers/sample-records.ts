/**
 * One valid record of every record kind, with the topic that carries it and the
 * key the runtime expects (telemetry topics are keyed by `edge_server_id`). Test-only.
 */
import { dlqTopic, TOPICS } from '../../pipelines/topics.ts';
import type { CorrelationUpdate, DeadLetter, LateEvent, RecordKind } from '../../schemas/index.ts';
import { makeEnriched, makeInference, makeLoad } from './factories.ts';

/** A sample record of one kind. */
export interface SampleRecord {
  kind: RecordKind;
  /** Topic of that kind (`.dlq` for DeadLetter). */
  topic: string;
  /** Record key: `edge_server_id` when the kind has one, else null. */
  key: string | null;
  /** The record, valid for its schema and the DESIGN §2 rules. */
  value: Record<string, unknown>;
}

const T0 = Date.UTC(2024, 5, 1, 12, 0, 0); // 2024-06-01T12:00:00Z = 1717243200000

const correlation: CorrelationUpdate = {
  scope: 'server×model×chip', edge_server_id: 'edge-07', model_id: 'yolov8n', chip: 'jetson-orin-nx',
  window_start: T0 - 60_000, window_end: T0, x_metric: 'gpu_util', y_metric: 'total_ms', n: 412,
  pearson_r: 0.83, ci_low: 0.8, ci_high: 0.857, slope: 41.2, intercept: -6.5, p_value: 1.2e-9, null_reason: null, alert_state: 'firing',
};
const deadLetter: DeadLetter = {
  topic: TOPICS.inference, partition: 3, offset: 104_857, key_b64: Buffer.from('edge-07').toString('base64'),
  raw_b64: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'), error: 'unrecognised encoding: first bytes "deadbeef"', path: '',
  consumer_group: 'edgelat-join', ts: T0,
};
const late: LateEvent = {
  topic: TOPICS.inference, partition: 0, offset: 11, ts: T0 - 11_000, watermark: T0 - 2_000, operator: 'join-load-latency',
  edge_server_id: 'edge-05', record_json: '{"event_id":"ev-11","total_ms":80}',
};

/**
 * Build one sample of each of the six record kinds.
 * @returns InferenceEvent, LoadSample, EnrichedInference, CorrelationUpdate, DeadLetter, LateEvent, in that order.
 */
export function sampleRecords(): SampleRecord[] {
  const inference = makeInference({ edge_server_id: 'edge-07', ts: T0, total_ms: 23.5 });
  const load = makeLoad({ edge_server_id: 'edge-07', ts: T0 - 123, temperature_c: 71.5, power_w: 14.2 });
  const enriched = makeEnriched({ edge_server_id: 'edge-07', ts: T0 }, load);
  return [
    { kind: 'InferenceEvent', topic: TOPICS.inference, key: 'edge-07', value: { ...inference } },
    { kind: 'LoadSample', topic: TOPICS.load, key: 'edge-07', value: { ...load } },
    { kind: 'EnrichedInference', topic: TOPICS.enriched, key: 'edge-07', value: { ...enriched } },
    { kind: 'CorrelationUpdate', topic: TOPICS.correlation, key: 'edge-07', value: { ...correlation } },
    { kind: 'DeadLetter', topic: dlqTopic(TOPICS.inference), key: null, value: { ...deadLetter } },
    { kind: 'LateEvent', topic: TOPICS.late, key: 'edge-05', value: { ...late } },
  ];
}
