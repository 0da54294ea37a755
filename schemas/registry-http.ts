/**
 * Confluent Schema Registry client over its REST API (`fetch`, no extra package).
 *
 * Source: Confluent Schema Registry API reference: `GET /schemas/ids/{id}`
 * (`{"schema": "<json text>", "schemaType"?: "AVRO"}`; 404 / error_code 40403 for
 * an unknown id), `POST /subjects/{subject}/versions` (body `{"schema": "<json text>"}`,
 * answer `{"id": n}`; 409 incompatible, 422 invalid), content type
 * `application/vnd.schemaregistry.v1+json`; HTTP basic auth for secured registries.
 *
 * Why not `@kafkajs/confluent-schema-registry`: its current release (4.x) requires
 * Node >= 22 (edgelat runs on Node 20), pulls ajv, protobufjs and mappersmith, and
 * hands back types compiled with its own avsc, which would lose the exact long of
 * schemas/long.ts (case C10).
 */
import { scrubSecrets, urlForMessages, withoutUrlParts } from '../errors.ts';
import { parseSchemaText } from './codec.ts';
import { quoteValue, toJsonText } from './json.ts';
import { SchemaRegistryError, UnknownSchemaIdError, type SchemaRegistryClient } from './registry.ts';

/** Content type of the Schema Registry REST API (v1). */
export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Options of {@link HttpSchemaRegistryClient}. */
export interface HttpSchemaRegistryOptions {
  /** Per-request timeout, milliseconds. @default 10000 */
  timeoutMs?: number;
  /** Extra headers (e.g. `authorization`); they win over credentials taken from the URL. @default {} */
  headers?: Record<string, string>;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Schema Registry client over its REST API with `fetch`.
 *
 * Behaviour: `getSchema` is `GET {url}/schemas/ids/{id}` (404 / error_code 40403 ->
 * {@link UnknownSchemaIdError}); `register` is `POST {url}/subjects/{subject}/versions`
 * with body `{"schema": "<schema as JSON text>"}`. 5xx, 429, timeouts and network errors
 * are retriable {@link SchemaRegistryError}s (`status` null for no answer); other statuses
 * and malformed answers are not. Credentials in the URL (`https://key:secret@host`, as
 * Confluent Cloud hands them out) are sent as HTTP basic auth, since `fetch` refuses URLs
 * with credentials, and never appear in error messages. No cache and no retry loop here:
 * callers cache by id (schemas/registry.ts `ConfluentFraming`, services/eventlog/confluent-wire.ts)
 * and retry with services/retry.ts.
 * @example new HttpSchemaRegistryClient('http://localhost:8081')
 * @see test/unit/schemas/evolution.test.ts, test/integration/confluent-wire.test.ts
 */
export class HttpSchemaRegistryClient implements SchemaRegistryClient {
  readonly #base: string;
  /** The URL as given, with its login: its secrets are cut from the answers quoted in errors. */
  readonly #given: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  /**
   * @param url      Base URL of the registry, e.g. `http://localhost:8081`; may carry `user:password@`.
   * @param options  See {@link HttpSchemaRegistryOptions}.
   * @throws {TypeError} if `url` is not a valid http(s) URL (a config error).
   * @throws {RangeError} if `options.timeoutMs` is not a positive number (a programmer error).
   */
  constructor(url: string, options: HttpSchemaRegistryOptions = {}) {
    const parsed = new URL(url);
    this.#given = url;
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`schema registry url ${quoteValue(urlForMessages(url))} is not http(s), e.g. "http://localhost:8081"`);
    }
    const auth: Record<string, string> = {};
    if (parsed.username || parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      auth.authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
      parsed.username = '';
      parsed.password = '';
    }
    this.#base = parsed.toString().replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    if (!(this.#timeoutMs > 0)) throw new RangeError(`timeoutMs: expected a number > 0, got ${quoteValue(options.timeoutMs)}`);
    this.#headers = { ...auth, ...options.headers };
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** Base URL as logs and messages show it: scheme, host and port (a path may hold a secret, as a proxy's prefix). */
  get url(): string {
    return urlForMessages(this.#base);
  }

  async #call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: { accept: SCHEMA_REGISTRY_CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': SCHEMA_REGISTRY_CONTENT_TYPE }), ...this.#headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      // undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a certificate) is its cause (a trial).
      const message = err instanceof Error ? err.message : String(err);
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
      throw new SchemaRegistryError(`schema registry ${method} ${path} at ${urlForMessages(this.#base)} failed: ${message.toLowerCase()}${cause}`, null, { retriable: true, cause: err });
    }
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
      else if (res.ok) throw new SyntaxError('not a json object');
    } catch {
      if (res.ok) throw new SchemaRegistryError(`schema registry ${method} ${path} returned non-json ${quoteValue(scrubSecrets(withoutUrlParts(text, this.#given).slice(0, 200)))}`, res.status);
    }
    return { status: res.status, json, text };
  }

  /**
   * The error of a refused call: the registry's `message`, else its JSON body, else the first 200 characters of a body
   * that is not JSON, whitespace collapsed (a trial: an HTML error page read `returned http 501: "{}"`).
   */
  #error(method: string, path: string, status: number, json: Record<string, unknown>, text: string): SchemaRegistryError {
    const plain = text.replace(/\s+/g, ' ').trim();
    const detail = typeof json.message === 'string' ? json.message : Object.keys(json).length > 0 || plain === '' ? JSON.stringify(json) : plain.slice(0, 200);
    // A registry (or a proxy before it) may echo the request's Authorization back (a trial: printed at the default level).
    // …and its URL's path, query and login (a security trial: a 4xx quoted the decoded `user:password` and the path's
    // token, which a pipeline's /healthz then showed).
    return new SchemaRegistryError(`schema registry ${method} ${path} returned http ${status}: ${quoteValue(scrubSecrets(withoutUrlParts(detail, this.#given)))}`, status, { retriable: status >= 500 || status === 429 });
  }

  /**
   * See {@link SchemaRegistryClient.getSchema}.
   * @throws {UnknownSchemaIdError} for 404 / error_code 40403.
   * @throws {SchemaRegistryError} retriable for no answer, 5xx or 429; not retriable for other
   *         statuses, a non-Avro schema or a schema that is not JSON.
   */
  async getSchema(id: number): Promise<object> {
    const path = `/schemas/ids/${id}`;
    const { status, json, text } = await this.#call('GET', path);
    if (status === 404 || json.error_code === 40403) throw new UnknownSchemaIdError(id);
    if (status < 200 || status >= 300) throw this.#error('GET', path, status, json, text);
    if (json.schemaType !== undefined && json.schemaType !== 'AVRO') throw new SchemaRegistryError(`schema id ${id} is ${quoteValue(json.schemaType)}, not avro`, status);
    if (typeof json.schema !== 'string') throw new SchemaRegistryError(`schema registry GET ${path} returned no "schema" string`, status);
    try {
      const schema: unknown = parseSchemaText(json.schema);
      if (schema === null || typeof schema !== 'object') throw new SyntaxError('not an object');
      return schema;
    } catch (err) {
      throw new SchemaRegistryError(`schema id ${id} is not a json avro schema object: ${quoteValue(json.schema.slice(0, 200))}`, status, { cause: err });
    }
  }

  /**
   * See {@link SchemaRegistryClient.register}.
   * @throws {SchemaRegistryError} retriable for no answer, 5xx or 429; not retriable for
   *         409 (incompatible), 422 (invalid schema), 401/403 and other statuses.
   */
  async register(subject: string, schema: object): Promise<number> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions`;
    const { status, json, text } = await this.#call('POST', path, { schema: toJsonText(schema) });
    if (status < 200 || status >= 300) throw this.#error('POST', path, status, json, text);
    if (typeof json.id !== 'number') throw new SchemaRegistryError(`schema registry POST ${path} returned no numeric "id"`, status);
    return json.id;
  }
}

/**
 * Pick the registry client from the environment.
 *
 * @param env  Environment variables. @default process.env (prefer passing `loadConfig().schemaRegistryUrl`
 *             to {@link HttpSchemaRegistryClient} directly: only services/config.ts reads the environment)
 * @returns    An {@link HttpSchemaRegistryClient} when `EDGELAT_SCHEMA_REGISTRY_URL` is set
 *             (non-empty), else `null` (no registry: producers write single-object Avro).
 * @throws {TypeError} if the URL is malformed (a config error).
 */
export function schemaRegistryFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): HttpSchemaRegistryClient | null {
  const url = env.EDGELAT_SCHEMA_REGISTRY_URL?.trim();
  return url ? new HttpSchemaRegistryClient(url) : null;
}
