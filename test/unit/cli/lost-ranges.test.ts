/**
 * `pipeline run` reports the input records retention deleted before they were
 * read. Each consumer group meets its own gaps, and several groups read the
 * same topic: the records lost are the union per partition, not the sum.
 */
import { describe, expect, it } from 'vitest';
import { correlationCommitLagMs, lostRanges, progressLine, retentionLossText } from '../../../services/cli/pipeline.ts';
import { loadConfig } from '../../../services/config.ts';

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

describe('retentionLossText (pipeline run, on stopping)', () => {
  it('counts the union of the records lost, and names per consumer group how many it lost and what misses them', () => {
    const gaps = [
      { groupId: 'edgelat-rolling-correlation', topic: 'analytics.inference-enriched.v1', partition: 1, from: 0, to: 769 },
      { groupId: 'edgelat-warehouse-sink', topic: 'edge.inference.v1', partition: 0, from: 0, to: 10 },
      { groupId: 'edgelat-join-load-latency', topic: 'edge.inference.v1', partition: 0, from: 0, to: 12 },
      { groupId: 'other-group', topic: 'edge.load.v1', partition: 3, from: 4, to: 5 },
    ];
    // At the defaults: a 5-min window and 41 slides of 30 s of alert history (2 × 20 + 3 − 2), 25.5 min (a trial measured
    // the correlation group's commit 25.44 min of event time behind its reads, where the text said 15).
    const behind = correlationCommitLagMs(loadConfig({}));
    expect(behind).toBe(300_000 + 41 * 30_000);
    expect(retentionLossText(gaps, 'edgelat', behind)).toBe('edgelat: 782 input records were deleted by retention before this run read them: '
      + 'analytics.inference-enriched.v1:1 [0, 769), edge.inference.v1:0 [0, 12), edge.load.v1:3 [4, 5); '
      + 'edgelat-join-load-latency lost 12: the enriched events (inference_enriched) miss their joins; '
      + 'edgelat-rolling-correlation lost 769: the correlation windows and alert states that cover them were computed without them; '
      + 'edgelat-warehouse-sink lost 10: the warehouse misses them; other-group lost 1 '
      + '(keep the topics\' retention longer than the pipeline\'s longest pause plus the event time the correlation group commits behind its reads, '
      + 'EDGELAT_WINDOW_SIZE_MS + (2 × EDGELAT_ALERT_LOOKBACK + EDGELAT_ALERT_CLEAR_AFTER − 2) × EDGELAT_WINDOW_SLIDE_MS: 25.5 min here; or run the pipeline closer behind the producers)\n');
    // Only the correlation group lost records (a trial: the line said "the warehouse misses them", and every table was whole).
    expect(retentionLossText(gaps.slice(0, 1), 'edgelat', behind)).not.toContain('the warehouse misses them');
    expect(retentionLossText([{ ...gaps[1]!, groupId: 'team-a-warehouse-sink' }], 'team-a', behind)).toContain('; team-a-warehouse-sink lost 10: the warehouse misses them (');
  });
});
