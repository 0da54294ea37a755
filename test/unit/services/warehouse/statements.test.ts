/**
 * What a SQL text is, as ClickHouse's parser reads it (chdb's `formatQuery`),
 * and what a read-only connection lets through: ClickHouse, not a lexer of
 * ours, refuses the changes. The texts include the spellings that fooled the
 * lexer this replaced (`x$$` names, nested comments, WITH … INSERT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badParameterText, canonicalStatement, codeOf, formatClause, isReadonlyRefusal, isBadQueryParameter, MultiStatementError, namesPath, paramProblem, reachesOutside, readonlyGap, runsProgram, syntaxErrorSummary, unusedParams, valuesRest, writesFile } from '../../../../services/warehouse/statements.ts';
import { ChdbWarehouse } from '../../../../services/warehouse/chdb.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR, splitStatements } from '../../../../services/warehouse/migrations.ts';
import { createTestDatabase, testDataDir } from '../../../helpers/warehouse.ts';

describe('canonicalStatement, writesFile and a read-only connection', () => {
  let w: ChdbWarehouse;
  let ro: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('stmts');
    await w.exec(`CREATE TABLE ${w.database}.c (x Int32) ENGINE = MergeTree ORDER BY x`);
    ro = new ChdbWarehouse({ dataDir: testDataDir(), database: w.database, readonly: 1 });
  });
  afterAll(async () => {
    await ro.close();
    await w.close();
  });
  const canonical = (sql: string) => canonicalStatement((q, p) => w.query(q, p), sql);

  it('finds the FORMAT clause in ClickHouse\'s canonical text, and not a string, alias or column that reads format', async () => {
    const found = async (sql: string) => formatClause((await canonical(sql))!);
    expect(await found('select 1 as x format Vertical settings max_threads = 1')).toBe('Vertical');
    expect(await found('SELECT 1 FORMAT CSVWithNames')).toBe('CSVWithNames');
    expect(await found("SELECT 'FORMAT CSV' AS format")).toBeNull();
    expect(await found(`SELECT x AS FORMAT, 'a\nFORMAT TSV' FROM ${w.database}.c`)).toBeNull();
  });

  it('finds a statement after an INSERT … VALUES statement\'s data, which the parser does not read (a trial: `INSERT INTO zz VALUES (1); DROP TABLE yy` dropped yy)', async () => {
    const rest = async (sql: string) => valuesRest(sql, (await canonical(sql))!);
    expect(await rest(`INSERT INTO ${w.database}.c VALUES (1); DROP TABLE ${w.database}.c`)).toBe(`DROP TABLE ${w.database}.c`);
    expect(await rest(`insert into ${w.database}.c values (5) ; INSERT INTO ${w.database}.c VALUES (7)`)).toBe(`INSERT INTO ${w.database}.c VALUES (7)`);
    expect(await rest(`INSERT INTO ${w.database}.c FORMAT Values (1); SELECT 1`)).toBe('SELECT 1');
    // Nothing but blanks, semicolons and comments after it; a ';' inside a string or a quoted name.
    expect(await rest(`INSERT INTO ${w.database}.c VALUES (1);`)).toBeNull();
    expect(await rest(`INSERT INTO ${w.database}.c VALUES (1); -- done\n;; /* x; */`)).toBeNull();
    expect(await rest(`INSERT INTO ${w.database}.c VALUES (length('a;b')), (length('it''s;')), (length('\\';'))`)).toBeNull();
    // Other statements and other input formats (they read their data to the end and refuse what follows).
    expect(await rest('SELECT 1')).toBeNull();
    expect(await rest(`INSERT INTO ${w.database}.c FORMAT CSV\n1\n; DROP TABLE t`)).toBeNull();
  });

  it.each([
    ['select 1; drop table t'],
    ['SELECT 1 AS x$$; DROP TABLE t'],
    ["SELECT 'a;b'; SELECT 2"],
  ])('refuses %j as more than one statement', async (sql) => {
    await expect(canonical(sql)).rejects.toBeInstanceOf(MultiStatementError);
  });

  it.each([
    // ClickHouse's parser answers each with code 62 and a long message that names the formatQuery call around it.
    ['SELEC 1', 'syntax error at position 7 ("1"): expected one of token sequence, Dot, token, OR, AND, IS NOT DISTINCT FROM, IS DISTINCT FROM, IS NOT UNKNOWN (and N more)'],
    ['SELECT 1 FROM', 'syntax error at position 14 (end of query): expected one of table, table function, subquery or list of joined tables, table or subquery or table function, element of expression with optional alias, SELECT or EXPLAIN subquery, function, function name (and N more)'],
    ['SELECT (1', 'syntax error at position 8 ("(1"): unmatched parentheses'],
    ["SELECT 'abc", 'syntax error at position 8 ("\'abc"): single quoted string is not closed'],
    ['SELECT 1 /* x', 'syntax error at position 10 ("/* x"): multiline comment is not closed'],
  ])('summarises the syntax error of %j in one line: %j', async (sql, summary) => {
    const error = await canonical(sql).then(() => null, (e: unknown) => e as Error);
    // Without the formatQuery call the check wraps the statement in, which the user never wrote (nor the statement again).
    expect(error?.message).toMatch(/Code: 62\. DB::Exception: .*\. \(SYNTAX_ERROR\)$/s);
    expect(error?.message).not.toMatch(/formatQuery|In scope/);
    const line = syntaxErrorSummary(error!.message, sql)!;
    expect(line).not.toMatch(/formatQuery|\n/);
    // The list is cut to 8 items; "N more" is the rest of ClickHouse's own list.
    const listed = /Expected one of: (.*?)\. \(SYNTAX_ERROR\)/s.exec(error!.message)?.[1]?.split(', ').length ?? 0;
    expect(listed === 0 || listed > 8).toBe(true);
    expect(line).toBe(summary.replace('N more', `${listed - 8} more`));
  });

  it('says a parser limit without the formatQuery wrapper or the statement again (a trial: 80 KB on stderr for an 80 KB query)', async () => {
    const deep = `SELECT ${Array.from({ length: 600 }, () => '1').join('+')}`;
    const error = await canonical(deep).then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/Code: 167\. DB::Exception: AST is too deep\. Maximum: \d+\. \(TOO_DEEP_AST\)$/);
    expect(error!.message.length).toBeLessThan(200);
  });

  it('is no syntax error summary for other errors', () => {
    expect(syntaxErrorSummary('Code: 47. DB::Exception: Unknown expression identifier `foo` in scope SELECT foo. (UNKNOWN_IDENTIFIER)', 'SELECT foo')).toBeNull();
  });

  it.each([
    ['SELECT 1;', 'SELECT 1'],
    ["/* /* */ SELECT */ SELECT 'a;b' -- c", "SELECT 'a;b'"],
    ['SELECT 1 AS x$$', 'SELECT 1 AS `x$$`'],
    ['SELECT $$x;y$$', "SELECT 'x;y'"],
  ])('reads %j as one statement: %j', async (sql, text) => {
    expect(await canonical(sql)).toBe(text);
  });

  it.each([
    ['KILL QUERY WHERE 1', 'KILL acts on the server, not on data', false],
    ['/* x */ system drop dns cache', 'SYSTEM acts on the server, not on data', false],
    ["CREATE DICTIONARY d (k UInt64) PRIMARY KEY k SOURCE(EXECUTABLE_POOL(COMMAND 'true' FORMAT TSV SIZE 1)) LAYOUT(DIRECT())", null, true],
    ["CREATE DICTIONARY d (k UInt64) PRIMARY KEY k SOURCE(Executable(COMMAND 'true' FORMAT TSV)) LAYOUT(DIRECT())", null, true],
    ["SELECT 'SOURCE(EXECUTABLE' AS `KILL`", null, false],
    // A DESCRIBE of a table function runs it (a trial: GET DESCRIBE url(…) fetched the URL); a name in a string does not.
    ["DESCRIBE url('http://127.0.0.1:1/x', 'JSONEachRow')", 'url() reads outside the warehouse (a file, a URL, another server)', false],
    ["desc file('x.csv')", 'file() reads outside the warehouse (a file, a URL, another server)', false],
    ["EXPLAIN SELECT * FROM s3('https://b/x.parquet')", 's3() reads outside the warehouse (a file, a URL, another server)', false],
    ["SELECT 'url(x)' AS u, number AS file FROM numbers(1)", null, false],
    // A re-test: these read files or reach out too, and were not named.
    ["SELECT content FROM filesystem('/etc') WHERE name = 'hostname'", 'filesystem() reads outside the warehouse (a file, a URL, another server)', false],
    ["SELECT * FROM icebergLocal('/data/t')", 'icebergLocal() reads outside the warehouse (a file, a URL, another server)', false],
    ["DESCRIBE deltaLakeLocal('/data/t')", 'deltaLakeLocal() reads outside the warehouse (a file, a URL, another server)', false],
    ["SELECT * FROM paimonLocal('/data/t')", 'paimonLocal() reads outside the warehouse (a file, a URL, another server)', false],
    ["SELECT * FROM ytsaurus('http://127.0.0.1:1', '//x', 'tok', 'x String')", 'ytsaurus() reads outside the warehouse (a file, a URL, another server)', false],
    // Local table functions and scalar functions of like names are not.
    ["SELECT URLHierarchy('http://a/b'), count() FROM generateRandom('a UInt8') LIMIT 1", null, false],
  ])('%j: readonlyGap %j, runsProgram %s', async (sql, gap, program) => {
    const text = (await canonical(sql))!;
    expect([readonlyGap(text), runsProgram(text)]).toEqual([gap, program]);
  });

  // The SQL endpoint's POSTs (no login, the process's rights): a security trial read /etc/passwd, wrote a file as
  // root, and made a File table every GET then read.
  const beyond = (what: string) => `${what}() reaches outside the warehouse (files, URLs, programs or other servers)`;
  it.each([
    ["SELECT * FROM file('/etc/passwd', 'LineAsString')", beyond('file')],
    ["SELECT `file`('/etc/passwd')", beyond('file')],
    ["INSERT INTO FUNCTION file('/tmp/x', 'TSV', 'x String') VALUES ('a')", beyond('file')],
    ["CREATE TABLE d.t ENGINE = MergeTree ORDER BY x AS SELECT * FROM url('http://127.0.0.1:1/', 'TSV', 'x String')", beyond('url')],
    ["CREATE VIEW d.v AS SELECT * FROM s3('https://b/x.parquet')", beyond('s3')],
    ["CREATE TABLE d.t (x String) ENGINE = MergeTree ORDER BY x SETTINGS disk = disk(type = local, path = '/tmp/x/')", beyond('disk')],
    ["CREATE TABLE d.ff (x String) ENGINE = File(LineAsString, '/etc/passwd')", 'the File engine keeps its data outside the warehouse (files, URLs, programs or other servers)'],
    ["CREATE TABLE d.ex (x String) ENGINE = Executable('id', TSV)", 'the Executable engine keeps its data outside the warehouse (files, URLs, programs or other servers)'],
    ["CREATE TABLE d.k (x String) ENGINE = Kafka SETTINGS kafka_broker_list = 'h:9092'", 'the Kafka engine keeps its data outside the warehouse (files, URLs, programs or other servers)'],
    ["CREATE DATABASE fs ENGINE = Filesystem('/etc')", 'the Filesystem engine keeps its data outside the warehouse (files, URLs, programs or other servers)'],
    ["CREATE DICTIONARY d.x (k UInt64, v String) PRIMARY KEY k SOURCE(FILE(PATH '/etc/passwd' FORMAT 'TSV')) LAYOUT(FLAT())", 'a dictionary whose source is FILE reads outside the warehouse'],
    ["CREATE DICTIONARY d.x (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(HOST 'h' TABLE 't')) LAYOUT(FLAT())", 'a dictionary whose source is CLICKHOUSE on another server reads outside the warehouse'],
    ["CREATE DICTIONARY d.x (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(QUERY 'SELECT * FROM file(1)')) LAYOUT(FLAT())", beyond('file')],
    ["BACKUP TABLE d.t TO File('/tmp/x')", 'BACKUP writes or reads files outside the warehouse'],
    ["RESTORE TABLE d.t FROM File('/tmp/x')", 'RESTORE writes or reads files outside the warehouse'],
    ["INSERT INTO d.t FROM INFILE '/etc/passwd' FORMAT LineAsString", 'FROM INFILE reads a file outside the warehouse'],
    ["ATTACH TABLE d.t FROM '/var/x' (x String) ENGINE = MergeTree ORDER BY x", 'ATTACH … FROM a path reads files outside the warehouse'],
    // Within the warehouse: local engines, a dictionary of its own tables, names in strings.
    ["CREATE DICTIONARY d.x (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(TABLE 't' DB 'd')) LAYOUT(FLAT())", null],
    ["CREATE TABLE d.t (x String) ENGINE = ReplacingMergeTree ORDER BY x", null],
    ['CREATE MATERIALIZED VIEW d.mv ENGINE = SummingMergeTree ORDER BY x AS SELECT 1 AS x', null],
    ['CREATE TABLE d.m (x UInt8) ENGINE = Memory', null],
    ["INSERT INTO d.t SELECT * FROM input('x String') FORMAT CSV", "input() reads the serving process's standard input (chdb is ClickHouse's local mode), not the request's body"],
    ["SELECT 'file(x)' AS `url(`, URLHierarchy('http://a/b')", null],
    ['DROP TABLE d.t', null],
    // A comparison with an engine's name is not an engine (in a read, or in a view's query).
    ["SELECT name FROM system.tables WHERE engine = 'File'", null],
    ["CREATE VIEW d.v AS SELECT name FROM system.tables WHERE engine = 'URL' AND database = 'd'", null],
    ["SELECT 'ENGINE = File(x)' AS e", null],
    // A re-test: a join on an engine's name, and tables named like table functions, were refused.
    ['CREATE VIEW d.v AS SELECT t.name FROM system.tables AS t INNER JOIN system.table_engines AS e ON t.engine = e.name', null],
    ['CREATE VIEW d.v2 AS SELECT name FROM system.tables WHERE engine = upper(engine)', null],
    ['CREATE TABLE d.input (id UInt64) ENGINE = MergeTree ORDER BY id', null],
    ['CREATE TABLE cluster (node String) ENGINE = Memory', null],
    ['INSERT INTO d.url (x) VALUES (1)', null],
    ["SELECT 1 AS `a/b`", null],
    // …and these reached outside.
    ['SELECT * FROM "/etc/hostname"', 'a table named by a path reads a file outside the warehouse'],
    ['CREATE VIEW d.v3 AS SELECT * FROM default.`/etc/hostname`', 'a table named by a path reads a file outside the warehouse'],
    ["CREATE TABLE d.r (k String, v String) ENGINE = EmbeddedRocksDB(0, '/tmp/rdb') PRIMARY KEY k", 'an EmbeddedRocksDB table with a path of its own keeps its data outside the warehouse'],
    ['CREATE TABLE d.r2 (k String, v String) ENGINE = EmbeddedRocksDB PRIMARY KEY k', null],
    ["CREATE NAMED COLLECTION nc AS host = '127.0.0.1', port = 9000", 'a named collection points a source outside the warehouse'],
    ['CREATE DICTIONARY d.x (id UInt64, s String) PRIMARY KEY id SOURCE(CLICKHOUSE(NAME nc)) LAYOUT(FLAT()) LIFETIME(0)', 'a dictionary whose source is CLICKHOUSE on another server reads outside the warehouse'],
  ])('%j reaches outside: %j', async (sql, why) => {
    expect(reachesOutside((await canonical(sql))!)).toBe(why);
  });

  it('finds a table named by a path, quoted or bound to an Identifier parameter, and not a path in a string', async () => {
    const named = async (sql: string, params: Record<string, string> = {}) => namesPath((await canonical(sql))!, params);
    expect([await named('EXISTS TABLE "/etc/shadow"'), await named('SELECT * FROM default.`/etc/hostname`'), await named('SELECT * FROM {t:Identifier}', { t: '/etc/hostname' })]).toEqual([true, true, true]);
    expect([await named("SELECT '/etc/hostname' AS p FROM system.one"), await named('SELECT * FROM {t:Identifier}', { t: 'edgelat.chips' }), await named('SELECT 1 AS `a/b`')]).toEqual([false, false, false]);
  });

  it('finds nothing outside the warehouse in edgelat\'s own migrations', async () => {
    const statements = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).flatMap((f) => splitStatements(readFileSync(join(MIGRATIONS_DIR, f), 'utf8').replaceAll('${database}', 'edgelat')));
    expect(statements.length).toBeGreaterThanOrEqual(20);
    const found = await Promise.all(statements.map(async (sql) => [sql.slice(0, 60), reachesOutside((await canonical(sql))!)]));
    expect(found.filter(([, why]) => why !== null)).toEqual([]);
  });

  it.each([
    ["SELECT 1 INTO OUTFILE 'x.tsv'", true],
    ["SELECT 13 INTO /* /* */ x */ OUTFILE '/tmp/o5.txt' TRUNCATE", true],
    ["SELECT 42 AS y$$ INTO OUTFILE '/tmp/out1.txt'", true],
    ["SELECT 'INTO OUTFILE' AS `into outfile`", false],
  ])('%j writes a file: %s', async (sql, writes) => {
    expect(writesFile((await canonical(sql))!)).toBe(writes);
  });

  it.each([
    ['INSERT INTO {db}.c VALUES (1)'],
    ['WITH 777 AS a INSERT INTO {db}.c SELECT a'],
    ['/* /* */ SELECT */ TRUNCATE TABLE {db}.c'],
    ["WITH 'x' AS a INSERT INTO FUNCTION file('/tmp/edgelat-ro-probe.csv', 'CSV', 'a String') SELECT a"],
    ["CREATE DICTIONARY {db}.pwn (k UInt64, v String) PRIMARY KEY k SOURCE(EXECUTABLE_POOL(COMMAND 'true' FORMAT TabSeparated SIZE 1)) LAYOUT(COMPLEX_KEY_DIRECT())"],
    ['DROP TABLE {db}.c'],
  ])('a read-only connection refuses %j (ClickHouse: READONLY), and the table is unchanged', async (sql) => {
    const error = await ro.exec(sql.replaceAll('{db}', w.database)).then(() => null, (e: unknown) => e);
    expect(isReadonlyRefusal(error)).toBe(true);
    expect(await w.query(`SELECT count() AS n FROM ${w.database}.c`)).toEqual([{ n: 0 }]);
  });

  it('a read-only connection reads (FROM-first too), and refuses a setting change (readonly = 1) and reading a file', async () => {
    expect(await ro.query(`FROM ${w.database}.c SELECT count() AS n`)).toEqual([{ n: 0 }]);
    for (const sql of [`SELECT count() FROM ${w.database}.c SETTINGS max_block_size = 7`, "SELECT * FROM file('/etc/hostname', 'LineAsString')"]) {
      expect([sql, isReadonlyRefusal(await ro.query(sql).then(() => null, (e: unknown) => e))]).toEqual([sql, true]);
    }
    expect(isReadonlyRefusal(new Error('Code: 60. DB::Exception: Unknown table'))).toBe(false);
  });
});

