import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HttpSchemaRegistryClient, SCHEMA_REGISTRY_CONTENT_TYPE, SchemaRegistryError, UnknownSchemaIdError } from '../../../schemas/index.ts';

interface Seen {
  url: string;
  init: RequestInit;
}

/** A fetch that records its calls and answers with `status` and `body` (or throws `error`). */
function fakeFetch(answer: { status?: number; body?: unknown; error?: Error }): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fn = async (url: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    seen.push({ url: String(url), init });
    if (answer.error) throw answer.error;
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
    return new Response(text, { status: answer.status ?? 200, headers: { 'content-type': SCHEMA_REGISTRY_CONTENT_TYPE } });
  };
  return { fetch: fn as typeof fetch, seen };
}

describe('HttpSchemaRegistryClient', () => {
  it('sends URL credentials as basic auth and keeps them out of the request URL and of errors', async () => {
    const { fetch, seen } = fakeFetch({ status: 503, body: { error_code: 50003, message: 'down' } });
    const client = new HttpSchemaRegistryClient('https://key%40team:p%3Ass@registry.example:8081/base/', { fetch });
    expect(client.url).toBe('https://registry.example:8081/…'); // a path may hold a secret (a proxy's prefix): not shown
    const err = await client.register('edge.load.v1-value', { type: 'string' }).catch((e: unknown) => e);
    expect(seen[0]!.url).toBe('https://registry.example:8081/base/subjects/edge.load.v1-value/versions');
    // base64("key@team:p:ss")
    expect((seen[0]!.init.headers as Record<string, string>).authorization).toBe(`Basic ${Buffer.from('key@team:p:ss').toString('base64')}`);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect(err).toMatchObject({ status: 503, retriable: true });
    expect((err as Error).message).not.toMatch(/p:ss|p%3Ass/);
  });

  it('names the registry and the reason when it cannot be reached (a trial: "fetch failed" alone), without the URL\'s credentials', async () => {
    // A port nothing listens on: one the system gave a server that has closed since.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const err = await new HttpSchemaRegistryClient(`http://u:secret@127.0.0.1:${port}`).register('edge.load.v1-value', { type: 'string' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as Error).message).toBe(`schema registry POST /subjects/edge.load.v1-value/versions at http://127.0.0.1:${port} failed: fetch failed: ECONNREFUSED`);
  });

  it('cuts an Authorization the registry echoes back out of its error (a trial: printed at the default log level)', async () => {
    const basic = Buffer.from('reg:hunter2').toString('base64');
    const { fetch } = fakeFetch({ status: 500, body: { error: 'denied', authorization: `Basic ${basic}` } });
    const err = await new HttpSchemaRegistryClient('http://reg:hunter2@registry.example:8081', { fetch }).register('edge.load.v1-value', { type: 'string' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as Error).message).toContain('returned http 500');
    expect((err as Error).message).not.toContain(basic);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('lets an explicit authorization header win over URL credentials', async () => {
    const { fetch, seen } = fakeFetch({ body: { id: 3 } });
    const client = new HttpSchemaRegistryClient('http://u:p@localhost:8081', { fetch, headers: { authorization: 'Bearer t' } });
    expect(await client.register('s', { type: 'string' })).toBe(3);
    expect((seen[0]!.init.headers as Record<string, string>).authorization).toBe('Bearer t');
  });

  it.each([
    ['a network error', { error: new TypeError('fetch failed') }, { retriable: true, status: null }],
    ['429', { status: 429, body: { error_code: 42901 } }, { retriable: true, status: 429 }],
    ['401', { status: 401, body: { error_code: 401, message: 'Unauthorized' } }, { retriable: false, status: 401 }],
    ['a schema that is not json', { body: { schema: '{"type": "record", ' } }, { retriable: false, status: 200 }],
    ['a protobuf schema', { body: { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' } }, { retriable: false, status: 200 }],
    ['a non-json answer', { body: '<html>proxy</html>' }, { retriable: false, status: 200 }],
  ])('maps %s on GET /schemas/ids/{id} to a SchemaRegistryError', async (_what, answer, expected) => {
    const err = await new HttpSchemaRegistryClient('http://localhost:8081', { fetch: fakeFetch(answer).fetch }).getSchema(5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect(err).toMatchObject(expected);
  });

  it('quotes the body of a refusal that is not JSON (a trial: an HTML error page read `returned http 501: "{}"`)', async () => {
    const html = '<!DOCTYPE HTML>\n<html>\n  <body><h1>Error response</h1>\n<p>Error code: 501</p></body></html>\n';
    const err = await new HttpSchemaRegistryClient('http://localhost:8081', { fetch: fakeFetch({ status: 501, body: html }).fetch }).getSchema(5).catch((e: unknown) => e);
    expect((err as Error).message).toBe('schema registry GET /schemas/ids/5 returned http 501: "<!DOCTYPE HTML> <html> <body><h1>Error response</h1> <p>Error code: 501</p><...');
    const json = await new HttpSchemaRegistryClient('http://localhost:8081', { fetch: fakeFetch({ status: 500, body: { error_code: 50001 } }).fetch }).register('s', {}).catch((e: unknown) => e);
    expect((json as Error).message).toBe('schema registry POST /subjects/s/versions returned http 500: "{\\"error_code\\":50001}"');
  });

  it('cuts the URL\'s login, path and query from an answer that echoes them (a security trial: a 4xx quoted user:password and the path\'s token)', async () => {
    const url = 'http://sruser:SRPASS_x9@localhost:8081/SRPATHTOK?key=QKEY123';
    const token = Buffer.from('sruser:SRPASS_x9').toString('base64');
    const echo = `denied for sruser:SRPASS_x9 (Basic ${token}) pw SRPASS_x9 at /SRPATHTOK/subjects?key=QKEY123`;
    const err = await new HttpSchemaRegistryClient(url, { fetch: fakeFetch({ status: 401, body: echo }).fetch }).register('s', {}).catch((e: unknown) => e);
    expect((err as Error).message).toBe('schema registry POST /subjects/s/versions returned http 401: "denied for [redacted] (Basic [redacted]) pw [redacted] at …/subjects?key=…"');
    const json = await new HttpSchemaRegistryClient(url, { fetch: fakeFetch({ status: 503, body: { message: `overloaded; request from sruser:SRPASS_x9 for /SRPATHTOK/schemas/ids/7` } }).fetch }).getSchema(7).catch((e: unknown) => e);
    expect((json as Error).message).toBe('schema registry GET /schemas/ids/7 returned http 503: "overloaded; request from [redacted] for …/schemas/ids/7"');
  });

  it('maps 404 / 40403 to UnknownSchemaIdError and returns the parsed schema otherwise', async () => {
    await expect(new HttpSchemaRegistryClient('http://localhost:8081', { fetch: fakeFetch({ status: 404, body: { error_code: 40403 } }).fetch }).getSchema(9)).rejects.toBeInstanceOf(UnknownSchemaIdError);
    const schema = { type: 'record', name: 'R', fields: [] };
    expect(await new HttpSchemaRegistryClient('http://localhost:8081', { fetch: fakeFetch({ body: { schema: JSON.stringify(schema) } }).fetch }).getSchema(9)).toEqual(schema);
  });

  it('rejects a bad URL and a non-positive timeout at construction', () => {
    expect(() => new HttpSchemaRegistryClient('not a url')).toThrow(TypeError);
    expect(() => new HttpSchemaRegistryClient('localhost:8081')).toThrow(/not http\(s\)/);
    expect(() => new HttpSchemaRegistryClient('http://localhost:8081', { timeoutMs: 0 })).toThrow(RangeError);
  });
});
