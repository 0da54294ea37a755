/**
 * Opening the configured warehouse for a command: the ClickHouse server or the
 * embedded one, and the model registry beside it. Loaded by the commands'
 * actions (it loads chdb and the ClickHouse client), not at start-up.
 */
import { readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { chdbDir, loadConfig, modelDir, type EdgelatConfig } from '../config.ts';
import { otherOwnerNote } from '../make-dirs.ts';
import type { ModelRegistry } from '../model/registry.ts';
import { ChdbWarehouse, openWhenFree, type ChdbWarehouseOptions } from '../warehouse/chdb.ts';
import { pendingMigrations } from '../warehouse/migrations.ts';
import type { Warehouse } from '../warehouse/types.ts';

/** Options of {@link configuredWarehouse} and {@link withModelRegistry}. */
export interface OpenOptions {
  /** Reads only: see {@link configuredWarehouse}. @default false */
  readonly?: boolean;
  /**
   * What the command needs to exist already, checked without creating anything: `'folder'`, the embedded
   * warehouse of the data dir ({@link assertWarehouseWritten}; `sql`, which reads any database); `'tables'`, that
   * and the edgelat tables up to date ({@link assertMigrated}; the commands that read what the pipeline wrote).
   * Unset: nothing is checked. @default undefined
   */
  existing?: 'folder' | 'tables';
  /** Ends a wait for the embedded warehouse's folder ({@link waitForFolder}) when aborted. @default none */
  signal?: AbortSignal;
}

/**
 * For a command that only reads what others wrote: the embedded warehouse of the data dir must exist, so that a
 * mistyped EDGELAT_DATA_DIR, or a command run from another folder than the demo's (the default ./.edgelat is
 * relative), is named as such instead of leaving an empty warehouse behind and answering "no data yet".
 * A ClickHouse server (EDGELAT_CLICKHOUSE_URL) is not checked here.
 * @throws {ConfigError} naming EDGELAT_DATA_DIR and its folder when `<data dir>/chdb` does not exist; nothing is created.
 */
export function assertWarehouseWritten(config: Pick<EdgelatConfig, 'dataDir' | 'clickhouse'>): void {
  // An empty chdb folder holds no warehouse either: opening it would create chdb's files there (a trial: a gate on
  // an empty folder left chdb/tmp behind).
  if (config.clickhouse) return;
  let entries: string[] = [];
  try {
    entries = readdirSync(chdbDir(config));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      // Not "nothing has been written there" (a trial: a folder made by another user, mode 0700): the folder that shuts
      // this user out is named, with its owner.
      const shut = [chdbDir(config), dirname(chdbDir(config))].find((p) => { try { statSync(p); return true; } catch { return false; } }) ?? dirname(chdbDir(config));
      throw new ConfigError(`EDGELAT_DATA_DIR: the embedded warehouse in ${JSON.stringify(config.dataDir)} cannot be read by this user: permission denied (${code})${otherOwnerNote(shut)}`);
    }
  }
  if (entries.length > 0) return;
  throw new ConfigError(`EDGELAT_DATA_DIR: no embedded warehouse in ${JSON.stringify(config.dataDir)} (nothing has been written there): run \`edgelat demo\` (npm start) or \`edgelat pipeline run\` first, or set EDGELAT_DATA_DIR to the folder they wrote (default ./.edgelat, relative to the current folder)`);
}

/**
 * For a command that only reads: the edgelat tables must be there and up to date, checked without writing
 * (in place of `migrate()`, which would create a database a mistyped EDGELAT_DATABASE names, or a table
 * dropped by hand).
 * @throws {ConfigError} naming EDGELAT_DATABASE when the database does not exist, or naming `edgelat migrate`
 *   and the migrations when some are not applied.
 */
export async function assertMigrated(warehouse: Pick<Warehouse, 'database' | 'query'>): Promise<void> {
  const pending = await pendingMigrations(warehouse);
  if (pending === null) {
    throw new ConfigError(`EDGELAT_DATABASE: no database ${JSON.stringify(warehouse.database)} in the warehouse: run \`edgelat demo\` (npm start), \`edgelat pipeline run\` or \`edgelat migrate\` first, or set EDGELAT_DATABASE to the database they wrote (default edgelat)`);
  }
  if (pending.length > 0) {
    const shown = pending.slice(0, 3).join(', ') + (pending.length > 3 ? ` and ${pending.length - 3} more` : '');
    throw new ConfigError(`database ${JSON.stringify(warehouse.database)} lacks ${pending.length} migration(s) of this edgelat (${shown}): run \`edgelat migrate\` first`);
  }
}

