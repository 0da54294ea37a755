import type { Warehouse } from '../warehouse/types.ts';

/** Row counts of the demo's tables. */
export interface TableCounts {
  inference_events: number;
  load_samples: number;
  inference_enriched: number;
  load_latency_correlations: number;
  late_events: number;
  dead_letters: number;
  sim_ground_truth: number;
}

/** Numbers the demo prints, all read back from the warehouse. */
export interface Summary {
  tables: TableCounts;
  /** Fraction 0..1 of enriched rows that found a load sample. */
  matchRate: number;
  /** Text tables (ClickHouse PrettyCompact) for the terminal. */
  strongest: string;
  perChip: string;
  /** Requests per status in inference_enriched. */
  statuses: Record<string, number>;
}

const PRETTY = 'SETTINGS output_format_pretty_color = 0, output_format_pretty_row_numbers = 0';

/**
 * Query the warehouse for the demo summary. Percentiles are nearest-rank
 * (the value at rank ⌈p·N⌉ of the sorted latencies), computed from rows.
 */
export async function readSummary(warehouse: Warehouse): Promise<Summary> {
  const db = warehouse.database;
  const names = Object.keys({ inference_events: 0, load_samples: 0, inference_enriched: 0, load_latency_correlations: 0, late_events: 0, dead_letters: 0, sim_ground_truth: 0 } satisfies TableCounts);
  const tables = {} as Record<string, number>;
  for (const t of names) tables[t] = Number((await warehouse.query<{ c: number }>(`SELECT count() AS c FROM ${db}.${t}`))[0]!.c);
  const [m] = await warehouse.query<{ rate: number | null }>(`SELECT avg(matched) AS rate FROM ${db}.inference_enriched`);
  const strongest = await warehouse.queryText(
    `SELECT edge_server_id AS server, model_id AS model, concat(x_metric, ' ~ ', y_metric) AS pair,
            round(pearson_r, 3) AS r, concat('[', toString(round(ci_low, 3)), ', ', toString(round(ci_high, 3)), ']') AS ci95, n,
            formatDateTime(window_end, '%H:%i:%S') AS window_end
     FROM ${db}.load_latency_correlations
     WHERE scope = 'server×model' AND pearson_r IS NOT NULL AND n >= {min_n:UInt32}
     ORDER BY abs(pearson_r) DESC, edge_server_id, model_id, x_metric, y_metric, window_end
     LIMIT 1 BY edge_server_id, model_id, x_metric, y_metric
     LIMIT 5 ${PRETTY}`,
    { min_n: 30 },
    'PrettyCompactMonoBlock',
  );
  // No ok request: NULL, not ok[0] (ClickHouse's default for an index out of range is 0).
  const perChip = await warehouse.queryText(
    `SELECT chip, requests, failed, if(empty(ok), NULL, round(ok[toUInt64(ceil(0.5 * length(ok)))], 2)) AS ok_p50_ms, if(empty(ok), NULL, round(ok[toUInt64(ceil(0.99 * length(ok)))], 2)) AS ok_p99_ms
     FROM (SELECT chip, count() AS requests, countIf(status != 'ok') AS failed, arraySort(groupArrayIf(total_ms, status = 'ok')) AS ok
           FROM ${db}.inference_enriched GROUP BY chip)
     ORDER BY chip ${PRETTY}`,
    {},
    'PrettyCompactMonoBlock',
  );
  const statuses = Object.fromEntries(
    (await warehouse.query<{ status: string; c: number }>(`SELECT status, count() AS c FROM ${db}.inference_enriched GROUP BY status ORDER BY status`)).map((r) => [r.status, Number(r.c)]),
  );
  return { tables: tables as unknown as TableCounts, matchRate: Number(m?.rate ?? 0), strongest, perChip, statuses };
}
