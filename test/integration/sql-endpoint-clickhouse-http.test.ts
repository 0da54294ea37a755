/**
 * The SQL endpoint behaves as ClickHouse's HTTP interface does where a user trial found it did not: `KILL QUERY … SYNC`
 * returns once its target is gone, `GET /` answers "Ok.", a long URL is read, `compress=1` (ClickHouse's own block
 * format) is refused rather than ignored, and `max_query_size` in the URL lets a query over 256 KiB run.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbEngine } from '../../services/sql-endpoint/chdb-engine.ts';
import { createSqlEndpoint, type SqlEndpoint } from '../../services/sql-endpoint/server.ts';
import { rawRequest } from '../helpers/raw-http.ts';

/** The endpoint's time limit in these tests, s: a KILL that hangs fails on it (TIMEOUT_EXCEEDED), well after the test's own wait. */
const LIMIT_S = 20;

let endpoint: SqlEndpoint;
let base: string;

beforeAll(async () => {
  endpoint = createSqlEndpoint({ engine: new ChdbEngine(mkdtempSync(join(tmpdir(), 'edgelat-ch-http-')), { maxExecutionS: LIMIT_S }) });
  await endpoint.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(endpoint.server.address() as { port: number }).port}`;
});
afterAll(async () => endpoint?.close());

/** Status, exception code header and body of one request. */
async function call(path: string, init: RequestInit = {}): Promise<{ status: number; code: string | null; text: string }> {
  const res = await fetch(`${base}${path}`, init);
  return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), text: await res.text() };
}

/** The queries running on the engine, by their text (system.processes) without the endpoint's comment, but the one asking. */
async function running(): Promise<string[]> {
  const { text } = await call(`/?query=${encodeURIComponent("SELECT replaceRegexpOne(query, '^/\\\\* edgelat-endpoint-query [0-9a-f-]{36} \\\\*/\\\\n', '') FROM system.processes WHERE query NOT LIKE '%system.processes%' FORMAT TSVRaw")}`);
  return text.split('\n').filter(Boolean);
}

/** Wait until `sql` is running on the engine (its request sent a moment ago). */
async function untilRunning(sql: string): Promise<void> {
  for (let i = 0; i < 100 && !(await running()).includes(sql); i++) await new Promise((r) => setTimeout(r, 50));
  expect(await running()).toContain(sql);
}

describe('KILL QUERY … SYNC over the HTTP port', () => {
  it('a query whose client went away is stopped by the endpoint, and a KILL … SYNC of it then returns at once (a trial: it hung until --sql-timeout, then TIMEOUT_EXCEEDED)', async () => {
    const target = 'SELECT sum(number) FROM numbers(100000000004)';
    const client = new AbortController();
    const read = fetch(`${base}/?query=${encodeURIComponent(target)}`, { signal: client.signal }).catch((error: unknown) => error);
    await untilRunning(target);
    client.abort();
    await read;
    for (let i = 0; i < 100 && (await running()).includes(target); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await running()).toEqual([]);
    const started = Date.now();
    const kill = await call('/', { method: 'POST', body: `KILL QUERY WHERE position(query, '${target}') > 0 AND query_id != queryID() SYNC` });
    // chdb kept a failed stream's query in system.processes until its connection's next query: KILL waited for that.
    expect([kill.status, kill.text, Date.now() - started < 5_000]).toEqual([200, '', true]);
  });

  it('returns once its target is killed, whose client still waits, and the target is answered QUERY_WAS_CANCELLED', async () => {
    const target = 'SELECT sum(number) FROM numbers(100000000005)';
    const read = call(`/?query=${encodeURIComponent(target)}`);
    await untilRunning(target);
    const started = Date.now();
    // Its text in system.processes starts with the endpoint's comment (what a client's leaving kills it by).
    const kill = await call('/', { method: 'POST', body: `KILL QUERY WHERE query LIKE '/* edgelat-endpoint-query %' AND position(query, '${target}') > 0 AND query_id != queryID() SYNC` });
    expect([kill.status, Date.now() - started < 5_000]).toEqual([200, true]);
    expect(kill.text).toMatch(/^finished\t[0-9a-f-]{36}\tdefault\t\/\* edgelat-endpoint-query [0-9a-f-]{36} \*\/\\nSELECT sum\(number\) FROM numbers\(100000000005\)\n$/);
    expect(await read).toEqual({ status: 500, code: '394', text: expect.stringMatching(/^Code: 394\. DB::Exception: .*QUERY_WAS_CANCELLED/) });
  });

  it('runs beside a long query on the writer instead of queueing behind the query it is sent to stop (a POST with SETTINGS runs there)', async () => {
    const target = 'SELECT sum(number) FROM numbers(100000000006) SETTINGS max_threads = 1';
    const read = call('/', { method: 'POST', body: target });
    await untilRunning(target);
    const started = Date.now();
    const kill = await call('/', { method: 'POST', body: `KILL QUERY WHERE query LIKE '%numbers(100000000006)%' AND query NOT LIKE '%KILL%' SYNC` });
    expect([kill.status, Date.now() - started < 5_000]).toEqual([200, true]);
    expect(kill.text).toMatch(/^finished\t/);
    expect((await read).code).toBe('394');
    expect(await running()).toEqual([]);
  });
});

describe('a change whose client goes away', () => {
  it('runs to its end once running (ClickHouse cancels only reads), and is not run while it still waits for the writer (a re-test: an INSERT\'s rows were written after its client left)', async () => {
    await call('/', { method: 'POST', body: 'CREATE TABLE default.left_behind (n UInt64) ENGINE = MergeTree ORDER BY n' });
    const count = async () => (await call(`/?query=${encodeURIComponent('SELECT count() FROM default.left_behind')}`)).text;
    // Running when its client leaves: an INSERT … SELECT is not cut off halfway (a re-test: 56 million of its rows stayed).
    const long = 'INSERT INTO default.left_behind SELECT sum(number) FROM numbers(3000000000)';
    const client = new AbortController();
    const sent = fetch(`${base}/`, { method: 'POST', body: long, signal: client.signal }).catch((error: unknown) => error);
    await untilRunning(long);
    client.abort();
    await sent;
    for (let i = 0; i < 400 && (await count()) !== '1\n'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await count()).toBe('1\n');
    // Waiting for the writer (a long query with SETTINGS holds it) when its client leaves: neither the INSERT with its
    // rows in the body nor an INSERT … VALUES runs once the writer is free.
    const busy = 'SELECT sum(number) FROM numbers(100000000007) SETTINGS max_threads = 1';
    const holding = call('/', { method: 'POST', body: busy });
    await untilRunning(busy);
    for (const body of ['INSERT INTO default.left_behind FORMAT TSV\n7\n', 'INSERT INTO default.left_behind VALUES (8)']) {
      const leaving = new AbortController();
      const waiting = fetch(`${base}/`, { method: 'POST', body, signal: leaving.signal }).catch((error: unknown) => error);
      await new Promise((r) => setTimeout(r, 300));
      leaving.abort();
      await waiting;
    }
    await call('/', { method: 'POST', body: `KILL QUERY WHERE position(query, '${busy}') > 0 AND query_id != queryID() SYNC` });
    expect((await holding).code).toBe('394');
    await new Promise((r) => setTimeout(r, 500));
    expect(await count()).toBe('1\n');
    await call('/', { method: 'POST', body: 'DROP TABLE default.left_behind' });
  });
});

describe('health checks: GET / and /ping', () => {
  it('answers GET / (and HEAD /) without parameters 200 "Ok.", as ClickHouse does (a trial: 400 "empty query"); with parameters but no query, Empty query', async () => {
    for (const path of ['/', '/ping']) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status, res.headers.get('content-type'), await res.text()]).toEqual([path, 200, 'text/plain; charset=UTF-8', 'Ok.\n']);
    }
    expect((await fetch(`${base}/`, { method: 'HEAD' })).status).toBe(200);
    const params = await call('/?database=default');
    expect([params.status, params.code]).toEqual([400, '62']);
    const post = await call('/', { method: 'POST', body: '' });
    expect([post.status, post.code]).toEqual([400, '62']);
  });
});

describe('requests no route sees', () => {
  it('answers CONNECT with a 405 exception (a re-test: the connection closed without a byte), and an HTTP/1.0 GET without Host', async () => {
    const { port } = endpoint.server.address() as AddressInfo;
    const send = (request: string) => rawRequest(port, request);
    const [head, body] = (await send('CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n')).split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(head).toContain('X-ClickHouse-Exception-Code: 36');
    expect(body).toMatch(/^Code: 36\. DB::Exception: method CONNECT is not allowed: this endpoint is no proxy\. \(BAD_ARGUMENTS\)/);
    // A probe's HTTP/1.0 request has no Host, as no browser's does: answered (a trial: refused as a browser's).
    expect(await send('GET /ping HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nOk\.\n$/);
    // HTTP/1.1 without Host: 400 with an exception that says so (Node's own answer was a bare 400).
    const [noHostHead, noHostBody] = (await send('GET /ping HTTP/1.1\r\nConnection: close\r\n\r\n')).split('\r\n\r\n');
    expect(noHostHead).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(noHostBody).toMatch(/^Code: 36\. DB::Exception: an HTTP\/1\.1 request must carry a Host header \(RFC 9112 §3\.2\), and this one has none: .*\. \(BAD_ARGUMENTS\)/);
  });
});

describe('compress=1 and decompress=1 (ClickHouse\'s own compressed block format)', () => {
  it('refuses compress=1 naming it, rather than answering plain text a client would read as blocks (a trial: 200 "1\\n"); compress=0 is taken', async () => {
    const res = await call(`/?compress=1&query=${encodeURIComponent('SELECT 1')}`);
    expect(res).toEqual({ status: 400, code: '36', text: expect.stringMatching(/^Code: 36\. DB::Exception: compress=1 asks for the answer in ClickHouse's own compressed block format .*leave compress out \(or 0\)\. .*\(BAD_ARGUMENTS\) \(version edgelat-chdb\)\n$/) });
    expect(await call(`/?compress=0&query=${encodeURIComponent('SELECT 1')}`)).toEqual({ status: 200, code: null, text: '1\n' });
    const body = await call('/?decompress=1', { method: 'POST', body: 'SELECT 1' });
    expect([body.status, body.code, body.text]).toEqual([400, '36', expect.stringMatching(/^Code: 36\. DB::Exception: decompress=1 says the request body is in ClickHouse's own compressed block format/)]);
  });
});

describe('long queries', () => {
  /** A query of about `n` bytes: the length of a string literal of `n` a's. */
  const long = (n: number) => `SELECT length('${'a'.repeat(n)}')`;

  it('reads a GET whose URL is longer than 16 KiB (a trial: 431), up to 1 MiB; a longer one is refused saying to POST the query', async () => {
    expect(await call(`/?query=${encodeURIComponent(long(100_000))}`)).toEqual({ status: 200, code: null, text: '100000\n' });
    const over = await call(`/?query=${encodeURIComponent(long(1_200_000))}`);
    expect([over.status, over.code, over.text]).toEqual([431, '36', expect.stringMatching(/^Code: 36\. DB::Exception: the request's URL and headers are larger than the endpoint reads \(1114112 bytes: .*\): send a long query in the POST body/)]);
    // The endpoint still answers on a new connection.
    expect((await call(`/?query=${encodeURIComponent('SELECT 2')}`)).text).toBe('2\n');
  });

  it('runs a 300 KB query with max_query_size in the URL, GET or POST (a trial: refused, code 452); without it, or with it only in SETTINGS, says how', async () => {
    const sql = long(300_000);
    expect(await call('/?max_query_size=2000000', { method: 'POST', body: sql })).toEqual({ status: 200, code: null, text: '300000\n' });
    expect(await call(`/?max_query_size=2000000&query=${encodeURIComponent(sql)}`)).toEqual({ status: 200, code: null, text: '300000\n' });
    // Larger than the ceiling: taken as the ceiling.
    expect(await call('/?max_query_size=100000000000', { method: 'POST', body: sql })).toEqual({ status: 200, code: null, text: '300000\n' });
    for (const body of [sql, `${sql} SETTINGS max_query_size = 2000000`]) {
      const res = await call('/', { method: 'POST', body });
      const bytes = Buffer.byteLength(body);
      expect([res.status, res.code, res.text]).toEqual([400, '62', `Code: 62. DB::Exception: Max query size exceeded (can be increased with the \`max_query_size\` setting): the query is ${bytes} bytes, max_query_size is 262144: `
        + `give max_query_size=${bytes} or more in the URL (?max_query_size=${bytes}; up to 16777216 here). A SETTINGS clause in the query does not apply to its own parsing (in ClickHouse too). (SYNTAX_ERROR) (version edgelat-chdb)\n`]);
    }
    const bad = await call('/?max_query_size=lots', { method: 'POST', body: 'SELECT 1' });
    expect([bad.status, bad.code, bad.text]).toEqual([400, '36', expect.stringMatching(/^Code: 36\. DB::Exception: max_query_size = "lots" in the URL: expected a whole number of bytes/)]);
  });

  it('does not count an INSERT … VALUES statement\'s data, as ClickHouse does not', async () => {
    expect((await call('/', { method: 'POST', body: 'CREATE TABLE default.long_values (s String) ENGINE = Memory' })).status).toBe(200);
    expect((await call('/', { method: 'POST', body: `INSERT INTO default.long_values VALUES ('${'b'.repeat(300_000)}')` })).status).toBe(200);
    expect((await call(`/?query=${encodeURIComponent('SELECT count(), sum(length(s)) FROM default.long_values')}`)).text).toBe('1\t300000\n');
  });
});
