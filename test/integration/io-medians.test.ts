/**
 * Issue 7 (gate and what-if on a chip change): the i/o a model would have on another chip. Where no
 * production server ran it there, its shadows' i/o there is the evidence (`loadIoMedians`, source
 * 'shadow'); a trial's small fleet had the Orin only as a shadow, and the gate kept resnet50's i/o as on
 * the Odroid (3.6 ms where the Orin's shadows measured 1.1 ms). Expected medians are the lower medians of
 * the rows, sorted here; the map's line is worked out by hand from them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { loadIoMedians } from '../../services/predictor/evidence.ts';
import { loadChipSwap, observationsFromRows, type ObservedRow } from '../../services/predictor/whatif.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { at, makeEnriched, makeLoad } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const T0 = at('2024-06-01T10:00:00.000Z');
const lowerMedian = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.ceil(v.length / 2) - 1]!;
const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

/** Production requests of one model on edge-a's xavier: `io` unloaded (gpu_util 0.1), `loadedIo` at 0.5. */
function production(model: string, io: number[], loadedIo: number[], chip = 'xavier', t0 = T0): { row: ObservedRow; enriched: Record<string, unknown> }[] {
  return [...io.map((x) => [x, 0.1] as const), ...loadedIo.map((x) => [x, 0.5] as const)].map(([x, u], i) => {
    const ts = t0 + i * 1000;
    const e = makeEnriched({ edge_server_id: 'edge-a', chip, model_id: model, ts, io_ms: x, compute_ms: 10, total_ms: 10 + x }, makeLoad({ edge_server_id: 'edge-a', ts, gpu_util: u }));
    return { row: { t: ts, io_ms: x, compute_ms: 10, total_ms: 10 + x, u, c: 1, model_id: model }, enriched: SINK_ROUTES[TOPICS.enriched]!.toRow(e, 0, 0) as Record<string, unknown> };
  });
}

let shadowSeq = 0;
/** Shadow results of one model on a chip beside edge-a. */
function shadows(model: string, chip: string, io: number[], over: { queue_ms?: number; status?: string } = {}): Record<string, unknown>[] {
  return io.map((x) => {
    shadowSeq++;
    const ts = `2024-06-01 10:${String(Math.floor(shadowSeq / 60) % 60).padStart(2, '0')}:${String(shadowSeq % 60).padStart(2, '0')}.000`;
    return {
      event_id: `sh-${shadowSeq}`, request_id: `rq-${shadowSeq}`, ts, request_ts: ts, edge_server_id: 'edge-a', device_id: 'edge-a-shadow0', model_id: model, model_version: 'v1',
      chip, runtime: 'tensorrt', queue_ms: over.queue_ms ?? 0, io_ms: x, compute_ms: 5, total_ms: 5 + x + (over.queue_ms ?? 0), status: over.status ?? 'ok', deployment_id: null,
      src_partition: 0, src_offset: shadowSeq,
    };
  });
}

