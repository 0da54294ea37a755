/**
 * The predictor's errors as RFC 9457 problems (`application/problem+json`): their `type` URIs, the
 * checks of a request's parts and of the backend's answers, the JSON body parser, and the map from
 * a thrown error to its status (app.ts answers them).
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { parse as parseLossless } from 'lossless-json';
import { z } from 'zod';
import { API_ROUTES, validate, type FieldError } from './schemas.ts';
import { BadRequestError, NoChampionError, NoDataYetError, NoEvidenceError, NotFoundError } from './types.ts';
import { ModelFileError } from '../../errors.ts';
import { missingObject, UNREADABLE_FILES, warehouseFilesUnreadable } from '../warehouse/missing-object.ts';
import { printable, quoteName } from '../names.ts';

/** Field errors a 400 problem lists at most (its detail counts them all: a body of 60,000 unknown keys answered 3.3 MB). */
export const MAX_PROBLEM_ERRORS = 50;

/** The `type` URI of each kind of problem the predictor answers (stable: clients may switch on it). */
export const PROBLEM_TYPES = {
  validation: 'urn:edgelat:problem:validation-failed',
  malformedBody: 'urn:edgelat:problem:malformed-body',
  badRequest: 'urn:edgelat:problem:bad-request',
  notFound: 'urn:edgelat:problem:not-found',
  noRoute: 'urn:edgelat:problem:no-such-route',
  methodNotAllowed: 'urn:edgelat:problem:method-not-allowed',
  bodyTooLarge: 'urn:edgelat:problem:body-too-large',
  headersTooLarge: 'urn:edgelat:problem:headers-too-large',
  requestTimeout: 'urn:edgelat:problem:request-timeout',
  malformedRequest: 'urn:edgelat:problem:malformed-request',
  unsupportedMediaType: 'urn:edgelat:problem:unsupported-media-type',
  unavailable: 'urn:edgelat:problem:unavailable',
  busy: 'urn:edgelat:problem:busy',
  clientGone: 'urn:edgelat:problem:client-closed-request',
  forbidden: 'urn:edgelat:problem:browser-request-refused',
  internal: 'urn:edgelat:problem:internal-error',
} as const;

/** An error answered as a problem with its own status (everything else is a 500). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly extra?: Record<string, unknown>,
    /** Headers of the answer (`Retry-After`). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

/** The media type of a problem answer (RFC 9457). */
export const PROBLEM_JSON = 'application/problem+json';

/** The Content-Type of a problem written outside Fastify (413, 417, 408, 431), as Fastify's own problem answers carry it. */
export const RAW_PROBLEM_TYPE = `${PROBLEM_JSON}; charset=utf-8`;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request body's text, read as UTF-8, JSON's one encoding (RFC 8259 §8.1).
 * @param body  The body's bytes.
 * @returns     Its text (a byte order mark kept: the caller drops it).
 * @throws {HttpProblem} 400 (malformed body) naming the offset of the first byte that is not UTF-8 (a trial: a 0xFF in an
 *   id was read as U+FFFD and refused as a character that does not show, where the body itself was broken).
 */
export function utf8Text(body: Buffer): string {
  try {
    return STRICT_UTF8.decode(body);
  } catch {
    // The first offset where the lossy decoding, encoded again, differs from the bytes: the first invalid byte.
    const again = Buffer.from(body.toString('utf8'), 'utf8');
    let at = 0;
    while (at < body.length && body[at] === again[at]) at++;
    throw new HttpProblem(400, PROBLEM_TYPES.malformedBody, `request body is not valid UTF-8 (byte 0x${body[at]!.toString(16).padStart(2, '0')} at offset ${at}): send application/json in UTF-8 (RFC 8259 §8.1)`);
  }
}

/**
 * An RFC 9457 problem body for an answer made outside Fastify's routes: type, title, status, detail, the request's URL
 * as `instance` where the request was read that far, and a request id of its own (as the routes' problems have them;
 * the answer carries it as `X-Request-Id` too).
 */
