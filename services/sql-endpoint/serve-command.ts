import { existsSync } from 'node:fs';
import { RetryStoppedError } from '../../errors.ts';
import { releaseSignals } from '../cli/early-signals.ts';
import { hostname, networkInterfaces } from 'node:os';
import { chdbDir, embeddedOnlyNote, modelDir, type EdgelatConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { ModelRegistry } from '../model/registry.ts';
import { createPredictorApp } from '../predictor/app.ts';
import { createBackend } from '../predictor/backend.ts';
import { announceServing, ChdbWarehouse, detachStdin } from '../warehouse/chdb.ts';
import { pendingMigrations } from '../warehouse/migrations.ts';
import { waitForFolder } from '../cli/open-warehouse.ts';
import { ChdbEngine } from './chdb-engine.ts';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createSqlEndpoint } from './server.ts';
import { isLoopbackHost } from './protocol.ts';

/** Options of `edgelat serve`. */
export interface ServeOptions {
  /** TCP port of the predictor API (`/v1/...`, `/healthz`, `/metrics`, `/openapi.json`); 0 = any free port. @default 8080 */
  port: number;
  /** TCP port of the ClickHouse HTTP interface; 0 = any free port. @default 8123 */
  sqlPort: number;
  /** Interface to listen on; neither endpoint has authentication. @default '127.0.0.1' */
  host: string;
  /** Largest ONNX upload of `POST /v1/profile`, bytes. @default 67108864 (64 MiB) */
  profileLimitBytes?: number;
  /** Longest a query on the ClickHouse HTTP interface runs, s; 0 = no limit. @default 300 (`DEFAULT_MAX_EXECUTION_S`) */
  sqlTimeout?: number;
  /** Host names a request's Host may name besides {@link allowedHostsFor}'s ('any': every one). @default [] */
  allowedHosts?: readonly string[] | 'any';
  /** Whether a POST on the ClickHouse port may change the warehouse (server.ts `writes`). @default false */
  sqlWrite?: boolean;
}

/**
 * The Host names both endpoints answer besides loopback ones: the --host given; on every interface
 * (0.0.0.0, ::) this machine's host name and the addresses of its interfaces, not any name (a page on
 * another name that resolves here, DNS rebinding, would otherwise reach both ports). `extra` adds names
 * (a DNS name or proxy the machine is reached by); 'any' accepts every Host.
 * @param host        The interface listened on.
 * @param extra       Names given with --allowed-hosts.
 * @param interfaces  Addresses of the machine's interfaces (os.networkInterfaces) and its host name.
 */
export function allowedHostsFor(host: string, extra: readonly string[] | 'any', interfaces: { hostname: string; addresses: readonly string[] }): readonly string[] | 'any' {
  if (extra === 'any') return 'any';
  const own = ['0.0.0.0', '::'].includes(host) ? [interfaces.hostname, ...interfaces.addresses] : [host];
  return [...new Set([...own, ...extra].map((h) => h.toLowerCase()))];
}

/** Signals that stop `serve` as Ctrl-C does: SIGHUP is a closed terminal or ssh session (it had ended the process at once, 129, its lock file left). */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * How long a stop waits for the requests still being answered before it closes their connections, ms (a trial: a
 * client that stalled mid-body kept `serve` running 150 s after SIGTERM, until the client went away).
 */
export const STOP_GRACE_MS = 10_000;

/**
 * Serve the embedded warehouse of the configured data dir until SIGINT, SIGTERM or
 * SIGHUP: the predictor API and ClickHouse's HTTP interface, over two
 * connections of the process's chdb engine (a long SQL query does not hold up
 * the API); then close cleanly: the requests still being answered get {@link STOP_GRACE_MS} (a second signal: none),
 * then their connections are closed. A signal during the start stops it there, as cleanly. This process holds the data
 * folder meanwhile (other edgelat commands on it fail with a clear line).
 * @throws {WarehouseLockedError} when another process holds the data folder.
 */
