/**
 * A Kafka tombstone (null value) and an empty value both reach consumers as 0 bytes; the dead letter
 * tells them apart (a breaker trial found both read "empty message").
 */
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decodeLogRecord } from '../../../pipelines/runtime/decode.ts';
import { TOPICS } from '../../../pipelines/topics.ts';
import { toLogRecord } from '../../../services/eventlog/kafka-support.ts';
import { NULL_VALUE_HEADER } from '../../../services/eventlog/types.ts';

const message = (value: Buffer | null): KafkaMessage => ({ key: Buffer.from('edge-01'), value, timestamp: '1717236000000', attributes: 0, offset: '7', headers: { source: Buffer.from('probe') } }) as KafkaMessage;

describe('tombstones', () => {
  it('a null value is kept as 0 bytes with a header, and its dead letter names it; an empty value is an empty message', () => {
    const tomb = toLogRecord(TOPICS.inference, 2, message(null));
    expect(tomb).toMatchObject({ topic: TOPICS.inference, partition: 2, offset: 7, key: 'edge-01', timestampMs: 1717236000000 });
    expect(tomb.value).toEqual(Buffer.alloc(0));
    expect(tomb.headers).toEqual({ source: 'probe', [NULL_VALUE_HEADER]: 'tombstone' });
    expect(decodeLogRecord(tomb)).toEqual({ ok: false, path: '', reason: 'null value (a tombstone): telemetry topics carry records, not deletions; nothing to decode' });

    const empty = toLogRecord(TOPICS.inference, 2, message(Buffer.alloc(0)));
    expect(empty.headers).toEqual({ source: 'probe' });
    const d = decodeLogRecord(empty);
    expect(d.ok).toBe(false);
    expect(d.ok ? '' : d.reason).toMatch(/^empty message: .*got ""$/);
  });
});
