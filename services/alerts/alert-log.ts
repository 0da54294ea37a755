/**
 * Alert state changes read back from the warehouse's correlation table
 * (sql/reports/alert_changes.sql), for `alerts tail` and the demo summary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPORTS_DIR } from '../reports/report-queries.ts';
import { msToDateTime64, type Warehouse } from '../warehouse/types.ts';
import { changeKey, type AlertChange } from './alert-change.ts';

/** Which changes to read. */
export interface AlertLogFilter {
  /** Only windows ending at or after this time, epoch ms. */
  sinceMs?: number;
  /** Only changes into `firing`. */
  firingOnly?: boolean;
  /** At most this many (0: all). */
  limit?: number;
}

/**
 * The changes in window-end order, as the webhook would receive them (same keys).
 * @throws {WarehouseError} from the warehouse.
 */
export async function readAlertChanges(warehouse: Warehouse, filter: AlertLogFilter = {}): Promise<AlertChange[]> {
  const sql = readFileSync(join(REPORTS_DIR, 'alert_changes.sql'), 'utf8').replaceAll('${database}', warehouse.database);
  const rows = await warehouse.query<Omit<AlertChange, 'idempotency_key' | 'kind'>>(sql, {
    since: msToDateTime64(filter.sinceMs ?? 0), firing_only: filter.firingOnly ? 1 : 0, limit: filter.limit ?? 0,
  });
  const ms = (t: string): number => Date.parse(`${t.replace(' ', 'T')}Z`);
  return rows.map((r) => ({
    idempotency_key: changeKey({ ...r, window_end: ms(r.window_end) }, r.previous_state, r.state),
    kind: 'edgelat.alert-state-change.v1',
    ...r,
    window_start: new Date(ms(r.window_start)).toISOString(),
    window_end: new Date(ms(r.window_end)).toISOString(),
  }));
}