export function problemText(status: number, type: string, detail: string, requestId: string, instance?: string): string {
  return JSON.stringify({ type, title: STATUS_CODES[status] ?? 'Error', status, detail: printable(detail), ...(instance === undefined ? {} : { instance }), request_id: requestId });
}


/** Send a problem answer: the RFC 9457 body with the request's URL as `instance`, its request id and field errors. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: HttpProblem): FastifyReply {
  const body = {
    type: problem.type,
    title: STATUS_CODES[problem.status] ?? 'Error',
    status: problem.status,
    // For a person: what reorders a line or does not show as `\uXXXX` (a re-test: a key's JSON pointer and a repeated
    // key were quoted raw, "mo<U+200B>del" reading as model); `errors[].path` stays a pointer to the key as sent.
    detail: printable(problem.message),
    instance: request.url,
    request_id: request.id,
    ...(problem.errors ? { errors: problem.errors.map((e) => ({ ...e, message: printable(e.message) })) } : {}),
    ...problem.extra,
  };
  if (problem.headers) reply.headers(problem.headers);
  return reply.code(problem.status).type(PROBLEM_JSON).send(body);
}

/** Parse a request part or throw a 400 problem listing every failed check. */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = validate(schema, input);
  if (result.ok) return result.value;
  // A query value coerced to a number that is not one: quote it as sent, not as the NaN it became.
  const sent = (path: string): unknown => (input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[path.replace(/^#\//, '')] : undefined);
  for (const e of result.errors) {
    const raw = sent(e.path);
    // A query parameter given twice arrives as an array of strings.
    // (Not a repeatable one's own count: "expected at most 64 dims".)
    if (Array.isArray(raw) && raw.length > 1 && raw.every((v) => typeof v === 'string') && what === 'query string' && !/^expected at most \d+ /.test(e.message)) e.message = `expected one value, got ${raw.length} (${JSON.stringify(raw)}): give the parameter once`;
    else if (/received NaN/.test(e.message) && typeof raw === 'string') e.message = `expected a number, got ${JSON.stringify(raw)}`;
    // A JSON number past the largest double (1e999) parses as Infinity: say that, not "received Infinity, got Infinity" (a trial).
    else if (/received (-)?Infinity/.test(e.message)) e.message = 'expected a finite number: the value given is beyond the largest double (about 1.8e308), which JSON.parse reads as Infinity';
    // null is said once (a re-test: "expected number, received null, got null").
    else if (/received null, got null$/.test(e.message)) e.message = e.message.replace(/, got null$/, '');
    // Digits past what a double holds: quote them as sent, not as the number they round to (20 nines read "got 1e20").
    else if (what === 'query string' && typeof raw === 'string' && /^\d+$/.test(raw)) e.message = e.message.replace(`got ${String(Number(raw))}`, `got ${raw}`);
  }
  const first = result.errors[0]!;
  const more = result.errors.length > 1 ? ` (and ${result.errors.length - 1} more)` : '';
  throw new HttpProblem(400, PROBLEM_TYPES.validation, `invalid ${what}: ${first.path} ${first.message}${more}`, result.errors.slice(0, MAX_PROBLEM_ERRORS));
}

/** Check a backend answer; a mismatch is a programmer error (500, logged with the failed checks, never sent). */
export function checkAnswer<S extends z.ZodType>(schema: S, value: unknown, route: string): z.output<S> {
  const result = validate(schema, value);
  if (result.ok) return result.value;
  throw new Error(`backend answer of ${route} does not match its schema: ${JSON.stringify(result.errors.slice(0, 10))}`);
}

/**
 * Deepest nesting of objects and arrays a request body may have. The API's bodies nest 5 levels at most
 * (`{profile: {inputs: [{shape: []}]}}`); a trial's 50,000-deep body overflowed the stack of the duplicate-key parser (HTTP 500).
 */
export const MAX_BODY_DEPTH = 32;

/**
 * Parse a JSON request body, refusing what Fastify's default parser refuses (secure-json-parse's
 * prototype poisoning: a `__proto__` key, or a `constructor` key holding a `prototype`), and a key
 * given twice in one object with two values (JSON.parse keeps the last; RFC 8259 §4: names SHOULD be
 * unique; a trial sent slo_p99_ms 5 then 50 and was gated at 50, where the CLI refuses a flag given twice).
 * @throws {HttpProblem} 400 naming why: empty, the JSON parser's message (with the position), nesting deeper than
 *   {@link MAX_BODY_DEPTH}, a repeated key (lossless-json finds it, with its position), or the poisoning key's JSON pointer.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new HttpProblem(400, PROBLEM_TYPES.malformedBody, 'request body is empty: send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = (error as Error).message.replace(/^Unexpected token '(.)', ".*" is not valid JSON$/s, "unexpected token '$1'");
    throw new HttpProblem(400, PROBLEM_TYPES.malformedBody, `request body is not valid JSON: ${reason}`);
  }
  // Iteratively (no recursion on a client's nesting): prototype poisoning, and a depth no request has.
  const stack: [unknown, string, number][] = [[value, '#', 0]];
  while (stack.length > 0) {
    const [node, path, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) {
      const at = path.length > 80 ? `${path.slice(0, 80)}…` : path;
      throw new HttpProblem(400, PROBLEM_TYPES.malformedBody, `request body nests objects or arrays more than ${MAX_BODY_DEPTH} levels deep (at ${at}): no request of this API nests more than 5`);
    }
    for (const [key, child] of Object.entries(node)) {
      const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (key === '__proto__' || (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype'))) {
        throw new HttpProblem(400, PROBLEM_TYPES.malformedBody, `request body has a ${quoteName(key)} key at ${at}: refused (prototype poisoning)`);
      }
      stack.push([child, at, depth + 1]);
    }
  }
  const repeated = repeatedKey(text);
  if (repeated) throw new HttpProblem(400, PROBLEM_TYPES.malformedBody, `request body has the key ${JSON.stringify(repeated.key)} twice in one object, with two values (at character ${repeated.at}): give each key once`);
  return value;
}

/**
 * A key given twice in one object of a JSON text with two values (JSON.parse keeps the last; RFC 8259 §4: names SHOULD
 * be unique), or null. The same value twice is not one (lossless-json takes it).
 * @param text  A text JSON.parse reads, nested no deeper than {@link MAX_BODY_DEPTH} (the full pass recurses).
 * @returns The key, decoded, and the 1-based character where its second value's key starts.
 */
export function repeatedKey(text: string): { key: string; at: number } | null {
  try {
    // lossless-json reads a 1 MiB body in ~150 ms (JSON.parse: ~4 ms), so it runs only when some key
    // occurs twice anywhere (one linear pass). Numbers stay text: nothing here reads them.
    if (keyTextRepeats(text)) parseLossless(text, null, (digits) => digits);
  } catch (error) {
    const repeated = /^Duplicate key '(.*)' encountered at position (\d+)$/s.exec((error as Error).message);
    if (!repeated) throw error;
    return { key: repeated[1]!, at: Number(repeated[2]) };
  }
  return null;
}

/**
 * Whether some key occurs twice anywhere in a valid JSON text (in one object or not: a pre-check for the full pass),
 * keys compared decoded (`"a"` and `"\u0061"` are one key). One pass over the text, linear in its length: a regex
 * for `"…":` tried again from every quote took time growing with the square of a string of escaped quotes (a trial:
 * 400 kB of `\"` held the API 52 s).
 * @param text  JSON.parse has read it (every quote outside a string opens one).
 */
function keyTextRepeats(text: string): boolean {
  const seen = new Set<string>();
  for (let open = text.indexOf('"'); open !== -1; open = text.indexOf('"', open)) {
    let close = open + 1;
    for (let c = text.charCodeAt(close); c !== 0x22; c = text.charCodeAt(close)) {
      if (close >= text.length) return true; // not JSON.parse's text after all: let the full pass decide
      close += c === 0x5c ? 2 : 1;
    }
    let next = close + 1;
    while (next < text.length && (text[next] === ' ' || text[next] === '\t' || text[next] === '\n' || text[next] === '\r')) next++;
    if (text[next] === ':') {
      const key = JSON.parse(text.slice(open, close + 1)) as string;
      if (seen.has(key)) return true;
      seen.add(key);
    }
    open = close + 1;
  }
  return false;
}

/** Map a thrown error to a problem; null means unexpected (500). */
export function toProblem(error: unknown, request: FastifyRequest, jsonLimit: number): HttpProblem | null {
  if (error instanceof HttpProblem) return error;
  // The message names the field as the CLI does (`servers: …`); the path points at the entry (`#/servers/1`).
  const fieldErrors = (e: { message: string; field?: string }): FieldError[] | undefined =>
    e.field ? [{ path: `#/${e.field}`, message: e.message.replace(new RegExp(`^${e.field.split('/')[0]}(\\[\\d+\\])?: `), '') }] : undefined;
  if (error instanceof BadRequestError) return new HttpProblem(400, PROBLEM_TYPES.badRequest, error.message, fieldErrors(error));
  if (error instanceof NotFoundError && error.errors?.length) return new HttpProblem(404, PROBLEM_TYPES.notFound, error.message, error.errors.map((e) => ({ path: `#/${e.field}`, message: e.message })));
  if (error instanceof NotFoundError && error.field) return new HttpProblem(404, PROBLEM_TYPES.notFound, error.message, fieldErrors(error));
  if (error instanceof NoChampionError || error instanceof NoDataYetError) return new HttpProblem(503, PROBLEM_TYPES.unavailable, error.message);
  if (error instanceof NotFoundError || error instanceof NoEvidenceError) return new HttpProblem(404, PROBLEM_TYPES.notFound, error.message);
  const missing = missingObject(error);
  if (missing !== null) {
    request.log.error({ err: error }, 'the warehouse lacks a table or database');
    return new HttpProblem(503, PROBLEM_TYPES.unavailable, missing);
  }
  if (warehouseFilesUnreadable(error)) {
    // The paths stay in the log, as a model file's do (a trial: a data folder made unreadable answered every route 500).
    request.log.error({ err: error }, 'the warehouse cannot read or write its own files');
    return new HttpProblem(503, PROBLEM_TYPES.unavailable, UNREADABLE_FILES);
  }
  // The server's paths stay in its log (the error handler logs the cause); a trial's damaged champion answered a bare 500.
  if (error instanceof ModelFileError) {
    request.log.error({ err: error }, 'a latency model file cannot be used');
    return new HttpProblem(503, PROBLEM_TYPES.unavailable, `the file of latency model ${JSON.stringify(error.version)} cannot be used: missing, not the file registered, or not a latency model of its kind (the server's log says which): \`edgelat model train\` writes it back, or trains a model to replace it, or \`edgelat model promote\` another version (through the ClickHouse port of this server, EDGELAT_CLICKHOUSE_URL=http://HOST:SQL_PORT, where it holds the embedded warehouse, which one process at a time opens; or with it stopped)`);
  }
  const { code, statusCode, message } = error as Partial<FastifyError>;
  const route = API_ROUTES.find((r) => r.path === request.routeOptions.url && r.method === request.method.toLowerCase());
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpProblem(413, PROBLEM_TYPES.bodyTooLarge, `request body exceeds the limit of ${request.routeOptions.bodyLimit ?? jsonLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const sent = request.headers['content-type'];
      const accepted = JSON.stringify(route?.body?.contentType ?? 'application/json');
      return new HttpProblem(415, PROBLEM_TYPES.unsupportedMediaType, sent === undefined ? `missing content type: send ${accepted}` : `content type ${JSON.stringify(sent)} is not accepted: send ${accepted}`);
    }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // Fastify's parser refuses "__proto__" and "constructor" keys (prototype poisoning) with the same error code.
      return new HttpProblem(400, PROBLEM_TYPES.malformedBody, 'request body is not valid JSON, or has a "__proto__" or "constructor" key (refused)');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpProblem(400, PROBLEM_TYPES.malformedBody, 'request body is empty: send a JSON object');
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const detail = message ? message.charAt(0).toLowerCase() + message.slice(1) : 'bad request';
    return new HttpProblem(statusCode, statusCode === 413 ? PROBLEM_TYPES.bodyTooLarge : PROBLEM_TYPES.malformedBody, detail);
  }
  return null;
}
