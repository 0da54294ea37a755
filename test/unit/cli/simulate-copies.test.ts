/**
 * `simulate`'s check of the topics' growth against the records it sent: a producer without idempotence (librdkafka's
 * mock cluster refuses it) whose send was retried after a broker stall writes copies (a trial: "produced 21,591" where
 * the topic held 21,615, and only a note at the start said it could happen).
 */
import { describe, expect, it } from 'vitest';
import { extraRecordsWarning } from '../../../services/cli/simulate.ts';

describe('extraRecordsWarning', () => {
  it('names each topic that grew by more than was sent, by how many; none when each grew by what was sent', () => {
    const sent = { 'edge.inference.v1': 21_591, 'edge.load.v1': 4_800 };
    expect(extraRecordsWarning({ 'edge.inference.v1': 100, 'edge.load.v1': 0 }, { 'edge.inference.v1': 21_691, 'edge.load.v1': 4_800 }, sent)).toBeNull();
    expect(extraRecordsWarning({ 'edge.inference.v1': 100, 'edge.load.v1': 0 }, { 'edge.inference.v1': 21_715, 'edge.load.v1': 4_800 }, sent)).toBe(
      'Kafka took 24 more record(s) into edge.inference.v1 than were sent: sends retried after the broker stalled wrote copies (the cluster refused an idempotent producer), or another producer wrote to it meanwhile; the summary counts records sent, and the pipeline keeps and counts the copies (README, Delivery)');
    expect(extraRecordsWarning({}, { 'edge.inference.v1': 21_592, 'edge.load.v1': 4_801 }, sent)).toMatch(/^Kafka took 1 more record\(s\) into edge\.inference\.v1, 1 more record\(s\) into edge\.load\.v1 than were sent: .* wrote to them meanwhile;/);
    // Fewer (retention dropped some meanwhile) is no copy.
    expect(extraRecordsWarning({ 'edge.inference.v1': 0, 'edge.load.v1': 0 }, { 'edge.inference.v1': 10, 'edge.load.v1': 4_800 }, sent)).toBeNull();
  });
});
