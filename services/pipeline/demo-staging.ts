/**
 * A demo run built beside the previous one: `edgelat demo` fills a staging database (`<database>__demo_next`) and
 * exchanges its tables with the database's only once the run is complete. A demo cut short (Ctrl-C, kill -9, a full
 * disk) had already dropped the previous complete run, and the model registry with it (a trial); now it leaves the
 * database as it was, and the next demo drops the staging database it left.
 */
import { createHash } from 'node:crypto';
import type { Warehouse } from '../warehouse/types.ts';
import { managedObjects } from '../warehouse/migrations.ts';
import { recordDemoRun } from './demo-runs.ts';

/** What `stagingDatabase` appends to the database's name. */
export const STAGING_SUFFIX = '__demo_next';

/** Longest database name edgelat takes (config.ts, EDGELAT_DATABASE). */
const MAX_DATABASE_CHARS = 63;

/**
 * The staging database of a demo run on `database`: `<database>__demo_next`; where that is longer than a database name
 * may be (63), the name cut and 8 hex digits of its SHA-256 put before the suffix, so that two long names keep two
 * staging databases (a re-test: a 53-character EDGELAT_DATABASE, valid everywhere else, failed the demo).
 */
export function stagingDatabase(database: string): string {
  const plain = `${database}${STAGING_SUFFIX}`;
  if (plain.length <= MAX_DATABASE_CHARS) return plain;
  const tag = createHash('sha256').update(database).digest('hex').slice(0, 8);
  return `${database.slice(0, MAX_DATABASE_CHARS - STAGING_SUFFIX.length - tag.length - 1)}_${tag}${STAGING_SUFFIX}`;
}

/** Comment a demo gives its staging database: only a database so marked is dropped as one. */
export const STAGING_COMMENT = 'edgelat demo staging: dropped by the next demo'; // no quote or backslash: written as a literal

/** A database of the staging name that no demo made (no {@link STAGING_COMMENT}): the demo drops nothing of it. */
export class StagingNameTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StagingNameTakenError';
  }
}

/** Tables of `database` by name, with their engines. */
async function tablesOf(w: Warehouse, database: string): Promise<Map<string, string>> {
  const rows = await w.query<{ name: string; engine: string }>('SELECT name, engine FROM system.tables WHERE database = {db:String}', { db: database });
  return new Map(rows.map((r) => [r.name, r.engine]));
}

/** Columns of a table that an INSERT can write (not MATERIALIZED, ALIAS or EPHEMERAL). */
async function writableColumns(w: Warehouse, database: string, table: string): Promise<string[]> {
  const rows = await w.query<{ name: string }>(
    `SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL') ORDER BY position`,
    { db: database, t: table });
  return rows.map((r) => r.name);
}

/**
 * Start a demo's staging database afresh: the one an interrupted demo left is dropped (only a database marked with
 * {@link STAGING_COMMENT}), the database is created with that mark, the migrations create its tables, and each table of `keep` that `target` holds is copied in (the imported benchmarks and
 * chips the demo keeps, the model registry with `--no-models`), by the columns both have (a `target` of an older
 * edgelat may lack newer ones).
 * @param target   The database the run will replace (read only here).
 * @param staging  The same warehouse on {@link stagingDatabase} of target's database.
 * @param keep     Names of the tables to copy.
 * @throws {StagingNameTakenError} when a database of the staging name exists without the mark (nothing dropped).
 * @throws {WarehouseError} from the warehouse.
 */
export async function prepareStaging(target: Warehouse, staging: Warehouse, keep: Iterable<string>): Promise<void> {
  const [found] = await staging.query<{ comment: string }>('SELECT comment FROM system.databases WHERE name = {db:String}', { db: staging.database });
  if (found !== undefined && found.comment !== STAGING_COMMENT) {
    throw new StagingNameTakenError(`database ${staging.database} exists and is not a demo's staging database (no comment ${JSON.stringify(STAGING_COMMENT)}): the demo builds its run there and would drop it; rename that database, or run the demo with another EDGELAT_DATABASE`);
  }
  await staging.exec(`DROP DATABASE IF EXISTS ${staging.database} SYNC`);
  await staging.exec(`CREATE DATABASE ${staging.database} COMMENT '${STAGING_COMMENT}'`);
  await staging.migrate();
  const held = await tablesOf(target, target.database);
  for (const name of keep) {
    if (!held.has(name)) continue;
    const theirs = new Set(await writableColumns(target, target.database, name));
    const columns = (await writableColumns(staging, staging.database, name)).filter((c) => theirs.has(c)).map((c) => `\`${c}\``).join(', ');
    await staging.exec(`INSERT INTO ${staging.database}.${name} (${columns}) SELECT ${columns} FROM ${target.database}.${name}`);
  }
}

/**
 * Make the staging database's run the target's: each table the migrations create, and `schema_migrations`, is
 * exchanged with target's (EXCHANGE TABLES; renamed into it where target has none), then `target.migrate()` adds what
 * target still lacks (its materialized view on a first run: the views of target, which name their tables, stay), and
 * the staging database, now holding the previous run, is dropped. Tables of target no migration creates (yours,
 * `demo_runs`) are left as they are. The run is recorded in target's `demo_runs` as started before the first exchange
 * and as finished after the last (with its inference events), so a stop between them is a partial run to the read
 * commands.
 * @param target   The database to replace the run of.
 * @param staging  Its staging database, holding the complete run.
 * @throws {WarehouseError} from the warehouse.
 */
export async function publishStaging(target: Warehouse, staging: Warehouse): Promise<void> {
  const db = target.database;
  await target.exec(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await recordDemoRun(target, null);
  const built = await tablesOf(staging, staging.database);
  const held = await tablesOf(target, db);
  const tables = [...managedObjects(db), 'schema_migrations'].filter((name) => built.has(name) && !/View$/.test(built.get(name)!));
  for (const name of tables) {
    if (held.has(name) && !/View$/.test(held.get(name)!)) await target.exec(`EXCHANGE TABLES ${db}.${name} AND ${staging.database}.${name}`);
    else {
      if (held.has(name)) await target.exec(`DROP VIEW IF EXISTS ${db}.${name} SYNC`);
      await target.exec(`RENAME TABLE ${staging.database}.${name} TO ${db}.${name}`);
    }
  }
  await target.migrate();
  await staging.exec(`DROP DATABASE IF EXISTS ${staging.database} SYNC`);
  const [{ events } = { events: 0 }] = await target.query<{ events: number }>(`SELECT count() AS events FROM ${db}.inference_events`);
  await recordDemoRun(target, Number(events));
}
