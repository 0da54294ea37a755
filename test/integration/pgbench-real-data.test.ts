/**
 * The stream join and the rolling correlation on real telemetry: the Azure VM Noise Dataset's pgbench runs of three
 * long-lived VMs (test/fixtures/azure-vm-noise-pgbench/README.md), throughput (TPS) as each VM's load samples and the
 * runs' average latency as its inference events. Checked against ClickHouse (chdb), which joins the two files itself on
 * (VM_id, starttime) and computes corrStable over each window's rows, and against the known answer of the data: pgbench
 * reports latency ≈ clients / TPS (25 / TPS × 1000 ms), so load and latency correlate at r ≈ −1 in every window.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { rollingCorrelation } from '../../pipelines/rolling-correlation.ts';
import { ProcessorRun } from '../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import type { CorrelationUpdate, EnrichedInference } from '../../schemas/types.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { makeInference, makeLoad } from '../helpers/factories.ts';
import { enrichedById, produceArrivals, readTopic, type Arrival } from '../helpers/pipeline.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const DIR = new URL('../fixtures/azure-vm-noise-pgbench/', import.meta.url);
const TPS_CSV = readFileSync(new URL('TPS.csv', DIR), 'utf8');
const LATENCY_CSV = readFileSync(new URL('avg_latency_ms.csv', DIR), 'utf8');
/** Each run's latency event is stamped this long after its load sample (the run's start): an as-of match of that age. */
const EVENT_AFTER_MS = 1000;
const DAY = 86_400_000;
/** Windows of two days sliding by one: 20–40 runs a VM each. */
const SIZE = 2 * DAY;
const SLIDE = DAY;

interface Run { vm: string; start: number; value: number }

/** The rows of one of the two files (no quoted fields), `starttime` read as UTC. */
function runs(csv: string): Run[] {
  const [head, ...lines] = csv.trim().split('\n');
  expect(head).toBe('value,runtime,starttime,VM_id');
  return lines.map((line) => {
    const [value, , start, vm] = line.split(',');
    return { vm: `vm-${vm}`, start: Date.parse(`${start!.replace(' ', 'T')}Z`), value: Number(value) };
  });
}

