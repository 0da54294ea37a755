import type { CorrelationUpdate, DeadLetter, EnrichedInference, InferenceEvent, LateEvent, LoadSample, ShadowResult, ShadowVerdict } from '../schemas/types.ts';
import { TOPICS } from './topics.ts';

/** Format epoch ms as ClickHouse DateTime64(3) text, UTC. */
const dt = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const dtOrNull = (ms: number | null): string | null => (ms === null ? null : dt(ms));

/** Where a topic's records land: table name (without database) and a row mapper. */
export interface SinkRoute {
  table: string;
  /** Map one decoded record at (partition, offset) to a row keyed by column name. */
  toRow(value: unknown, partition: number, offset: number): Record<string, unknown>;
}

/**
 * The warehouse-sink's routes: one table per topic (DESIGN §4). Pure mapping
 * from decoded records to rows whose columns match sql/migrations; event
 * times become DateTime64(3) text, nulls stay null (never a stand-in 0).
 */
export const SINK_ROUTES: Readonly<Record<string, SinkRoute>> = {
  [TOPICS.inference]: {
    table: 'inference_events',
    toRow: (v, partition, offset) => ({ ...(v as InferenceEvent), ts: dt((v as InferenceEvent).ts), src_partition: partition, src_offset: offset }),
  },
  [TOPICS.load]: {
    table: 'load_samples',
    toRow: (v, partition, offset) => ({ ...(v as LoadSample), ts: dt((v as LoadSample).ts), src_partition: partition, src_offset: offset }),
  },
  [TOPICS.enriched]: {
    table: 'inference_enriched',
    toRow: (v) => {
      const e = v as EnrichedInference;
      return { ...e, ts: dt(e.ts), load_ts: dtOrNull(e.load_ts) };
    },
  },
  [TOPICS.correlation]: {
    table: 'load_latency_correlations',
    toRow: (v) => {
      const c = v as CorrelationUpdate;
      return { ...c, window_start: dt(c.window_start), window_end: dt(c.window_end) };
    },
  },
  [TOPICS.shadow]: {
    table: 'shadow_results',
    toRow: (v, partition, offset) => {
      const r = v as ShadowResult;
      return { ...r, ts: dt(r.ts), request_ts: dt(r.request_ts), src_partition: partition, src_offset: offset };
    },
  },
  [TOPICS.shadowVerdicts]: {
    table: 'shadow_verdicts',
    toRow: (v) => {
      const r = v as ShadowVerdict;
      return { ...r, window_start: dt(r.window_start), window_end: dt(r.window_end) };
    },
  },
  [TOPICS.late]: {
    table: 'late_events',
    toRow: (v) => {
      const l = v as LateEvent;
      return { ...l, ts: dt(l.ts), watermark: dt(l.watermark) };
    },
  },
};

/** Row of table `dead_letters` for a dead letter. */
export function deadLetterRow(d: DeadLetter): Record<string, unknown> {
  return { ...d, ts: dt(d.ts) };
}
