import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { edgelat, errLines } from '../helpers/edgelat-cli.ts';

const BIN = fileURLToPath(new URL('../../bin/edgelat.js', import.meta.url));
import { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { ClickHouseWarehouse } from '../../services/warehouse/clickhouse.ts';
import { startSqlEndpointProcess } from '../helpers/sql-endpoint.ts';



/** A1 on a small fleet: the demo prints non-zero counts, and `edgelat sql` reads the same number back. */
describe('edgelat CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-cli-'));

  it('demo prints the summary and sql reads the same enriched count back', async () => {
    const demo = await edgelat(['demo', '--duration', '4', '--servers', '6', '--seed', '3', '--no-models'], dataDir);
    expect(demo.stderr).not.toMatch(/error/i);
    expect(demo.code).toBe(0);
    const enriched = Number(/enriched rows\s+([\d,]+)/.exec(demo.stdout)![1]!.replaceAll(',', ''));
    expect(enriched).toBeGreaterThan(1000);
    expect(Number(/dead letters\s+(\d+)/.exec(demo.stdout)![1])).toBe(3);
    expect(demo.stdout).toMatch(/strongest load-versus-latency correlations/);
    expect(demo.stdout).toMatch(/p99_ms/);
    const sql = await edgelat(['sql', 'SELECT count() FROM edgelat.inference_enriched', '--format', 'csv'], dataDir);
    expect(sql.code).toBe(0);
    expect(sql.stdout.trim()).toBe(String(enriched));
    const bound = await edgelat(['sql', 'SELECT count() FROM edgelat.inference_enriched WHERE edge_server_id = {s:String}', '-f', 'json', '--param', 's=edge-01'], dataDir);
    expect(Number(JSON.parse(bound.stdout.trim())['count()'])).toBeGreaterThan(0);
    // A time without a zone is UTC whatever the process's TZ (a trial read 10:00 as New York time: 14:00 UTC).
    const zoned = await edgelat(['sql', "SELECT timezone(), toUnixTimestamp(toDateTime('2024-06-01 10:00:00'))", '--format', 'csv'], dataDir, undefined, { TZ: 'America/New_York' });
    expect(zoned.stdout.trim()).toBe(`"UTC",${Date.UTC(2024, 5, 1, 10) / 1000}`);
    // Without --write the query runs read-only (ClickHouse's readonly = 1): a change, however spelled, is
    // refused by ClickHouse, and the table is still there afterwards.
    const refused = ['edgelat: the statement changes the warehouse, a setting or a file, or uses a table function (ClickHouse refused it read-only: READONLY): add --write to run it'];
    for (const sql of ['/* /* */ SELECT */ TRUNCATE TABLE edgelat.inference_enriched', 'WITH 1 AS a INSERT INTO edgelat.dead_letters (raw_b64) SELECT toString(a)']) {
      const r = await edgelat(['sql', sql], dataDir);
      expect([sql, r.code, errLines(r.stderr)]).toEqual([sql, 2, refused]);
    }
    // Two statements (as ClickHouse's parser reads them, `x$$` being a name): refused whole, with or without --write.
    // After an INSERT … VALUES statement's data, which the parser does not read (a trial: the DROP after it ran).
    for (const args of [['SELECT 1 AS x$$; DROP TABLE edgelat.inference_enriched', '--write'], ["INSERT INTO edgelat.dead_letters (raw_b64) VALUES ('x'); DROP TABLE edgelat.inference_enriched", '--write']]) {
      const two = await edgelat(['sql', ...args], dataDir);
      expect([two.code, errLines(two.stderr)]).toEqual([2, ['edgelat: the query holds more than one statement (ClickHouse: Multi-statements are not allowed): edgelat sql runs one at a time']]);
    }
    // Nothing but comments or ";": empty, as blank text is (a trial: exit 1 quoting the formatQuery pre-parse).
    for (const sql of ['/* nothing */', ';', '-- a note']) {
      const r = await edgelat(['sql', '--', sql], dataDir);
      expect([sql, r.code, errLines(r.stderr)]).toEqual([sql, 2, ['edgelat: the query is empty (only comments or ";")']]);
    }
    // A database of the query's own that does not exist is the query's mistake, not a warehouse without edgelat's tables
    // (a trial: the "run edgelat demo first" hint after the demo); edgelat's own missing database keeps the hint.
    const otherDb = await edgelat(['sql', 'SELECT * FROM nosuchdb.t'], dataDir);
    expect([otherDb.code, errLines(otherDb.stderr)]).toEqual([1, ['edgelat: query failed: Code: 81. DB::Exception: Database nosuchdb does not exist. (UNKNOWN_DATABASE)']]);
    const ownDb = await edgelat(['sql', 'SELECT count() FROM other.inference_enriched'], dataDir, undefined, { EDGELAT_DATABASE: 'other' });
    expect([ownDb.code, errLines(ownDb.stderr)]).toEqual([1, ['edgelat: query failed: Code: 81. DB::Exception: Database other does not exist. (UNKNOWN_DATABASE) (no edgelat tables here yet: run `edgelat demo` or `edgelat migrate` first)']]);
    const outfile = await edgelat(['sql', `SELECT 1 AS y$$ INTO /* /* */ x */ OUTFILE '${join(dataDir, 'out.tsv')}'`], dataDir);
    expect([outfile.code, errLines(outfile.stderr), existsSync(join(dataDir, 'out.tsv'))]).toEqual([2, ['edgelat: INTO OUTFILE writes a file: add --write to run it'], false]);
    // Reads ClickHouse allows read-only run: FROM-first after a nested comment.
    for (const sql of ['/* a /* b */ c */ FROM edgelat.inference_enriched SELECT count()']) {
      const r = await edgelat(['sql', sql, '--format', 'csv'], dataDir);
      expect([sql, r.code, r.stdout.trim()]).toEqual([sql, 0, String(enriched)]);
    }
    // One value per --param: given before the query, it no longer swallows it (a trial: "missing required argument 'query'").
    const first = await edgelat(['sql', '--param', 's=edge-02', 'SELECT {s:String} AS s', '--format', 'csv'], dataDir);
    expect([first.code, first.stdout]).toEqual([0, '"edge-02"\n']);
    // A value no placeholder takes is said to be unused (ClickHouse ignores it), and the query runs.
    const unused = await edgelat(['sql', 'SELECT {s:String} AS s', '--param', 's=a', '--param', 'srv=edge-02', '--format', 'csv'], dataDir);
    expect([unused.code, unused.stdout, errLines(unused.stderr)]).toEqual([0, '"a"\n', ['edgelat: warning: --param srv is not used: the query has no {srv:Type}']]);
    // `--param s edge-02` (a space for the =): named as the --param, not as "too many arguments" for the query.
    const spaced = await edgelat(['sql', 'SELECT {s:String}', '--param', 's', 'edge-02'], dataDir);
    expect([spaced.code, errLines(spaced.stderr)[0]]).toEqual([2, 'edgelat: option \'-p, --param <name=value>\' argument \'s\' is invalid. --param must look like name=value, got "s" (give --param s=VALUE as one argument)']);
    const twice = await edgelat(['sql', 'SELECT {s:String}', '--param', 's=a', '--param', 's=b'], dataDir);
    expect([twice.code, errLines(twice.stderr)]).toEqual([2, ['edgelat: --param s is given twice']]);
    // A value its type cannot parse is bad usage too (ClickHouse's Code 457), as are a missing one and one that would wrap.
    const unparsed = await edgelat(['sql', 'SELECT {x:UInt8}', '--param', 'x=abc'], dataDir);
    expect([unparsed.code, errLines(unparsed.stderr)]).toEqual([2, ["edgelat: --param x=abc: cannot be read as UInt8 (it isn't parsed completely)"]]);
    // Other codes refuse a value too (a trial: 72 CANNOT_PARSE_NUMBER exited 1, as a failure).
    const float = await edgelat(['sql', 'SELECT {x:Float64}', '--param', 'x=abc'], dataDir);
    expect([float.code, errLines(float.stderr)]).toEqual([2, ['edgelat: --param x=abc: cannot be read as Float64 (Cannot read floating point value here: abc)']]);
    const uuid = await edgelat(['sql', 'SELECT {id:UUID} AS u', '-p', 'id=zzz'], dataDir);
    expect([uuid.code, errLines(uuid.stderr)]).toEqual([2, ['edgelat: --param id=zzz: cannot be read as UUID (Cannot parse uuid zzz)']]);
    const wraps = await edgelat(['sql', 'SELECT {x:INT UNSIGNED}', '--param', 'x=5000000000'], dataDir);
    expect([wraps.code, errLines(wraps.stderr)]).toEqual([2, ['edgelat: --param x=5000000000 is outside UInt32 (0 to 4294967295)']]);
    // Nothing to tail: said with the --since it was given (a trial read "… since then into firing").
    const none = await edgelat(['alerts', 'tail', '--firing-only', '--since', '2099-01-01T00:00:00Z'], dataDir);
    expect([none.code, none.stdout, errLines(none.stderr)]).toEqual([0, '', ['edgelat: no alert state change into firing since 2099-01-01T00:00:00.000Z in edgelat.load_latency_correlations']]);
    const written = await edgelat(['sql', 'CREATE TABLE edgelat.scratch (x UInt8) ENGINE = Memory', '--write'], dataDir);
    expect(written.code, written.stderr).toBe(0);
    expect((await edgelat(['sql', 'SELECT count() FROM edgelat.inference_enriched', '--format', 'csv'], dataDir)).stdout.trim()).toBe(String(enriched));
  });

  it('sql prints a read as it comes: an endless one piped into a reader that stops ends at once with exit 0 (a trial: 24 GB, then the kernel killed it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-stream-'));
    expect((await edgelat(['migrate'], dir)).code).toBe(0);
    const child = spawn('node', [BIN, 'sql', 'SELECT number FROM system.numbers', '--format', 'tsv'], { env: { ...process.env, EDGELAT_DATA_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // The first lines arrive while the query runs; then the reader goes away, as `| head -3` does.
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => {
      out += String(d);
      if (out.split('\n').length > 3) {
        child.stdout.destroy();
        resolve();
      }
    }));
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
    if (code === 'still running after 20 s') child.kill('SIGKILL');
    expect([code, err]).toEqual([0, '']);
    expect(out.split('\n').slice(0, 3)).toEqual(['0', '1', '2']);
  }, 60_000);

  it('at debug level logs a failed command under pino\'s `err` key with its class and code, and no secret', async () => {
    const secret = 's3cret-pw-do-not-log';
    const env = { EDGELAT_CLICKHOUSE_URL: 'http://127.0.0.1:1', EDGELAT_CLICKHOUSE_USER: 'u', EDGELAT_CLICKHOUSE_PASSWORD: secret, EDGELAT_LOG_LEVEL: 'debug' };
    const r = await edgelat(['sql', 'SELECT 1'], dataDir, undefined, env);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(secret);
    const line = errLines(r.stderr).map((l) => (l.startsWith('{') ? JSON.parse(l) as { msg?: string; err?: Record<string, unknown> } : {})).find((l) => l.msg === 'command failed');
    expect(line?.err).toMatchObject({ type: 'WarehouseError', message: expect.stringMatching(/^EDGELAT_CLICKHOUSE_URL: no ClickHouse server answers at "http:\/\/127\.0\.0\.1:1"/) as unknown });
    expect(line?.err?.stack).toMatch(/^WarehouseError: /);
  }, 60_000);

  it('says in one line that a broker cannot be reached (kafkajs\'s retries are not printed)', async () => {
    const child = spawn('node', [BIN, 'simulate', '--duration', '1'], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir, EDGELAT_KAFKA_BROKERS: '127.0.0.1:1', EDGELAT_LOG_LEVEL: 'info' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(errLines(stderr)).toEqual([expect.stringMatching(/^edgelat: kafka: connect to "127\.0\.0\.1:1" failed: .*ECONNREFUSED/)]);
  }, 60_000);

  it('a demo ended by SIGTERM or SIGHUP (waiting for a webhook that is down) says so in one line and ends by the signal (exit status 143, 129)', async () => {
    // A trial: it died with 143 and no word. The webhook port is closed: the demo waits, retrying, once its alerts start.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const own = mkdtempSync(join(tmpdir(), 'edgelat-cli-term-'));
    // A complete run first: the interrupted one leaves it as it was (a trial: an interrupted demo had dropped it).
    expect((await edgelat(['demo', '--servers', '1', '--duration', '1', '--no-models', '--seed', '5'], own)).code).toBe(0);
    const counts = ['inference_events', 'inference_enriched', 'load_latency_correlations', 'sim_ground_truth', 'latency_1m'].map((t) => `(SELECT count() FROM edgelat.${t})`).join(', ');
    const before = await edgelat(['sql', `SELECT ${counts}`, '--format', 'csv'], own);
    expect(before.code).toBe(0);
    // SIGHUP (a closed terminal or ssh session) as SIGTERM (a trial: a hung-up demo ended at once, 129, without a word).
    for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
      const child = spawn('node', [BIN, 'demo', '--servers', '2', '--duration', '2', '--no-models', '--alerts-webhook', `http://127.0.0.1:${port}/hook?token=s3cret`], { env: { ...process.env, EDGELAT_DATA_DIR: own } });
      let stderr = '';
      // The pause is said at the first failure, whatever the log level (a trial: silent after "sink..." until Ctrl-C).
      const paused = `edgelat: alert webhook http://127.0.0.1:${port}/…: no answer: ECONNREFUSED; delivery paused, retrying until the webhook answers (each change is posted once, in order; Ctrl-C stops the demo, the previous run kept)`;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!child.killed && stderr.includes(paused)) child.kill(sig); // once: a second signal is the default one
      });
      // It ends by the signal itself (a shell reports 143 / 129), not by process.exit, which at times waited on the engine's teardown.
      const ended = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
      expect([ended, errLines(stderr).at(-1), errLines(stderr).filter((l) => l.startsWith('edgelat: ') && l.includes('delivery paused')), stderr.includes('s3cret')])
        .toEqual([[null, sig], `edgelat: interrupted (${sig}); database edgelat keeps the previous run (this run's partial tables in edgelat__demo_next are dropped by the next demo)`, [paused], false]);
    }
    // The previous run whole, and no read command warns of a partial one.
    const after = await edgelat(['sql', `SELECT ${counts}`, '--format', 'csv'], own);
    expect([after.code, after.stdout, errLines(after.stderr)]).toEqual([0, before.stdout, []]);
  }, 180_000);

  it('takes the alert webhook from EDGELAT_ALERTS_WEBHOOK_URL, keeping its token out of the command line (a trial)', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    const posts: string[] = [];
    const rx = createHttpServer((req, res) => {
      posts.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((resolve) => rx.listen(0, '127.0.0.1', resolve));
    const port = (rx.address() as AddressInfo).port;
    try {
      const own = mkdtempSync(join(tmpdir(), 'edgelat-cli-hookenv-'));
      const r = await edgelat(['demo', '--servers', '2', '--duration', '2', '--no-models', '--shadows', '0', '--bad-records', '0'], own, undefined, { EDGELAT_ALERTS_WEBHOOK_URL: `http://127.0.0.1:${port}/hook?token=TOK123` });
      expect(r.code, r.stderr).toBe(0);
      expect(posts.length).toBeGreaterThan(0);
      expect(new Set(posts)).toEqual(new Set(['/hook?token=TOK123']));
      expect(`${r.stdout}${r.stderr}`).not.toContain('TOK123');
      const q = await edgelat(['sql', "SELECT countIf(status = 'delivered') FROM edgelat.alert_deliveries", '--format', 'csv'], own);
      expect(Number(q.stdout.trim())).toBe(posts.length);
    } finally {
      rx.close();
    }
  }, 120_000);

  it('pipeline run whose metrics port is taken ends before it opens Kafka or the warehouse, and creates nothing', async () => {
    // A trial: the warehouse was opened first, and a bad --metrics-host or a busy port left a chdb folder and its pid file behind.
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    const fresh = join(mkdtempSync(join(tmpdir(), 'edgelat-metrics-')), 'data');
    const r = await edgelat(['pipeline', 'run', '--metrics-port', String(port), '--metrics-host', '127.0.0.1'], fresh, undefined, { EDGELAT_KAFKA_BROKERS: '127.0.0.1:1' });
    busy.close();
    expect([r.code, errLines(r.stderr)]).toEqual([1, [`edgelat: listen EADDRINUSE: address already in use 127.0.0.1:${port} (another process listens there: pick another port with --metrics-port; 0 = any free port)`]]);
    expect(existsSync(fresh)).toBe(false);
  }, 60_000);

  it('ends quietly when the reader closes the pipe early (`edgelat sql … | head -1`)', async () => {
    const child = spawn('node', [BIN, 'sql', 'SELECT number FROM numbers(300000)', '--format', 'csv'], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(errLines(stderr)).toEqual([]);
    expect(code).toBe(0);
  });

  it('writes a binary format\'s bytes as they came, with no newline added (a trial: a Parquet export ended in "\\n" and did not read back)', async () => {
    const run = (query: string) => new Promise<Buffer>((resolve, reject) => {
      const child = spawn('node', [BIN, 'sql', query], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir } });
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`exit ${code}`))));
    });
    // RowBinary of one UInt8 is that one byte; a Parquet file ends with its magic, "PAR1".
    const rowBinary = await run('SELECT toUInt8(7) FORMAT RowBinary');
    const parquet = await run('SELECT number FROM numbers(3) FORMAT Parquet');
    const text = await run('SELECT 1 FORMAT Values');
    expect([...rowBinary]).toEqual([7]);
    expect(parquet.subarray(-4).toString('latin1')).toBe('PAR1');
    // A text format still ends on a line of its own.
    expect(text.toString()).toBe('(1)\n');
  });

  // `script` (util-linux) gives the command a terminal; without it, there is no terminal to test on.
  it.skipIf(spawnSync('script', ['--version']).status !== 0)('on a terminal, prints a text\'s control characters as escapes, and a file gets them as they are (a security trial: char(27) retitled and coloured the terminal)', () => {
    const query = "SELECT concat('A', char(27), ']0;T', char(7), 'é€') AS x FORMAT TSV";
    const env = { ...process.env, EDGELAT_DATA_DIR: dataDir };
    const onTerminal = spawnSync('script', ['-qec', `node ${BIN} sql "${query}"`, '/dev/null'], { env, encoding: 'utf8' });
    const toPipe = spawnSync('node', [BIN, 'sql', query], { env, encoding: 'utf8' });
    expect([onTerminal.status, onTerminal.stdout.replaceAll('\r\n', '\n'), toPipe.stdout]).toEqual([0, 'A\\u001b]0;T\\u0007é€\n', 'A\u001b]0;T\u0007é€\n']);
    // The table, on a terminal: ClickHouse's colour is off too (chdb coloured Pretty formats where stdout was a terminal).
    const table = spawnSync('script', ['-qec', `node ${BIN} sql "SELECT 1 AS x"`, '/dev/null'], { env, encoding: 'utf8' });
    expect(table.stdout.replaceAll('\r\n', '\n')).toBe('┌─x─┐\n│ 1 │\n└───┘\n');
  });

  it('with --write too: an endless result streams, and a reader that stops ends it (a trial: held whole, 6.6 GB, then V8\'s string limit)', async () => {
    const child = spawn('node', [BIN, 'sql', '--write', 'SELECT number, toString(number) AS s FROM numbers(10000000000)', '--format', 'csv'], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir } });
    let stderr = '';
    let first = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString().split('\n')[0]!;
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect([code, first, errLines(stderr)]).toEqual([0, '0,"0"', []]);
  }, 60_000);

  it('does its work when stderr\'s reader closes early during chdb work (a re-test: `report load-latency 2>&1 | head -1` segfaulted in libchdb, exit 139; a trial: it then exited 0 with no report)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'edgelat-report-pipe-'));
    const child = spawn('node', [BIN, 'report', 'load-latency', '--out', out], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir } });
    child.stdout.resume();
    child.stderr.once('data', () => child.stderr.destroy());
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    expect([code, signal]).toEqual([0, null]);
    expect(['report.csv', 'report.html', 'summary.md'].map((f) => existsSync(join(out, f)))).toEqual([true, true, true]);
  }, 120_000);

  it.skipIf(!existsSync('/dev/full'))('fails in one line when stdout cannot be written (a trial: `> /dev/full` printed a Node stack trace; gate exited 1, an answer)', async () => {
    const run = (args: string[]) => new Promise<[number | null, string]>((resolve) => {
      const child = spawn('sh', ['-c', 'exec node "$0" "$@" > /dev/full', BIN, ...args], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (c) => resolve([c, stderr]));
    });
    const [code, stderr] = await run(['sql', 'SELECT 1']);
    expect([code, errLines(stderr)]).toEqual([1, ['edgelat: cannot write the output to stdout: ENOSPC: no space left on device, write']]);
  }, 60_000);

  it('says in one line when another process holds the embedded warehouse, after waiting EDGELAT_LOCK_WAIT_S for it (exit 75)', async () => {
    const path = JSON.stringify(join(dataDir, 'chdb'));
    const waiting = (s: number) => `edgelat: waiting for pid ${process.pid}, which holds the embedded warehouse at ${path} (up to ${s} s: EDGELAT_LOCK_WAIT_S)`;
    let holder: ChdbWarehouse | null = new ChdbWarehouse({ dataDir: join(dataDir, 'chdb') });
    try {
      // 0: no wait.
      const sql = await edgelat(['sql', 'SELECT 1'], dataDir, undefined, { EDGELAT_LOCK_WAIT_S: '0' });
      expect([sql.code, errLines(sql.stderr)]).toEqual([75, [
        `edgelat: another edgelat process (pid ${process.pid}) holds the embedded warehouse at ${path}; try again once it ends, stop it or set EDGELAT_DATA_DIR to another folder`,
      ]]);
      // 1 s: said when the wait begins, and in the refusal; the gate's code is the same.
      const gate = await edgelat(['gate', '--model', 'm', '--version', 'v', '--chip', 'c', '--slo-p99-ms', '50'], dataDir, undefined, { EDGELAT_LOCK_WAIT_S: '1' });
      expect([gate.code, errLines(gate.stderr)]).toEqual([75, [waiting(1),
        `edgelat: another edgelat process (pid ${process.pid}) holds the embedded warehouse at ${path} (still, after 1 s of waiting: EDGELAT_LOCK_WAIT_S); try again once it ends, stop it or set EDGELAT_DATA_DIR to another folder`,
      ]]);
      // The default (60 s): the command runs once the holder lets go (a trial: two gates of one CI job, the second exited 70).
      const child = spawn('node', [BIN, 'sql', 'SELECT 40 + 2', '--format', 'csv'], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let [stdout, stderr] = ['', ''];
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const deadline = Date.now() + 30_000;
      while (!stderr.includes('waiting for') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await holder.close();
      holder = null;
      expect([await exited, stdout, errLines(stderr)]).toEqual([0, '42\n', [waiting(60)]]);
    } finally {
      await holder?.close();
    }
  });

  it('opens a copy of a held folder: the pid file it carries names the source\'s holder, not the copy\'s (a trial: locked out)', async () => {
    const holder = new ChdbWarehouse({ dataDir: join(dataDir, 'chdb') });
    try {
      await holder.exec('CREATE DATABASE IF NOT EXISTS copied');
      await holder.exec('CREATE TABLE IF NOT EXISTS copied.t (x UInt8) ENGINE = MergeTree ORDER BY x');
      await holder.exec('INSERT INTO copied.t VALUES (7)');
      const copy = mkdtempSync(join(tmpdir(), 'edgelat-cli-copy-'));
      cpSync(join(dataDir, 'chdb'), join(copy, 'chdb'), { recursive: true });
      expect(readFileSync(join(copy, 'chdb', 'edgelat.pid'), 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+:\\d+\n$`));
      const sql = await edgelat(['sql', 'SELECT sum(x) FROM copied.t', '--format', 'csv'], copy);
      expect([sql.code, sql.stdout.trim(), errLines(sql.stderr)]).toEqual([0, '7', []]);
      // A pid file of the pid alone (an older edgelat's) is still taken as the folder's holder.
      writeFileSync(join(copy, 'chdb', 'edgelat.pid'), `${process.pid}\n`);
      const old = await edgelat(['sql', 'SELECT 1'], copy, undefined, { EDGELAT_LOCK_WAIT_S: '0' });
      expect([old.code, errLines(old.stderr)[0]]).toEqual([75, `edgelat: another edgelat process (pid ${process.pid}) holds the embedded warehouse at ${JSON.stringify(join(copy, 'chdb'))}; try again once it ends, stop it or set EDGELAT_DATA_DIR to another folder`]);
      // The held folder's pid file edited to look stale (a re-test): the engine's lock names the holder (/proc/locks),
      // and the file is put back as it was, so the next attempt says the same.
      const source = join(dataDir, 'chdb', 'edgelat.pid');
      const held = readFileSync(source, 'utf8');
      writeFileSync(source, '999999999 1:2\n');
      for (let i = 0; i < 2; i++) {
        const edited = await edgelat(['sql', 'SELECT 1'], dataDir, undefined, { EDGELAT_LOCK_WAIT_S: '0' });
        expect([edited.code, errLines(edited.stderr).at(-1)]).toEqual([75, `edgelat: another edgelat process (pid ${process.pid}) holds the embedded warehouse at ${JSON.stringify(join(dataDir, 'chdb'))}; try again once it ends, stop it or set EDGELAT_DATA_DIR to another folder`]);
        expect(readFileSync(source, 'utf8')).toBe('999999999 1:2\n');
      }
      writeFileSync(source, held);
      // A hard-link copy (cp -al) shares the engine's lock file: named so, and the source's pid file is left alone
      // (a re-test: the failed open wrote its pid into the source's, a hard link of the copy's).
      const linked = mkdtempSync(join(tmpdir(), 'edgelat-cli-linked-'));
      expect(spawnSync('cp', ['-al', join(dataDir, 'chdb'), join(linked, 'chdb')]).status).toBe(0);
      const hard = await edgelat(['sql', 'SELECT 1'], linked);
      expect([hard.code, errLines(hard.stderr).at(-1)]).toEqual([1, `edgelat: cannot open the embedded warehouse at ${JSON.stringify(join(linked, 'chdb'))}: its ClickHouse lock file "status" is hard-linked with another folder's (a \`cp -al\` copy?), which process ${process.pid} holds open: copy the folder with \`cp -a\` (EDGELAT_DATA_DIR)`]);
      expect(readFileSync(source, 'utf8')).toBe(held);
    } finally {
      await holder.exec('DROP DATABASE IF EXISTS copied').catch(() => undefined);
      await holder.close();
    }
  });

  it('a command that only reads names a data dir with no warehouse in it, or a database that does not exist, and creates nothing', async () => {
    // A mistyped EDGELAT_DATA_DIR, or a command run from another folder than the demo's (./.edgelat is relative).
    const missing = join(mkdtempSync(join(tmpdir(), 'edgelat-cli-missing-')), 'typo');
    const said = [`edgelat: EDGELAT_DATA_DIR: no embedded warehouse in ${JSON.stringify(missing)} (nothing has been written there): run \`edgelat demo\` (npm start) or \`edgelat pipeline run\` first, or set EDGELAT_DATA_DIR to the folder they wrote (default ./.edgelat, relative to the current folder)`];
    // A reader, and model train (it trains on what the pipeline wrote); the others share the check (open-warehouse.ts).
    const runs = await Promise.all([['sql', 'SELECT 1'], ['model', 'train']].map((args) => edgelat(args, missing)));
    expect(runs.map((r) => [r.code, errLines(r.stderr), r.stdout])).toEqual(runs.map(() => [1, said, '']));
    // A command that writes checks its input files before it opens (and would create) the warehouse.
    const chips = await edgelat(['chips', 'import', join(missing, 'chips.csv')], missing);
    expect([chips.code, errLines(chips.stderr)]).toEqual([2, [`edgelat: chips import ${JSON.stringify(join(missing, 'chips.csv'))}: no such file`]]);
    expect(existsSync(missing)).toBe(false);
    // An empty chdb folder holds no warehouse either, and stays empty (a trial: chdb/tmp was left behind).
    const empty = mkdtempSync(join(tmpdir(), 'edgelat-cli-empty-'));
    mkdirSync(join(empty, 'chdb'));
    const onEmpty = await edgelat(['sql', 'SELECT 1'], empty);
    expect([onEmpty.code, errLines(onEmpty.stderr), readdirSync(join(empty, 'chdb'))]).toEqual([1, [said[0]!.replace(JSON.stringify(missing), JSON.stringify(empty))], []]);
    // A mistyped EDGELAT_DATABASE on a warehouse that exists: refused without creating the database (no migration runs).
    // One after the other: chdb lets one process at a time open a data dir.
    const noDb = [];
    for (const args of [['whatif', '--server', 'edge-01'], ['model', 'train']]) noDb.push(await edgelat(args, dataDir, undefined, { EDGELAT_DATABASE: 'edgelat_typo' }));
    expect(noDb.map((r) => [r.code, errLines(r.stderr)])).toEqual(noDb.map(() => [1, ['edgelat: EDGELAT_DATABASE: no database "edgelat_typo" in the warehouse: run `edgelat demo` (npm start), `edgelat pipeline run` or `edgelat migrate` first, or set EDGELAT_DATABASE to the database they wrote (default edgelat)']]));
    // ClickHouse keeps a database's definition in metadata/<name>.sql.
    expect(['edgelat', 'edgelat_typo'].map((db) => existsSync(join(dataDir, 'chdb', 'metadata', `${db}.sql`)))).toEqual([true, false]);
  });

  it('says so when the folder it runs in was deleted (a trial: only "ENOENT: no such file or directory, uv_cwd")', () => {
    const gone = mkdtempSync(join(tmpdir(), 'edgelat-cli-gone-'));
    const r = spawnSync('sh', ['-c', 'cd "$1" && rmdir "$1" && exec node "$2" sql "SELECT 1"', 'sh', gone, BIN], { encoding: 'utf8' });
    expect([r.status, r.stdout, r.stderr]).toEqual([1, '', 'edgelat: ENOENT: no such file or directory, uv_cwd (the current folder no longer exists: it was deleted or moved; cd to a folder that exists)\n']);
  });

  it('ignores bytes on its standard input: a write works, and a shell loop reading a file goes on (a trial: chdb took them as the INSERT\'s data and failed, eating the loop\'s file)', () => {
    const env = { ...process.env, EDGELAT_DATA_DIR: dataDir };
    const sh = (script: string, input?: string) => spawnSync('sh', ['-c', script, 'sh', BIN], { encoding: 'utf8', env, input });
    expect(sh('exec node "$1" sql --write "CREATE TABLE edgelat.stdin_probe (n UInt8) ENGINE = MergeTree ORDER BY n"').status).toBe(0);
    const loop = sh('while read n; do node "$1" sql --write "INSERT INTO edgelat.stdin_probe VALUES ($n)" || exit 9; done', '1\n2\n3\n');
    expect([loop.status, loop.stderr]).toEqual([0, '']);
    const rows = sh('exec node "$1" sql "SELECT groupArray(n) FROM (SELECT n FROM edgelat.stdin_probe ORDER BY n)" --format csv', 'junk\n');
    expect([rows.status, rows.stdout]).toEqual([0, '"[1,2,3]"\n']);
    expect(sh('exec node "$1" sql --write "DROP TABLE edgelat.stdin_probe"').status).toBe(0);
    // The query from a file, or from standard input with --file - (a trial: one over the system's 128 KiB an argument
    // could not be run at all).
    const piped = sh('exec node "$1" sql --file - --format csv', 'SELECT 40 + 2');
    expect([piped.status, piped.stdout, piped.stderr]).toEqual([0, '42\n', '']);
    const big = join(mkdtempSync(join(tmpdir(), 'edgelat-cli-file-')), 'q.sql');
    writeFileSync(big, `SELECT length('${'x'.repeat(200_000)}') AS n`);
    const long = sh(`exec node "$1" sql --file '${big}' --format csv`);
    expect([long.status, long.stdout]).toEqual([0, '200000\n']);
    const [neither, both, missing] = [sh('exec node "$1" sql'), sh(`exec node "$1" sql "SELECT 1" --file '${big}'`), sh('exec node "$1" sql --file /nonexistent/q.sql')];
    expect([neither, both, missing].map((r) => [r.status, errLines(r.stderr)[0]])).toEqual([
      [2, 'edgelat: give the query, as an argument or with --file'], [2, 'edgelat: give the query as an argument or with --file, not both'], [2, 'edgelat: --file: cannot read "/nonexistent/q.sql" (ENOENT)'],
    ]);
  });

  it('a demo whose models folder cannot be written stops before its run (a trial: it failed after the whole pipeline)', async () => {
    const own = mkdtempSync(join(tmpdir(), 'edgelat-cli-models-'));
    writeFileSync(join(own, 'models'), 'a file in the way');
    const r = await edgelat(['demo', '--servers', '1', '--duration', '1'], own);
    expect([r.code, r.stdout, errLines(r.stderr).at(-1)]).toEqual([1, '', expect.stringMatching(new RegExp(`^edgelat: the models folder "${join(own, 'models')}" cannot be written \\(ENOTDIR: .*\\): the demo did not start \\(database edgelat is as it was; --no-models runs it without models\\); move the file in its way, or set EDGELAT_DATA_DIR to a data folder it can write$`))]);
    expect(errLines(r.stderr).some((l) => /sink|join|correlation/.test(l))).toBe(false);
  });

  // Needs root, to run as another user (setpriv, util-linux); skipped elsewhere.
  const asNobody = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
  it.skipIf(!asNobody)('names a data folder that belongs to another user, with its owner and mode (a trial: "nothing has been written there", then "cannot create" the folder that exists)', () => {
    const dir = mkdtempSync('/tmp/edgelat-owner-'); // /tmp: a folder every user can reach, unlike the run's TMPDIR (0700)
    try {
      mkdirSync(join(dir, 'd', 'chdb'), { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, 'd', 'chdb', 'placeholder'), '');
      spawnSync('chmod', ['755', dir]);
      const run = (...args: string[]) => spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'node', BIN, ...args], { encoding: 'utf8', env: { ...process.env, EDGELAT_DATA_DIR: join(dir, 'd') } });
      const read = run('sql', 'SELECT 1');
      expect([read.status, errLines(read.stderr)]).toEqual([1, [`edgelat: EDGELAT_DATA_DIR: the embedded warehouse in "${join(dir, 'd')}" cannot be read by this user: permission denied (EACCES) ("${join(dir, 'd')}" belongs to user id 0, mode 0700: run edgelat as that user, or give this one access)`]]);
      const write = run('demo', '--servers', '1', '--duration', '1', '--no-models');
      expect([write.status, errLines(write.stderr).at(-1)]).toEqual([1, `edgelat: cannot open the embedded warehouse at "${join(dir, 'd', 'chdb')}": cannot create the folder "${join(dir, 'd', 'chdb')}": permission denied (EACCES) ("${join(dir, 'd')}" belongs to user id 0, mode 0700: run edgelat as that user, or give this one access)`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs from the sources when the temporary folder cannot be written (a trial: tsx\'s cache failed every command with a stack trace)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'edgelat-cli-tmpfile-')), 'a-file');
    writeFileSync(file, '');
    // A re-test: TMPDIR a file, and tsx's own cache entry (tsx-<uid>) a file, failed as the first did.
    const blocked = mkdtempSync(join(tmpdir(), 'edgelat-cli-tsxfile-'));
    writeFileSync(join(blocked, `tsx-${userInfo().uid}`), '');
    for (const TMPDIR of [join(file, 'tmp'), file, blocked]) {
      const r = await edgelat(['sql', 'SELECT 40 + 2', '--format', 'csv'], dataDir, undefined, { EDGELAT_FROM_SOURCE: '1', TMPDIR });
      expect([TMPDIR, r.code, r.stdout, r.stderr]).toEqual([TMPDIR, 0, '42\n', '']);
    }
  });

  it('runs under a POSIX-style TZ that Node and date(1) take (a trial: ClickHouse refused "JST-9" and every command failed)', async () => {
    const runs = [];
    for (const tz of ['JST-9', 'UTC+5', '<+0530>-5:30', 'CET-1CEST,M3.5.0,M10.5.0/3']) {
      runs.push(await edgelat(['sql', "SELECT toUnixTimestamp(toDateTime('2024-06-01 10:00:00')) AS u, toString(toDateTime64('2024-06-01 10:00:00.123', 3)) AS t, toUnixTimestamp64Milli(toDateTime64('2024-06-01 10:00:00.123', 3)) AS ms", '--format', 'csv'], dataDir, undefined, { TZ: tz }));
    }
    // Times without a zone are UTC whatever TZ says: 2024-06-01 10:00:00 UTC is 1717236000 s.
    expect(runs.map((r) => [r.code, r.stdout, r.stderr])).toEqual(runs.map(() => [0, '1717236000,"2024-06-01 10:00:00.123",1717236000123\n', '']));
  });

  it('sql and migrate go to the ClickHouse server at EDGELAT_CLICKHOUSE_URL, not to the embedded warehouse', async () => {
    const endpoint = await startSqlEndpointProcess();
    // A data dir of its own, never demoed: were the embedded warehouse used, it would hold no database srv.
    const own = mkdtempSync(join(tmpdir(), 'edgelat-cli-server-'));
    const env = { EDGELAT_CLICKHOUSE_URL: endpoint.url, EDGELAT_DATABASE: 'srv' };
    const server = new ClickHouseWarehouse({ url: endpoint.url, database: 'srv' });
    try {
      const migrate = await edgelat(['migrate'], own, undefined, env);
      expect(migrate.code, migrate.stderr).toBe(0);
      const [tables] = await server.query<{ n: number }>("SELECT count() AS n FROM system.tables WHERE database = 'srv'");
      expect(tables!.n).toBeGreaterThanOrEqual(10);
      expect(migrate.stdout.trim()).toMatch(/^applied \d+ migration\(s\): 0001_/);
      await server.exec('CREATE TABLE srv.probe (o UInt64) ENGINE = MergeTree ORDER BY o');
      const written = await edgelat(['sql', 'INSERT INTO srv.probe VALUES (7), (9)', '--write'], own, undefined, env);
      expect(written.code, written.stderr).toBe(0);
      expect(await server.query('SELECT o FROM srv.probe ORDER BY o')).toEqual([{ o: 7 }, { o: 9 }]);
      // Without --write the server runs it read-only (readonly = 2 on the request): refused, the table unchanged.
      const unwritten = await edgelat(['sql', 'INSERT INTO srv.probe VALUES (8)'], own, undefined, env);
      // Through a server, the hint says serve's port needs --sql-write too (a new user's trial added --write and met a second refusal).
      expect([unwritten.code, errLines(unwritten.stderr)]).toEqual([2, ['edgelat: the statement changes the warehouse, a setting or a file, or uses a table function (ClickHouse refused it read-only: READONLY): add --write to run it (through edgelat serve\'s ClickHouse port, serve must run with --sql-write too)']]);
      expect(await server.query('SELECT count() AS n FROM srv.probe')).toEqual([{ n: 2 }]);
      const read = await edgelat(['sql', 'SELECT count() FROM srv.probe WHERE o = {o:UInt64}', '--format', 'csv', '--param', 'o=7'], own, undefined, env);
      expect([read.code, read.stdout]).toEqual([0, '1\n']);
      // The catalog and model commands too (a trial: chips import wrote 6 chips into the embedded warehouse, the
      // server kept 0, and model train found no requests on a server that held them).
      const imported = await edgelat(['chips', 'import', 'data/chips/edge-chips.csv'], own, undefined, env);
      expect(imported.code, imported.stderr).toBe(0);
      const [{ n: chips } = { n: 0 }] = await server.query<{ n: number }>('SELECT uniqExact(chip) AS n FROM srv.chips');
      expect(Number(chips)).toBeGreaterThan(0);
      const listed = await edgelat(['chips', 'list', '--json'], own, undefined, env);
      expect((JSON.parse(listed.stdout) as unknown[]).length).toBe(Number(chips));
      const train = await edgelat(['model', 'train'], own, undefined, env);
      expect([train.code, errLines(train.stderr).at(-1)]).toEqual([1, expect.stringMatching(/no successful, load-matched requests in srv\.inference_enriched/)]);
      expect(existsSync(join(own, 'chdb'))).toBe(false);
    } finally {
      await server.close();
      await endpoint.stop();
    }
  }, 60_000);

  it('sql through EDGELAT_CLICKHOUSE_URL as embedded: a syntax error is bad usage, an error mid-stream is named, Ctrl-C stops the server\'s query (a trial)', async () => {
    const endpoint = await startSqlEndpointProcess();
    const own = mkdtempSync(join(tmpdir(), 'edgelat-cli-parity-'));
    const env = { EDGELAT_CLICKHOUSE_URL: endpoint.url };
    const server = new ClickHouseWarehouse({ url: endpoint.url, database: 'default' });
    try {
      // Exit 2 with the embedded engine's line, not exit 1 quoting the formatQuery call the check wraps it in.
      const syntax = await edgelat(['sql', 'SELEC 1'], own, undefined, env);
      expect([syntax.code, errLines(syntax.stderr)]).toEqual([2, [expect.stringMatching(/^edgelat: syntax error at position 7 \("1"\): expected one of token sequence, Dot, /) as unknown]]);
      // The server's exception written into the cut-short answer, not "aborted".
      // (Late in the answer, so that rows went out first; the last line names the exception however the answer came.)
      const mid = await edgelat(['sql', 'SELECT number, throwIf(number = 900000) FROM numbers(1000000)', '--format', 'tsv'], own, undefined, env);
      expect([mid.code, mid.stdout.startsWith('0\t0\n1\t0\n'), errLines(mid.stderr).at(-1)]).toEqual([1, true, expect.stringMatching(/^edgelat: query failed: (Code: 395\. DB::Exception: )?Value passed to 'throwIf' function is non-zero/) as unknown]);
      // Rows only on stdout, as embedded: the exception is the error's, not a last "row" (a re-test: JSON lines ended with it).
      expect([mid.stdout.includes('DB::Exception'), /^\d+\t0$/.test(mid.stdout.trimEnd().split('\n').at(-1)!)]).toEqual([false, true]);
      // The table's row limit, said on stderr (a trial: a redirected table kept 1,000 of 71,582 rows, exit 0).
      // Exactly 1,000 rows: all shown, nothing said.
      const all = await edgelat(['sql', 'SELECT number FROM numbers(1000)'], own, undefined, env);
      expect([all.code, errLines(all.stderr)]).toEqual([0, []]);
      const table = await edgelat(['sql', 'SELECT number FROM numbers(1500)'], own, undefined, env);
      expect([table.code, table.stdout.trim().split('\n').at(-1), errLines(table.stderr)]).toEqual([0, 'Showed 1000 out of 1500 rows.',
        ['edgelat: warning: the table shows 1,000 of 1,500 rows, the first and the last ones: the line ─ ─ ─ stands for the 500 between; --format tsv, csv or json prints them all (or add LIMIT)']]);
      // The first 500 and the last 500 (a trial read rows 1000+ as if they came after row 499).
      expect([table.stdout.includes('\n─ ─ ─'), ...['499', '500', '999', '1000', '1499'].map((x) => new RegExp(`^│ +${x} │$`, 'm').test(table.stdout))]).toEqual([true, true, false, false, true, true]);
      // Ctrl-C: the server is asked to stop the read (a client that goes away does not stop it), then the command ends by
      // the signal; SIGTERM too, and a read run with --write (a SETTINGS clause needs it; a re-test: it held serve's writer).
      const cases: [string[], NodeJS.Signals, string][] = [
        [['sql', 'SELECT sum(number) FROM numbers(100000000009)'], 'SIGINT', '100000000009'],
        [['sql', '--write', 'SELECT sum(number) FROM numbers(100000000008) SETTINGS max_threads = 1'], 'SIGTERM', '100000000008'],
      ];
      for (const [args, signal, mark] of cases) {
        // Not the command's own parse check (formatQuery of the text, which holds the mark too).
        const running = async (): Promise<number> => Number((await server.query<{ n: number }>(`SELECT count() AS n FROM system.processes WHERE query LIKE '%numbers(${mark})%' AND query NOT LIKE '%system.processes%' AND query NOT LIKE '%formatQuery%'`))[0]!.n);
        const child = spawn('node', [BIN, ...args], { env: { ...process.env, ...env, EDGELAT_DATA_DIR: own }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        let ended: [number | null, NodeJS.Signals | null] | null = null;
        const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, sig) => resolve(ended = [code, sig])));
        // Until the query shows, or the command ended without it (then its exit and stderr are the failure's message: a
        // full-suite run once saw neither within 20 s, and said nothing more).
        const deadline = Date.now() + 40_000;
        // The count the loop saw is the one checked (a loaded CI run had seen the command's formatQuery of the text, gone
        // when asked again, and the query itself start after: elapsed 0.018 s).
        let shown = 0;
        while (ended === null && (shown = await running()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        // What the server runs then, for the message (a full-suite run once saw a --write read neither show nor end in 40 s).
        const processes = shown === 1 ? [] : await server.query<{ q: string; e: number }>('SELECT substring(query, 1, 120) AS q, elapsed AS e FROM system.processes WHERE query NOT LIKE \'%system.processes%\'');
        expect(shown, `${args.join(' ')}: exit ${JSON.stringify(ended)}, stderr ${JSON.stringify(stderr)}, the server runs ${JSON.stringify(processes)}`).toBe(1);
        child.kill(signal);
        expect(await exited).toEqual([null, signal]);
        const gone = Date.now() + 5000;
        while ((await running()) > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
        expect(await running(), args.join(' ')).toBe(0);
      }
    } finally {
      await server.close();
      await endpoint.stop();
    }
  }, 120_000);

  it('rejects bad usage with exit code 2 and a reason, and has help', async () => {
    const bad = await edgelat(['demo', '--servers', 'many'], dataDir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--servers must be an integer from 1 to 1000, got "many"/);
    const bogus = await edgelat(['demo', '--bogus'], dataDir);
    expect(bogus.code).toBe(2);
    // commander's usage errors carry the same prefix as the commands' own.
    expect(bogus.stderr).toMatch(/^edgelat: unknown option '--bogus'$/m);
    expect((await edgelat(['sql'], dataDir)).code).toBe(2);
    // A misspelt required flag is named as unknown (a trial: whatif --srever was told --server is missing), and a
    // required flag left out is still named.
    const misspelt = await edgelat(['whatif', '--srever', 'edge-04'], dataDir);
    expect([misspelt.code, errLines(misspelt.stderr)[0]]).toEqual([2, "edgelat: unknown option '--srever'"]);
    // A cut-off name is named with the option it begins (commander suggests by edit distance only: a trial's --firing).
    const cut = await edgelat(['alerts', 'tail', '--firing'], dataDir);
    expect([cut.code, errLines(cut.stderr).slice(0, 2)]).toEqual([2, ["edgelat: unknown option '--firing'", '(Did you mean --firing-only?)']]);
    // A command's option before the command is said to go after its name, the subcommand's too (a trial: `edgelat --json
    // gate …` read only "unknown option '--json'"); one no command takes is not.
    const before = await Promise.all([['--json', 'gate', '--model', 'x'], ['--json', 'model'], ['--firing-only', 'alerts'], ['--bogus', 'gate']].map((a) => edgelat(a, dataDir)));
    expect(before.map((r) => [r.code, errLines(r.stderr)[0]])).toEqual([
      [64, "edgelat: unknown option '--json' (edgelat takes only --version and --help before a command: put --json after the command's name, `edgelat gate --json …`)"],
      [64, "edgelat: unknown option '--json' (edgelat takes only --version and --help before a command: put --json after the command's name, `edgelat model <command> --json …`)"],
      [64, "edgelat: unknown option '--firing-only' (edgelat takes only --version and --help before a command: put --firing-only after the command's name, `edgelat alerts tail --firing-only …`)"],
      [64, "edgelat: unknown option '--bogus'"],
    ]);
    // `help model train` is train's help (commander's help command went one level down: model's).
    const trainHelp = await edgelat(['help', 'model', 'train'], dataDir);
    expect([trainHelp.code, trainHelp.stdout.split('\n')[0]]).toEqual([0, 'Usage: edgelat model train [options]']);
    const bogusHelp = await edgelat(['help', 'model', 'bogus'], dataDir);
    expect(errLines(bogusHelp.stderr)[0]).toBe("edgelat: help: unknown command 'model bogus' (none is named so: the subcommands of model follow)");
    // No command's help was asked for: a usage error before any command runs, as `help bogus` (exit 0 before).
    expect(bogusHelp.code).toBe(64);
    // A word after a command without subcommands is said too (a re-test: printed the help, exit 0, the word unsaid).
    const extra = await edgelat(['help', 'model', 'train', 'bogus'], dataDir);
    expect([extra.code, errLines(extra.stderr)[0], extra.stdout.split('\n')[0]]).toEqual([64, "edgelat: help: unknown command 'model train bogus' (`model train` has no subcommands)", 'Usage: edgelat model train [options]']);
    // `help help` is edgelat's help (a re-test: printed as an error, exit 64).
    const helpHelp = await edgelat(['help', 'help'], dataDir);
    expect([helpHelp.code, helpHelp.stdout.split('\n')[0], helpHelp.stderr]).toEqual([0, 'Usage: edgelat [options] [command]', '']);
    const unset = await edgelat(['predict', '--chip', 'rk3588-mali-g610'], dataDir);
    expect([unset.code, errLines(unset.stderr)[0]]).toEqual([2, "edgelat: required option '--model <id>' not specified"]);
    const states = await edgelat(['demo', '--alerts-states', 'firing'], dataDir);
    expect([states.code, errLines(states.stderr)]).toEqual([2, ['edgelat: --alerts-states filters what --alerts-webhook posts: give --alerts-webhook too']]);
    const ports = await edgelat(['serve', '--port', '18123', '--sql-port', '18123'], dataDir);
    expect([ports.code, errLines(ports.stderr)]).toEqual([2, ['edgelat: --port and --sql-port are both 18123: the API and the ClickHouse interface need a port each (0 = any free port)']]);
    // An empty interface (an unset $HOST in a script) would listen on every interface: refused.
    const host = await edgelat(['serve', '--host', ' '], dataDir);
    expect([host.code, errLines(host.stderr)[0]]).toEqual([2, 'edgelat: option \'--host <host>\' argument \' \' is invalid. --host must be an interface address or host name (e.g. 127.0.0.1, or 0.0.0.0 for every interface), got " "']);
    // A one-value flag given twice is refused (commander kept the last without a word).
    const twice = await edgelat(['demo', '--servers', '2', '--servers=3'], dataDir);
    expect([twice.code, errLines(twice.stderr)]).toEqual([2, ['edgelat: --servers is given more than once: give it once']]);
    const version = await edgelat(['--version'], dataDir);
    expect([version.code, version.stdout.trim()]).toEqual([0, '0.1.0']);
    const help = await edgelat(['--help'], dataDir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/demo/);
    expect(help.stdout).toMatch(/EDGELAT_DATA_DIR/);
    // Bad SQL is bad usage, said in one line: where the parser stopped and what it expected (8 of ClickHouse's
    // list of 11 here), not its whole message; a query that parses but fails is ClickHouse's error, exit 1.
    const badSql = await edgelat(['sql', 'SELECT nonsense FROM'], dataDir);
    expect([badSql.code, badSql.stderr]).toEqual([2, 'edgelat: syntax error at position 21 (end of query): expected one of table, table function, subquery or list of joined tables, table or subquery or table function, element of expression with optional alias, SELECT or EXPLAIN subquery, function, function name (and 3 more)\n']);
    const formats = await edgelat(['sql', 'SELECT 1 FORMAT Vertical', '--format', 'csv'], dataDir);
    expect([formats.code, errLines(formats.stderr), formats.stdout]).toEqual([2, ['edgelat: the query has FORMAT Vertical and --format csv is given: keep one'], '']);
    const unknown = await edgelat(['sql', 'SELECT nonsense FROM system.one'], dataDir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^edgelat: query failed: Code: 47\. DB::Exception: Unknown expression identifier `nonsense`/m);
  });
});
