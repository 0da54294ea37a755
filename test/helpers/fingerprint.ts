import type { Warehouse } from '../../services/warehouse/types.ts';

const TABLES = ['inference_events', 'load_samples', 'inference_enriched', 'load_latency_correlations', 'late_events', 'dead_letters'];

/**
 * count() and an order-free content hash of every table (plain count, no
 * FINAL): the hash sums cityHash64 of each row's TSV text, so NULLs count
 * too. The latency_1m roll-up is compared by its merged counts per group:
 * its row count depends on background merges, and its t-digest quantiles
 * (approximate by design) on the order in which parts were merged.
 */
export async function fingerprint(w: Warehouse): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    const [row] = await w.query<{ c: number; h: bigint | number }>(`SELECT count() AS c, sum(cityHash64(formatRowNoNewline('TSV', *))) AS h FROM ${w.database}.${t}`);
    out[t] = `${row!.c}:${row!.h}`;
  }
  const [rollup] = await w.query<{ c: number; h: bigint | number }>(
    `SELECT count() AS c, sum(cityHash64(minute, edge_server_id, model_id, chip, status, n)) AS h FROM (
       SELECT minute, edge_server_id, model_id, chip, status, countMerge(requests) AS n
       FROM ${w.database}.latency_1m GROUP BY minute, edge_server_id, model_id, chip, status)`,
  );
  out.latency_1m = `${rollup!.c}:${rollup!.h}`;
  return out;
}