describe('codeOf', () => {
  it('blanks the string literals and quoted names of a canonical statement, keeping positions', () => {
    const sql = "SELECT 'a;b\\'c', `x y`, \"z\" FROM t";
    expect(codeOf(sql)).toBe(`SELECT ${' '.repeat(8)}, ${' '.repeat(5)}, ${' '.repeat(3)} FROM t`);
    expect(codeOf(sql)).toHaveLength(sql.length);
  });
});

describe('paramProblem (a trial: {x:UInt8} with --param x=300 printed 44; a missing --param exited 1 as a query failure)', () => {
  it('names a placeholder with no value', () => {
    expect(paramProblem('SELECT {x:UInt8}, {y: String}', { x: '1' })).toBe('the query uses {y:String} and no --param y=… is given');
    expect(paramProblem('SELECT {x:UInt8}', {})).toBe('the query uses {x:UInt8} and no --param x=… is given');
  });

  it('refuses an integer outside its type, at each bound (2^n − 1, −2^(n−1)), through Nullable and LowCardinality', () => {
    expect(paramProblem('SELECT {x:UInt8}', { x: '255' })).toBeNull();
    expect(paramProblem('SELECT {x:UInt8}', { x: '256' })).toBe('--param x=256 is outside UInt8 (0 to 255)');
    expect(paramProblem('SELECT {x:UInt8}', { x: '-1' })).toMatch(/outside UInt8/);
    expect(paramProblem('SELECT {x:Int8}', { x: '-128' })).toBeNull();
    expect(paramProblem('SELECT {x:Int8}', { x: '-129' })).toBe('--param x=-129 is outside Int8 (-128 to 127)');
    expect(paramProblem('SELECT {x:UInt64}', { x: String(2n ** 64n - 1n) })).toBeNull();
    expect(paramProblem('SELECT {x:UInt64}', { x: String(2n ** 64n) })).toMatch(/outside UInt64 \(0 to 18446744073709551615\)/);
    expect(paramProblem('SELECT {x:Int64}', { x: String(-(2n ** 63n) - 1n) })).toMatch(/outside Int64/);
    expect(paramProblem('SELECT {x:Nullable(UInt16)}', { x: '65536' })).toMatch(/outside UInt16/);
    expect(paramProblem('SELECT {x:LowCardinality(Nullable(UInt8))}', { x: '300' })).toMatch(/outside UInt8/);
    // SQL aliases (a trial: {x:TINYINT} 300 gave 44, {x:INT UNSIGNED} 5e9 wrapped, {x:BIGINT} 2^63 gave −2^63).
    expect(paramProblem('SELECT {x:TINYINT}', { x: '300' })).toMatch(/outside Int8 \(-128 to 127\)/);
    expect(paramProblem('SELECT {x:int unsigned}', { x: '5000000000' })).toMatch(/outside UInt32 \(0 to 4294967295\)/);
    expect(paramProblem('SELECT {x:BIGINT}', { x: String(2n ** 63n) })).toMatch(/outside Int64/);
    expect(paramProblem('SELECT {x:Nullable(SMALLINT UNSIGNED)}', { x: '65535' })).toBeNull();
    // Single-word aliases (ClickHouse's system.data_type_families): INT1/BYTE Int8, SIGNED Int64, UNSIGNED/BIT/SET UInt64.
    expect(['INT1', 'byte', 'SIGNED', 'UNSIGNED', 'BIT', 'SET'].map((t) => paramProblem(`SELECT {x:${t}}`, { x: String(2n ** 64n) })?.replace(/ \(.*$/, ''))).toEqual([
      '--param x=18446744073709551616 is outside Int8', '--param x=18446744073709551616 is outside Int8', '--param x=18446744073709551616 is outside Int64',
      '--param x=18446744073709551616 is outside UInt64', '--param x=18446744073709551616 is outside UInt64', '--param x=18446744073709551616 is outside UInt64',
    ]);
  });

  it('names the bound parameters no placeholder takes (ClickHouse ignores them: a misspelt name passes unnoticed)', () => {
    expect(unusedParams('SELECT {s:String}, { n : UInt8 }', { s: 'a', n: '1', srv: 'b', x: '' })).toEqual(['srv', 'x']);
    expect(unusedParams('SELECT 1', {})).toEqual([]);
    // ClickHouse binds a name that starts with a digit (a trial: `{1bad:String}` printed its value and was warned unused).
    expect(unusedParams('SELECT {1bad:String}', { '1bad': '1' })).toEqual([]);
    expect(paramProblem('SELECT {1bad:UInt8}', { '1bad': '300' })).toBe('--param 1bad=300 is outside UInt8 (0 to 255)');
    // A placeholder is found by pattern, inside a string literal too (as paramProblem finds it).
    expect(unusedParams("SELECT '{s:String}'", { s: 'a' })).toEqual([]);
  });

  it('recognises ClickHouse\'s refusal of a value (Code 457) from chdb\'s message or a server\'s error code', () => {
    expect(isBadQueryParameter(new Error("Code: 457. DB::Exception: Value abc cannot be parsed as UInt8 for query parameter 'x'. (BAD_QUERY_PARAMETER)"))).toBe(true);
    expect(isBadQueryParameter(Object.assign(new Error("Value abc cannot be parsed as UInt8 for query parameter 'x'"), { code: 457 }))).toBe(true);
    expect(isBadQueryParameter(Object.assign(new Error('Code: 164. readonly'), { code: 164 }))).toBe(false);
    // Other codes with ClickHouse's words for a refused value (chdb's messages, copied from a trial).
    const enumMiss = new Error("Code: 691. DB::Exception: Unknown element 'b' for enum, maybe you meant: ['a']: value b cannot be parsed as Enum8('a'=1) for query parameter 'x'. (UNKNOWN_ELEMENT_OF_ENUM)");
    const date = new Error("Code: 38. DB::Exception: Cannot parse date: value is too short: value notadate cannot be parsed as Date for query parameter 'd'. (CANNOT_PARSE_DATE) (version 26.1.2.1)");
    expect([isBadQueryParameter(enumMiss), isBadQueryParameter(date), isBadQueryParameter(new Error("Code: 72. DB::Exception: Cannot parse number in toFloat64('abc'). (CANNOT_PARSE_NUMBER)"))]).toEqual([true, true, false]);
    expect(badParameterText(enumMiss, { x: 'b' })).toBe("--param x=b: cannot be read as Enum8('a'=1) (Unknown element 'b' for enum, maybe you meant: ['a'])");
    expect(badParameterText(date, { d: 'notadate' })).toBe('--param d=notadate: cannot be read as Date (Cannot parse date: value is too short)');
    // An ISO time with a zone, as `report --since` takes it (chdb's messages, copied from a trial): the same instant in UTC, without the zone.
    const zoned = new Error("Code: 457. DB::Exception: Value 2024-06-01T10:00:00Z cannot be parsed as DateTime64(3) for query parameter 'x' because it isn't parsed completely: only 19 of 20 bytes was parsed: 2024-06-01T10:00:00. (BAD_QUERY_PARAMETER)");
    expect(badParameterText(zoned, { x: '2024-06-01T10:00:00Z' })).toBe("--param x=2024-06-01T10:00:00Z: cannot be read as DateTime64(3) (it isn't parsed completely); ClickHouse reads no time zone in the text: write the UTC time 2024-06-01 10:00:00 and the type DateTime64(3, 'UTC')");
    const offset = new Error("Code: 457. DB::Exception: Value 2024-06-01T10:00:00.25+02:00 cannot be parsed as DateTime for query parameter 'x' because it isn't parsed completely: only 22 of 28 bytes was parsed: 2024-06-01T10:00:00.25. (BAD_QUERY_PARAMETER)");
    expect(badParameterText(offset, { x: '2024-06-01T10:00:00.25+02:00' })).toBe("--param x=2024-06-01T10:00:00.25+02:00: cannot be read as DateTime (it isn't parsed completely); ClickHouse reads no time zone in the text: write the UTC time 2024-06-01 08:00:00.250 and the type DateTime64(3, 'UTC')");
    const whole = new Error("Code: 457. DB::Exception: Value 2024-06-01T10:00:00+02:00 cannot be parsed as Nullable(DateTime) for query parameter 'x' because it isn't parsed completely. (BAD_QUERY_PARAMETER)");
    expect(badParameterText(whole, { x: '2024-06-01T10:00:00+02:00' })).toBe("--param x=2024-06-01T10:00:00+02:00: cannot be read as Nullable(DateTime) (it isn't parsed completely); ClickHouse reads no time zone in the text: write the UTC time 2024-06-01 08:00:00 and the type DateTime('UTC')");
    const compact = new Error("Code: 457. DB::Exception: Value 2024-06-01 10:00+0530 cannot be parsed as DateTime64(6) for query parameter 'x' because it isn't parsed completely. (BAD_QUERY_PARAMETER)");
    expect(badParameterText(compact, { x: '2024-06-01 10:00+0530' })).toBe("--param x=2024-06-01 10:00+0530: cannot be read as DateTime64(6) (it isn't parsed completely); ClickHouse reads no time zone in the text: write the UTC time 2024-06-01 04:30:00 and the type DateTime64(6, 'UTC')");
    // A value holding ": value " itself, and a message naming no given parameter.
    const odd = new Error("Code: 72. DB::Exception: Cannot read floating point value here: a: value b: value a: value b cannot be parsed as Float64 for query parameter 'f'. (CANNOT_PARSE_NUMBER)");
    expect(badParameterText(odd, { f: 'a: value b' })).toBe('--param f=a: value b: cannot be read as Float64 (Cannot read floating point value here: a: value b)');
    expect(badParameterText(new Error('Code: 457. DB::Exception: Substitution `y` is not set. (UNKNOWN_QUERY_PARAMETER)'), { x: '1' })).toBe('--param: Substitution `y` is not set');
    // ClickHouse writes a backslash, newline or tab in the value escaped (chdb's messages, copied from a review).
    const backslash = new Error("Code: 72. DB::Exception: Cannot read floating point value here: \\\\N: value \\\\N cannot be parsed as Float64 for query parameter 'x'. (CANNOT_PARSE_NUMBER)");
    expect(backslash.message).toContain('value \\\\N cannot'); // two backslash characters, as ClickHouse printed them
    expect(badParameterText(backslash, { x: '\\N' })).toBe("--param x='\\N': cannot be read as Float64 (Cannot read floating point value here: \\\\N)");
    const newline = new Error("Code: 72. DB::Exception: Cannot read floating point value here: a\\nb: value a\\nb cannot be parsed as Float64 for query parameter 'x'. (CANNOT_PARSE_NUMBER)");
    expect(badParameterText(newline, { x: 'a\nb' })).toBe('--param x="a\\nb": cannot be read as Float64 (Cannot read floating point value here: a\\nb)');
  });

  it('leaves other values and types to ClickHouse', () => {
    expect(paramProblem('SELECT {x:UInt8}', { x: 'abc' })).toBeNull();
    expect(paramProblem('SELECT {x:Float32}, {s:String}, {a:Array(UInt8)}', { x: '1e400', s: '300', a: '[300]' })).toBeNull();
    expect(paramProblem('SELECT 1', { unused: '1' })).toBeNull();
  });
});
