/**
 * The predictor's HTTP layer (issue 5): a fastify app that validates every
 * request and every backend answer with the zod schemas of `schemas.ts`,
 * answers errors as RFC 9457 problems (`application/problem+json`), counts
 * requests for Prometheus and serves its own OpenAPI 3.1 document. The
 * answers themselves come from a {@link PredictorBackend}.
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type HTTPMethods } from 'fastify';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { createLogger } from '../log.ts';
import { browserRefusal, hostHint, missingHostProblem } from '../sql-endpoint/protocol.ts';
import { createPredictorMetrics } from './metrics.ts';
import { validChips } from './chip-catalog.ts';
import { GateReportSchema, GateRequestSchema } from './gate-schemas.ts';
import {
  API_ROUTES,
  buildOpenApiDocument,
  ChipsResponseSchema,
  CorrelationQuerySchema,
  CorrelationsResponseSchema,
  HealthResponseSchema,
  ModelProfileSchema,
  PredictRequestSchema,
  PredictResponseSchema,
  ProfileQuerySchema,
  RecommendRequestSchema,
  RecommendResponseSchema,
} from './schemas.ts';
import type { PredictorBackend } from './types.ts';
import { NO_CHIP_KNOWN } from './recommend.ts';
import { checkAnswer, HttpProblem, parseJsonBody, parseRequest, PROBLEM_TYPES, problemText, RAW_PROBLEM_TYPE, sendProblem, toProblem, utf8Text } from './problems.ts';
import { quoteName } from '../names.ts';
import { closeConnectionsOnClose } from '../http-close.ts';

/** Default limit of an ONNX body on `POST /v1/profile`, bytes (64 MiB). */

/** How long a connection answered outside the routes (408, 400, 431, CONNECT) is kept after its answer, ms, for the client to read it. */
const CLOSE_LINGER_MS = 2000;

/**
 * Write a raw answer and close the connection: ended at once, and destroyed {@link CLOSE_LINGER_MS} later whatever the
 * client does (a trial: after a 408 the server's end stayed open in FIN-WAIT-2 as long as the client kept its own, so a
 * stalled client held a descriptor, and a SIGTERM waited 10 s for it).
 */
function answerAndClose(socket: { end(text: string): unknown; destroy(): unknown }, text: string): void {
  socket.end(text);
  setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
}

export const DEFAULT_PROFILE_BODY_LIMIT_BYTES = 64 * 1024 * 1024;
/** Default of {@link PredictorAppOptions.requestTimeoutMs}, ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Default limit of a JSON body, bytes (1 MiB). */
export const DEFAULT_JSON_BODY_LIMIT_BYTES = 1024 * 1024;
/**
 * `POST /v1/gate` requests computed at once. A gate is hundreds of warehouse queries and a replay of days of requests;
 * the embedded warehouse answers one query at a time, so gates computed side by side put every other route's query
 * behind all of theirs (a trial: 20 gates at once held a 3-ms predict for 13 s). One at a time, a predict waits behind
 * one gate's query at most.
 */
export const GATE_PARALLEL = 1;
/** `POST /v1/gate` requests that may wait for {@link GATE_PARALLEL}; one more is answered 503 with `Retry-After`. */
export const MAX_GATES_WAITING = 16;

/**
 * `POST /v1/profile` requests that may wait for the profile worker (it profiles one at a time); one more is answered
 * 503 with `Retry-After`. Each waiting one holds its body (up to the body limit) in memory: a trial's 8 abandoned 60-MB
 * uploads behind a slow profile raised the server's memory from 0.5 to 1.8 GB.
 */
export const MAX_PROFILES_WAITING = 4;

