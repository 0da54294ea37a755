import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import type { QueryParam } from '../../services/warehouse/types.ts';

/** One chdb data folder per test process (chdb allows one engine per process). */
const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-test-'));

/** A migrated warehouse on a fresh, randomly named database (clickhouse-js `createRandomDatabase`). */
export async function createTestDatabase(prefix = 't'): Promise<ChdbWarehouse> {
  const database = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  const warehouse = new ChdbWarehouse({ dataDir, database });
  await warehouse.migrate();
  return warehouse;
}

/** The test process's chdb data folder (for a second connection on it, e.g. a read-only one). */
export const testDataDir = (): string => dataDir;

/**
 * Insert again, into each of `tables`, its rows matching `where`, with the columns of `changed` set to
 * the given SQL expressions (e.g. a new event_id, a shifted ts). Columns are listed from system.columns:
 * chdb 26 inserts nothing from `INSERT … SELECT * REPLACE (…)`, without an error.
 */
export async function copyRows(w: ChdbWarehouse, tables: string[], where: string, params: Record<string, QueryParam> = {}, changed: Record<string, string> = {}): Promise<void> {
  for (const table of tables) {
    const cols = (await w.query<{ name: string }>('SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String} ORDER BY position', { d: w.database, t: table })).map((c) => c.name);
    await w.exec(`INSERT INTO ${w.database}.${table} (${cols.join(', ')}) SELECT ${cols.map((c) => changed[c] ?? c).join(', ')} FROM ${w.database}.${table} WHERE ${where}`, params);
  }
}
