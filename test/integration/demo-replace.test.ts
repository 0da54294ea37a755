/**
 * The demo replaces its own tables, not data it did not write (a trial: a Kafka pipeline's 2,037 inference events in
 * the same ./.edgelat were erased by `npm start` without a word).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config.ts';
import { DEMO_RUNS_TABLE, DemoRefusedError, runDemo } from '../../services/pipeline/demo.ts';
import { partialDemoWarning, recordDemoRun } from '../../services/pipeline/demo-runs.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { makeInference } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';
import { msToDateTime64 } from '../../services/warehouse/types.ts';

describe('demo on a database that holds data', () => {
  let warehouse: ChdbWarehouse;
  beforeAll(async () => {
    warehouse = await createTestDatabase('demo_replace');
  });
  afterAll(async () => warehouse?.close());

  const config = loadConfig({});
  const sim = { seed: 3, servers: 1, durationMs: 60_000 };
  const events = async () => Number((await warehouse.query<{ n: number }>(`SELECT count() AS n FROM ${warehouse.database}.inference_events`))[0]!.n);

  it('replaces its own run, refuses events no demo wrote (dropping nothing), and replaces them with replace', async () => {
    await runDemo({ warehouse, config, sim, badRecords: 0 });
    const first = await events();
    expect(first).toBeGreaterThan(0);
    // Again over its own run: replaced, the same seed gives the same count.
    await runDemo({ warehouse, config, sim, badRecords: 0 });
    expect(await events()).toBe(first);
    // A pipeline writes one more event into the same database: the demo would erase it, so it refuses.
    const e = makeInference({ edge_server_id: 'edge-99', event_id: 'from-a-pipeline', ts: Date.UTC(2024, 5, 1, 10) });
    await warehouse.insert(`${warehouse.database}.inference_events`, [{ ...e, ts: msToDateTime64(e.ts) }]);
    const refused = runDemo({ warehouse, config, sim, badRecords: 0 });
    await expect(refused).rejects.toThrow(DemoRefusedError);
    await expect(refused).rejects.toThrow(`database ${warehouse.database} holds ${first + 1} inference events, not the ${first} the last demo left (a pipeline's run, or rows written by hand): the demo replaces every table it manages and would erase them; run the demo in another folder (EDGELAT_DATA_DIR) or database (EDGELAT_DATABASE), or give --replace to replace them`);
    expect(await events()).toBe(first + 1);
    // replace: the demo's run alone again, recorded as finished with its count.
    await runDemo({ warehouse, config, sim, badRecords: 0, replace: true });
    expect(await events()).toBe(first);
    const runs = await warehouse.query<{ e: number | null }>(`SELECT inference_events AS e FROM ${warehouse.database}.${DEMO_RUNS_TABLE} ORDER BY at, e IS NOT NULL`);
    expect(runs.map((r) => (r.e === null ? null : Number(r.e)))).toEqual([null, first, null, first, null, first]);
    expect(await partialDemoWarning(warehouse)).toBeNull();
  });

  it('after a demo cut short, events no demo wrote are still refused, and the warning gives way to the refusal (a trial: a pipeline\'s 592 events erased)', async () => {
    // The first test left a finished demo; cut the next one short (its started row is the newest) after it wrote.
    await runDemo({ warehouse, config, sim, badRecords: 0 });
    const own = await events();
    await recordDemoRun(warehouse, null);
    // Its own events only: the demo replaces them, and the read commands warn.
    expect(await partialDemoWarning(warehouse)).toMatch(/^warning: the last demo run into database .* did not finish/);
    // A pipeline writes into the same database afterwards: refused, naming its events, and no advice to run the demo.
    const e = makeInference({ edge_server_id: 'edge-98', event_id: 'after-the-cut', ts: Date.UTC(2024, 5, 1, 10) });
    await warehouse.insert(`${warehouse.database}.inference_events`, [{ ...e, ts: msToDateTime64(e.ts) }]);
    await expect(runDemo({ warehouse, config, sim, badRecords: 0 })).rejects.toThrow(`database ${warehouse.database} holds 1 inference event no demo wrote (beside ${own.toLocaleString('en-US')} of a demo)`);
    expect(await events()).toBe(own + 1);
    expect(await partialDemoWarning(warehouse)).toBeNull();
    await runDemo({ warehouse, config, sim, badRecords: 0, replace: true });
    expect(await events()).toBe(own);
    // finishLater (the CLI trains the models after): a partial run until finish() (a trial: a demo cut short while
    // training was recorded finished, and nothing warned).
    const later = await runDemo({ warehouse, config, sim, badRecords: 0, finishLater: true });
    expect(await partialDemoWarning(warehouse)).toMatch(/did not finish/);
    await later.finish();
    expect(await partialDemoWarning(warehouse)).toBeNull();
  });

  it('replaces a demo of an edgelat from before demo_runs (a trial: the upgrade\'s npm start refused it), not a pipeline\'s events beside it', async () => {
    await runDemo({ warehouse, config, sim, badRecords: 0 });
    const own = await events();
    await warehouse.exec(`DROP TABLE ${warehouse.database}.${DEMO_RUNS_TABLE}`); // as the older version left it
    await runDemo({ warehouse, config, sim, badRecords: 0 });
    expect(await events()).toBe(own);
    await warehouse.exec(`DROP TABLE ${warehouse.database}.${DEMO_RUNS_TABLE}`);
    const e = makeInference({ edge_server_id: 'edge-97', event_id: 'beside-an-old-demo', ts: Date.UTC(2024, 5, 1, 10) });
    await warehouse.insert(`${warehouse.database}.inference_events`, [{ ...e, ts: msToDateTime64(e.ts) }]);
    await expect(runDemo({ warehouse, config, sim, badRecords: 0 })).rejects.toThrow(`database ${warehouse.database} holds 1 inference event no demo wrote (beside ${own.toLocaleString('en-US')} of a demo)`);
    expect(await events()).toBe(own + 1);
    await runDemo({ warehouse, config, sim, badRecords: 0, replace: true });
    // An event of another fleet under one of the demo's event ids (`edgelat simulate` names them as the demo does):
    // not the demo's (a re-test: a pipeline's 34,486 events of the demo's seed were erased without --replace).
    const [taken] = await warehouse.query<{ event_id: string }>(`SELECT event_id FROM ${warehouse.database}.inference_events LIMIT 1`);
    await warehouse.exec(`DROP TABLE ${warehouse.database}.${DEMO_RUNS_TABLE}`);
    const twin = makeInference({ edge_server_id: 'edge-96', event_id: taken!.event_id, ts: Date.UTC(2024, 5, 1, 10) });
    await warehouse.insert(`${warehouse.database}.inference_events`, [{ ...twin, ts: msToDateTime64(twin.ts) }]);
    await expect(runDemo({ warehouse, config, sim, badRecords: 0 })).rejects.toThrow(`database ${warehouse.database} holds 1 inference event no demo wrote (beside ${own.toLocaleString('en-US')} of a demo)`);
    await runDemo({ warehouse, config, sim, badRecords: 0, replace: true });
  });

  it('a demo run that did not finish is named by the read commands\' warning, until a run finishes', async () => {
    const own = await createTestDatabase('demo_partial');
    try {
      // No demo ever ran here (no table): nothing to say.
      expect(await partialDemoWarning(own)).toBeNull();
      // A run started and was cut short (Ctrl-C): its started row is the newest.
      await recordDemoRun(own, null);
      const [{ at }] = await own.query<{ at: string }>(`SELECT toString(max(at)) AS at FROM ${own.database}.${DEMO_RUNS_TABLE}`);
      expect(await partialDemoWarning(own)).toBe(`warning: the last demo run into database ${JSON.stringify(own.database)} (started ${at} UTC) did not finish: its tables hold part of that run, and answers from them cover only that part; run the demo again (npm start) to replace it`);
      await recordDemoRun(own, 12);
      expect(await partialDemoWarning(own)).toBeNull();
    } finally {
      await own.close();
    }
  });
});
