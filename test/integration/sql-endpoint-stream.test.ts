/**
 * The SQL endpoint answers a read as its output comes (ClickHouse's HTTP interface does): a read longer than
 * STREAM_AFTER_BYTES is sent chunked at its client's pace, a failure after the answer started ends the body with the
 * exception and an incomplete chunked stream, and a client that goes away or stops reading frees the engine's
 * connection for the next request.
 */
import { get, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError } from '../../errors.ts';
import { STREAM_AFTER_BYTES } from '../../services/sql-endpoint/server.ts';
import { ClickHouseWarehouse } from '../../services/warehouse/clickhouse.ts';
import { startSqlEndpointProcess, type SqlEndpointProcess } from '../helpers/sql-endpoint.ts';

let endpoint: SqlEndpointProcess | undefined;
const STALL_MS = 400;

beforeAll(async () => {
  endpoint = await startSqlEndpointProcess({ clientStallMs: STALL_MS });
});
afterAll(async () => endpoint?.stop());

const url = (sql: string) => `${endpoint!.url}/?query=${encodeURIComponent(sql)}`;

/** GET a query and read its whole answer, however it ends: bytes, whether the chunked stream ended properly, headers. */
function fetchRaw(sql: string): Promise<{ status: number; text: string; complete: boolean; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    get(url(sql), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => undefined);
      res.on('close', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString(), complete: res.complete, headers: res.headers }));
    }).on('error', reject);
  });
}

/** The answer of SELECT number FROM numbers(n) in TSV: the numbers 0..n-1, a line each. */
const numbersTsv = (n: number) => Array.from({ length: n }, (_, i) => `${i}\n`).join('');

