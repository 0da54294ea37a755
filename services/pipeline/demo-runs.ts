/**
 * The demo's record of its runs (table `demo_runs`, not one the migrations manage: the demo does not drop it): a row
 * when a run starts (`inference_events` null) and one when it finishes (the count of inference events it left). The
 * demo reads it to tell its own tables from a pipeline's; the read commands, to say a run was cut short.
 */
import type { Warehouse } from '../warehouse/types.ts';
import { msToDateTime64 } from '../warehouse/types.ts';

/** Table of the demo's runs. */
export const DEMO_RUNS_TABLE = 'demo_runs';

/** The newest demo run: when it was recorded (`'YYYY-MM-DD hh:mm:ss.sss'`, UTC) and the inference events it left (null: started, not finished). */
export interface DemoRun { at: string; events: number | null }

/** The newest row of {@link DEMO_RUNS_TABLE} (a finished row before a started one of the same ms), null without one or without the table. */
export async function lastDemoRun(warehouse: Pick<Warehouse, 'database' | 'query'>): Promise<DemoRun | null> {
  const db = warehouse.database;
  const [table] = await warehouse.query<{ n: number }>('SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}', { db, t: DEMO_RUNS_TABLE });
  if (!table || Number(table.n) === 0) return null;
  const [last] = await warehouse.query<{ at: string; events: number | null }>(`SELECT toString(at) AS at, inference_events AS events FROM ${db}.${DEMO_RUNS_TABLE} ORDER BY at DESC, inference_events IS NULL LIMIT 1`);
  return last === undefined ? null : { at: last.at, events: last.events === null ? null : Number(last.events) };
}

/** Record a demo run in {@link DEMO_RUNS_TABLE}: started (`events` null) or finished with the count it left. */
export async function recordDemoRun(warehouse: Warehouse, events: number | null): Promise<void> {
  const db = warehouse.database;
  await warehouse.exec(`CREATE TABLE IF NOT EXISTS ${db}.${DEMO_RUNS_TABLE} (at DateTime64(3, 'UTC'), inference_events Nullable(UInt64)) ENGINE = MergeTree ORDER BY at`);
  await warehouse.insert(`${db}.${DEMO_RUNS_TABLE}`, [{ at: msToDateTime64(Date.now()), inference_events: events }]);
}

/**
 * Inference events that a demo cut short did not write: those not in `sim_ground_truth` (by event id, server, model,
 * chip and time), which the demo fills with every event of its run before its pipeline writes any (the demo drops both
 * tables when it starts). Not by event id alone: `edgelat simulate` names its events as the demo does (`ev-<seed>-<i>`),
 * and a re-test's pipeline run of another fleet, with the demo's seed, was taken for the demo's and erased.
 * A trial: after a Ctrl-C'd demo, a pipeline's 592 events in the same folder were taken for the demo's, and the next
 * demo erased them without `--replace`.
 * @returns The count; every event when the ground truth table is missing.
 */
export async function eventsAfterPartialDemo(warehouse: Pick<Warehouse, 'database' | 'query'>): Promise<number> {
  const db = warehouse.database;
  const [truth] = await warehouse.query<{ n: number }>('SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = \'sim_ground_truth\'', { db });
  const sql = Number(truth?.n ?? 0) > 0
    ? `SELECT count() AS n FROM ${db}.inference_events WHERE (event_id, edge_server_id, model_id, chip, ts) NOT IN (SELECT event_id, edge_server_id, model_id, chip, ts FROM ${db}.sim_ground_truth)`
    : `SELECT count() AS n FROM ${db}.inference_events`;
  const [{ n } = { n: 0 }] = await warehouse.query<{ n: number }>(sql);
  return Number(n);
}

/**
 * The warning a read command prints where the newest demo run did not finish (interrupted: its tables hold part of a
 * run, which a report or `alerts tail` would present as all the data); null otherwise. A trial: after a demo cut
 * short by Ctrl-C, `report load-latency` covered 4,096 of 9,987 events as "all data", with exit 0.
 */
export async function partialDemoWarning(warehouse: Pick<Warehouse, 'database' | 'query'>): Promise<string | null> {
  const last = await lastDemoRun(warehouse);
  if (last === null || last.events !== null) return null;
  // Events a pipeline wrote since: the tables are not the demo's to replace (the demo refuses; no advice to run it).
  if (await eventsAfterPartialDemo(warehouse) > 0) return null;
  return `warning: the last demo run into database ${JSON.stringify(warehouse.database)} (started ${last.at} UTC) did not finish: its tables hold part of that run, and answers from them cover only that part; run the demo again (npm start) to replace it`;
}
