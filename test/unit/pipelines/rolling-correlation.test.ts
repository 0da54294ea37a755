import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rollingCorrelation } from '../../../pipelines/rolling-correlation.ts';
import { ProcessorRun } from '../../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../../pipelines/topics.ts';
import { codecFor } from '../../../schemas/index.ts';
import type { CorrelationUpdate, EnrichedInference, LateEvent } from '../../../schemas/types.ts';
import { MemoryEventLog } from '../../../services/eventlog/memory.ts';
import { at, makeEnriched, makeLoad, prng } from '../../helpers/factories.ts';
import { readTopic } from '../../helpers/pipeline.ts';

async function runCorrelation(rows: EnrichedInference[], options: Parameters<typeof rollingCorrelation>[0], trackFires = false, partitions = 1) {
  const log = new MemoryEventLog({ defaultPartitions: partitions });
  await log.ensureTopic(TOPICS.enriched, partitions);
  await log.produce(TOPICS.enriched, rows.map((r) => ({ key: r.edge_server_id, value: codecFor('EnrichedInference').encode(r) })));
  await log.seal(TOPICS.enriched);
  const run = new ProcessorRun({ log, processor: rollingCorrelation(options), maxBatch: 1 });
  await run.start();
  const windowsAfterArrival: number[] = [];
  while (!(await run.runBatch())) if (trackFires) windowsAfterArrival.push((await readTopic(log, TOPICS.correlation)).length);
  await run.close();
  return { log, counts: run.counts, windowsAfterArrival };
}

describe('rolling-correlation', () => {
  it('case C06: 10 s tumbling windows, watermark = max − 2 s, lateness 0: late records counted and routed, windows exact', async () => {
    const lines = readFileSync(new URL('../../fixtures/cases/C06.csv', import.meta.url), 'utf8').trim().split('\n').slice(1);
    const rows = lines.map((line, i) => {
      const [, ts, server, latency] = line.split(',');
      return makeEnriched({ edge_server_id: server!, ts: at(ts!), total_ms: Number(latency), event_id: `a${i + 1}` }, makeLoad({ edge_server_id: server!, ts: at(ts!), gpu_util: (i % 5) / 10 }));
    });
    const { log, counts, windowsAfterArrival } = await runCorrelation(rows, { sizeMs: 10_000, slideMs: 10_000, maxOutOfOrdernessMs: 2000 }, true);
    const late = await readTopic<LateEvent>(log, TOPICS.late);
    expect(late.map((l) => l.value.offset + 1)).toEqual([5, 9, 11]); // arrival numbers
    expect(counts[TOPICS.enriched]).toEqual({ consumed: 12, processed: 9, late: 3, dead: 0 });
    const windows = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value).filter((w) => w.x_metric === 'gpu_util' && w.y_metric === 'total_ms');
    const t0 = at('2024-06-01T10:00:00.000Z');
    expect(windows.map((w) => [w.window_start - t0, w.window_end - t0, w.n])).toEqual([
      [0, 10_000, 3],
      [10_000, 20_000, 4],
      [20_000, 30_000, 2],
    ]);
    // Membership: the on-time rows of each window have the case's means.
    const lateSet = new Set(late.map((l) => l.value.offset));
    const mean = (from: number) => {
      const v = rows.filter((r, i) => !lateSet.has(i) && r.ts >= t0 + from && r.ts < t0 + from + 10_000).map((r) => r.total_ms);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    expect([mean(0), mean(10_000), mean(20_000)]).toEqual([44, 51.75, 59]);
    // Fire times: 15 pairs per window; [0,10) after arrival 4, [10,20) after arrival 10, [20,30) at end of input.
    expect(windowsAfterArrival.slice(0, 12)).toEqual([0, 0, 0, 15, 15, 15, 15, 15, 15, 30, 30, 30]);
    expect(windows.length * 15).toBe((await readTopic(log, TOPICS.correlation)).length);
  });

  it('sliding windows: each window merges exactly its panes, undefined statistics are null with a reason', async () => {
    const rnd = prng(3);
    const t0 = at('2024-06-01T10:00:00.000Z');
    const rows: EnrichedInference[] = [];
    for (let k = 0; k < 400; k++) {
      const ts = t0 + k * 500;
      const gpu = k < 60 ? 0.5 : Math.round(rnd() * 100) / 100; // constant load for the first 30 s
      rows.push(makeEnriched({ edge_server_id: 'edge-01', model_id: k % 2 ? 'm1' : 'm2', ts, total_ms: 10 + 30 * gpu + rnd() }, makeLoad({ edge_server_id: 'edge-01', ts, gpu_util: gpu })));
    }
    const { log, counts } = await runCorrelation(rows, { sizeMs: 20_000, slideMs: 5000 });
    expect(counts[TOPICS.enriched]!.late).toBe(0);
    const windows = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value).filter((w) => w.x_metric === 'gpu_util' && w.y_metric === 'total_ms');
    // Ends from the first pane's end to the last pane's start + size, every slide, per model.
    expect(windows.filter((w) => w.model_id === 'm1')).toHaveLength((200_000 - 5000 + 20_000) / 5000);
    for (const w of windows) {
      const inWindow = rows.filter((r) => r.model_id === w.model_id && r.ts >= w.window_start && r.ts < w.window_end);
      expect(w.n).toBe(inWindow.length);
      if (inWindow.every((r) => r.gpu_util === 0.5)) {
        expect(w.pearson_r).toBeNull();
        expect(w.null_reason).toBe(w.n < 3 ? 'n_lt_3' : 'x_constant');
      } else {
        expect(w.pearson_r).toBeGreaterThan(0.9);
      }
    }
  });

  it('keys never collide, whatever characters the ids hold', async () => {
    const t0 = at('2024-06-01T10:00:00.000Z');
    const rows: EnrichedInference[] = [];
    for (let k = 0; k < 40; k++) {
      const ts = t0 + k * 1000;
      const g = (k % 10) / 10;
      rows.push(makeEnriched({ edge_server_id: 'a\u0001b', model_id: 'c', ts, total_ms: 10 + g }, makeLoad({ edge_server_id: 'a\u0001b', ts, gpu_util: g })));
      rows.push(makeEnriched({ edge_server_id: 'a', model_id: 'b\u0001c', ts, total_ms: 10 - g }, makeLoad({ edge_server_id: 'a', ts, gpu_util: g })));
    }
    const { log } = await runCorrelation(rows, { sizeMs: 60_000, slideMs: 60_000 });
    const windows = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value).filter((w) => w.x_metric === 'gpu_util' && w.y_metric === 'total_ms');
    expect(windows.map((w) => [w.edge_server_id, w.model_id, w.n, Math.round(w.pearson_r! * 1e6) / 1e6]).sort()).toEqual([
      ['a\u0001b', 'c', 40, 1],
      ['a', 'b\u0001c', 40, -1],
    ]);
  });
});