describe('sql endpoint: reads answered as their output comes', () => {
  it('answers a short read whole, with Content-Length and the rows and bytes of its output in the summary', async () => {
    const r = await fetchRaw('SELECT number FROM numbers(5) FORMAT TSV');
    expect(r).toMatchObject({ status: 200, text: '0\n1\n2\n3\n4\n', complete: true });
    expect(r.headers['content-length']).toBe('10');
    expect(JSON.parse(r.headers['x-clickhouse-summary'] as string)).toMatchObject({ result_rows: '5', result_bytes: '10' });
    // The format headers name the statement's own FORMAT, a comment after it too (a trial: labelled TabSeparated).
    const commented = await fetchRaw('SELECT 1 AS a FORMAT JSONEachRow -- the last words');
    expect([commented.text, commented.headers['x-clickhouse-format']]).toEqual(['{"a":1}\n', 'JSONEachRow']);
  });

  it('counts the rows of an answer made whole where its text tells them, and leaves result_rows out where it does not', async () => {
    // A trial: "result_rows":"0" for FORMAT JSON, CSVWithNames and SHOW TABLES answers that had rows.
    const summary = async (sql: string) => JSON.parse((await fetchRaw(sql)).headers['x-clickhouse-summary'] as string) as Record<string, string>;
    const rows = await Promise.all(['SELECT number FROM numbers(3) FORMAT JSON', 'SELECT number FROM numbers(3) FORMAT JSONCompactStrings',
      'SELECT number FROM numbers(4) FORMAT TSVWithNamesAndTypes', 'SELECT number FROM numbers(2) FORMAT JSONCompactEachRowWithNames',
      'SELECT toString(number) AS s FROM numbers(3) FORMAT TabSeparatedWithNames', 'SHOW DATABASES'].map(async (sql) => (await summary(sql)).result_rows));
    const databases = (await fetchRaw('SHOW DATABASES FORMAT JSONEachRow')).text.trim().split('\n').length;
    expect(rows).toEqual(['3', '3', '4', '2', '3', String(databases)]);
    // A value holding the count's own words and a newline changes nothing (escaped in both formats).
    expect((await summary('SELECT \'"rows": 7\n\' AS s FROM numbers(2) FORMAT JSON')).result_rows).toBe('2');
    expect((await summary('SELECT \'a\nb\' AS s FROM numbers(2) FORMAT TSVWithNames')).result_rows).toBe('2');
    // Formats whose text does not tell them (CSV's quoted values may hold newlines; Pretty): no count, rather than a wrong one.
    // With totals or extremes the text holds more lines than rows: not counted (a re-test: 4 for 2 rows).
    const totals = await summary('SELECT number % 2 AS k, count() FROM numbers(10) GROUP BY k WITH TOTALS FORMAT TSVWithNames');
    const extremes = JSON.parse((await fetch(`${endpoint!.url}/`, { method: 'POST', body: 'SELECT number FROM numbers(4) SETTINGS extremes = 1 FORMAT TSVWithNames' })).headers.get('x-clickhouse-summary')!) as Record<string, string>;
    expect(['result_rows' in totals, 'result_rows' in extremes]).toEqual([false, false]);
    const csv = await summary('SELECT number FROM numbers(3) FORMAT CSVWithNames');
    expect(['result_rows' in csv, csv.result_bytes]).toEqual([false, '15']);
    // No read_rows: chdb's is the result's (a trial: "read_rows":"2" for a count over 71,582 rows, whose JSON said rows_read 71582).
    const counted = await fetchRaw('SELECT count() AS c FROM numbers(100000) FORMAT JSON');
    expect([JSON.parse(counted.headers['x-clickhouse-summary'] as string), (JSON.parse(counted.text) as { statistics: { rows_read: number } }).statistics.rows_read])
      .toEqual([{ written_rows: '0', written_bytes: '0', result_rows: '1', result_bytes: String(Buffer.byteLength(counted.text)) }, 100000]);
  });

  it('sends a read longer than STREAM_AFTER_BYTES chunked, every row once and in order', async () => {
    const n = 600_000; // 4.1 MB of TSV
    expect(numbersTsv(n).length).toBeGreaterThan(3 * STREAM_AFTER_BYTES);
    const r = await fetchRaw(`SELECT number FROM numbers(${n}) FORMAT TSV`);
    expect(r.status).toBe(200);
    expect(r.complete).toBe(true);
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.headers['x-clickhouse-format']).toBe('TabSeparated');
    expect(r.text).toBe(numbersTsv(n));
  });

  it('answers a read in a format with a header, a footer or a file structure as one document, however many blocks it spans', async () => {
    // A trial: FORMAT JSON of a table read came back as 12 JSON documents, CSVWithNames repeated its header per block,
    // and Parquet of 70,000 rows was two files end to end, from which ClickHouse read back 4,591 rows.
    const n = 300_000;
    const json = await fetchRaw(`SELECT number FROM numbers(${n}) FORMAT JSON`);
    const doc = JSON.parse(json.text) as { data: { number: string }[]; rows: number };
    expect([json.status, doc.rows, doc.data.length, Number(doc.data[n - 1]!.number)]).toEqual([200, n, n, n - 1]);
    const csv = await fetchRaw(`SELECT number AS zz FROM numbers(${n}) FORMAT CSVWithNames`);
    expect(csv.text.split('\n').filter((l) => l === '"zz"')).toHaveLength(1);
    expect(csv.text.split('\n')).toHaveLength(n + 2);
    let parquetType: string | undefined;
    const parquet = await new Promise<Buffer>((resolve, reject) => {
      get(url('SELECT number FROM numbers(70000) FORMAT Parquet'), (res) => {
        parquetType = res.headers['content-type'];
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    });
    // One Parquet file: its magic "PAR1" at the start and the end only (two files end to end have four).
    const magic = (b: Buffer) => { let k = 0; for (let i = b.indexOf('PAR1'); i >= 0; i = b.indexOf('PAR1', i + 1)) k++; return k; };
    expect([parquet.subarray(0, 4).toString(), parquet.subarray(-4).toString(), magic(parquet)]).toEqual(['PAR1', 'PAR1', 2]);
    expect(parquetType).toBe('application/octet-stream'); // bytes, as ClickHouse labels them (it had been text/plain)
  });

  it('a failure after the answer started ends the body with ClickHouse\'s exception and leaves the chunked stream incomplete', async () => {
    const r = await fetchRaw("SELECT number, throwIf(number = 500000, 'stop here') FROM numbers(600000) FORMAT TSV");
    expect(r.status).toBe(200);
    expect(r.complete).toBe(false);
    expect(r.text.length).toBeGreaterThan(STREAM_AFTER_BYTES);
    expect(r.text.startsWith('0\t0\n1\t0\n')).toBe(true);
    expect(r.text).toMatch(/\nCode: 395\. DB::Exception: stop here[^\n]*\(version edgelat-chdb\)\n$/);
    expect(r.text).not.toContain('500000\t');
  });

  it('a failure before STREAM_AFTER_BYTES of output gets its own status, with no rows', async () => {
    const r = await fetchRaw("SELECT number, throwIf(number = 20000, 'early') FROM numbers(30000) FORMAT TSV");
    expect(r.status).toBe(500);
    expect(r.complete).toBe(true);
    expect(r.text).toMatch(/^Code: 395\. DB::Exception: early/);
  });

  it('a client that goes away stops an endless read: the next read on the read-only connection is answered', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = get(url('SELECT number FROM system.numbers FORMAT TSV'), (res) => {
        let seen = 0;
        res.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen > 2 * STREAM_AFTER_BYTES) req.destroy();
        });
        res.on('close', () => resolve());
      }).on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
    });
    // Without the stop, this GET would queue behind the endless read until max_execution_time (300 s).
    const next = await fetchRaw('SELECT 41 + 1 FORMAT TSV');
    expect(next).toMatchObject({ status: 200, text: '42\n' });
  });

  it('a client that goes away before any output stops its query (an aggregation makes no block until its end; a trial: it ran on, holding a reader)', async () => {
    const running = async () => (await fetchRaw("SELECT count() FROM system.processes WHERE position(query, 'numbers(100000000000)') > 0 AND position(query, 'system.processes') = 0 FORMAT TSV")).text;
    const until = async (want: string, ms: number): Promise<number> => {
      const t0 = Date.now();
      while ((await running()) !== want) {
        if (Date.now() - t0 > ms) throw new Error(`system.processes did not show ${want} such query within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return Date.now() - t0;
    };
    const req = get(url('SELECT sum(number) FROM numbers(100000000000) FORMAT TSV')).on('error', () => undefined);
    await until('1\n', 10_000);
    req.destroy();
    // Without the kill it runs for a minute or more (until max_execution_time, 300 s by default).
    expect(await until('0\n', 5_000)).toBeLessThan(5_000);
    expect(await fetchRaw('SELECT 41 + 1 FORMAT TSV')).toMatchObject({ status: 200, text: '42\n' });
  });

  it('a client that stops reading is cut off after clientStallMs, and the next read is answered', async () => {
    let stalled: IncomingMessage | undefined;
    let resumed = false;
    const closed = new Promise<{ bytes: number; complete: boolean }>((resolve, reject) => {
      get(url('SELECT number FROM system.numbers FORMAT TSV'), (res) => {
        stalled = res;
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > STREAM_AFTER_BYTES && !resumed) res.pause(); // stop reading; the socket's buffers fill
        });
        res.on('error', () => undefined);
        res.on('close', () => resolve({ bytes, complete: res.complete }));
      }).on('error', reject);
    });
    // Reads on the other reader go on meanwhile; the stalled one is cut once it took nothing for STALL_MS.
    const next = await fetchRaw('SELECT 6 * 7 FORMAT TSV');
    expect(next).toMatchObject({ status: 200, text: '42\n' });
    await new Promise((resolve) => setTimeout(resolve, 5 * STALL_MS));
    resumed = true;
    stalled!.resume(); // what the server sent before it cut the answer off, then the cut
    const end = await closed;
    expect(end.complete).toBe(false);
    expect(end.bytes).toBeGreaterThan(STREAM_AFTER_BYTES);
  });

  it('@clickhouse/client (edgelat sql on a ClickHouse URL) reads a long answer whole, and fails on one cut by an error', async () => {
    const w = new ClickHouseWarehouse({ url: endpoint!.url, database: 'default' });
    try {
      let text = '';
      await w.streamText('SELECT number FROM numbers(600000)', {}, 'TSV', (c) => void (text += Buffer.from(c).toString()));
      expect(text).toBe(numbersTsv(600_000));
      let got = 0;
      const error = await w.streamText("SELECT number, throwIf(number = 500000, 'stop here') FROM numbers(600000)", {}, 'TSV', (c) => void (got += c.length)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WarehouseError);
      expect(got).toBeGreaterThan(STREAM_AFTER_BYTES);
    } finally {
      await w.close();
    }
  });
});

describe('sql endpoint: two read-only connections', () => {
  let slow: SqlEndpointProcess | undefined;
  beforeAll(async () => {
    slow = await startSqlEndpointProcess({ clientStallMs: 600_000 });
  });
  afterAll(async () => slow?.stop());

  it('answers a read while another holds a read-only connection (a trial: SELECT 1 waited 11.7 s behind a long read)', async () => {
    const at = (sql: string) => `${slow!.url}/?query=${encodeURIComponent(sql)}`;
    let held: IncomingMessage | undefined;
    await new Promise<void>((resolve, reject) => {
      get(at('SELECT number FROM system.numbers FORMAT TSV'), (res) => {
        held = res;
        res.once('data', () => {
          res.pause(); // the endless read holds its connection (cut off only after 10 min here)
          resolve();
        });
        res.on('error', () => undefined);
      }).on('error', reject);
    });
    // With one reader this would wait for the endless read's cut-off, past the test's timeout.
    const text = await (await fetch(at('SELECT 40 + 2 FORMAT TSV'))).text();
    expect(text).toBe('42\n');
    held!.destroy();
  }, 30_000);
});
