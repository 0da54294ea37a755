import { chdbDir, type EdgelatConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { ChdbEngine } from './chdb-engine.ts';
import { createSqlEndpoint } from './server.ts';

/** Options of `edgelat serve`. */
export interface ServeOptions {
  /** TCP port of the ClickHouse HTTP interface. @default 8123 */
  sqlPort: number;
  /** Interface to listen on; the endpoint has no authentication. @default '127.0.0.1' */
  host: string;
}

/**
 * Serve the embedded warehouse of the configured data dir over ClickHouse's HTTP
 * interface until SIGINT or SIGTERM, then close cleanly. This process holds the
 * data folder meanwhile (other edgelat commands on it fail with a clear line).
 * @throws {WarehouseLockedError} when another process holds the data folder.
 */
export async function serveCommand(config: EdgelatConfig, options: ServeOptions): Promise<void> {
  const logger = createLogger(config.logLevel);
  const endpoint = createSqlEndpoint({ engine: new ChdbEngine(chdbDir(config)), logger });
  try {
    await endpoint.listen({ port: options.sqlPort, host: options.host });
  } catch (error) {
    await endpoint.close();
    throw error;
  }
  process.stderr.write(`edgelat: serving ${chdbDir(config)} as ClickHouse HTTP on http://${options.host}:${options.sqlPort} (database ${config.database}); Ctrl-C stops\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await endpoint.close();
}
