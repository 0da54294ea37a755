/**
 * The SQL endpoint's engine runs on a chdb connection of its own: a long
 * analyst query neither holds up the warehouse's queries (the predictor API of
 * `edgelat serve`) nor runs past its time limit.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbEngine } from '../../services/sql-endpoint/chdb-engine.ts';
import { ChdbWarehouse } from '../../services/warehouse/chdb.ts';

/** 4 rows of 0.5 s each: a query that runs 2 s (one row a block, so the limit is checked between rows). */
const SLOW = 'SELECT sum(sleepEachRow(0.5)) AS s FROM numbers(4) SETTINGS max_block_size = 1';

describe('ChdbEngine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-engine-'));
  let warehouse: ChdbWarehouse;
  beforeAll(async () => {
    warehouse = new ChdbWarehouse({ dataDir, database: 'eng' });
    await warehouse.migrate();
  });
  afterAll(async () => {
    await warehouse.close();
  });

  it('answers the warehouse while a long query runs on the endpoint, and both see the same tables', async () => {
    const engine = new ChdbEngine(dataDir);
    try {
      const done: string[] = [];
      const slow = engine.query(SLOW, {}, 'TSV').then((r) => { done.push('endpoint'); return Buffer.from(r.body).toString(); });
      await new Promise((r) => setTimeout(r, 200));
      const quick = warehouse.query<{ n: number }>('SELECT count() AS n FROM eng.latency_models').then((r) => { done.push('warehouse'); return r; });
      expect(await quick).toEqual([{ n: 0 }]);
      expect(await slow).toBe('0\n');
      // On one shared connection the warehouse's query waited for the slow one: this order was endpoint, warehouse.
      expect(done).toEqual(['warehouse', 'endpoint']);
      await engine.query("INSERT INTO eng.chips (chip) VALUES ('probe-chip')", {}, 'TSV');
      expect(await warehouse.query("SELECT chip FROM eng.chips WHERE chip = 'probe-chip'")).toEqual([{ chip: 'probe-chip' }]);
    } finally {
      await engine.close();
    }
    // Closing the engine's connection leaves the warehouse's open.
    expect(await warehouse.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('stops a query past its time limit with TIMEOUT_EXCEEDED (159)', async () => {
    const engine = new ChdbEngine(dataDir, { maxExecutionS: 1 });
    try {
      await expect(engine.query(SLOW, {}, 'TSV')).rejects.toMatchObject({ code: 159, message: expect.stringMatching(/Timeout exceeded: elapsed [\d.]+ ms, maximum: 1000 ms/) });
      expect(Buffer.from((await engine.query('SELECT 7', {}, 'TSV')).body).toString()).toBe('7\n');
    } finally {
      await engine.close();
    }
    expect(() => new ChdbEngine(dataDir, { maxExecutionS: -1 })).toThrow('ChdbEngine: maxExecutionS must be a number of seconds ≥ 0, got -1');
  });
});