/** Say on stderr where the newest demo run did not finish (`partialDemoWarning`): a read command's answers then cover part of a run. */
async function warnPartialDemo(warehouse: Pick<Warehouse, 'database' | 'query'>): Promise<void> {
  const { partialDemoWarning } = await import('../pipeline/demo-runs.ts');
  const warning = await partialDemoWarning(warehouse);
  if (warning !== null) process.stderr.write(`edgelat: ${warning}\n`);
}

/**
 * The configured warehouse: the ClickHouse server when EDGELAT_CLICKHOUSE_URL is set, else the embedded one of the data dir.
 * @param options.existing  See {@link OpenOptions.existing}.
 * @throws {ConfigError} from {@link assertWarehouseWritten} and {@link assertMigrated} (the warehouse closed again).
 * @param options.readonly  Reads only: ClickHouse refuses a change (code 164 READONLY). Embedded: `readonly` = 1 on a
 *   connection of its own (table functions and setting changes refused too). Server: `readonly` = 2 on every request
 *   (@clickhouse/client sends settings of its own with each one, which 1 would refuse). @default false
 * The ClickHouse client is loaded only when a server is configured.
 */
export async function configuredWarehouse(config: EdgelatConfig, options: OpenOptions = {}): Promise<Warehouse> {
  if (options.existing) assertWarehouseWritten(config);
  let warehouse: Warehouse;
  if (!config.clickhouse) warehouse = await waitForFolder(config, () => openWarehouse(config, { readonly: options.readonly ? 1 : undefined }), options.signal);
  else {
    const { ClickHouseWarehouse } = await import('../warehouse/clickhouse.ts');
    warehouse = new ClickHouseWarehouse({ url: config.clickhouse.url, username: config.clickhouse.username, password: config.clickhouse.password, database: config.database, readonly: options.readonly ? 2 : undefined });
  }
  if (options.existing === 'tables') {
    await assertMigrated(warehouse).catch(async (error: unknown) => { await warehouse.close(); throw error; });
    await warnPartialDemo(warehouse);
  }
  return warehouse;
}

/**
 * Open the embedded warehouse of the configured data dir with `open`, waiting up to EDGELAT_LOCK_WAIT_S while another
 * edgelat process holds it ({@link openWhenFree}), and saying so on stderr when the wait begins.
 * @param signal  Ends the wait when aborted (RetryStoppedError). @default none
 * @throws {WarehouseLockedError} when the folder is still held after the wait (or at once when `edgelat serve` holds it).
 */
export async function waitForFolder<T>(config: Pick<EdgelatConfig, 'lockWaitS'>, open: () => T, signal?: AbortSignal): Promise<T> {
  return openWhenFree(open, config.lockWaitS, (held) => {
    process.stderr.write(`edgelat: waiting for ${held.pid === null ? 'another edgelat process' : `pid ${held.pid}${held.command ? ` (${held.command.text})` : ''}`}, which holds the embedded warehouse at ${JSON.stringify(held.dataDir)} (up to ${config.lockWaitS} s: EDGELAT_LOCK_WAIT_S)\n`);
  }, signal);
}

/** Open the embedded warehouse of the configured data dir (`readonly`: see {@link ChdbWarehouseOptions}). */
export function openWarehouse(config: EdgelatConfig, options: { readonly?: 1 | 2 } = {}): ChdbWarehouse {
  return new ChdbWarehouse({ dataDir: chdbDir(config), database: config.database, readonly: options.readonly });
}

/**
 * Run `fn` on the configured warehouse ({@link configuredWarehouse}: the ClickHouse server of EDGELAT_CLICKHOUSE_URL,
 * else the embedded one) and the model registry of the data dir's model files; close the warehouse after. A trial:
 * these commands (recommend, predict, model, chips, …) opened the embedded warehouse whatever the URL said, so
 * `chips import` wrote where nothing read it and `model train` found no requests on a server that held 35,849.
 * @param options.existing  `'tables'`: the warehouse and its tables must be there ({@link OpenOptions.existing}),
 *   checked, not created. Unset: pending migrations are applied first (a command that writes: chips import).
 * @throws {ConfigError} from {@link assertWarehouseWritten} and {@link assertMigrated}.
 */
export async function withModelRegistry(fn: (warehouse: Warehouse, registry: ModelRegistry, config: EdgelatConfig) => Promise<void>, options: { existing?: 'tables' } = {}): Promise<void> {
  const config = loadConfig();
  const { ModelRegistry } = await import('../model/registry.ts');
  const warehouse = await configuredWarehouse(config, { existing: options.existing });
  try {
    if (!options.existing) await warehouse.migrate();
    await fn(warehouse, new ModelRegistry(warehouse, modelDir(config)), config);
  } finally {
    await warehouse.close();
  }
}
