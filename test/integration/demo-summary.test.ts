/**
 * The demo summary's per-chip table on chdb: nearest-rank p50 and p99 of the ok requests (the value
 * at rank ⌈p·N⌉, worked out by hand below), and NULL for a chip with no ok request (it showed 0:
 * ClickHouse's ok[0] of an empty array).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { readSummary } from '../../services/pipeline/summary.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { at, makeEnriched } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

describe('demo summary per chip', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('summary');
  });
  afterAll(async () => {
    await w.close();
  });

  it('gives nearest-rank p50/p99 of ok requests per chip, and NULL for a chip whose requests all failed', async () => {
    const t0 = at('2024-06-01T10:00:00.000Z');
    const okMs = Array.from({ length: 150 }, (_, i) => i + 1); // 1..150 ms
    const rows = [
      ...okMs.map((ms, i) => makeEnriched({ edge_server_id: 'edge-1', chip: 'chip-a', ts: t0 + i, total_ms: ms, event_id: `a-${i}` })),
      makeEnriched({ edge_server_id: 'edge-1', chip: 'chip-a', ts: t0 + 500, total_ms: 9999, status: 'timeout', event_id: 'a-timeout' }),
      ...[1, 2, 3].map((k) => makeEnriched({ edge_server_id: 'edge-2', chip: 'chip-b', ts: t0 + k, total_ms: 40, status: 'error', event_id: `b-${k}` })),
    ];
    await w.insert(`${w.database}.inference_enriched`, rows.map((r, i) => SINK_ROUTES[TOPICS.enriched]!.toRow(r, 0, i)));
    const { perChip, statuses } = await readSummary(w);
    const cells = perChip.split('\n').filter((l) => l.startsWith('│')).map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));
    // Nearest rank: p50 is the 75th of 150 sorted values (75 ms), p99 the ⌈148.5⌉ = 149th (149 ms).
    expect([Math.ceil(0.5 * 150), Math.ceil(0.99 * 150)]).toEqual([75, 149]);
    expect(cells).toEqual([['chip-a', '151', '1', '75', '149'], ['chip-b', '3', '3', 'ᴺᵁᴸᴸ', 'ᴺᵁᴸᴸ']]);
    expect(statuses).toEqual({ error: 3, ok: 150, timeout: 1 });
  });
});