export async function serveCommand(config: EdgelatConfig, options: ServeOptions): Promise<void> {
  // The signals are taken from the first step: one during the start stops it cleanly (a trial: SIGTERM 0.35–1.4 s in
  // ended the process at once, 143, its lock file left behind).
  const stop = new AbortController();
  let signals = 0;
  let forceClose: () => void = () => undefined;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) stop.abort();
    else forceClose();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  // One that came while the modules loaded (held by bin/edgelat.js: early-signals.ts) stops the start now.
  for (const _ of releaseSignals()) onSignal();
  // chdb must not read serve's stdin (an INSERT … VALUES over GET read it all): warehouse/chdb.ts detachStdin.
  detachStdin();
  try {
    await serveUntilStopped(config, options, stop.signal, (f) => (forceClose = f));
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}

async function serveUntilStopped(config: EdgelatConfig, options: ServeOptions, stopped: AbortSignal, onForce: (force: () => void) => void): Promise<void> {
  const logger = createLogger(config.logLevel);
  // A server may start empty, but a mistyped EDGELAT_DATA_DIR or EDGELAT_DATABASE would look the same: say which it is.
  const newFolder = !existsSync(chdbDir(config));
  const embeddedOnly = embeddedOnlyNote('serve', config);
  if (embeddedOnly !== null) process.stderr.write(`${embeddedOnly}\n`);
  let warehouse: ChdbWarehouse;
  try {
    warehouse = await waitForFolder(config, () => new ChdbWarehouse({ dataDir: chdbDir(config), database: config.database }), stopped);
  } catch (error) {
    if (error instanceof RetryStoppedError && stopped.aborted) return;
    throw error;
  }
  // A request's Host must name where it listens (on both ports): loopback names, the --host given (on every interface:
  // this machine's name and addresses), and the --allowed-hosts.
  const allowedHosts = allowedHostsFor(options.host, options.allowedHosts ?? [], {
    hostname: hostname(), addresses: Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address)),
  });
  if (!isLoopbackHost(options.host)) {
    process.stderr.write(`edgelat: warning: --host ${options.host} is not a loopback address: neither endpoint has authentication, and whoever reaches the ClickHouse port can read the warehouse${options.sqlWrite ? ', and with --sql-write do over POST what this process can' : ''}; `
      + (allowedHosts === 'any'
        ? 'and --allowed-hosts any answers every Host: a web page on another name that resolves to this machine (DNS rebinding) can query both ports; list the names instead\n'
        : `requests are answered when their Host names a loopback name or one of ${allowedHosts.join(', ')} (--allowed-hosts adds names)\n`));
  }
  // One registry for both ports: the API's GET /metrics exports the SQL endpoint's requests too (it has no /metrics of its own).
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const engine = new ChdbEngine(chdbDir(config), { maxExecutionS: options.sqlTimeout });
  const endpoint = createSqlEndpoint({ engine, logger, allowedHosts, registry, writes: options.sqlWrite ?? false });
  const backend = createBackend({ warehouse, registry: new ModelRegistry(warehouse, modelDir(config)) });
  const api = createPredictorApp({ backend, logger, profileBodyLimitBytes: options.profileLimitBytes, allowedHosts, registry });
  // Connections still open once the grace has passed (or at a second signal) are closed: a client stalled mid-request
  // would otherwise hold the stop for as long as it stays.
  let graceTimer: NodeJS.Timeout | undefined;
  let forced = false;
  const closeConnections = (): void => {
    if (forced) return;
    forced = true;
    clearTimeout(graceTimer);
    process.stderr.write(`edgelat: stopping: closed the connections still open (${STOP_GRACE_MS / 1000} s after the signal, or at a second one)\n`);
    for (const a of [api, endpoint]) a.server.closeAllConnections();
  };
  onForce(closeConnections);
  const close = async (bySignal = false): Promise<void> => {
    announceServing(chdbDir(config), null);
    // Stopped by a signal: the queries still running are cancelled, not waited for (up to --sql-timeout), and the
    // gates still waiting are answered 503 (the API first: a gate that starts after the KILL would run to its end).
    if (bySignal) {
      const gates = api.beginStop();
      const sql = await engine.cancelRunning();
      const what = [
        sql > 0 ? `cancelled ${sql} SQL ${sql === 1 ? 'query' : 'queries'} on the ClickHouse port` : '',
        gates.waiting > 0 ? `answered ${gates.waiting} waiting gate ${gates.waiting === 1 ? 'request' : 'requests'} 503 (retry later)` : '',
        // A running gate ends with its answer, or 503 where its warehouse query was among those cancelled (a trial read "cancelled" beside a 200).
        gates.running > 0 ? `${gates.running} running gate ${gates.running === 1 ? 'request ends' : 'requests end'} with its answer, or 503 where its query was cancelled` : '',
      ].filter(Boolean);
      if (what.length > 0) process.stderr.write(`edgelat: stopping: ${what.join('; ')}\n`);
      graceTimer = setTimeout(closeConnections, STOP_GRACE_MS);
    }
    try {
      await api.close();
      await backend.close();
      await endpoint.close();
      await warehouse.close();
    } finally {
      clearTimeout(graceTimer);
    }
  };
  let newDatabase = false;
  let applied: string[] = [];
  try {
    newDatabase = !newFolder && (await pendingMigrations(warehouse)) === null;
    applied = await warehouse.migrate();
    if (!stopped.aborted) await endpoint.listen({ port: options.sqlPort, host: options.host });
    if (!stopped.aborted) await api.listen({ port: options.port, host: options.host });
  } catch (error) {
    await close();
    throw error;
  }
  if (stopped.aborted) {
    // Stopped while it started: nothing was served; the warehouse closes as after a run.
    process.stderr.write('edgelat: stopped before serving (a signal during the start)\n');
    await close();
    return;
  }
  const port = (s: { server: { address(): unknown } }): number => (s.server.address() as { port: number }).port;
  // An IPv6 address goes in brackets in a URL (RFC 3986 §3.2.2): http://[::1]:8080.
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  // Other commands locked out of the folder meanwhile name this port (a loopback address when listening on every interface).
  const local = ['0.0.0.0', '::'].includes(options.host) ? '127.0.0.1' : host;
  // Before the serving line, which a supervisor (or a test) takes as ready.
  if (newFolder || newDatabase) {
    process.stderr.write(`edgelat: note: ${newFolder ? `there was no warehouse in ${JSON.stringify(config.dataDir)} (EDGELAT_DATA_DIR)` : `database ${config.database} (EDGELAT_DATABASE) did not exist`}: `
      + 'serving a new, empty one (the data `npm start` wrote is in ./.edgelat of the folder it ran in, database edgelat)\n');
  } else if (applied.length > 0) {
    // Tables of an older edgelat are brought up to this one's (an upgrade trial: serve migrated them without a word).
    process.stderr.write(`edgelat: note: applied ${applied.length} migration(s) the warehouse lacked (${applied.slice(0, 3).join(', ')}${applied.length > 3 ? ', …' : ''}): an older edgelat's tables, or one dropped by hand\n`);
  }
  await new Promise<void>((resolve) => {
    stopped.addEventListener('abort', () => resolve(), { once: true });
    // Ready only once the signals are handled (they are, from the start): a SIGTERM sent on this line had ended the
    // process at once, without the graceful stop (a CI run's test lost the migration note written after it that way).
    announceServing(chdbDir(config), `http://${local}:${port(endpoint)}`);
    process.stderr.write(`edgelat: serving ${chdbDir(config)} (database ${config.database}): predictor API on http://${host}:${port(api)} `
      + `(/v1/predict, /v1/recommend, /v1/gate, /v1/profile, /v1/chips, /v1/correlations, /healthz, /metrics, /openapi.json), ClickHouse HTTP on http://${host}:${port(endpoint)} (${options.sqlWrite ? 'POSTs may change the warehouse: --sql-write' : 'read-only: --sql-write lets POSTs change the warehouse'}); Ctrl-C stops\n`);
    if (stopped.aborted) resolve();
  });
  await close(true);
}