/** Options of {@link createPredictorApp}. */
export interface PredictorAppOptions {
  /** What answers predictions, recommendations, profiles, chips, correlations and health. */
  backend: PredictorBackend;
  /** pino logger; requests are logged at debug, unexpected errors at error. @default createLogger('info') (stderr) */
  logger?: Logger;
  /** Largest ONNX body `POST /v1/profile` accepts, bytes; larger answers 413. @default 67108864 (64 MiB) */
  profileBodyLimitBytes?: number;
  /** Largest JSON body accepted, bytes; larger answers 413. @default 1048576 (1 MiB) */
  jsonBodyLimitBytes?: number;
  /** Where the HTTP metrics are registered. @default a new Registry with prom-client's default process metrics */
  registry?: Registry;
  /**
   * Host names a request's `Host` may name besides loopback ones. Requests a browser may have sent for a web
   * page are refused (403; `browserRefusal`: a DNS-rebinding page's own Host, another site's Origin,
   * `Sec-Fetch-Site: cross-site`): the API has no authentication. `'any'` accepts every Host (behind a proxy
   * that rewrites it): that turns the DNS-rebinding check off, since such a page's Origin and Sec-Fetch-Site
   * then look same-origin. @default [] (loopback names only)
   */
  allowedHosts?: readonly string[] | 'any';
  /**
   * Time a client has to send a whole request (headers and body), ms; past it the server answers 408 and closes
   * the connection (Node's `server.requestTimeout`; Fastify turns it off by default, so a client that declared a
   * body and stalled held its connection open indefinitely: a trial's stayed open over 5 minutes).
   * @default 60000 (a 64 MiB ONNX body at ~10 Mbit/s)
   */
  requestTimeoutMs?: number;
}

/** The keep-alive timeout Fastify gives a server it creates, ms (its `keepAliveTimeout` default). */
const FASTIFY_KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * Create the predictor's fastify app (created, not listening: call `listen`, or `inject` in tests).
 *
 * Behaviour: `POST /v1/predict`, `POST /v1/recommend` (JSON), `POST /v1/profile`
 * (raw ONNX, `application/octet-stream`, `?batch=&model_id=`), `GET /v1/chips`,
 * `GET /v1/correlations?server=&model=&x_metric=&y_metric=&since=&limit=&offset=`, `GET /healthz`,
 * `GET /metrics`, `GET /openapi.json`. Bodies and query strings are checked
 * against `schemas.ts` (400 with `errors`), backend answers too (a mismatch is
 * a logged 500). Every error is a problem: 400, 404 (unknown route or
 * {@link NotFoundError}), 405, 413, 415, 503 (health), 500 (generic detail,
 * error logged, no stack sent).
 * @param options  See {@link PredictorAppOptions}.
 * @returns        The app; close it with `app.close()`.
 * @throws {RangeError} if a body limit or the request timeout is not a positive integer.
 * @example see test/unit/predictor/app.test.ts
 */
