import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChdbWarehouse } from '../../services/warehouse/chdb.ts';

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
