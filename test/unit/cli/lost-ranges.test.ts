/**
 * `pipeline run` reports the input records retention deleted before they were
 * read. Each consumer group meets its own gaps, and several groups read the
 * same topic: the records lost are the union per partition, not the sum.
 */
import { describe, expect, it } from 'vitest';
import { lostRanges, progressLine } from '../../../services/cli/pipeline.ts';

describe('lostRanges', () => {
  it('merges the same, overlapping and touching ranges of a partition, and keeps partitions and topics apart', () => {
    const gaps = [
      { topic: 'edge.inference.v1', partition: 0, from: 0, to: 17 }, // join
      { topic: 'edge.inference.v1', partition: 0, from: 0, to: 17 }, // warehouse-sink, same records
      { topic: 'edge.inference.v1', partition: 0, from: 17, to: 20 }, // touching
      { topic: 'edge.inference.v1', partition: 0, from: 30, to: 40 }, // apart
      { topic: 'edge.inference.v1', partition: 2, from: 5, to: 9 },
      { topic: 'edge.inference.v1', partition: 2, from: 0, to: 6 }, // overlapping, met later
      { topic: 'edge.load.v1', partition: 0, from: 0, to: 3 },
    ];
    expect(lostRanges(gaps)).toEqual([
      { topic: 'edge.inference.v1', partition: 0, from: 0, to: 20 },
      { topic: 'edge.inference.v1', partition: 0, from: 30, to: 40 },
      { topic: 'edge.inference.v1', partition: 2, from: 0, to: 9 },
      { topic: 'edge.load.v1', partition: 0, from: 0, to: 3 },
    ]);
    expect(lostRanges([])).toEqual([]);
  });
});

describe('progressLine (pipeline run --until-end)', () => {
  it('lists the records each processor has read, in the processors\' order, those that read a batch only', () => {
    const soFar = new Map([['sink', 30_111], ['join', 12_345]] as const);
    expect(progressLine(['join', 'correlation', 'sink'], soFar)).toBe('edgelat: join 12,345, sink 30,111 records read so far\n');
  });
});