export function createPredictorApp(options: PredictorAppOptions): PredictorApp {
  const { backend } = options;
  const jsonLimit = options.jsonBodyLimitBytes ?? DEFAULT_JSON_BODY_LIMIT_BYTES;
  const profileLimit = options.profileBodyLimitBytes ?? DEFAULT_PROFILE_BODY_LIMIT_BYTES;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  for (const [name, value] of [['jsonBodyLimitBytes', jsonLimit], ['profileBodyLimitBytes', profileLimit], ['requestTimeoutMs', requestTimeout]] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  // The body limit of each POST route (`API_ROUTES`): the ONNX upload's own, the JSON one for the others.
  const postLimits = new Map(API_ROUTES.filter((r) => r.method === 'post').map((r) => [r.path, r.path === '/v1/profile' ? profileLimit : jsonLimit]));
  const metrics = createPredictorMetrics(options.registry);
  const gates = pLimit(GATE_PARALLEL);
  const profiles = pLimit(1);
  /**
   * Compute a request in its turn of `limit`: with `max` already waiting, 503 busy (Retry-After 5); when its turn
   * comes, 503 if the server is stopping, and nothing computed for a client that has gone meanwhile (499, counted
   * here: no answer goes out, so Fastify's response hooks never count it; a trial: 20 gates given up after 0.3 s were
   * all computed, and held the other routes as long as when they were waited for).
   */
  const waiters = new Map<LimitFunction, Set<FastifyRequest>>();
  const inTurn = async <T>(limit: LimitFunction, max: number, request: FastifyRequest, what: { route: string; noun: string; busy: string }, compute: () => Promise<T>): Promise<T> => {
    // Counted: the waiting requests whose client is still there (a re-test: four abandoned uploads kept a live one out).
    const waiting = waiters.get(limit) ?? new Set<FastifyRequest>();
    waiters.set(limit, waiting);
    const live = [...waiting].filter((r) => !r.raw.socket?.destroyed).length;
    if (live >= max) {
      throw new HttpProblem(503, PROBLEM_TYPES.busy, `busy: ${limit.activeCount} ${what.busy} and ${live} waiting (at most ${max} wait); retry later`, undefined, undefined, { 'retry-after': '5' });
    }
    waiting.add(request);
    return limit(async () => {
      waiting.delete(request);
      if (stopping) throw new HttpProblem(503, PROBLEM_TYPES.unavailable, `the server is stopping: the ${what.noun} was not computed; retry once it is back`, undefined, undefined, { 'retry-after': '5' });
      if (request.raw.socket?.destroyed) {
        countOutside(what.route, 'POST', 499);
        request.log.info({ status: 499 }, `${what.noun} not computed: the client closed the connection while it waited`);
        throw new HttpProblem(499, PROBLEM_TYPES.clientGone, `the client closed the connection while its ${what.noun} waited; not computed`);
      }
      return compute();
    });
  };
  /** Set by `beginStop` (and at close): a gate still waiting is answered 503, not computed. */
  let stopping = false;
  /** An answer made outside Fastify's routes (before a request reached one), counted as the routes' are (no duration: none was measured). */
  const countOutside = (route: string, method: string, status: number): void => {
    metrics.requests.inc({ route, method, status: String(status) });
  };
  const app = Fastify({
    loggerInstance: (options.logger ?? createLogger('info').child({ service: 'predictor' })) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: jsonLimit,
    // Node's own server, for two settings Fastify does not pass to a plain HTTP server's creation: how often timed-out
    // requests are checked (Node's default, 30 s, would let a short timeout run long; a quarter of the timeout let a
    // trial's 60-s one answer 408 after 69 s: now at most 1 s late), and `checkContinue`.
    serverFactory: (handler) => {
      // requireHostHeader off: an HTTP/1.1 request without Host is answered 400 with a problem by the onRequest hook (Node's own was a bare 400).
      const server = createServer({ requestTimeout, connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(requestTimeout / 4))), requireHostHeader: false }, handler);
      server.keepAliveTimeout = FASTIFY_KEEP_ALIVE_TIMEOUT_MS; // what Fastify sets on a server it creates (Node's is 5 s)
      // `Expect: 100-continue` (curl sends it above 1 MiB) on a POST route: refuse a declared body over the route's limit
      // before it is sent. Node otherwise answers 100 Continue at once, and a trial's client then saw "100" and no
      // body. Anything else (another route or method: its 404 / 405) goes to Fastify as usual.
      server.on('checkContinue', (req, res) => {
        const path = (req.url ?? '/').split('?')[0]!;
        const limit = postLimits.get(req.method === 'POST' ? path : '') ?? null;
        const declared = Number(req.headers['content-length']);
        if (limit === null || !(declared > limit)) {
          res.writeContinue();
          handler(req, res);
          return;
        }
        const id = randomUUID();
        const body = problemText(413, PROBLEM_TYPES.bodyTooLarge, `request body exceeds the limit of ${limit} bytes (Content-Length ${declared})`, id, req.url ?? '/');
        res.writeHead(413, { 'content-type': RAW_PROBLEM_TYPE, 'content-length': Buffer.byteLength(body), 'x-request-id': id, connection: 'close' }).end(body);
        // Counted as the routes' answers are (a trial: a refused 38 MB upload left /metrics unchanged).
        countOutside(path, 'POST', 413);
      });
      // An Expect other than 100-continue: Node answers 417 with no body; a problem like the others, with an id and counted.
      server.on('checkExpectation', (req, res) => {
        const id = randomUUID();
        const body = problemText(417, PROBLEM_TYPES.malformedRequest, `Expect: ${JSON.stringify(String(req.headers.expect ?? ''))} is not an expectation this server meets (only 100-continue)`, id, req.url ?? '/');
        res.writeHead(417, { 'content-type': RAW_PROBLEM_TYPE, 'content-length': Buffer.byteLength(body), 'x-request-id': id, connection: 'close' }).end(body);
        // Under its route where it names one (a trial: a 417 on POST /v1/predict was counted as "unmatched").
        const path = (req.url ?? '/').split('?')[0]!;
        const method = req.method ?? 'unknown';
        countOutside(app.hasRoute({ method: method as HTTPMethods, url: path }) ? path : 'unmatched', method, 417);
      });
      // CONNECT (a proxy's tunnel) never reaches a route: Node closes the connection without a word unless it is
      // answered here (a trial: 0 bytes, uncounted, where TRACE answers 405).
      server.on('connect', (req, socket) => {
        const id = randomUUID();
        const body = problemText(405, PROBLEM_TYPES.methodNotAllowed, 'method "CONNECT" is not allowed: this server is no proxy', id, req.url ?? '/');
        answerAndClose(socket, `HTTP/1.1 405 ${STATUS_CODES[405]}\r\nContent-Type: ${RAW_PROBLEM_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`);
        countOutside('unmatched', 'CONNECT', 405);
      });
      return server;
    },
    genReqId: () => randomUUID(),
    // Requests Node's HTTP parser refuses before any route sees them (a URL or headers over its 16 KiB limit,
    // malformed HTTP) are answered as problems too, then the connection is closed.
    clientErrorHandler: (error, socket) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const id = randomUUID();
      const body = problemText(status, status === 431 ? PROBLEM_TYPES.headersTooLarge : status === 408 ? PROBLEM_TYPES.requestTimeout : PROBLEM_TYPES.malformedRequest,
        status === 431 ? 'the request line and headers exceed the server\'s limit (16 KiB): shorten the URL or the headers'
          : status === 408 ? `the request was not received whole within ${requestTimeout} ms (a body shorter than its Content-Length?)`
            : `malformed HTTP request (${code ?? error.message})`, id);
      answerAndClose(socket, `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${RAW_PROBLEM_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`);
      countOutside('unmatched', 'unknown', status);
      // Logged too (a re-test: counted in /metrics only, even at debug).
      options.logger?.debug({ request_id: id, status, code: code ?? null }, 'connection answered outside the routes');
    },
  });

  // JSON bodies: the parser's own reason (with its position) in the 400, and a prototype-poisoning key named.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      // The body is read as UTF-8, JSON's one encoding (RFC 8259 §8.1): another charset is refused, not misread (a trial:
      // charset=utf-16 answered "not valid JSON"); a byte order mark, which that section lets a parser ignore, is.
      const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(request.headers['content-type'] ?? '')?.[1];
      if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
        throw new HttpProblem(415, PROBLEM_TYPES.unsupportedMediaType, `charset ${JSON.stringify(charset)} is not accepted: send application/json in UTF-8 (RFC 8259 §8.1)`);
      }
      done(null, parseJsonBody(utf8Text(body as Buffer).replace(/^\uFEFF/, '')));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  const allowed = new Map<string, string[]>();
  for (const route of API_ROUTES) {
    const method = route.method.toUpperCase();
    allowed.set(route.path, [...(allowed.get(route.path) ?? []), method, ...(method === 'GET' ? ['HEAD'] : [])]);
  }
  const allowedHosts = options.allowedHosts ?? [];
  closeConnectionsOnClose(app);
  app.addHook('preClose', async () => {
    stopping = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // HTTP/1.1 requires Host (RFC 9112 §3.2: a server answers 400 without it); HTTP/1.0 does not.
    const hostless = missingHostProblem(request.raw);
    if (hostless !== null) {
      await sendProblem(request, reply, new HttpProblem(400, PROBLEM_TYPES.malformedRequest, hostless));
      return reply;
    }
    // No authentication: what a web page may have sent (a DNS-rebinding name, another site) is refused before anything runs.
    const browser = browserRefusal(request.headers, allowedHosts);
    if (browser !== null) {
      const detail = `a request a browser may have sent for a web page (${browser}): the edgelat API has no authentication, so it answers clients outside a browser only${hostHint(browser)}`;
      await sendProblem(request, reply, new HttpProblem(403, PROBLEM_TYPES.forbidden, detail));
      return reply;
    }
    // A wrong method on a known path is a 405 before any body is read (an empty or malformed body would answer 400 first).
    const methods = request.is404 ? allowed.get(request.url.split('?', 1)[0]!) : undefined;
    if (methods) {
      reply.header('allow', methods.join(', '));
      const detail = `method ${JSON.stringify(request.method)} is not allowed on ${JSON.stringify(request.url.split('?', 1)[0]!)}: use ${methods.join(' or ')}`;
      await sendProblem(request, reply, new HttpProblem(405, PROBLEM_TYPES.methodNotAllowed, detail));
      return reply;
    }
    // A query value whose percent-encoding is malformed (`%ZZ`, or `%FF`: not UTF-8) is kept raw by the parser and
    // would be looked up as it is (a trial: `?server=%FF` answered 404 "no correlation window of server "%FF"").
    const malformed = malformedQueryPart(request.url);
    if (malformed !== null) {
      const detail = `the query string's ${JSON.stringify(malformed)} is not percent-encoded UTF-8 (RFC 3986 §2.1: "%" then two hex digits, the bytes UTF-8; a literal "%" is %25)`;
      await sendProblem(request, reply, new HttpProblem(400, PROBLEM_TYPES.malformedRequest, detail));
      return reply;
    }
    // A compressed body is not decoded here: said as such (415), not as JSON that does not parse (a gzip body read as text).
    const encoding = request.headers['content-encoding'];
    if (request.method === 'POST' && encoding !== undefined && encoding.trim().toLowerCase() !== 'identity' && encoding.trim() !== '') {
      const detail = `content encoding ${JSON.stringify(encoding)} is not accepted: send the body uncompressed (Content-Encoding: identity or none)`;
      await sendProblem(request, reply, new HttpProblem(415, PROBLEM_TYPES.unsupportedMediaType, detail));
      return reply;
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    // A wrong method on a known path (405) is labelled with that path; other unmatched URLs share one label (bounded cardinality).
    const route = !request.is404 ? (request.routeOptions.url ?? 'unmatched')
      : reply.statusCode === 405 ? request.url.split('?', 1)[0]! : 'unmatched'; // 405 is answered only on a known path
    const labels = { route, method: request.method, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    // The status a number in every log line, as in the problem lines (a trial: "200" here and 400 there clash in a log store).
    request.log.debug({ ...labels, status: reply.statusCode, ms: reply.elapsedTime }, 'request completed');
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error, request, jsonLimit);
    // A body over the limit is read to its end and dropped (Node discards an unread body once the answer is sent), so
    // that a client that sends it all before reading gets the 413: Fastify closes the connection, and a trial's Node
    // fetch saw EPIPE ("fetch failed") on 2 to 4 of 5 bodies of 2–20 MB. Above DRAIN_BYTES (or without a length) the
    // connection is still closed, not read for ever.
    if (problem?.status === 413 && Number(request.headers['content-length']) <= Math.max(DRAIN_FACTOR * (request.routeOptions.bodyLimit ?? jsonLimit), DRAIN_BYTES)) {
      reply.removeHeader('connection');
    }
    if (problem) {
      request.log[problem.status >= 500 ? 'warn' : 'debug']({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: problem.status, detail: problem.message }, 'request answered with a problem');
      return sendProblem(request, reply, problem);
    }
    request.log.error({ err: error, method: request.method, url: request.url }, 'request failed with an unexpected error');
    const detail = `an unexpected error occurred; quote request id ${JSON.stringify(request.id)} when reporting it`;
    return sendProblem(request, reply, new HttpProblem(500, PROBLEM_TYPES.internal, detail));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    return sendProblem(request, reply, new HttpProblem(404, PROBLEM_TYPES.noRoute, `no route ${JSON.stringify(`${request.method} ${path}`)}: see /openapi.json`));
  });

  /** The query string of a route that takes no parameters: any key is refused (400), naming it. */
  const NO_QUERY = z.strictObject({});

  // JSON routes: only application/json is parsed (anything else answers 415).
  app.register(async (scope) => {
    scope.removeContentTypeParser('text/plain');
    scope.post('/v1/predict', async (request) => {
      parseRequest(NO_QUERY, request.query, 'query string'); // the request is the body: a query parameter is a mistake
      const body = parseRequest(PredictRequestSchema, request.body, 'request body');
      return checkAnswer(PredictResponseSchema, await backend.predict(body), 'POST /v1/predict');
    });
    scope.post('/v1/recommend', async (request) => {
      parseRequest(NO_QUERY, request.query, 'query string'); // the request is the body: a query parameter is a mistake
      const body = parseRequest(RecommendRequestSchema, request.body, 'request body');
      const answer = await backend.recommend(body);
      // Nothing ranked or skipped: the server's data holds no chip, as the CLI says (exit 2), not an empty 200 (a trial).
      if (answer.chips.length === 0 && answer.skipped.length === 0) throw new HttpProblem(503, PROBLEM_TYPES.unavailable, NO_CHIP_KNOWN);
      return checkAnswer(RecommendResponseSchema, answer, 'POST /v1/recommend');
    });
    scope.post('/v1/gate', async (request) => {
      parseRequest(NO_QUERY, request.query, 'query string'); // the request is the body: a query parameter is a mistake
      const body = parseRequest(GateRequestSchema, request.body, 'request body');
      return checkAnswer(GateReportSchema, await inTurn(gates, MAX_GATES_WAITING, request, { route: '/v1/gate', noun: 'gate', busy: 'gate request(s) being answered' }, () =>
        backend.gate(body).catch((error: unknown) => {
          // Its warehouse query cancelled by a stop (serve's SIGTERM): the server's state, not a failure of the gate.
          if (stopping) throw new HttpProblem(503, PROBLEM_TYPES.unavailable, 'the server is stopping: the gate was cancelled; retry once it is back', undefined, undefined, { 'retry-after': '5' });
          throw error;
        })), 'POST /v1/gate');
    });
  });

  // The ONNX route: only application/octet-stream, up to profileLimit bytes.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post('/v1/profile', { bodyLimit: profileLimit }, async (request) => {
      // The schema coerces `batch`; a value that is not a number is refused here first, so the answer quotes it as sent.
      const rawBatch = (request.query as Record<string, unknown> | undefined)?.batch;
      if (rawBatch !== undefined && !(typeof rawBatch === 'string' && /^[0-9]+$/.test(rawBatch))) {
        const detail = `expected a whole number 1..4096, got ${JSON.stringify(rawBatch)}`;
        throw new HttpProblem(400, PROBLEM_TYPES.validation, `invalid query string: #/batch ${detail}`, [{ path: '#/batch', message: detail }]);
      }
      const query = parseRequest(ProfileQuerySchema, request.query, 'query string');
      const onnx = request.body;
      if (!(onnx instanceof Uint8Array) || onnx.length === 0) {
        throw new HttpProblem(400, PROBLEM_TYPES.malformedBody, 'request body is empty: send the ONNX file as application/octet-stream');
      }
      const profileOptions: { batch?: number; modelId?: string; dims?: Record<string, number> } = {};
      if (query.batch !== undefined) profileOptions.batch = query.batch;
      if (query.model_id !== undefined) profileOptions.modelId = query.model_id;
      if (query.dim !== undefined) {
        // No prototype: `dim=__proto__=5` is a dim of that name (refused below, as on the CLI), not the object's prototype.
        const dims = Object.create(null) as Record<string, number>;
        for (const d of typeof query.dim === 'string' ? [query.dim] : query.dim) {
          const at = d.lastIndexOf('=');
          const name = d.slice(0, at);
          if (Object.prototype.hasOwnProperty.call(dims, name)) {
            const detail = `dim ${quoteName(name)} given twice`;
            throw new HttpProblem(400, PROBLEM_TYPES.validation, `invalid query string: #/dim ${detail}`, [{ path: '#/dim', message: detail }]);
          }
          dims[name] = Number(d.slice(at + 1));
        }
        profileOptions.dims = dims;
      }
      return checkAnswer(ModelProfileSchema, await inTurn(profiles, MAX_PROFILES_WAITING, request, { route: '/v1/profile', noun: 'profile', busy: 'profile(s) being computed' }, () =>
        backend.profile(onnx, profileOptions)), 'POST /v1/profile');
    });
  });

  app.get('/v1/chips', async (request) => {
    parseRequest(NO_QUERY, request.query, 'query string'); // takes no parameters: an unknown one is a typo
    // A row written past `chips import` (sql --write, the ClickHouse port) is named, not a 500 for the whole catalog.
    const { chips, invalid } = validChips(await backend.chips());
    for (const bad of invalid) request.log.warn({ chip: bad.chip, problem: bad.problem }, 'chip catalog row left out of GET /v1/chips');
    return checkAnswer(ChipsResponseSchema, invalid.length > 0 ? { chips, invalid } : { chips }, 'GET /v1/chips');
  });

  app.get('/v1/correlations', async (request) => {
    const query = parseRequest(CorrelationQuerySchema, request.query, 'query string');
    return checkAnswer(CorrelationsResponseSchema, await backend.correlations(query), 'GET /v1/correlations');
  });

  app.get('/healthz', async (request) => {
    let health: { ok: boolean; details?: unknown };
    try {
      health = await backend.health();
    } catch (error) {
      request.log.error({ err: error }, 'health check threw');
      health = { ok: false };
    }
    const details = health.details === undefined ? {} : { details: health.details };
    if (!health.ok) throw new HttpProblem(503, PROBLEM_TYPES.unavailable, 'the predictor backend is not ready', undefined, details);
    return checkAnswer(HealthResponseSchema, { status: 'ok', ...details }, 'GET /healthz');
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  let openApi: Record<string, unknown> | undefined;
  app.get('/openapi.json', async () => (openApi ??= buildOpenApiDocument()));

  return Object.assign(app, {
    beginStop: (): { running: number; waiting: number } => {
      stopping = true;
      return { running: gates.activeCount, waiting: gates.pendingCount };
    },
  });
}

/** A body over a route's limit is read and dropped, for its 413 to reach the client, up to this many times the limit ... */
const DRAIN_FACTOR = 4;
/** ... or up to this many bytes, whichever is more (64 MiB). */
const DRAIN_BYTES = 64 * 1024 * 1024;

/** The predictor API: a Fastify instance that can be told it is stopping before it closes. */
export type PredictorApp = FastifyInstance & {
  /**
   * From now on a `POST /v1/gate` still waiting for its turn is answered 503 (Retry-After 5), and one whose warehouse
   * query a stop cancels too (a re-test: SIGTERM to serve waited for 12 queued gates, 13 s, saying nothing).
   * @returns The gate requests being answered (`running`: each ends with its answer, or 503 where the stop cancelled its
   *   warehouse query) and waiting (each answered 503) when it was called.
   */
  beginStop(): { running: number; waiting: number };
};

/**
 * The first `&`-separated part of a URL's query string whose percent-encoding is malformed ("%" not followed by two
 * hex digits, or escapes that decode to bytes that are not UTF-8: `decodeURIComponent` throws URIError), or null.
 * `+` is a space there (application/x-www-form-urlencoded) and needs no check.
 * @param url  The request's URL (path and query), as received.
 */
export function malformedQueryPart(url: string): string | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  for (const part of url.slice(q + 1).split('&')) {
    if (!part.includes('%')) continue;
    try {
      decodeURIComponent(part);
    } catch {
      return part.length > 80 ? `${part.slice(0, 80)}…` : part;
    }
  }
  return null;
}
