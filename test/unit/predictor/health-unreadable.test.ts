/**
 * /healthz where the warehouse cannot read its own files (services/predictor/backend.ts `health`): ClickHouse lists no
 * database it cannot read, and "run edgelat migrate" was the wrong advice (a re-test); a read of a table tells the two apart.
 */
import { describe, expect, it } from 'vitest';
import { WarehouseError } from '../../../errors.ts';
import { createBackend } from '../../../services/predictor/backend.ts';
import type { ModelRegistry } from '../../../services/model/registry.ts';
import type { Warehouse } from '../../../services/warehouse/types.ts';
import { UNREADABLE_FILES } from '../../../services/warehouse/missing-object.ts';

/** A warehouse that lists no database `edgelat`, and answers a read of its tables with `error`. */
function warehouseFailing(error: Error): Warehouse {
  return {
    database: 'edgelat',
    query: async (sql: string) => {
      if (/system\.databases/.test(sql)) return [{ databases: 0, recorded: 0 }];
      throw error;
    },
  } as unknown as Warehouse;
}

describe('health of a warehouse that lists no database', () => {
  it.each([
    ['cannot read its files', new WarehouseError('Code: 76. DB::Exception: Cannot open file /d/chdb/store/abc/data.bin, errno: 13, strerror: Permission denied. (CANNOT_OPEN_FILE)', 76), UNREADABLE_FILES],
    ['has none', new WarehouseError('Code: 81. DB::Exception: Database edgelat does not exist. (UNKNOWN_DATABASE)', 81), 'the warehouse has no database edgelat: run `edgelat migrate` (or the demo, or the pipeline) first'],
  ])('%s: says so', async (_what, error, reason) => {
    const backend = createBackend({ warehouse: warehouseFailing(error), registry: {} as ModelRegistry });
    try {
      expect(await backend.health()).toEqual({ ok: false, details: { warehouse: 'edgelat', reason } });
    } finally {
      await backend.close();
    }
  });
});
