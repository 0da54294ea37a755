import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config.ts';
import { runDemo, type DemoResult } from '../../services/pipeline/demo.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

/**
 * A3: every window in load_latency_correlations has n = the on-time enriched
 * rows of its key and range with x and y non-null, and pearson_r = ClickHouse
 * corrStable over those rows within 1e-9 (or NULL with a reason).
 */
describe('rolling correlations equal ClickHouse corrStable over the same rows', () => {
  let warehouse: ChdbWarehouse;
  let demo: DemoResult;
  const size = 120_000;
  const slide = 30_000;

  beforeAll(async () => {
    warehouse = await createTestDatabase('a3');
    const config = { ...loadConfig({}), windowSizeMs: size, windowSlideMs: slide };
    // Jitter above the out-of-orderness bound makes some records late, so the late rule is exercised too.
    demo = await runDemo({ warehouse, config, sim: { seed: 11, servers: 4, durationMs: 6 * 60_000, maxJitterMs: 2600 }, badRecords: 2 });
  });
  afterAll(async () => warehouse?.close());

  it('matches window by window', async () => {
    const db = warehouse.database;
    const pairs = ['cpu_util', 'gpu_util', 'queue_depth', 'concurrency', 'requests_per_s'].flatMap((x) => ['total_ms', 'io_ms', 'compute_ms'].map((y) => [x, y]));
    const tuples = pairs.map(([x, y]) => `('${x}', '${y}', toNullable(toFloat64(${x})), toNullable(${y}))`).join(', ');
    const reference = await warehouse.query<{ server: string; model: string; end: string; x: string; y: string; n: number; rows: number; chip: string | null; r: number | null; vx: number; vy: number }>(
      `SELECT edge_server_id AS server, model_id AS model, toString(end) AS end, p.1 AS x, p.2 AS y,
              countIf(p.3 IS NOT NULL AND p.4 IS NOT NULL) AS n, count() AS rows, if(uniqExact(chip) = 1, any(chip), NULL) AS chip,
              corrStableIf(assumeNotNull(p.3), assumeNotNull(p.4), p.3 IS NOT NULL AND p.4 IS NOT NULL) AS r,
              varSampStableIf(assumeNotNull(p.3), p.3 IS NOT NULL AND p.4 IS NOT NULL) AS vx,
              varSampStableIf(assumeNotNull(p.4), p.3 IS NOT NULL AND p.4 IS NOT NULL) AS vy
       FROM ${db}.inference_enriched
       ARRAY JOIN arrayMap(k -> toStartOfInterval(ts, INTERVAL {slide:UInt32} MILLISECOND) + toIntervalMillisecond({slide:UInt32} * (k + 1)), range({panes:UInt32})) AS end
       ARRAY JOIN [${tuples}] AS p
       WHERE event_id NOT IN (SELECT JSONExtractString(record_json, 'event_id') FROM ${db}.late_events WHERE operator = 'rolling-correlation')
       GROUP BY server, model, end, x, y`,
      { slide, panes: size / slide },
    );
    const table = await warehouse.query<{ server: string; model: string; chip: string | null; end: string; x: string; y: string; n: number; r: number | null; reason: string | null; start: string }>(
      `SELECT edge_server_id AS server, model_id AS model, chip, toString(window_end) AS end, toString(window_start) AS start, x_metric AS x, y_metric AS y, n, pearson_r AS r, null_reason AS reason
       FROM ${db}.load_latency_correlations`,
    );
    expect(table.length).toBeGreaterThan(1000);
    const ref = new Map(reference.map((w) => [`${w.server}|${w.model}|${w.end}|${w.x}|${w.y}`, w]));
    expect(table.length).toBe(ref.size);
    let compared = 0;
    for (const w of table) {
      const want = ref.get(`${w.server}|${w.model}|${w.end}|${w.x}|${w.y}`);
      expect(want, `window ${w.server} ${w.model} ${w.end} ${w.x}~${w.y}`).toBeDefined();
      expect(w.n).toBe(want!.n);
      expect(w.chip).toBe(want!.chip);
      if (want!.n >= 3 && want!.vx > 0 && want!.vy > 0) {
        expect(w.r).not.toBeNull();
        expect(Math.abs(w.r! - want!.r!)).toBeLessThanOrEqual(1e-9);
        compared++;
      } else {
        expect(w.r).toBeNull();
        expect(['n_lt_3', 'x_constant', 'y_constant']).toContain(w.reason);
      }
    }
    expect(compared).toBeGreaterThan(table.length / 2);
  });

  it('keeps counts conserved per topic and records late and dead letters', async () => {
    for (const stage of Object.values(demo.counts)) {
      for (const c of Object.values(stage)) expect(c.consumed).toBe(c.processed + c.late + c.dead);
    }
    const late = demo.counts.join['edge.inference.v1']!.late + demo.counts.join['edge.load.v1']!.late;
    expect(late).toBeGreaterThan(0);
    const [row] = await warehouse.query<{ late: number; dead: number; enriched: number; events: number }>(
      `SELECT (SELECT count() FROM ${warehouse.database}.late_events) AS late, (SELECT count() FROM ${warehouse.database}.dead_letters) AS dead,
              (SELECT count() FROM ${warehouse.database}.inference_enriched) AS enriched, (SELECT count() FROM ${warehouse.database}.inference_events) AS events`,
    );
    expect(row!.late).toBe(late);
    expect(row!.dead).toBe(2);
    expect(row!.enriched).toBe(row!.events - demo.counts.join['edge.inference.v1']!.late);
  });
});
