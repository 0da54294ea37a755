import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { drainEagerly, midStreamException, toWarehouseError } from '../../../../services/warehouse/clickhouse.ts';
import { exceptionFirstLine } from '../../../../services/warehouse/types.ts';

describe('toWarehouseError', () => {
  it('keeps a ClickHouse error with its code, and marks network errors and retriable codes', () => {
    const ch = toWarehouseError(new Error('Code: 60. DB::Exception: Unknown table expression identifier \'x\'.\nmore'), 'query');
    expect(ch.message).toBe('query failed: Code: 60. DB::Exception: Unknown table expression identifier \'x\'.');
    expect(ch.code).toBe(60);
    expect(ch.retriable).toBe(false);
    expect(toWarehouseError(Object.assign(new Error('x'), { code: '209' }), 'insert').retriable).toBe(true);
    expect(toWarehouseError(new Error('connect ECONNREFUSED 127.0.0.1:8123'), 'ping').retriable).toBe(true);
  });

  it('cuts the login sent beside the URL from an answer that echoes it (a security trial: a proxy\'s 401 quoted chuser:CHPASS_z7)', () => {
    const echo = Object.assign(new Error(`chuser:CHPASS_z7 ${Buffer.from('chuser:CHPASS_z7').toString('base64')} : Authentication failed at /CHPATHTOK/`), { code: undefined });
    const e = toWarehouseError(echo, 'query', 'http://127.0.0.1:19001/CHPATHTOK/', { user: 'chuser', password: 'CHPASS_z7' });
    expect(e.message).toMatch(/^query failed: the server's answer is not ClickHouse's \("\[redacted\] \[redacted\] : Authentication failed at …\/"\)/);
    expect([e.message.includes('CHPASS'), String((e.cause as Error).stack).includes('CHPASS'), (e.cause as Error).message.includes('CHPASS')]).toEqual([false, false, false]);
  });

  it('names EDGELAT_CLICKHOUSE_URL and its value when nothing answers there (a trial read "statement failed: connect ECONNREFUSED" as a bad query)', async () => {
    const refused = toWarehouseError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'statement', 'http://127.0.0.1:1');
    expect([refused.message, refused.code, refused.retriable]).toEqual(['EDGELAT_CLICKHOUSE_URL: no ClickHouse server answers at "http://127.0.0.1:1" (connect ECONNREFUSED 127.0.0.1:1)', null, true]);
    expect(toWarehouseError(new Error('getaddrinfo ENOTFOUND clickhose'), 'query', 'http://clickhose:8123').message)
      .toBe('EDGELAT_CLICKHOUSE_URL: no ClickHouse server answers at "http://clickhose:8123" (getaddrinfo ENOTFOUND clickhose)');
    // A path (a proxy's prefix may be a secret) is shown as "…", as every other URL (a trial: printed whole).
    expect(toWarehouseError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'statement', 'http://127.0.0.1:1/chproxy-pathS3cret/').message)
      .toBe('EDGELAT_CLICKHOUSE_URL: no ClickHouse server answers at "http://127.0.0.1:1/…" (connect ECONNREFUSED 127.0.0.1:1)');
    // A failure mid-request (the server was there) names what failed, and the server (a re-test: "statement failed: Timeout error." alone).
    expect(toWarehouseError(new Error('socket hang up'), 'insert into t', 'http://127.0.0.1:8123').message).toBe('insert into t failed: socket hang up (ClickHouse at "http://127.0.0.1:8123", EDGELAT_CLICKHOUSE_URL)');
    expect(toWarehouseError(new Error('Timeout error.'), 'statement', 'http://127.0.0.1:19092').message).toBe('statement failed: Timeout error. (ClickHouse at "http://127.0.0.1:19092", EDGELAT_CLICKHOUSE_URL)');
    // And the client's own error through a real warehouse object: a port nothing listens on.
    const { ClickHouseWarehouse } = await import('../../../../services/warehouse/clickhouse.ts');
    const w = new ClickHouseWarehouse({ url: 'http://127.0.0.1:1' });
    try {
      await expect(w.exec('SELECT 1')).rejects.toThrow(/^EDGELAT_CLICKHOUSE_URL: no ClickHouse server answers at "http:\/\/127\.0\.0\.1:1" \(.*ECONNREFUSED/);
    } finally {
      await w.close();
    }
  });

  it('retries a gateway\'s answer in place of ClickHouse\'s (502, 503, 504: an outage behind a proxy), and says so', () => {
    const proxy = toWarehouseError(new Error('proxy: upstream answer dropped'), 'insert into edgelat.inference_events');
    expect([proxy.message, proxy.code, proxy.retriable]).toEqual(['insert into edgelat.inference_events failed: a proxy or load balancer answered in place of ClickHouse ("proxy: upstream answer dropped"): ClickHouse behind it is unavailable', null, true]);
    const nginx = toWarehouseError(new Error('<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n</html>'), 'statement');
    expect([nginx.retriable, nginx.message]).toEqual([true, expect.stringMatching(/^statement failed: a proxy or load balancer answered in place of ClickHouse \("<html> <head><title>502 Bad Gateway/)]);
    for (const body of ['Service Unavailable', 'upstream connect error or disconnect/reset before headers', '504 Gateway Time-out']) expect([body, toWarehouseError(new Error(body), 'q').retriable]).toEqual([body, true]);
    // Another server's page, a ClickHouse error that mentions 503 rows, are not (a code, or no gateway's words).
    expect(toWarehouseError(new Error('<!DOCTYPE HTML>\n<html>'), 'statement').retriable).toBe(false);
    expect(toWarehouseError(new Error('Code: 62. DB::Exception: Syntax error at position 503'), 'q').retriable).toBe(false);
  });

  it('cuts the URL\'s path and query values from an answer that echoes the request (a security trial: a proxy\'s 404 body showed the secret path prefix)', () => {
    const url = 'http://127.0.0.1:9875/ch-7f3a9c2e5b1d4e8f';
    const echoed = toWarehouseError(new Error('{"path": "/ch-7f3a9c2e5b1d4e8f", "status": 404, "error": "Not Found"}'), 'query', url);
    expect(echoed.message).toBe('query failed: the server\'s answer is not ClickHouse\'s ("{\\"path\\": \\"…\\", \\"status\\": 404, \\"error\\": \\"Not Found\\"}"): is EDGELAT_CLICKHOUSE_URL ("http://127.0.0.1:9875/…") the HTTP interface of a ClickHouse server (port 8123)?');
    // ClickHouse-like errors that quote the request line, percent-encoded too; a path of `/` alone is nothing to cut.
    const quoted = toWarehouseError(new Error('Code: 516. DB::Exception: bad request path=/proxy%20TOKEN/x?query_id=1&param_q=SELECT+1'), 'query', 'http://h:8123/proxy TOKEN/x/');
    expect(quoted.message).toContain('path=…?query_id=1');
    expect(quoted.message).not.toMatch(/TOKEN/);
    expect(toWarehouseError(new Error('Code: 60. DB::Exception: Table t does not exist at /'), 'query', 'http://h:8123/').message).toContain('does not exist at /');
    // Other forms of it (a re-test): a segment alone, slashes escaped in JSON, lower-case percent-hex, form encoding.
    const secret = 'http://h:8123/tenant/S3CRET%20PATH/';
    for (const echo of ['Code: 81. DB::Exception: Database S3CRET PATH does not exist', '{"path": "\\/tenant\\/S3CRET PATH"}', 'path=/tenant/s3cret%20path'.replace('s3cret', 'S3CRET').replace('path', 'PATH').replace('PATH=', 'path='), 'q=%2ftenant%2fS3CRET+PATH', 'GET /tenant/S3CRET%20PATH?x=1']) {
      const m = toWarehouseError(new Error(echo), 'query', secret);
      expect(m.message, echo).not.toMatch(/S3CRET|tenant/i);
      // The cause a log serializes (err.cause) is cut the same way, its code kept.
      const cause = m.cause as Error;
      expect([cause.message, cause.stack ?? '']).not.toEqual(expect.arrayContaining([expect.stringMatching(/S3CRET/i)]));
    }
    const withCode = Object.assign(new Error('connect ECONNREFUSED /tenant/S3CRET PATH'), { code: 'ECONNREFUSED' });
    expect((toWarehouseError(withCode, 'query', secret).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('says when the answer is not ClickHouse\'s: an empty body or an HTML page from another HTTP server', () => {
    const empty = toWarehouseError(new Error(''), 'statement');
    expect(empty.message).toBe('statement failed: the server\'s answer is not ClickHouse\'s (empty): is EDGELAT_CLICKHOUSE_URL the HTTP interface of a ClickHouse server (port 8123)?');
    expect(empty.code).toBeNull();
    const html = toWarehouseError(new Error('<!DOCTYPE HTML>\n<html>'), 'statement');
    expect(html.message).toMatch(/^statement failed: the server's answer is not ClickHouse's \("<!DOCTYPE HTML>"\): is EDGELAT_CLICKHOUSE_URL/);
    // A JSON error page, and the URL named where it is known (a trial: 'query failed: {"error":"not found"}').
    expect(toWarehouseError(new Error('{"error":"not found"}'), 'query', 'http://127.0.0.1:18994').message)
      .toBe('query failed: the server\'s answer is not ClickHouse\'s ("{\\"error\\":\\"not found\\"}"): is EDGELAT_CLICKHOUSE_URL ("http://127.0.0.1:18994") the HTTP interface of a ClickHouse server (port 8123)?');
  });

  it('sends a URL\'s path as the path, a proxy\'s prefix, not as the database (a trial: /system queried the system database)', async () => {
    const { createServer } = await import('node:http');
    const { ClickHouseWarehouse } = await import('../../../../services/warehouse/clickhouse.ts');
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.writeHead(200, { 'X-ClickHouse-Query-Id': 'q1', 'Content-Type': 'text/plain' }).end('["a"]\n["UInt8"]\n[1]\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const w = new ClickHouseWarehouse({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/proxy/ch/`, database: 'edgelat' });
    try {
      expect(await w.query('SELECT 1 AS a')).toEqual([{ a: 1 }]);
      expect(seen).toHaveLength(1);
      // As given, its trailing `/` too (a proxy may route only /proxy/ch/).
      expect(new URL(seen[0]!, 'http://x').pathname).toBe('/proxy/ch/');
      // Not the path as the database (the client's own reading): none, or the client's default.
      expect([null, 'default']).toContain(new URL(seen[0]!, 'http://x').searchParams.get('database'));
    } finally {
      await w.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses a server that answers 200 without ClickHouse\'s headers, naming the URL: nothing is taken as written (a trial: migrate "applied", the pipeline committed 98,497 records written nowhere)', async () => {
    const { createServer } = await import('node:http');
    const { ClickHouseWarehouse } = await import('../../../../services/warehouse/clickhouse.ts');
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Length': '0' }).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const w = new ClickHouseWarehouse({ url });
    const refusal = `EDGELAT_CLICKHOUSE_URL: the server at ${JSON.stringify(url)} answered without ClickHouse's X-ClickHouse-* headers: it is not the HTTP interface of a ClickHouse server (port 8123), or a proxy in front of it drops them`;
    try {
      await expect(w.exec('CREATE DATABASE x')).rejects.toThrow(refusal);
      await expect(w.query('SELECT 1')).rejects.toThrow(refusal);
      const insert = await w.insert('x.t', [{ a: 1 }]).catch((e: unknown) => e);
      expect([(insert as Error).message, (insert as { retriable?: boolean }).retriable]).toEqual([refusal, false]);
    } finally {
      await w.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('undoes the nesting chdb adds to a rethrown exception (the code said three times), and leaves other text as its first line', () => {
    const nested = 'Code: 73. DB::Exception: Code: 73. DB::Exception: Code: 73. DB::Exception: Unknown format Nonexistent. (UNKNOWN_FORMAT) (version 26.7.2.1). (UNKNOWN_FORMAT) (version 26.7.2.1). (UNKNOWN_FORMAT)\nstack';
    expect(exceptionFirstLine(nested)).toBe('Code: 73. DB::Exception: Unknown format Nonexistent. (UNKNOWN_FORMAT)');
    const plain = 'Code: 60. DB::Exception: Unknown table expression identifier \'x\'. (UNKNOWN_TABLE) (version 26.7.2.1)\nmore';
    expect(exceptionFirstLine(plain)).toBe('Code: 60. DB::Exception: Unknown table expression identifier \'x\'. (UNKNOWN_TABLE) (version 26.7.2.1)');
    expect(exceptionFirstLine('connect ECONNREFUSED\nx')).toBe('connect ECONNREFUSED');
  });
  it('takes any answer without a ClickHouse code for another server\'s, and says when a login was refused (a trial: "query failed: Unauthorized POST /?query_id=…")', () => {
    const plain = toWarehouseError(new Error('Unauthorized POST /?query_id=1\nauthorization: Basic Y2h1c2VyOlMzY3JldENI'), 'query', 'http://127.0.0.1:18994');
    expect(plain.message).toBe('query failed: the server\'s answer is not ClickHouse\'s ("Unauthorized POST /?query_id=1") at "http://127.0.0.1:18994": check EDGELAT_CLICKHOUSE_USER and EDGELAT_CLICKHOUSE_PASSWORD (the login the server, or a proxy in front of it, expects)');
    const text = toWarehouseError(new Error('Service says no'), 'statement', 'http://127.0.0.1:18994');
    expect(text.message).toBe('statement failed: the server\'s answer is not ClickHouse\'s ("Service says no"): is EDGELAT_CLICKHOUSE_URL ("http://127.0.0.1:18994") the HTTP interface of a ClickHouse server (port 8123)?');
    const ch = toWarehouseError(new Error('Code: 516. DB::Exception: chuser: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)'), 'query', 'http://127.0.0.1:8123');
    expect(ch.message).toBe('query failed: Code: 516. DB::Exception: chuser: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED): check EDGELAT_CLICKHOUSE_USER and EDGELAT_CLICKHOUSE_PASSWORD (the login the server, or a proxy in front of it, expects)');
    expect(toWarehouseError(new Error('Code: 60. DB::Exception: Unknown table'), 'query').message).toBe('query failed: Code: 60. DB::Exception: Unknown table');
  });
});

describe('midStreamException', () => {
  it('finds the exception a server wrote into the end of an answer it cut short, without the version', () => {
    const rows = '2812585\t0\n2812586\t0\n';
    // As `edgelat serve`'s port writes it, and as ClickHouse 25+ does after its __exception__ marker.
    // `edgelat serve`'s port writes a line break, then the exception: the rows end where the break starts (20 bytes).
    expect(midStreamException(Buffer.from(`${rows}\nCode: 395. DB::Exception: Value passed to 'throwIf' function is non-zero. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version edgelat-chdb)\n`)))
      .toEqual({ code: 395, text: "Code: 395. DB::Exception: Value passed to 'throwIf' function is non-zero. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)", start: 20 });
    // ClickHouse 25+ after its __exception__ marker and tag line.
    expect(midStreamException(Buffer.from(`${rows}\r\n__exception__\r\nx7Qb\r\nCode: 241. DB::Exception: Memory limit exceeded. (MEMORY_LIMIT_EXCEEDED) (version 25.3.1.1)\r\n66 x7Qb\r\n__exception__\r\n`)))
      .toEqual({ code: 241, text: 'Code: 241. DB::Exception: Memory limit exceeded. (MEMORY_LIMIT_EXCEEDED)', start: 20 });
    // Text after the byte offset is the exception's: a multi-byte character before it keeps the offset in bytes.
    const accented = Buffer.from('é\t1\n\nCode: 1. DB::Exception: x');
    expect(midStreamException(accented)?.start).toBe(Buffer.byteLength('é\t1\n'));
    expect(midStreamException(Buffer.from(rows))).toBeNull();
  });
});

describe('drainEagerly', () => {
  it('reads ahead of a slow consumer, so chunks sent before the stream fails reach the tail and the consumer, then the error is thrown', async () => {
    const stream = new PassThrough();
    const read: string[] = [];
    const taken: string[] = [];
    const done = drainEagerly(stream, (c) => void read.push(c.toString()), async (c) => {
      taken.push(c.toString());
      await new Promise((r) => setTimeout(r, 20)); // slower than the answer comes
    }).then(() => 'ended', (e: unknown) => (e as Error).message);
    for (const part of ['a\n', 'b\n', 'Code: 395. DB::Exception: boom\n']) stream.write(part);
    await new Promise((r) => setImmediate(r));
    stream.destroy(new Error('aborted'));
    expect(await done).toBe('aborted');
    expect([read, taken]).toEqual([['a\n', 'b\n', 'Code: 395. DB::Exception: boom\n'], ['a\n', 'b\n', 'Code: 395. DB::Exception: boom\n']]);
  });

  it('ends with the stream, and a consumer\'s throw destroys it', async () => {
    const stream = new PassThrough();
    const taken: string[] = [];
    const done = drainEagerly(stream, () => undefined, (c) => void taken.push(c.toString()));
    stream.end('x');
    await done;
    expect(taken).toEqual(['x']);
    const failing = new PassThrough();
    const thrown = drainEagerly(failing, () => undefined, () => { throw new Error('stdout closed'); }).catch((e: unknown) => (e as Error).message);
    failing.write('y');
    expect([await thrown, failing.destroyed]).toEqual(['stdout closed', true]);
  });
});