describe('pgbench runs of three Azure VMs: as-of join and rolling correlation against ClickHouse', () => {
  let warehouse: ChdbWarehouse;
  const log = new MemoryEventLog({ defaultPartitions: 2 });
  const tps = runs(TPS_CSV);
  const latency = runs(LATENCY_CSV);

  beforeAll(async () => {
    warehouse = await createTestDatabase('pgbench');
    // In event-time order, as a stream delivers them: load samples at each run's start, its latency 1 s later.
    const arrivals: (Arrival & { ts: number })[] = [
      ...tps.map((r) => ({ ts: r.start, topic: TOPICS.load, value: makeLoad({ edge_server_id: r.vm, ts: r.start, requests_per_s: r.value }) }) as Arrival & { ts: number }),
      ...latency.map((r) => ({ ts: r.start + EVENT_AFTER_MS, topic: TOPICS.inference, value: makeInference({ event_id: `${r.vm}@${r.start}`, edge_server_id: r.vm, ts: r.start + EVENT_AFTER_MS, total_ms: r.value }) }) as Arrival & { ts: number }),
    ].sort((a, b) => a.ts - b.ts);
    await produceArrivals(log, arrivals, 2);
    await new ProcessorRun({ log, processor: joinLoadLatency() }).runToEnd();
    await log.seal(TOPICS.enriched);
    await new ProcessorRun({ log, processor: rollingCorrelation({ sizeMs: SIZE, slideMs: SLIDE }) }).runToEnd();
  });
  afterAll(async () => warehouse?.close());

  /** The two files joined by ClickHouse on (VM_id, starttime). */
  const PAIRS = `SELECT concat('vm-', toString(t.VM_id)) AS vm, t.starttime + toIntervalMillisecond(${EVENT_AFTER_MS}) AS ts, t.value AS tps, l.value AS lat
    FROM format(CSVWithNames, 'value Float64, runtime Float64, starttime DateTime64(3, \\'UTC\\'), VM_id UInt8', {tps:String}) AS t
    INNER JOIN format(CSVWithNames, 'value Float64, runtime Float64, starttime DateTime64(3, \\'UTC\\'), VM_id UInt8', {lat:String}) AS l
    ON t.VM_id = l.VM_id AND t.starttime = l.starttime`;

  it('matches every run to its own load sample, as ClickHouse joins the files on (VM_id, starttime)', async () => {
    const reference = await warehouse.query<{ vm: string; ts: number; tps: number; lat: number }>(
      `SELECT vm, toUnixTimestamp64Milli(ts) AS ts, tps, lat FROM (${PAIRS}) ORDER BY vm, ts`, { tps: TPS_CSV, lat: LATENCY_CSV });
    expect(reference).toHaveLength(1753); // fixture README: 585 + 584 + 584 runs
    const enriched = await enrichedById(log);
    expect(enriched.size).toBe(reference.length);
    for (const r of reference) {
      const e = enriched.get(`${r.vm}@${Number(r.ts) - EVENT_AFTER_MS}`)!;
      expect(e, `${r.vm} ${r.ts}`).toBeDefined();
      expect([e.matched, e.load_age_ms, e.requests_per_s, e.total_ms]).toEqual([true, EVENT_AFTER_MS, r.tps, r.lat]);
      // The data's own check: latency ≈ 25 clients / TPS (the two files' values round to 4–5 digits).
      expect(Math.abs((e.requests_per_s! * e.total_ms) / 25_000 - 1)).toBeLessThan(1e-3);
    }
  });

  it('gives each window the r ClickHouse computes over the same rows, and r ≈ −1 where pgbench says latency = clients / TPS', async () => {
    const reference = await warehouse.query<{ vm: string; end: number; n: number; r: number | null; vx: number; vy: number }>(
      `SELECT vm, toUnixTimestamp64Milli(end) AS end, count() AS n, corrStable(tps, lat) AS r, varSampStable(tps) AS vx, varSampStable(lat) AS vy
       FROM (${PAIRS})
       ARRAY JOIN arrayMap(k -> toStartOfInterval(ts, INTERVAL {slide:UInt32} MILLISECOND) + toIntervalMillisecond({slide:UInt32} * (k + 1)), range({panes:UInt32})) AS end
       GROUP BY vm, end`,
      { tps: TPS_CSV, lat: LATENCY_CSV, slide: SLIDE, panes: SIZE / SLIDE },
    );
    const windows = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value)
      .filter((w) => w.x_metric === 'requests_per_s' && w.y_metric === 'total_ms');
    const ref = new Map(reference.map((w) => [`${w.vm}|${w.end}`, w]));
    expect(windows).toHaveLength(ref.size);
    let compared = 0;
    for (const w of windows) {
      const want = ref.get(`${w.edge_server_id}|${w.window_end}`)!;
      expect(want, `${w.edge_server_id} ${new Date(w.window_end).toISOString()}`).toBeDefined();
      expect([w.window_end - w.window_start, w.n]).toEqual([SIZE, Number(want.n)]);
      if (want.n >= 3 && want.vx > 0 && want.vy > 0) {
        expect(Math.abs(w.pearson_r! - want.r!)).toBeLessThanOrEqual(1e-9);
        compared++;
        // The known answer: load and latency are one quantity seen twice (a window of a few runs can be noisier).
        if (w.n >= 10) expect(w.pearson_r!).toBeLessThan(-0.95);
      } else {
        expect(w.pearson_r).toBeNull();
      }
    }
    expect(compared).toBeGreaterThan(80);
    const enriched: EnrichedInference[] = [...(await enrichedById(log)).values()];
    expect(new Set(enriched.map((e) => e.edge_server_id))).toEqual(new Set(['vm-0', 'vm-1', 'vm-2']));
  });
});
