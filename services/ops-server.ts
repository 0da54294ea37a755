/**
 * The operations endpoint of a long-running edgelat process: `GET /healthz`
 * for liveness/readiness probes and `GET /metrics` for Prometheus, on plain
 * node:http (no authentication: bind it to a private interface).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

/** What a health check reports; `details` is any JSON-serialisable value shown in the response. */
export interface HealthStatus {
  /** True when the process can do its work (the probe answers 200), false for 503. */
  ok: boolean;
  /** Extra JSON-serialisable facts (lag, last commit, broker state, ...). */
  details?: unknown;
}

/** Options of {@link startOpsServer}. */
export interface OpsServerOptions {
  /** TCP port; 0 picks a free port (tests). Integer 0..65535. */
  port: number;
  /** Interface to listen on. @default '0.0.0.0' */
  host?: string;
  /** The registry to export on `/metrics` (from `createMetrics`). */
  metrics: Pick<Metrics, 'registry'>;
  /** Called on every `/healthz` request; may be async. A throw answers 503 with the error message. */
  health: () => HealthStatus | Promise<HealthStatus>;
}

/** A running ops server. */
export interface OpsServer {
  /** Base URL a local client can use, e.g. `http://127.0.0.1:9464` (the wildcard host is shown as loopback). */
  readonly url: string;
  /** The bound port (the chosen one when `port` was 0). */
  readonly port: number;
  /** Stop listening and close open connections. Idempotent. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

const JSON_TYPE = 'application/json; charset=utf-8';

async function handle(options: OpsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const head = req.method === 'HEAD';
  if (path !== '/healthz' && path !== '/metrics') {
    send(res, 404, JSON_TYPE, JSON.stringify({ error: `no route ${JSON.stringify(path)}: try /healthz or /metrics` }), head);
    return;
  }
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, JSON_TYPE, JSON.stringify({ error: `method ${JSON.stringify(req.method)} not allowed` }), false);
    return;
  }
  if (path === '/metrics') {
    const registry = options.metrics.registry;
    send(res, 200, registry.contentType, await registry.metrics(), head);
    return;
  }
  let status: HealthStatus;
  try {
    status = await options.health();
  } catch (e) {
    status = { ok: false, details: { error: e instanceof Error ? e.message : String(e) } };
  }
  const body = JSON.stringify({ status: status.ok ? 'ok' : 'unavailable', ...(status.details === undefined ? {} : { details: status.details }) });
  send(res, status.ok ? 200 : 503, JSON_TYPE, body, head);
}

/**
 * Serve `/healthz` and `/metrics` until closed.
 *
 * Behaviour: `GET /healthz` answers 200 `{"status":"ok","details":...}` when
 * `health()` reports ok, else 503 `{"status":"unavailable","details":...}`;
 * `GET /metrics` answers the registry in the Prometheus text format with the
 * registry's content type. HEAD is accepted too; other paths 404, other methods 405.
 * @param options  See {@link OpsServerOptions}.
 * @returns        The server's URL and a `close()`.
 * @throws {RangeError} if `port` is not an integer in 0..65535.
 * @throws {Error} (the `listen` error, e.g. EADDRINUSE) if the port cannot be bound.
 * @example see test/unit/services/metrics.test.ts
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { port, host = '0.0.0.0' } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port: expected an integer in [0, 65535], got ${JSON.stringify(port)}`);
  const server = createServer((req, res) => {
    handle(options, req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, JSON_TYPE, JSON.stringify({ error: e instanceof Error ? e.message : String(e) }), false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${bound}`,
    port: bound,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
