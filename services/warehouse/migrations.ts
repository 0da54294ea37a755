import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WarehouseError } from '../../errors.ts';
import type { Warehouse } from './types.ts';

/** One migration file. */
export interface Migration {
  /** File name, e.g. `0002_raw_topics.sql`. */
  name: string;
  /** NNNN prefix as a number. */
  version: number;
  /** Statements with `${database}` substituted, in file order. */
  statements: string[];
  /** sha256 of the file text (hex), recorded so an edited applied migration is detected. */
  checksum: string;
}

/** Folder of the migration files shipped with edgelat. */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../sql/migrations');

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Check a database name before it is spliced into DDL (identifiers cannot be bound parameters).
 * @throws {RangeError} naming the value if it is not a plain identifier.
 */
export function assertIdentifier(name: string, field = 'database'): string {
  if (!IDENTIFIER.test(name)) throw new RangeError(`${field}: ${JSON.stringify(name)} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)`);
  return name;
}

/**
 * Split SQL text into statements at `;` that ends a line, dropping `--` comment lines.
 * Our migration files keep one statement per `;`-terminated block.
 */
export function splitStatements(sql: string): string[] {
  const body = sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return body
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Load `NNNN_*.sql` files in version order, substituting `${database}`.
 * @throws {Error} if two files share a version number.
 */
export function loadMigrations(database: string, dir = MIGRATIONS_DIR): Migration[] {
  assertIdentifier(database);
  const files = readdirSync(dir).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const seen = new Set<number>();
  return files.map((name) => {
    const version = Number(name.slice(0, 4));
    if (seen.has(version)) throw new Error(`migration version ${version} is used twice (${name})`);
    seen.add(version);
    const text = readFileSync(join(dir, name), 'utf8');
    return {
      name,
      version,
      statements: splitStatements(text.replaceAll('${database}', database)),
      checksum: createHash('sha256').update(text).digest('hex'),
    };
  });
}

/**
 * Tables and views the migrations create, in creation order (parsed from
 * `CREATE TABLE|MATERIALIZED VIEW IF NOT EXISTS <db>.<name>`), for a reset
 * that leaves a user's own tables in the same database alone.
 */
export function managedObjects(database: string, dir = MIGRATIONS_DIR): string[] {
  return loadMigrations(database, dir).flatMap(createdObjects);
}

/** Tables and views one migration creates (`CREATE TABLE|MATERIALIZED VIEW|VIEW IF NOT EXISTS <db>.<name>`). */
function createdObjects(m: Migration): string[] {
  return m.statements.flatMap((st) => {
    const hit = /^CREATE\s+(?:TABLE|MATERIALIZED\s+VIEW|VIEW)\s+IF\s+NOT\s+EXISTS\s+\w+\.(\w+)/i.exec(st);
    return hit ? [hit[1]!] : [];
  });
}

/** What a migration run does with one migration: apply it for the first time, or again (its tables or views are missing). */
interface PlannedMigration {
  migration: Migration;
  /** Tables and views of an applied migration that are missing ([] for a new one). */
  missing: string[];
  again: boolean;
}

/**
 * The migrations a run applies, from what the database records and holds (read only).
 * Migrations are idempotent (CREATE … IF NOT EXISTS, ALTER … MODIFY SETTING): once an applied one is missing a
 * table or view it creates (dropped by hand), it and every applied one after it run again.
 * @throws {WarehouseError} if an applied migration's file was edited since (checksum differs).
 */
async function planMigrations(w: Pick<Warehouse, 'database' | 'query'>, dir: string, recorded: boolean): Promise<PlannedMigration[]> {
  const db = w.database;
  const applied = new Map(
    (recorded ? await w.query<{ version: number; name: string; checksum: string }>(`SELECT version, name, checksum FROM ${db}.schema_migrations`) : []).map((r) => [r.version, r]),
  );
  const existing = new Set((await w.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String}', { db })).map((r) => r.name));
  const plan: PlannedMigration[] = [];
  let repairing = false;
  for (const m of loadMigrations(db, dir)) {
    const previous = applied.get(m.version);
    if (!previous) {
      plan.push({ migration: m, missing: [], again: false });
      continue;
    }
    if (previous.checksum !== m.checksum) {
      throw new WarehouseError(`migration ${m.name} was edited after it was applied (checksum differs); add a new migration instead`, null);
    }
    const missing = createdObjects(m).filter((name) => !existing.has(name));
    repairing ||= missing.length > 0;
    if (repairing) plan.push({ migration: m, missing, again: true });
  }
  return plan;
}

/** How a planned migration is reported: its name, or `<name> (again: <missing> missing)`. */
const describePlanned = (p: PlannedMigration): string => (p.again ? `${p.migration.name} (again${p.missing.length > 0 ? `: ${p.missing.join(', ')} missing` : ''})` : p.migration.name);

/**
 * Apply the migrations of `dir` not yet recorded in `<db>.schema_migrations`,
 * in version order, recording each (version, name, sha256). The same code for
 * every warehouse implementation, so chdb and ClickHouse server agree.
 * An applied migration whose tables or views are missing is applied again, with every applied one after it.
 * @returns the names applied now ([] when up to date); a re-applied one reads `<name> (again: <missing> missing)`.
 * @throws {WarehouseError} if an applied migration's file was edited since (checksum differs).
 */
export async function applyMigrations(w: Pick<Warehouse, 'database' | 'exec' | 'query' | 'insert'>, dir = MIGRATIONS_DIR): Promise<string[]> {
  const db = w.database;
  await w.exec(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await w.exec(
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version`,
  );
  const done: string[] = [];
  for (const p of await planMigrations(w, dir, true)) {
    for (const statement of p.migration.statements) await w.exec(statement);
    if (!p.again) await w.insert(`${db}.schema_migrations`, [{ version: p.migration.version, name: p.migration.name, checksum: p.migration.checksum }]);
    done.push(describePlanned(p));
  }
  return done;
}

/**
 * What {@link applyMigrations} would apply, without changing anything (for commands that only read).
 * @returns null when the database does not exist; else the names it would apply, as applyMigrations reports
 *   them ([] when up to date).
 * @throws {WarehouseError} as applyMigrations, for an edited applied migration.
 */
export async function pendingMigrations(w: Pick<Warehouse, 'database' | 'query'>, dir = MIGRATIONS_DIR): Promise<string[] | null> {
  const db = w.database;
  const [found] = await w.query<{ databases: number; recorded: number }>(
    'SELECT (SELECT count() FROM system.databases WHERE name = {db:String}) AS databases, (SELECT count() FROM system.tables WHERE database = {db:String} AND name = \'schema_migrations\') AS recorded', { db });
  if (Number(found?.databases ?? 0) === 0) return null;
  return (await planMigrations(w, dir, Number(found?.recorded ?? 0) > 0)).map(describePlanned);
}

/** What {@link restoreColumns} did. */
export interface ColumnRepair {
  /** `<table>.<column>` of each column added back, with the migrations' definition. */
  added: string[];
  /** `<table>.<column>: <type here>, the migrations say <type>` of each column whose type differs (left as it is). */
  differing: string[];
}

interface ColumnRow { table: string; name: string; type: string; default_kind: string; default_expression: string; compression_codec: string; position: number }

/**
 * Add back the columns of the edgelat tables that the database lacks (dropped by hand: every read of them then
 * failed, code 47, while `migrate` said "up to date", since the migrations record files, not columns). The definitions
 * are the migrations' own: they are applied to a scratch database, whose tables' columns (type, default, codec, order)
 * are compared with the database's, and which is dropped after. Views are left alone (a missing one is applied again by
 * {@link applyMigrations}); a column of another type is reported, not changed (its data would be converted).
 * @returns what was added and what differs ([] and [] when the columns match).
 * @throws {WarehouseError} from the warehouse (creating the scratch database needs the right to create databases).
 */
export async function restoreColumns(w: Pick<Warehouse, 'database' | 'exec' | 'query'>, dir = MIGRATIONS_DIR): Promise<ColumnRepair> {
  const db = w.database;
  const scratch = `_edgelat_columns_${process.pid}_${Date.now().toString(36)}`;
  const columns = (database: string) => w.query<ColumnRow>(
    `SELECT c.table AS table, c.name AS name, c.type AS type, c.default_kind AS default_kind, c.default_expression AS default_expression,
            c.compression_codec AS compression_codec, toUInt32(c.position) AS position
     FROM system.columns AS c INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
     WHERE c.database = {db:String} AND t.engine NOT LIKE '%View' ORDER BY c.table, c.position`, { db: database });
  let expected: ColumnRow[];
  try {
    await w.exec(`CREATE DATABASE ${scratch}`);
    for (const m of loadMigrations(scratch, dir)) for (const statement of m.statements) await w.exec(statement);
    expected = await columns(scratch);
  } finally {
    // Not over the error that brought us here (a user without the right to create the scratch database cannot drop it).
    await w.exec(`DROP DATABASE IF EXISTS ${scratch}`).catch(() => undefined);
  }
  const present = await columns(db);
  const tables = new Set(present.map((c) => c.table));
  const here = new Map(present.map((c) => [`${c.table}.${c.name}`, c]));
  const repair: ColumnRepair = { added: [], differing: [] };
  for (const [i, c] of expected.entries()) {
    if (!tables.has(c.table)) continue; // a missing table is the migrations' to create again
    const key = `${c.table}.${c.name}`;
    const now = here.get(key);
    if (now) {
      if (now.type !== c.type) repair.differing.push(`${key}: ${now.type} here, the migrations say ${c.type}`);
      continue;
    }
    const previous = i > 0 && expected[i - 1]!.table === c.table ? expected[i - 1]!.name : null;
    const definition = [
      `\`${c.name}\` ${c.type}`,
      c.default_kind ? `${c.default_kind} ${c.default_expression}` : '',
      c.compression_codec,
      previous === null ? 'FIRST' : `AFTER \`${previous}\``,
    ].filter(Boolean).join(' ');
    await w.exec(`ALTER TABLE ${db}.${c.table} ADD COLUMN IF NOT EXISTS ${definition}`);
    here.set(key, c);
    repair.added.push(key);
  }
  return repair;
}
