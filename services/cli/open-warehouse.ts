/**
 * Opening the configured warehouse for a command: the ClickHouse server or the
 * embedded one, and the model registry beside it. Loaded by the commands'
 * actions (it loads chdb and the ClickHouse client), not at start-up.
 */
import { chdbDir, loadConfig, modelDir, type EdgelatConfig } from '../config.ts';
import type { ModelRegistry } from '../model/registry.ts';
import { ChdbWarehouse, type ChdbWarehouseOptions } from '../warehouse/chdb.ts';
import type { Warehouse } from '../warehouse/types.ts';

/**
 * The configured warehouse: the ClickHouse server when EDGELAT_CLICKHOUSE_URL is set, else the embedded one of the data dir.
 * @param options.readonly  Reads only: ClickHouse refuses a change (code 164 READONLY). Embedded: `readonly` = 1 on a
 *   connection of its own (table functions and setting changes refused too). Server: `readonly` = 2 on every request
 *   (@clickhouse/client sends settings of its own with each one, which 1 would refuse). @default false
 * The ClickHouse client is loaded only when a server is configured.
 */
export async function configuredWarehouse(config: EdgelatConfig, options: { readonly?: boolean } = {}): Promise<Warehouse> {
  if (!config.clickhouse) return openWarehouse(config, { readonly: options.readonly ? 1 : undefined });
  const { ClickHouseWarehouse } = await import('../warehouse/clickhouse.ts');
  return new ClickHouseWarehouse({ url: config.clickhouse.url, username: config.clickhouse.username, password: config.clickhouse.password, database: config.database, readonly: options.readonly ? 2 : undefined });
}

/** Open the embedded warehouse of the configured data dir (`readonly`: see {@link ChdbWarehouseOptions}). */
export function openWarehouse(config: EdgelatConfig, options: { readonly?: 1 | 2 } = {}): ChdbWarehouse {
  return new ChdbWarehouse({ dataDir: chdbDir(config), database: config.database, readonly: options.readonly });
}

/** Run `fn` on the migrated embedded warehouse and the model registry of the configured data dir; close the warehouse after. */
export async function withModelRegistry(fn: (warehouse: ChdbWarehouse, registry: ModelRegistry, config: EdgelatConfig) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const { ModelRegistry } = await import('../model/registry.ts');
  const warehouse = openWarehouse(config);
  try {
    await warehouse.migrate();
    await fn(warehouse, new ModelRegistry(warehouse, modelDir(config)), config);
  } finally {
    await warehouse.close();
  }
}
