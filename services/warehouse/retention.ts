/**
 * Retention of the time-partitioned tables (DESIGN §4 "TTL configurable"): with `EDGELAT_RETENTION_DAYS` set, rows
 * older than that many days by their event time are deleted by ClickHouse's TTL (at merges, part by part); unset,
 * rows are kept for ever and a TTL set before is removed. Applied by `edgelat migrate` and `edgelat pipeline run`,
 * not by the demo, whose telemetry is of 2024.
 */
import type { Warehouse } from './types.ts';

/** The tables a retention applies to, and the time column their rows age by. */
export const RETENTION_TABLES: readonly (readonly [table: string, column: string])[] = [
  ['inference_events', 'ts'], ['load_samples', 'ts'], ['inference_enriched', 'ts'], ['late_events', 'ts'], ['dead_letters', 'ts'],
  ['load_latency_correlations', 'window_end'], ['latency_1m', 'minute'], ['shadow_results', 'ts'], ['shadow_verdicts', 'window_end'],
  // The simulator's truth of each request goes with the telemetry it describes (a trial: it outlived it).
  ['sim_ground_truth', 'ts'],
];

/**
 * What {@link applyRetention} changed: a table whose TTL was set or removed, and with a TTL set, its rows already
 * past it when it was set (ClickHouse drops them at the next merges, within seconds to minutes, not gradually).
 */
export interface RetentionChange { table: string; ttl: string | null; expired?: number }

/**
 * Set (or remove) the TTL of {@link RETENTION_TABLES} in the warehouse's database: `toDateTime(column) +
 * toIntervalDay(days)`. A table whose TTL is that already is left alone (a `MODIFY TTL` rewrites the table's parts), as
 * is a table the database lacks.
 * @param days  Days to keep, an integer 1..36500, or null to keep every row.
 * @returns     The tables changed, in {@link RETENTION_TABLES} order.
 * @throws {RangeError} on days that are not an integer 1..36500; warehouse errors as they come.
 */
export async function applyRetention(warehouse: Pick<Warehouse, 'database' | 'query' | 'exec'>, days: number | null): Promise<RetentionChange[]> {
  if (days !== null && !(Number.isInteger(days) && days >= 1 && days <= 36_500)) throw new RangeError(`days: expected an integer 1..36500 or null, got ${JSON.stringify(days)}`);
  const db = warehouse.database;
  const rows = await warehouse.query<{ name: string; engine_full: string }>(
    'SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND has({names:Array(String)}, name)',
    { db, names: RETENTION_TABLES.map(([t]) => t) },
  );
  const engines = new Map(rows.map((r) => [r.name, r.engine_full]));
  const changes: RetentionChange[] = [];
  for (const [table, column] of RETENTION_TABLES) {
    const engine = engines.get(table);
    if (engine === undefined) continue;
    const current = /\bTTL\s+(.+?)(?:\s+SETTINGS\b|$)/.exec(engine)?.[1]?.trim() ?? null;
    if (days === null) {
      if (current === null) continue;
      await warehouse.exec(`ALTER TABLE ${db}.${table} REMOVE TTL`);
      changes.push({ table, ttl: null });
      continue;
    }
    const ttl = `toDateTime(${column}) + toIntervalDay(${days})`;
    if (current === ttl) continue;
    const [expired] = await warehouse.query<{ n: number | string }>(`SELECT count() AS n FROM ${db}.${table} WHERE ${ttl} < now()`);
    await warehouse.exec(`ALTER TABLE ${db}.${table} MODIFY TTL ${ttl}`);
    changes.push({ table, ttl, expired: Number(expired?.n ?? 0) });
  }
  return changes;
}

/**
 * One line saying what {@link applyRetention} changed, e.g. `retention: rows older than 30 days by event time are
 * deleted from 10 tables (…) (EDGELAT_RETENTION_DAYS; …); 71,582 rows are past it already and go at the next merges,
 * within minutes: inference_enriched 71,582, …`.
 * @param changes  A non-empty result of {@link applyRetention}.
 */
export function retentionLine(changes: readonly RetentionChange[]): string {
  const days = changes.map((c) => /toIntervalDay\((\d+)\)/.exec(c.ttl ?? '')?.[1]).find((d) => d !== undefined);
  const tables = `${changes.length} table${changes.length === 1 ? '' : 's'} (${changes.map((c) => c.table).join(', ')})`;
  if (days === undefined) return `retention: EDGELAT_RETENTION_DAYS is unset: the TTL is removed from ${tables}; their rows are kept for ever`;
  const expired = changes.filter((c) => (c.expired ?? 0) > 0);
  const total = expired.reduce((n, c) => n + c.expired!, 0);
  return `retention: rows older than ${days} days by event time are deleted from ${tables} (EDGELAT_RETENTION_DAYS; ClickHouse drops them at merges)`
    + (total === 0 ? '' : `; ${total.toLocaleString('en-US')} row${total === 1 ? ' is' : 's are'} past it already and go${total === 1 ? 'es' : ''} at the next merges, within minutes: ${expired.map((c) => `${c.table} ${c.expired!.toLocaleString('en-US')}`).join(', ')}`);
}
