import { codecFor, type DecodeResult } from '../../schemas/index.ts';
import type { LogRecord } from '../../services/eventlog/types.ts';
import { kindOfTopic } from '../topics.ts';

/** Checks on a record beyond its schema, shared by every consumer of a topic so they agree on what is dead. */
export interface RecordChecks {
  /**
   * Max amount by which a record's event time may run ahead of its log
   * timestamp, ms; a record further ahead (a device clock in the future)
   * would drag its partition's watermark forward and make the records behind
   * it late. Skipped when the log timestamp is not a plausible epoch time.
   * @default 3600000 (1 h)
   */
  maxEventTimeAheadMs?: number;
}

const PLAUSIBLE_LOG_TIME_MS = Date.UTC(2000, 0, 1);

/**
 * Decode a log record with its topic's codec and apply the runtime checks:
 * telemetry topics must be keyed by `edge_server_id` (the join and the
 * windows are per partition, so a record keyed otherwise would meet the
 * wrong state), and event time may not run far ahead of the log timestamp.
 * @returns the decoded value, or `{ok: false, path, reason}` (a dead letter); never throws.
 */
export function decodeLogRecord(r: LogRecord, checks: RecordChecks = {}): DecodeResult<Record<string, unknown>> {
  const kind = kindOfTopic(r.topic);
  const decoded = codecFor(kind).decode(r.value) as DecodeResult<Record<string, unknown>>;
  if (!decoded.ok || kind === 'DeadLetter') return decoded;
  const value = decoded.value;
  const server = value.edge_server_id;
  if (typeof server === 'string' && r.key !== server) {
    return { ok: false, path: 'key', reason: `key: record key ${JSON.stringify(r.key)} does not equal edge_server_id ${JSON.stringify(server)}; telemetry topics must be keyed by edge_server_id` };
  }
  const ahead = checks.maxEventTimeAheadMs ?? 3_600_000;
  if (typeof value.ts === 'number' && r.timestampMs >= PLAUSIBLE_LOG_TIME_MS && value.ts - r.timestampMs > ahead) {
    return {
      ok: false,
      path: 'ts',
      reason: `ts: value ${value.ts} is ${value.ts - r.timestampMs} ms ahead of the record's log timestamp ${r.timestampMs} (more than ${ahead} ms: a device clock in the future?)`,
    };
  }
  return decoded;
}
