import { describe, expect, it } from 'vitest';
import { dlqValue, MAX_DEAD_LETTER_BYTES, ownDeadLetter } from '../../../../pipelines/runtime/run-sink.ts';
import { LANE_HEADER, SEQ_HEADER } from '../../../../pipelines/runtime/lanes.ts';
import { codecFor } from '../../../../schemas/index.ts';
import type { DeadLetter } from '../../../../schemas/types.ts';

const letter = (rawBytes: number): DeadLetter => ({
  topic: 'edge.inference.v1', partition: 2, offset: 41, key_b64: Buffer.from('edge-01').toString('base64'),
  raw_b64: Buffer.alloc(rawBytes, 0xab).toString('base64'), error: 'invalid json: unexpected token', path: '', consumer_group: 'edgelat-warehouse-sink', ts: Date.UTC(2024, 5, 1),
});

describe('a dead letter on its .dlq topic', () => {
  it('is the whole record when it fits a Kafka message', () => {
    const d = letter(600_000); // base64: 800,000 characters
    const value = dlqValue(d);
    expect(value.length).toBeLessThanOrEqual(MAX_DEAD_LETTER_BYTES);
    expect(codecFor('DeadLetter').decode(value)).toEqual({ ok: true, value: d });
  });

  it('leaves the raw bytes out, saying so, when base64 makes them too long for one (a trial: a 900 KB record\'s letter was 1.2 MB)', () => {
    const d = letter(900_000);
    const value = dlqValue(d);
    expect(value.length).toBeLessThan(2_000);
    const decoded = codecFor('DeadLetter').decode(value);
    const whole = codecFor('DeadLetter').encode(d).length;
    expect(decoded).toEqual({
      ok: true,
      value: { ...d, raw_b64: '', error: `invalid json: unexpected token [raw bytes left out of this record: 900000 bytes; the dead letter with them, ${whole} bytes encoded, is above ${MAX_DEAD_LETTER_BYTES} for a Kafka message; the dead_letters row of this topic, partition and offset keeps them]` },
    });
    expect(whole).toBeGreaterThan(1_200_000);
  });

  it('leaves a huge source key out too (a trial: a 700 KB key kept its letter at 1.6 MB)', () => {
    const d = { ...letter(117), key_b64: Buffer.alloc(700_000, 0x6b).toString('base64') };
    const value = dlqValue(d);
    expect(value.length).toBeLessThan(2_000);
    const whole = codecFor('DeadLetter').encode(d).length;
    expect(codecFor('DeadLetter').decode(value)).toEqual({
      ok: true,
      value: { ...d, raw_b64: '', key_b64: null, error: `invalid json: unexpected token [raw bytes and key left out of this record: 117 and 700000 bytes; the dead letter with them, ${whole} bytes encoded, is above ${MAX_DEAD_LETTER_BYTES} for a Kafka message; the dead_letters row of this topic, partition and offset keeps them]` },
    });
  });
});

describe('ownDeadLetter', () => {
  const onDlq = (value: Buffer, lane: string, seq: string) => ({
    topic: 'edge.inference.v1.dlq', partition: 2, offset: 0, key: 'edge-01', value, timestampMs: 0, headers: { [LANE_HEADER]: lane, [SEQ_HEADER]: seq },
  });
  it('takes a dead letter whose lane and position name its source, and nothing else (a forged position must not stop the .dlq)', () => {
    const v = dlqValue(letter(10));
    expect(ownDeadLetter(onDlq(v, 'warehouse-sink:dlq:edge.inference.v1:2', '[41]'))).toBe(true);
    expect(ownDeadLetter(onDlq(v, 'warehouse-sink:dlq:edge.inference.v1:2', '[9000000000000000]'))).toBe(false);
    expect(ownDeadLetter(onDlq(v, 'warehouse-sink:dlq:edge.inference.v1:3', '[41]'))).toBe(false);
    expect(ownDeadLetter(onDlq(Buffer.from('garbage'), 'warehouse-sink:dlq:edge.inference.v1:2', '[41]'))).toBe(false);
  });
});
