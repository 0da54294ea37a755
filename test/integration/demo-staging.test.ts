/**
 * A demo run built in a staging database replaces the previous run only when complete (services/pipeline/demo-staging.ts).
 * A trial: a demo cut short had already dropped the previous complete run, and the model registry with it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config.ts';
import { assertReplaceable, DEMO_RUNS_TABLE, DemoRefusedError, KEPT_BY_DEMO, runDemo } from '../../services/pipeline/demo.ts';
import { prepareStaging, publishStaging, STAGING_COMMENT, StagingNameTakenError, stagingDatabase } from '../../services/pipeline/demo-staging.ts';
import { partialDemoWarning } from '../../services/pipeline/demo-runs.ts';
import { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { managedObjects } from '../../services/warehouse/migrations.ts';
import { msToDateTime64 } from '../../services/warehouse/types.ts';
import { makeEnriched, makeInference } from '../helpers/factories.ts';
import { createTestDatabase, testDataDir } from '../helpers/warehouse.ts';

describe('demo staging', () => {
  let target: ChdbWarehouse;
  let staging: ChdbWarehouse;
  const config = loadConfig({});
  const count = async (w: ChdbWarehouse, table: string): Promise<number> => Number((await w.query<{ n: string }>(`SELECT count() AS n FROM ${w.database}.${table}`))[0]!.n);
  const databases = async (): Promise<string[]> => (await target.query<{ name: string }>('SELECT name FROM system.databases')).map((d) => d.name);

  beforeAll(async () => {
    target = await createTestDatabase('demo_staging');
    staging = new ChdbWarehouse({ dataDir: testDataDir(), database: stagingDatabase(target.database) });
  });
  afterAll(async () => {
    await staging?.close();
    await target?.close();
  });

  it('names the staging database after the target', () => {
    expect(stagingDatabase('edgelat')).toBe('edgelat__demo_next');
    // A long name (63 characters at most, as EDGELAT_DATABASE takes): cut, with 8 hex digits of its SHA-256.
    const long = 'z'.repeat(53);
    expect(stagingDatabase(long)).toBe(`${'z'.repeat(43)}_${createHash('sha256').update(long).digest('hex').slice(0, 8)}__demo_next`);
    expect(stagingDatabase(long)).toHaveLength(63);
    expect(stagingDatabase('z'.repeat(52))).toBe(`${'z'.repeat(52)}__demo_next`);
    expect(stagingDatabase('y'.repeat(63))).not.toBe(stagingDatabase(`${'y'.repeat(62)}x`));
  });

  it('a first run into a database that does not exist yet: the tables are renamed in, the materialized view made, the staging database dropped', async () => {
    const fresh = new ChdbWarehouse({ dataDir: testDataDir(), database: `${target.database}_new` });
    const next = new ChdbWarehouse({ dataDir: testDataDir(), database: stagingDatabase(fresh.database) });
    try {
      await prepareStaging(fresh, next, KEPT_BY_DEMO);
      await runDemo({ warehouse: next, config, sim: { seed: 3, servers: 1, durationMs: 60_000 }, badRecords: 0 });
      const built = await count(next, 'inference_events');
      expect(built).toBeGreaterThan(0);
      expect(await databases()).not.toContain(fresh.database);
      await publishStaging(fresh, next);
      expect(await count(fresh, 'inference_events')).toBe(built);
      const dbs = await databases();
      expect([dbs.includes(fresh.database), dbs.includes(next.database)]).toEqual([true, false]);
      // Every object the migrations create is there, the view too; it feeds the rollup from the new tables.
      const objects = (await fresh.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String}', { db: fresh.database })).map((t) => t.name);
      expect(managedObjects(fresh.database).filter((n) => !objects.includes(n))).toEqual([]);
      const rollup = await count(fresh, 'latency_1m');
      const e = makeEnriched({ edge_server_id: 'edge-77', ts: Date.UTC(2024, 5, 1, 11) });
      await fresh.insert(`${fresh.database}.inference_enriched`, [{ ...e, ts: msToDateTime64(e.ts) }]);
      expect(await count(fresh, 'latency_1m')).toBe(rollup + 1);
      expect(await partialDemoWarning(fresh)).toBeNull();
    } finally {
      await fresh.exec(`DROP DATABASE IF EXISTS ${fresh.database} SYNC`);
      await next.close();
      await fresh.close();
    }
  });

  it('the previous run stays whole until the new one is published; kept tables are copied; then every table is the new run\'s', async () => {
    await runDemo({ warehouse: target, config, sim: { seed: 3, servers: 1, durationMs: 60_000 }, badRecords: 0 });
    const before = await count(target, 'inference_events');
    const truthBefore = await count(target, 'sim_ground_truth');
    // Imported data the demo keeps (a chip of the user's catalogue), and a table of the user's own.
    await target.exec(`INSERT INTO ${target.database}.chips (chip, vendor, names) VALUES ('my-npu', 'me', ['My NPU'])`);
    await target.exec(`CREATE TABLE ${target.database}.mine (x UInt8) ENGINE = MergeTree ORDER BY x`);
    await target.exec(`INSERT INTO ${target.database}.mine VALUES (7)`);
    // An interrupted demo left a staging database: prepared afresh.
    await staging.exec(`CREATE DATABASE IF NOT EXISTS ${staging.database} COMMENT '${STAGING_COMMENT}'`);
    await staging.exec(`CREATE TABLE ${staging.database}.leftover (x UInt8) ENGINE = MergeTree ORDER BY x`);
    await prepareStaging(target, staging, KEPT_BY_DEMO);
    expect((await staging.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String} AND name = \'leftover\'', { db: staging.database }))).toEqual([]);
    expect((await staging.query<{ chip: string }>(`SELECT chip FROM ${staging.database}.chips WHERE chip = 'my-npu'`)).map((r) => r.chip)).toEqual(['my-npu']);
    await runDemo({ warehouse: staging, config, sim: { seed: 4, servers: 2, durationMs: 60_000 }, badRecords: 0 });
    const built = await count(staging, 'inference_events');
    expect(built).not.toBe(before);
    // Cut short here (before publishing): the previous run is whole, and no read command warns.
    expect([await count(target, 'inference_events'), await count(target, 'sim_ground_truth'), await partialDemoWarning(target)]).toEqual([before, truthBefore, null]);
    await publishStaging(target, staging);
    expect(await count(target, 'inference_events')).toBe(built);
    expect(await count(target, 'sim_ground_truth')).toBeGreaterThan(truthBefore);
    expect((await target.query<{ chip: string }>(`SELECT chip FROM ${target.database}.chips WHERE chip = 'my-npu'`)).map((r) => r.chip)).toEqual(['my-npu']);
    expect((await target.query<{ x: number }>(`SELECT x FROM ${target.database}.mine`)).map((r) => Number(r.x))).toEqual([7]);
    expect(await databases()).not.toContain(staging.database);
    // The target's materialized view (it names its tables) feeds the new rollup table.
    const rollup = await count(target, 'latency_1m');
    const e = makeEnriched({ edge_server_id: 'edge-77', ts: Date.UTC(2024, 5, 1, 11) });
    await target.insert(`${target.database}.inference_enriched`, [{ ...e, ts: msToDateTime64(e.ts) }]);
    expect(await count(target, 'latency_1m')).toBe(rollup + 1);
    // demo_runs: the first run (started, finished), then this one recorded in the target as started and finished.
    const runs = await target.query<{ e: string | null }>(`SELECT inference_events AS e FROM ${target.database}.${DEMO_RUNS_TABLE} ORDER BY at, e IS NOT NULL`);
    expect(runs.map((r) => (r.e === null ? null : Number(r.e)))).toEqual([null, before, null, built]);
  });

  it('drops nothing of a database of the staging name that no demo made (a user\'s): refused, naming it', async () => {
    const mine = new ChdbWarehouse({ dataDir: testDataDir(), database: `${target.database}_mine` });
    const theirs = new ChdbWarehouse({ dataDir: testDataDir(), database: stagingDatabase(mine.database) });
    try {
      await theirs.exec(`CREATE DATABASE ${theirs.database}`);
      await theirs.exec(`CREATE TABLE ${theirs.database}.precious (x UInt8) ENGINE = MergeTree ORDER BY x`);
      await theirs.exec(`INSERT INTO ${theirs.database}.precious VALUES (1)`);
      await expect(prepareStaging(mine, theirs, KEPT_BY_DEMO)).rejects.toThrow(StagingNameTakenError);
      await expect(prepareStaging(mine, theirs, KEPT_BY_DEMO)).rejects.toThrow(`database ${theirs.database} exists and is not a demo's staging database (no comment ${JSON.stringify(STAGING_COMMENT)}): the demo builds its run there and would drop it; rename that database, or run the demo with another EDGELAT_DATABASE`);
      expect(await count(theirs, 'precious')).toBe(1);
    } finally {
      await theirs.exec(`DROP DATABASE IF EXISTS ${theirs.database} SYNC`);
      await theirs.close();
      await mine.close();
    }
  });

  it('refuses, reading the database it replaces, where that holds events no demo wrote', async () => {
    const e = makeInference({ edge_server_id: 'edge-99', event_id: 'from-a-pipeline', ts: Date.UTC(2024, 5, 1, 10) });
    await target.insert(`${target.database}.inference_events`, [{ ...e, ts: msToDateTime64(e.ts) }]);
    await prepareStaging(target, staging, KEPT_BY_DEMO);
    // The CLI asks this of the database the run replaces before it makes the staging database (demo.ts).
    const refused = assertReplaceable(target, false);
    await expect(refused).rejects.toThrow(DemoRefusedError);
    await expect(refused).rejects.toThrow(new RegExp(`^database ${target.database} holds \\d+ inference events, not the \\d+ the last demo left`));
  });
});