describe('i/o medians from the fleet and, where it never ran a model on a chip, from its shadows', () => {
  let w: ChdbWarehouse;
  const resnetIo = range(25, (i) => 1 + 0.01 * i);
  const ssdIo = range(25, (i) => 2 + 0.02 * i);
  const resnetOrin = range(30, (i) => 0.6 + 0.01 * i);
  const ssdOrin = new Array<number>(20).fill(1.5);
  const resnet = production('resnet50', resnetIo, new Array<number>(10).fill(9));
  const ssd = production('ssd-mobilenet', ssdIo, []);
  const old = production('resnet50', new Array<number>(25).fill(3), [], 'rpi4', at('2024-05-01T10:00:00.000Z'));
  beforeAll(async () => {
    w = await createTestDatabase('iomedians');
    await w.insert(`${w.database}.inference_enriched`, [...resnet, ...ssd, ...old].map((r) => r.enriched));
    await w.insert(`${w.database}.shadow_results`, [
      ...shadows('resnet50', 'orin', resnetOrin),
      ...shadows('resnet50', 'orin', new Array<number>(10).fill(7), { queue_ms: 4 }), // waited for a worker: loaded
      ...shadows('resnet50', 'orin', new Array<number>(10).fill(0.01), { status: 'timeout' }),
      ...shadows('ssd-mobilenet', 'orin', ssdOrin),
      ...shadows('bert-99', 'orin', new Array<number>(19).fill(0.3)), // fewer than 20
      ...shadows('resnet50', 'xavier', new Array<number>(30).fill(5)), // the fleet's own median comes first
    ]);
    const bench = (model: string, chip: string, ms: number) => ({ source: 'test', model_id: model, device: chip, chip, batch: 1, scenario: 'SingleStream', percentile: 0.5, latency_ms: ms, system: `${chip}-sys` });
    await w.insert(`${w.database}.benchmark_latency`, [bench('resnet50', 'xavier', 4), bench('resnet50', 'orin', 2), bench('ssd-mobilenet', 'xavier', 3), bench('ssd-mobilenet', 'orin', 1.5)]);
  }, 60_000);
  afterAll(async () => w?.close());

  it('gives the fleet\'s unloaded medians, and the shadows\' (ok, no wait) for a model and chip the fleet has not', async () => {
    const got = (await loadIoMedians(w, null, 0.15)).sort((a, b) => a.model.localeCompare(b.model) || a.chip.localeCompare(b.chip));
    expect(got).toEqual([
      { model: 'resnet50', chip: 'orin', io: lowerMedian(resnetOrin), n: 30, source: 'shadow' },
      { model: 'resnet50', chip: 'rpi4', io: 3, n: 25, source: 'fleet' },
      { model: 'resnet50', chip: 'xavier', io: lowerMedian(resnetIo), n: 25, source: 'fleet' },
      { model: 'ssd-mobilenet', chip: 'orin', io: 1.5, n: 20, source: 'shadow' },
      { model: 'ssd-mobilenet', chip: 'xavier', io: lowerMedian(ssdIo), n: 25, source: 'fleet' },
    ]);
    expect(lowerMedian(resnetOrin)).toBeCloseTo(0.74, 12);
    // From June on: May's rpi4 requests are left out.
    expect((await loadIoMedians(w, T0, 0.15)).map((x) => `${x.model}/${x.chip}`).sort()).toEqual(['resnet50/orin', 'resnet50/xavier', 'ssd-mobilenet/orin', 'ssd-mobilenet/xavier']);
  });

  it('the what-if moves the i/o to a chip known only from benchmarks along the line through both models\' medians', async () => {
    const o = observationsFromRows('edge-a', 'xavier', [...resnet, ...ssd].map((r) => r.row).sort((a, b) => a.t - b.t));
    const swap = await loadChipSwap(w, o, 'orin');
    // Points (1.12, 0.74) for resnet50 and (2.24, 1.5) for ssd: slope 0.76 / 1.12, through each model's own point.
    const slope = (1.5 - lowerMedian(resnetOrin)) / (lowerMedian(ssdIo) - lowerMedian(resnetIo));
    expect(slope).toBeCloseTo(0.76 / 1.12, 12);
    const r = swap.ratio.get('resnet50')!;
    expect(r.compute).toBe(0.5);
    expect(r.io).toBeCloseTo(slope, 12);
    expect(r.ioOffset).toBeCloseTo(lowerMedian(resnetOrin) - slope * lowerMedian(resnetIo), 12);
    expect(swap.ratio.get('ssd-mobilenet')!.ioOffset).toBeCloseTo(1.5 - slope * lowerMedian(ssdIo), 12);
    expect(swap.evidence.get('resnet50')).toBe('benchmark');
    expect(swap.io?.get('resnet50')).toBe('i/o −0.0200 ms + 0.679× per request (through 1 other model(s) on both: fixed cost + bytes / bandwidth) (its i/o on orin measured by shadows)');
    // No production server reports the Orin's concurrency (shadow results carry none): 1 worker, said to be assumed.
    expect([swap.workersPerReplica, swap.workersSource]).toEqual([1, 'assumed']);
    // The rpi4 ran resnet50 in May: its servers' largest concurrency (1 in every load sample here) is the fleet's.
    const onlyResnet = observationsFromRows('edge-a', 'xavier', resnet.map((r) => r.row));
    const rpi = await loadChipSwap(w, onlyResnet, 'rpi4');
    expect([rpi.workersPerReplica, rpi.workersSource, rpi.evidence.get('resnet50')]).toEqual([1, 'fleet', 'fleet']);
  });
});
