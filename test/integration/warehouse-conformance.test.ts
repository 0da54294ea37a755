/**
 * One warehouse suite, two implementations: ChdbWarehouse (embedded, this
 * process) and ClickHouseWarehouse (@clickhouse/client over real HTTP) talking
 * to the SQL endpoint, which runs over chdb in a child process (chdb allows one
 * data folder per process).
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError } from '../../errors.ts';
import { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { ClickHouseWarehouse } from '../../services/warehouse/clickhouse.ts';
import { pendingMigrations } from '../../services/warehouse/migrations.ts';
import type { Warehouse } from '../../services/warehouse/types.ts';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { makeEnriched } from '../helpers/factories.ts';
import { startSqlEndpointProcess, type SqlEndpointProcess } from '../helpers/sql-endpoint.ts';

let endpoint: SqlEndpointProcess | undefined;
const chdbDir = mkdtempSync(join(tmpdir(), 'edgelat-conf-'));
const randomDb = (prefix: string) => `${prefix}_${Math.random().toString(36).slice(2, 10)}`;

beforeAll(async () => {
  endpoint = await startSqlEndpointProcess();
});
afterAll(async () => endpoint?.stop());

const implementations: [string, () => Warehouse][] = [
  ['chdb (embedded)', () => new ChdbWarehouse({ dataDir: chdbDir, database: randomDb('conf_chdb') })],
  ['clickhouse client over the sql endpoint', () => new ClickHouseWarehouse({ url: endpoint!.url, database: randomDb('conf_http') })],
];

describe.each(implementations)('warehouse conformance: %s', (_name, open) => {
  let w: Warehouse;
  beforeAll(async () => {
    w = open();
    await w.migrate();
  });
  afterAll(async () => w?.close());

  it('migrate twice is idempotent', async () => {
    expect(await w.migrate()).toEqual([]);
    const applied = await w.query<{ name: string }>(`SELECT name FROM ${w.database}.schema_migrations ORDER BY version`);
    expect(applied.length).toBeGreaterThan(0);
  });

  it('migrate re-creates a table dropped by hand, re-applying its migration and the ones after it; pendingMigrations says so first without writing', async () => {
    expect(await pendingMigrations(w)).toEqual([]);
    await w.exec(`DROP TABLE ${w.database}.chips`);
    const planned = ['0008_latency_model.sql (again: chips missing)', '0009_alert_deliveries.sql (again)', '0010_shadows.sql (again)', '0011_shadow_failed_pairs.sql (again)', '0012_latency_model_files.sql (again)'];
    expect(await pendingMigrations(w)).toEqual(planned);
    expect(await pendingMigrations(w)).toEqual(planned);
    const again = await w.migrate();
    expect(again).toEqual(planned);
    expect(await w.query(`SELECT name FROM system.tables WHERE database = {db:String} AND name = 'chips'`, { db: w.database })).toEqual([{ name: 'chips' }]);
    expect(await w.migrate()).toEqual([]);
  });

  it('pendingMigrations: null for a database that does not exist, every file for one without schema_migrations; nothing created', async () => {
    const files = readdirSync(new URL('../../sql/migrations/', import.meta.url)).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
    const missing = randomDb('conf_missing');
    const view = { database: missing, query: w.query.bind(w) };
    expect(await pendingMigrations(view)).toBeNull();
    expect(await w.query('SELECT count() AS n FROM system.databases WHERE name = {db:String}', { db: missing })).toEqual([{ n: 0 }]);
    await w.exec(`CREATE DATABASE ${missing}`);
    try {
      expect(await pendingMigrations(view)).toEqual(files);
    } finally {
      await w.exec(`DROP DATABASE ${missing}`);
    }
  });

  it('DateTime64(3) round trips at millisecond precision, also as a bound parameter', async () => {
    await w.exec(`CREATE TABLE ${w.database}.ts3 (t DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY t`);
    await w.insert(`${w.database}.ts3`, [{ t: '2024-06-01 10:00:00.123' }]);
    expect(await w.query(`SELECT t FROM ${w.database}.ts3`)).toEqual([{ t: '2024-06-01 10:00:00.123' }]);
    const hit = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.ts3 WHERE t = {t:DateTime64(3)}`, { t: '2024-06-01 10:00:00.123' });
    expect(hit).toEqual([{ n: 1 }]);
    const miss = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.ts3 WHERE t = {t:DateTime64(3)}`, { t: '2024-06-01 10:00:00.124' });
    expect(miss).toEqual([{ n: 0 }]);
  });

  it('UInt64 above 2^53 round trips exactly as bigint', async () => {
    await w.exec(`CREATE TABLE ${w.database}.u64 (id UInt8, v UInt64) ENGINE = MergeTree ORDER BY id`);
    await w.insert(`${w.database}.u64`, [{ id: 1, v: 18446744073709551615n }, { id: 2, v: 9007199254740993n }]);
    expect(await w.query(`SELECT id, v FROM ${w.database}.u64 ORDER BY id`)).toEqual([{ id: 1, v: 18446744073709551615n }, { id: 2, v: 9007199254740993n }]);
    const bound = await w.query<{ id: number }>(`SELECT id FROM ${w.database}.u64 WHERE v = {v:UInt64}`, { v: 9007199254740993n });
    expect(bound).toEqual([{ id: 2 }]);
  });

  it('case C20: undefined statistics are NULL, never 0; NaN is refused naming the column', async () => {
    const row = (end: string, r: number | null) => ({
      scope: 'server', edge_server_id: 'edge-03', model_id: null, chip: null, window_start: '2024-06-01 10:00:00.000', window_end: end,
      x_metric: 'gpu_util', y_metric: 'total_ms', n: 4, pearson_r: r, ci_low: null, ci_high: null, slope: null, intercept: null, p_value: null,
      null_reason: r === null ? 'constant_x' : null, alert_state: 'none',
    });
    const table = `${w.database}.load_latency_correlations`;
    await w.insert(table, [row('2024-06-01 10:00:03.000', -0.9999694770658232), row('2024-06-01 10:00:04.000', null), row('2024-06-01 10:00:05.000', null), row('2024-06-01 10:00:06.000', 0.997628923753008)]);
    const [stats] = await w.query<{ n: number; defined: number; zeros: number }>(`SELECT count() AS n, count(pearson_r) AS defined, countIf(pearson_r = 0) AS zeros FROM ${table}`);
    expect(stats).toEqual({ n: 4, defined: 2, zeros: 0 });
    await expect(w.insert(table, [row('2024-06-01 10:00:07.000', Number.NaN)])).rejects.toThrow(/pearson_r/);
    expect((await w.query<{ n: number }>(`SELECT count() AS n FROM ${table}`))[0]!.n).toBe(4);
  });

  it('a bound parameter is a value, not SQL', async () => {
    await w.exec(`CREATE TABLE ${w.database}.names (s String) ENGINE = MergeTree ORDER BY s`);
    await w.insert(`${w.database}.names`, [{ s: 'edge-a' }, { s: 'edge-b' }]);
    const hostile = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.names WHERE s = {s:String}`, { s: "x' OR 1=1 --" });
    expect(hostile).toEqual([{ n: 0 }]);
    const exact = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.names WHERE s = {s:String}`, { s: 'edge-a' });
    expect(exact).toEqual([{ n: 1 }]);
  });

  it('streams a read chunk by chunk, the chunks making queryText\'s answer; a statement without rows runs too (`edgelat sql`)', async () => {
    const sql = 'SELECT number, toString(number) AS s FROM numbers({n:UInt32})';
    const chunks: Buffer[] = [];
    await w.streamText(sql, { n: 300_000 }, 'TSV', (c) => void chunks.push(Buffer.from(c)));
    // 300,000 rows arrive in more than one chunk (chdb's blocks of 65,409 rows; the HTTP body in pieces).
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(await w.queryText(sql, { n: 300_000 }, 'TSV'));
    await w.exec(`CREATE TABLE ${w.database}.streamed (a Int8) ENGINE = MergeTree ORDER BY a`);
    const none: Buffer[] = [];
    await w.streamText(`TRUNCATE TABLE ${w.database}.streamed`, {}, 'TSV', (c) => void none.push(Buffer.from(c)));
    expect(Buffer.concat(none).toString('utf8')).toBe('');
  });

  it('keyword column names work, and a row without a key gets the column default', async () => {
    const table = `${w.database}.kw`;
    await w.exec(`CREATE TABLE ${table} (offset UInt64, partition UInt32, d String DEFAULT 'dflt', n Nullable(UInt32)) ENGINE = MergeTree ORDER BY offset`);
    await w.insert(table, [{ offset: 18446744073709551615n, partition: 1, d: 'x', n: null }, { offset: 1, partition: 2, d: 'y', n: 7 }]);
    await w.insert(table, [{ offset: 2, partition: 3, d: 'z', n: 8 }, { offset: 3, partition: 4 }]);
    expect(await w.query(`SELECT offset, partition, d, n FROM ${table} ORDER BY offset`)).toEqual([
      { offset: 1, partition: 2, d: 'y', n: 7 },
      { offset: 2, partition: 3, d: 'z', n: 8 },
      { offset: 3, partition: 4, d: 'dflt', n: null },
      { offset: 18446744073709551615n, partition: 1, d: 'x', n: null },
    ]);
  });

  it('an insert replayed with the same dedupToken adds its rows once', async () => {
    const table = `${w.database}.dedup`;
    await w.exec(`CREATE TABLE ${table} (k UInt32) ENGINE = MergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = 100`);
    await w.insert(table, [{ k: 1 }, { k: 2 }], { dedupToken: 'topic/0/0-1' });
    await w.insert(table, [{ k: 1 }, { k: 2 }], { dedupToken: 'topic/0/0-1' });
    expect((await w.query<{ n: number }>(`SELECT count() AS n FROM ${table}`))[0]!.n).toBe(2);
    await w.insert(table, [{ k: 1 }, { k: 2 }], { dedupToken: 'topic/0/2-3' });
    expect((await w.query<{ n: number }>(`SELECT count() AS n FROM ${table}`))[0]!.n).toBe(4);
  });

  it('a replayed insert into inference_enriched is not counted again by the latency_1m roll-up (materialized view)', async () => {
    const row = (i: number) => SINK_ROUTES[TOPICS.enriched]!.toRow(makeEnriched({ edge_server_id: 'edge-01', ts: Date.UTC(2024, 5, 1, 10) + i * 1000, event_id: `mv-${i}` }) as never, 0, i);
    const rows = Array.from({ length: 25 }, (_, i) => row(i));
    for (let k = 0; k < 3; k++) await w.insert(`${w.database}.inference_enriched`, rows, { dedupToken: 'enriched:mv:0:0-25' });
    expect((await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.inference_enriched`))[0]!.n).toBe(25);
    expect((await w.query<{ n: number }>(`SELECT countMerge(requests) AS n FROM ${w.database}.latency_1m`))[0]!.n).toBe(25);
  });

  it('a failing query throws WarehouseError with the ClickHouse code', async () => {
    const error = await w.query(`SELECT * FROM ${w.database}.no_such_table`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).code).toBe(60);
    expect((error as WarehouseError).retriable).toBe(false);
  });
});

describe('sql endpoint over HTTP', () => {
  const get = (sql: string, extra = '') => fetch(`${endpoint!.url}/?query=${encodeURIComponent(sql)}${extra}`);
  const post = (sql: string) => fetch(`${endpoint!.url}/`, { method: 'POST', body: sql });

  it('answers /ping', async () => {
    const res = await fetch(`${endpoint!.url}/ping`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Ok.\n');
  });

  it('serves a query in the URL like curl, with ClickHouse headers', async () => {
    const res = await get('SELECT 1 FORMAT TSV', '&query_id=q-1');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('1\n');
    expect(res.headers.get('content-type')).toBe('text/tab-separated-values; charset=UTF-8');
    expect(res.headers.get('x-clickhouse-format')).toBe('TabSeparated');
    expect(res.headers.get('x-clickhouse-query-id')).toBe('q-1');
    expect(res.headers.get('x-clickhouse-timezone')).toBe('UTC');
    expect(JSON.parse(res.headers.get('x-clickhouse-summary')!)).toMatchObject({ result_rows: '1', result_bytes: '2', written_rows: '0' });
  });

  it('refuses a query_id a header cannot carry with a 400 naming it, and a param_ value its type cannot parse with a 400 (a trial: a JSON 500 for CR/LF, a 500 for a bad UUID)', async () => {
    for (const id of ['a\r\nSet-Cookie: x=1', 'tab\u0001', 'snow\u2603']) {
      const res = await get('SELECT 1 FORMAT TSV', `&query_id=${encodeURIComponent(id)}`);
      const text = await res.text();
      expect([id, res.status, res.headers.get('x-clickhouse-exception-code'), res.headers.get('set-cookie')]).toEqual([id, 400, '36', null]);
      expect(text).toContain(`Code: 36. DB::Exception: query_id ${JSON.stringify(id)} holds a character an HTTP header cannot carry`);
      expect(res.headers.get('x-clickhouse-query-id')).toMatch(/^[0-9a-f-]{36}$/); // one of its own
    }
    const latin1 = await get('SELECT 1 FORMAT TSV', `&query_id=${encodeURIComponent('caf\u00e9\tq')}`);
    expect([latin1.status, Buffer.from(latin1.headers.get('x-clickhouse-query-id')!, 'latin1').toString('latin1')]).toEqual([200, 'caf\u00e9\tq']);
    for (const [type, value, code] of [['UUID', 'nope', '376'], ['IPv4', 'x', '675'], ['Bool', 'maybe', '467'], ["Enum8('a' = 1)", 'b', '691'], ['Int32', 'abc', '457']]) {
      const res = await get(`SELECT {v:${type}} FORMAT TSV`, `&param_v=${encodeURIComponent(value!)}`);
      expect([type, res.status, res.headers.get('x-clickhouse-exception-code')]).toEqual([type, 400, code]);
      expect(await res.text()).toContain(`Code: ${code}.`);
    }
    // An integer outside its type, which ClickHouse would wrap (300 as UInt8 gave 44), is refused as `edgelat sql` refuses it.
    const wrapped = await get('SELECT {x:UInt8} FORMAT TSV', '&param_x=300');
    expect([wrapped.status, wrapped.headers.get('x-clickhouse-exception-code'), await wrapped.text()]).toEqual([400, '457', 'Code: 457. DB::Exception: value 300 of query parameter x is outside UInt8 (0 to 255): ClickHouse would wrap it around. (BAD_QUERY_PARAMETER) (version edgelat-chdb)\n']);
    expect(await (await get('SELECT {x:Nullable(Int8)} FORMAT TSV', '&param_x=-128')).text()).toBe('-128\n');
  });

  it('concatenates the URL query and the body, uses default_format, binds param_ values', async () => {
    const hostile = encodeURIComponent("x\\' OR 1=1 --"); // TabSeparated-escaped, as @clickhouse/client sends it
    const ok = await fetch(`${endpoint!.url}/?query=${encodeURIComponent('SELECT {s:String} AS s,')}&default_format=JSONEachRow&param_s=${hostile}&param_n=18446744073709551615`, { method: 'POST', body: '{n:UInt64} AS n' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/x-ndjson; charset=UTF-8');
    expect(await ok.text()).toBe(`{"s":"x' OR 1=1 --","n":18446744073709551615}\n`);
  });

  it('binds composite param_ values (Array, Tuple, Map) with their escapes read once, as ClickHouse does', async () => {
    // @clickhouse/client sends a tab in an Array(String) as \t, a quote as \'; ClickHouse reads each once.
    const bind = async (type: string, value: string) => {
      const res = await get(`SELECT toJSONString({k:${type}}) AS j FORMAT TSV`, `&param_k=${encodeURIComponent(value)}`);
      expect(res.status, await res.clone().text()).toBe(200);
      return JSON.parse((await res.text()).trim().replace(/\\(.)/g, '$1')) as unknown;
    };
    expect(await bind('Array(String)', "['a\\tb','c']")).toEqual(['a\tb', 'c']);
    expect(await bind('Array(String)', "['it\\'s','x''y','back\\\\slash','\\x41']")).toEqual(["it's", "x'y", 'back\\slash', 'A']);
    expect(await bind('Array(String)', "['line\\nbreak']")).toEqual(['line\nbreak']);
    expect(await bind('Tuple(Int32, String)', "(1,'a\\tb')")).toEqual([1, 'a\tb']);
    expect(await bind('Map(String, String)', "{'k\\'':'v\\tw'}")).toEqual({ "k'": 'v\tw' });
    // Scalars as before: one level of escapes.
    expect(await bind('String', 'a\\tb\\x41')).toBe('a\tbA');
  });

  it('takes the database and the default format from X-ClickHouse-Database and X-ClickHouse-Format, the URL\'s parameters first', async () => {
    const headers = { 'X-ClickHouse-Database': 'system', 'X-ClickHouse-Format': 'JSONEachRow' };
    const q = encodeURIComponent('SELECT currentDatabase() AS d');
    const byHeaders = await fetch(`${endpoint!.url}/?query=${q}`, { headers });
    expect([byHeaders.status, await byHeaders.text()]).toEqual([200, '{"d":"system"}\n']);
    const byUrl = await fetch(`${endpoint!.url}/?query=${q}&database=default&default_format=CSV`, { headers });
    expect([byUrl.status, await byUrl.text()]).toEqual([200, '"default"\n']);
  });

  it('answers errors with ClickHouse text, code header and status', async () => {
    const unknown = await get('SELECT * FROM default.no_such_table');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-clickhouse-exception-code')).toBe('60');
    expect(await unknown.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/);
    const syntax = await get('SELEC 1');
    expect(syntax.status).toBe(400);
    expect(syntax.headers.get('x-clickhouse-exception-code')).toBe('62');
    // A trial: the message named the formatQuery call the endpoint's check wraps the statement in.
    const said = await syntax.text();
    expect(said).toMatch(/^Code: 62\. DB::Exception: Syntax error: failed at position \d+ .*end of query\. \(SYNTAX_ERROR\) \(version edgelat-chdb\)\n?$/s);
    expect(said).not.toMatch(/formatQuery|In scope/);
    // chdb nests its text ("Code: 73. DB::Exception: Code: 73. DB::Exception: …"): said once, as ClickHouse does.
    const format = await get('SELECT 1 FORMAT NoSuchFormat');
    const text = await format.text();
    expect([format.headers.get('x-clickhouse-exception-code'), text.match(/Code: 73\./g)?.length]).toEqual(['73', 1]);
  });

  it('answers other methods and paths in plain text, 405 with Allow on / and 404 elsewhere', async () => {
    const put = await fetch(`${endpoint!.url}/?query=SELECT%201`, { method: 'PUT' });
    expect([put.status, put.headers.get('allow'), put.headers.get('content-type'), await put.text()])
      .toEqual([405, 'GET, POST', 'text/plain; charset=UTF-8', 'method PUT is not allowed on /: use GET or POST\n']);
    const nope = await fetch(`${endpoint!.url}/nope`);
    expect([nope.status, nope.headers.get('content-type'), await nope.text()])
      .toEqual([404, 'text/plain; charset=UTF-8', 'There is no handle /nope: send queries to / (GET /?query=... or POST), health checks to /ping\n']);
  });

  it('runs GET and HEAD read-only (ClickHouse refuses the change: 403 READONLY), however the statement is spelled', async () => {
    const db = randomDb('ro');
    expect((await post(`CREATE DATABASE ${db}`)).status).toBe(200);
    expect((await post(`CREATE TABLE ${db}.c (x Int32) ENGINE = MergeTree ORDER BY x`)).status).toBe(200);
    const probe = join(tmpdir(), `edgelat-ro-${process.pid}`);
    for (const sql of [
      `INSERT INTO ${db}.c VALUES (1)`,
      `WITH 555 AS a INSERT INTO ${db}.c SELECT a`,
      `/* /* */ SELECT */ INSERT INTO ${db}.c VALUES (100)`,
      `/* /* */ SELECT */ TRUNCATE TABLE ${db}.c`,
      `CREATE DICTIONARY ${db}.pwn (k UInt64, v String) PRIMARY KEY k SOURCE(EXECUTABLE_POOL(COMMAND 'touch ${probe}' FORMAT TabSeparated SIZE 1)) LAYOUT(COMPLEX_KEY_DIRECT())`,
      `INSERT INTO FUNCTION file('${probe}', 'CSV', 'a String') VALUES ('x')`,
      "SELECT * FROM file('/etc/hostname', 'LineAsString')",
      `SELECT count() FROM ${db}.c SETTINGS max_execution_time = 0, max_block_size = 7`,
      'SET max_execution_time = 0',
      `INSERT INTO ${db}.c FORMAT TSV`,
    ]) {
      for (const res of [await get(sql), await fetch(`${endpoint!.url}/?query=${encodeURIComponent(sql)}`, { method: 'HEAD' })]) {
        // 497: a dictionary that runs a program is refused before ClickHouse's readonly is asked.
        expect([sql, res.status, res.headers.get('x-clickhouse-exception-code')]).toEqual([sql, 403, sql.includes('EXECUTABLE') ? '497' : '164']);
      }
    }
    expect(await (await get(`INSERT INTO ${db}.c VALUES (1)`)).text()).toMatch(/^Code: 164\. DB::Exception: Cannot execute query in readonly mode\. For queries over HTTP, method GET implies readonly\. .*\(READONLY\)/);
    // A POST that asked readonly in its URL is told that, not to use POST (a trial).
    const asked = await fetch(`${endpoint!.url}/?readonly=1`, { method: 'POST', body: `INSERT INTO ${db}.c VALUES (1)` });
    expect([asked.status, await asked.text()]).toEqual([403, 'Code: 164. DB::Exception: Cannot execute query in readonly mode: the URL sets readonly (1 or 2). Leave it out of a POST that changes something. (READONLY) (version edgelat-chdb)\n']);
    // The last readonly of the URL counts, as in ClickHouse (a re-test: `readonly=0&readonly=2` read the first and wrote).
    const twice = await fetch(`${endpoint!.url}/?readonly=0&readonly=2`, { method: 'POST', body: `INSERT INTO ${db}.c VALUES (1)` });
    expect([twice.status, twice.headers.get('x-clickhouse-exception-code')]).toEqual([403, '164']);
    // readonly=2 is taken as 1: a read with SETTINGS is refused, saying how to run it (the engine's level 2 reads files:
    // a re-test read /etc through filesystem()).
    const settingsRead = await fetch(`${endpoint!.url}/?readonly=2`, { method: 'POST', body: "SELECT getSetting('max_threads') SETTINGS max_threads = 1" });
    expect([settingsRead.status, await settingsRead.text()]).toEqual([403, expect.stringMatching(/^Code: 164\. DB::Exception: Cannot execute query in readonly mode: the URL sets readonly \(1 or 2\), and a SETTINGS clause changes settings, .*Leave readonly out of the URL to run it with its SETTINGS over POST\. \(READONLY\)/)]);
    const files = await fetch(`${endpoint!.url}/?readonly=2`, { method: 'POST', body: "SELECT content FROM filesystem('/etc') WHERE name = 'hostname' SETTINGS max_threads = 1" });
    expect([files.status, files.headers.get('x-clickhouse-exception-code')]).toEqual([403, '164']);
    expect(await (await get(`SELECT count() FROM ${db}.c`)).text()).toBe('0\n');
    expect(existsSync(probe)).toBe(false);
    // POST runs a change; reads run over GET, FROM-first and with a nested comment too.
    expect((await post(`INSERT INTO ${db}.c VALUES (7)`)).status).toBe(200);
    for (const read of ['SELECT 1;', 'WITH 2 AS x SELECT x', 'SHOW DATABASES', 'DESCRIBE TABLE system.one', 'EXPLAIN SELECT 1', `FROM ${db}.c SELECT count()`, `/* a /* b */ c */ SELECT count() FROM ${db}.c`]) {
      expect([read, (await get(read)).status]).toEqual([read, 200]);
    }
    expect(await (await get(`FROM ${db}.c SELECT sum(x)`)).text()).toBe('7\n');
  });

  it('takes a URL setting only at the value it has, naming one that differs (a trial: ignored silently; then, applied per request, one POST with max_query_size=5 broke every later one); refuses SET over POST', async () => {
    const postWith = (sql: string, settings: string) => fetch(`${endpoint!.url}/?${settings}`, { method: 'POST', body: sql });
    const before = await (await post("SELECT getSetting('max_threads'), getSetting('max_query_size'), getSetting('max_execution_time')")).text();
    // The value it has (clients send date_time_output_format=simple on every request), over POST and GET.
    expect(await (await postWith('SELECT 1', 'date_time_output_format=simple&output_format_json_quote_64bit_integers=0')).text()).toBe('1\n');
    expect(await (await get('SELECT 1', '&date_time_output_format=simple&readonly=1')).text()).toBe('1\n');
    // Settings of ClickHouse's HTTP answer only (progress headers, compression), which this endpoint does not give: taken,
    // without effect (a trial: send_progress_in_http_headers, which @clickhouse/client advises, failed every query).
    expect(await (await get('SELECT 3', '&send_progress_in_http_headers=1&http_headers_progress_interval_ms=1000&enable_http_compression=1')).text()).toBe('3\n');
    // readonly restates what the request runs at: 1 or 2, and 0 on a POST; 0 on a GET is refused (a trial: taken silently).
    expect(await (await get('SELECT 1', '&readonly=2')).text()).toBe('1\n');
    expect(await (await postWith('SELECT 1', 'readonly=0')).text()).toBe('1\n');
    for (const [res, why] of [[await get('SELECT 1', '&readonly=0'), "readonly = '0' in the URL: a GET is read-only (readonly 1; 2 is taken as 1): send a change with POST"], [await postWith('SELECT 1', 'readonly=yes'), "readonly = 'yes' in the URL: readonly takes 0 (a POST that may write), 1 or 2 (read-only)"]] as const) {
      expect([res.status, res.headers.get('x-clickhouse-exception-code'), await res.text()]).toEqual([400, '452', `Code: 452. DB::Exception: setting ${why}. (SETTING_CONSTRAINT_VIOLATION) (version edgelat-chdb)\n`]);
    }
    // Another value: refused, naming the setting and the way (SETTINGS in the query, over POST), which works.
    for (const [setting, res] of [['max_result_rows=5', await postWith('SELECT 1', 'max_result_rows=5')], ['max_threads=1', await get('SELECT 1', '&max_threads=1')]] as const) {
      const [name, value] = setting.split('=');
      expect([setting, res.status, res.headers.get('x-clickhouse-exception-code'), await res.text()]).toEqual([setting, 400, '452',
        expect.stringMatching(new RegExp(`^Code: 452\\. DB::Exception: setting ${name} = '${value}' in the URL: the edgelat endpoint does not change settings per request .*put SETTINGS ${name} = '${value}' in the query and send it with POST`))]);
    }
    expect(await (await post("SELECT getSetting('max_threads') SETTINGS max_threads = 1")).text()).toBe('1\n');
    // max_query_size is the endpoint's to keep, per request, as ClickHouse takes it from the URL: 5 bytes fail this
    // request's 8-byte query (code 62), and the next request is held to the default again.
    const tiny = await postWith('SELECT 1', 'max_query_size=5');
    expect([tiny.status, tiny.headers.get('x-clickhouse-exception-code'), await tiny.text()]).toEqual([400, '62', expect.stringMatching(/^Code: 62\. DB::Exception: Max query size exceeded .*: the query is 8 bytes, max_query_size is 5: give max_query_size=8 or more in the URL/)]);
    expect(await (await post('SELECT 1')).text()).toBe('1\n');
    const unknown = await postWith('SELECT 1', 'totally_bogus_setting=1');
    expect([unknown.status, unknown.headers.get('x-clickhouse-exception-code'), await unknown.text()]).toEqual([400, '115', expect.stringMatching(/^Code: 115\. DB::Exception: Unknown setting 'totally_bogus_setting'/)]);
    // SET over POST would change the shared connection for every later request: refused (over GET readonly refuses it).
    for (const sql of ['SET max_query_size = 5', '/* x */ set max_execution_time = 0', 'SET max_result_rows = 1, max_threads = 1']) {
      const res = await post(sql);
      expect([sql, res.status, res.headers.get('x-clickhouse-exception-code'), await res.text()]).toEqual([sql, 403, '497', expect.stringMatching(/^Code: 497\. DB::Exception: a SET statement would change the edgelat endpoint's shared connection/)]);
    }
    expect(await (await post("SELECT getSetting('max_threads'), getSetting('max_query_size'), getSetting('max_execution_time')")).text()).toBe(before);
    // No session is kept (a trial: session_id was taken without a word, and session_check=1 of a session never opened
    // answered 200): a check is told the session is not found, as ClickHouse answers one it does not hold; a SET sent
    // with a session is told the session does not keep it.
    const checked = await postWith('SELECT 1', 'session_id=abc&session_check=1');
    expect([checked.status, checked.headers.get('x-clickhouse-exception-code'), await checked.text()]).toEqual([404, '372', expect.stringMatching(/^Code: 372\. DB::Exception: Session "abc" not found: the edgelat endpoint keeps no session/)]);
    const inSession = await postWith('SET max_threads = 1', 'session_id=abc');
    expect([inSession.status, await inSession.text()]).toEqual([403, expect.stringMatching(/without a session it lasts one request; the endpoint keeps no session, so session_id does not keep it either\): put SETTINGS/)]);
    expect(await (await postWith('SELECT 2', 'session_id=abc')).text()).toBe('2\n');
    expect(await (await postWith('SELECT 3', 'session_id=&session_check=1')).text()).toBe('3\n');
  });

  it('runs one statement a request, as ClickHouse\'s parser reads it (a second one never runs)', async () => {
    const db = randomDb('multi');
    expect((await post(`CREATE DATABASE ${db}`)).status).toBe(200);
    for (const sql of [`CREATE TABLE ${db}.a (x Int8) ENGINE = Memory; CREATE TABLE ${db}.b (x Int8) ENGINE = Memory`, `SELECT 1 AS x$$; CREATE TABLE ${db}.b (x Int8) ENGINE = Memory`]) {
      const res = await post(sql);
      expect([sql, res.status, await res.text()]).toEqual([sql, 400, expect.stringMatching(/^Code: 62\. DB::Exception: Syntax error \(Multi-statements are not allowed\)/)]);
    }
    expect(await (await get(`SELECT count() FROM system.tables WHERE database = '${db}'`)).text()).toBe('0\n');
  });

  it('refuses over GET what readonly lets through (KILL, SYSTEM), never creates a dictionary that runs a program, and keeps no USE across requests', async () => {
    for (const sql of ["KILL QUERY WHERE query LIKE 'INSERT%' SYNC", 'SYSTEM DROP DNS CACHE']) {
      const res = await get(sql);
      expect([sql, res.status, res.headers.get('x-clickhouse-exception-code')]).toEqual([sql, 403, '164']);
    }
    const db = randomDb('dict');
    expect((await post(`CREATE DATABASE ${db}`)).status).toBe(200);
    const probe = join(tmpdir(), `edgelat-dict-${process.pid}`);
    const dict = await post(`CREATE DICTIONARY ${db}.d (k UInt64, v String) PRIMARY KEY k SOURCE(EXECUTABLE(COMMAND 'touch ${probe}' FORMAT TabSeparated)) LAYOUT(DIRECT())`);
    expect([dict.status, dict.headers.get('x-clickhouse-exception-code'), existsSync(probe)]).toEqual([403, '497', false]);
    expect(await (await get(`EXISTS DICTIONARY ${db}.d`)).text()).toBe('0\n');
    expect((await get('USE system')).status).toBe(200);
    expect(await (await get('SELECT currentDatabase()')).text()).toBe('default\n');
  });

  it('writes no file: INTO OUTFILE is refused over GET and POST (497), however spelled', async () => {
    const target = join(tmpdir(), `edgelat-outfile-${process.pid}.txt`);
    for (const sql of [`SELECT 'x' INTO OUTFILE '${target}'`, `SELECT 13 INTO /* /* */ x */ OUTFILE '${target}' TRUNCATE`, `SELECT 42 AS y$$ INTO OUTFILE '${target}'`]) {
      for (const res of [await get(sql), await post(sql)]) {
        expect([sql, res.status, res.headers.get('x-clickhouse-exception-code')]).toEqual([sql, 403, '497']);
        expect(await res.text()).toMatch(/^Code: 497\. DB::Exception: INTO OUTFILE writes a file on the server's machine/);
      }
    }
    expect(existsSync(target)).toBe(false);
    expect(await (await get("SELECT 'INTO OUTFILE' AS `into outfile`")).text()).toBe('INTO OUTFILE\n');
  });

  it('refuses a request a browser may have sent for a web page (Origin of another site, Sec-Fetch-Site, a Host that is not loopback)', async () => {
    const { request } = await import('node:http');
    // fetch does not let a caller set Host; node:http does (a page whose name resolves to 127.0.0.1: DNS rebinding).
    const raw = (headers: Record<string, string>, method = 'GET', path = `/?query=${encodeURIComponent('SELECT 1')}`) => new Promise<{ status: number; code: string | undefined; body: string }>((resolve, reject) => {
      const u = new URL(`${endpoint!.url}${path}`);
      const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode!, code: res.headers['x-clickhouse-exception-code'] as string | undefined, body }));
      });
      req.on('error', reject);
      req.end();
    });
    const port = new URL(endpoint!.url).port;
    for (const [headers, why] of [
      [{ origin: 'https://evil.example' }, 'Origin: https://evil.example'],
      [{ 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site: cross-site'],
      [{ 'sec-fetch-site': ' Same-Site ' }, 'Sec-Fetch-Site: same-site'],
      [{ host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'sec-fetch-site': 'same-origin' }, `Host: evil.example:${port} is not this machine's loopback name`],
    ] as [Record<string, string>, string][]) {
      const res = await raw(headers);
      expect([JSON.stringify(headers), res.status, res.code, res.body.split(': the edgelat')[0]]).toEqual([JSON.stringify(headers), 403, '497', `Code: 497. DB::Exception: a request a browser may have sent for a web page (${why})`]);
    }
    // The endpoint's own origin (under either loopback name), and a request typed in the address bar, are answered.
    for (const headers of [{ origin: endpoint!.url }, { origin: `http://localhost:${port}` }, { host: `localhost:${port}` }, { 'sec-fetch-site': 'none' }, { 'sec-fetch-site': 'same-origin' }] as Record<string, string>[]) {
      expect([JSON.stringify(headers), (await raw(headers)).body]).toEqual([JSON.stringify(headers), '1\n']);
    }
    // /ping too (a trial: its "Ok." told a page on another name that edgelat runs here).
    // Every path: /ping and an unknown one too (a trial: their "Ok." and 404 text told a page on another name that edgelat runs here).
    for (const path of ['/ping', '/nowhere']) {
      const refused = await raw({ host: `evil.example:${port}` }, 'GET', path);
      expect([path, refused.status, refused.code, refused.body.split(': the edgelat')[0]]).toEqual([path, 403, '497', `Code: 497. DB::Exception: a request a browser may have sent for a web page (Host: evil.example:${port} is not this machine's loopback name)`]);
      // How to name a host of one's own (a trial: a load balancer's name was refused without a word of --allowed-hosts).
      expect(refused.body).toContain('answers clients outside a browser only; a name of this server that clients use (a load balancer\'s, a proxy\'s) is answered once given to `edgelat serve --allowed-hosts NAME`. (ACCESS_DENIED)');
    }
    expect(await raw({}, 'GET', '/ping')).toEqual({ status: 200, code: undefined, body: 'Ok.\n' });
  });

  it('answers a request the HTTP parser refuses in ClickHouse\'s words, not Fastify\'s JSON (a trial)', async () => {
    const { connect } = await import('node:net');
    const send = (text: string) => new Promise<string>((resolve, reject) => {
      const u = new URL(endpoint!.url);
      const socket = connect(Number(u.port), u.hostname, () => socket.end(text));
      let got = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (got += d));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
    const garbage = await send('HELLO THERE\r\n\r\n');
    expect(garbage.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(garbage).toMatch(/\r\nX-ClickHouse-Exception-Code: 36\r\n/);
    expect(garbage.split('\r\n\r\n')[1]).toMatch(/^Code: 36\. DB::Exception: malformed HTTP request \(HPE_[A-Z_]+: .+\)\. \(BAD_ARGUMENTS\) \(version edgelat-chdb\)\n$/);
    const conflicting = await send('POST /?query=SELECT%201 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    expect(conflicting.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(conflicting).toContain('Code: 36. DB::Exception: malformed HTTP request (HPE_');
  });

  it('inserts a gzip body with the statement in the URL', async () => {
    const { gzipSync } = await import('node:zlib');
    const db = randomDb('raw');
    expect((await post(`CREATE DATABASE ${db}`)).status).toBe(200);
    expect((await post(`CREATE TABLE ${db}.t (a UInt32, b String) ENGINE = MergeTree ORDER BY a`)).status).toBe(200);
    const res = await fetch(`${endpoint!.url}/?query=${encodeURIComponent(`INSERT INTO ${db}.t (a, b) FORMAT TSV`)}`, { method: 'POST', body: gzipSync('1\tx\n2\ty\n'), headers: { 'Content-Encoding': 'gzip' } });
    expect(res.status).toBe(200);
    // No read_rows, read_bytes or total_rows_to_read, as a read's summary (a re-test: an INSERT's said "0" for each).
    expect(Object.keys(JSON.parse(res.headers.get('x-clickhouse-summary')!) as object)).toEqual(['written_rows', 'written_bytes', 'result_rows', 'result_bytes']);
    // An INSERT … VALUES answered as a statement: no written_rows, which chdb does not tell (a re-test: "0" beside 2 rows stored).
    const values = await post(`INSERT INTO ${db}.t VALUES (3, 'z')`);
    expect([values.status, 'written_rows' in (JSON.parse(values.headers.get('x-clickhouse-summary')!) as object)]).toEqual([200, false]);
    expect(JSON.parse(res.headers.get('x-clickhouse-summary')!)).toMatchObject({ written_rows: '2' });
    expect(await (await get(`SELECT count() FROM ${db}.t`)).text()).toBe('3\n');
    // A body that is not what its Content-Encoding says: 400 naming it (a trial: 500, code 1001, zlib's words alone).
    for (const encoding of ['gzip', 'deflate']) {
      const bad = await fetch(`${endpoint!.url}/?query=${encodeURIComponent(`INSERT INTO ${db}.t (a, b) FORMAT TSV`)}`, { method: 'POST', body: 'notgzip', headers: { 'Content-Encoding': encoding } });
      expect([bad.status, bad.headers.get('x-clickhouse-exception-code'), (await bad.text()).split(': incorrect')[0]])
        .toEqual([400, '354', `Code: 354. DB::Exception: the request body is not valid ${encoding} data (Content-Encoding: ${encoding})`]);
    }
    expect(await (await get(`SELECT count() FROM ${db}.t`)).text()).toBe('3\n');
  });

  it('setUnavailable makes queries fail retriably with 503, and serving resumes after', async () => {
    const w = new ClickHouseWarehouse({ url: endpoint!.url, database: 'default' });
    try {
      await endpoint!.setUnavailable(true);
      const raw = await get('SELECT 1');
      expect(raw.status).toBe(503);
      expect(raw.headers.get('x-clickhouse-exception-code')).toBe('210');
      expect(await raw.text()).toMatch(/^Code: 210\. DB::Exception: service unavailable \(edgelat endpoint set unavailable\)/);
      expect((await fetch(`${endpoint!.url}/ping`)).status).toBe(200);
      const error = await w.query('SELECT 1 AS x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WarehouseError);
      expect((error as WarehouseError).retriable).toBe(true);
      expect((error as WarehouseError).code).toBe(210);
      await endpoint!.setUnavailable(false);
      expect(await w.query('SELECT 1 AS x')).toEqual([{ x: 1 }]);
    } finally {
      await endpoint!.setUnavailable(false);
      await w.close();
    }
  });
});
