/**
 * EDGELAT_RETENTION_DAYS (DESIGN §4 "TTL configurable"): a TTL by event time on the telemetry tables, set, changed
 * and removed by `migrate` and `pipeline run`; ClickHouse deletes the expired rows at merges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { applyRetention, RETENTION_TABLES, retentionLine } from '../../services/warehouse/retention.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { makeInference } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const DAY_MS = 86_400_000;

describe('retention (EDGELAT_RETENTION_DAYS)', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('retention');
  });
  afterAll(async () => w?.close());

  const ttlOf = async (table: string) => {
    const [r] = await w.query<{ e: string }>('SELECT engine_full AS e FROM system.tables WHERE database = {db:String} AND name = {t:String}', { db: w.database, t: table });
    return /\bTTL (.+?) SETTINGS/.exec(r!.e)?.[1] ?? null;
  };

  it('deletes rows older than the retention by event time at a merge, keeps the newer; a second run changes nothing; unset removes the TTL', async () => {
    const now = Date.now();
    const rows = [40, 20, 1].map((age, i) => SINK_ROUTES[TOPICS.inference]!.toRow(makeInference({ event_id: `age-${age}`, ts: now - age * DAY_MS, edge_server_id: 'edge-01' }), 0, i));
    await w.insert(`${w.database}.inference_events`, rows);
    const changes = await applyRetention(w, 30);
    expect(changes.map((c) => c.table)).toEqual(RETENTION_TABLES.map(([t]) => t));
    expect(await ttlOf('inference_events')).toBe('toDateTime(ts) + toIntervalDay(30)');
    expect(await ttlOf('load_latency_correlations')).toBe('toDateTime(window_end) + toIntervalDay(30)');
    expect(retentionLine(changes)).toMatch(/^retention: rows older than 30 days by event time are deleted from 10 tables \(inference_events, .*, sim_ground_truth\)/);
    // The rows past it already are counted: they go at the next merges, not gradually (a trial's migrate emptied a table in 5 s).
    expect(changes.find((c) => c.table === 'inference_events')?.expired).toBe(1);
    expect(retentionLine(changes)).toMatch(/; 1 row is past it already and goes at the next merges, within minutes: inference_events 1$/);
    await w.exec(`OPTIMIZE TABLE ${w.database}.inference_events FINAL`);
    const ids = async () => (await w.query<{ event_id: string }>(`SELECT event_id FROM ${w.database}.inference_events ORDER BY event_id`)).map((r) => r.event_id);
    expect(await ids()).toEqual(['age-1', 'age-20']);
    expect(await applyRetention(w, 30)).toEqual([]);
    // Shorter: the 20-day-old row goes too.
    expect((await applyRetention(w, 10)).length).toBe(RETENTION_TABLES.length);
    await w.exec(`OPTIMIZE TABLE ${w.database}.inference_events FINAL`);
    expect(await ids()).toEqual(['age-1']);
    const removed = await applyRetention(w, null);
    expect(removed.every((c) => c.ttl === null)).toBe(true);
    expect(await ttlOf('inference_events')).toBeNull();
    expect(retentionLine(removed)).toMatch(/^retention: EDGELAT_RETENTION_DAYS is unset: the TTL is removed from 10 tables/);
    expect(await applyRetention(w, null)).toEqual([]);
    await expect(applyRetention(w, 0)).rejects.toThrow('days: expected an integer 1..36500 or null, got 0');
  });
});
