/**
 * What a SQL text asks of the warehouse: the statements it holds and the kind
 * of each. The split is checked against ClickHouse's own parser (chdb's
 * `formatQuery`, which refuses a text of two statements with "Multi-statements
 * are not allowed" and formats a single one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, isReadStatement, outsideReach, splitStatements, statementKind, WRITE_STATEMENTS } from '../../../../services/warehouse/statements.ts';
import type { ChdbWarehouse } from '../../../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../../../helpers/warehouse.ts';

describe('statementKind', () => {
  it.each([
    ['SELECT 1', 'SELECT'],
    ['  (select 1) UNION ALL (SELECT 2)', 'SELECT'],
    ['-- a note\n/* block\n comment */ drop table t', 'DROP'],
    ['# a note\ntruncate t', 'TRUNCATE'],
    ['/**/insert into t values (1)', 'INSERT'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'WITH'],
    ['  \n\t', ''],
    ['42', ''],
  ])('%j → %j', (sql, kind) => {
    expect(statementKind(sql)).toBe(kind);
  });

  it('reads are SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, EXISTS; every other kind needs --write', () => {
    for (const k of ['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'EXISTS']) expect([k, isReadStatement(k)]).toEqual([k, true]);
    for (const k of [...WRITE_STATEMENTS, 'CHECK', 'UNKNOWNWORD', '']) expect([k, isReadStatement(k)]).toEqual([k, false]);
  });
});

/** Texts and the statements they hold (each without its `;`). */
const CASES: [string, string[]][] = [
  ['SELECT 1', ['SELECT 1']],
  ['SELECT 1;', ['SELECT 1']],
  ['select 1; drop table edgelat.schema_migrations', ['select 1', 'drop table edgelat.schema_migrations']],
  ['select 1 format TSV; insert into t (c) values (\'x\')', ['select 1 format TSV', 'insert into t (c) values (\'x\')']],
  ['SELECT 1;\n-- trailing note; still a note\n', ['SELECT 1']],
  ["SELECT 'a;b', \"c;d\", `e;f`", ["SELECT 'a;b', \"c;d\", `e;f`"]],
  ["SELECT 'it''s; fine', 'b\\';'; SELECT 2", ["SELECT 'it''s; fine', 'b\\';'", 'SELECT 2']],
  ['SELECT $$x;y$$, $t$a;b$t$;SELECT 3', ['SELECT $$x;y$$, $t$a;b$t$', 'SELECT 3']],
  ['SELECT 1 /* ; */ + 1 # ;\n; SELECT 4 -- ;', ['SELECT 1 /* ; */ + 1 # ;', 'SELECT 4 -- ;']],
  ['-- only\n/* comments */;;', []],
];

describe('splitStatements', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('stmts');
  });
  afterAll(async () => {
    await w.close();
  });
  const formatQuery = async (q: string): Promise<string> => {
    try {
      const [r] = await w.query<{ f: string }>('SELECT formatQuery({q:String}) AS f', { q });
      return r!.f;
    } catch (error) {
      return /Multi-statements are not allowed/.test((error as Error).message) ? 'MULTI' : `ERROR ${(error as Error).message}`;
    }
  };

  it.each(CASES)('%j', async (sql, statements) => {
    expect(splitStatements(sql)).toEqual(statements);
    // ClickHouse's parser agrees: one statement parses, two are refused as a multi-statement text.
    for (const s of statements) expect(await formatQuery(s)).not.toMatch(/^(MULTI|ERROR)/);
    if (statements.length > 1) expect(await formatQuery(sql)).toBe('MULTI');
    if (statements.length === 1) expect(await formatQuery(sql)).toBe(await formatQuery(statements[0]!));
  });

  it('splits after an INSERT … VALUES list, which ClickHouse\'s parser reads as data but chdb runs as a second statement', async () => {
    const sql = `INSERT INTO ${w.database}.t (format, x) VALUES (1, 2); DROP TABLE ${w.database}.y`;
    expect(splitStatements(sql)).toEqual([`INSERT INTO ${w.database}.t (format, x) VALUES (1, 2)`, `DROP TABLE ${w.database}.y`]);
    expect(await formatQuery(sql)).toMatch(/^INSERT INTO \S+ \(format, x\) FORMAT Values$/);
    await w.exec(`CREATE TABLE ${w.database}.t (format UInt8, x UInt8) ENGINE = Memory`);
    await w.exec(`CREATE TABLE ${w.database}.y (a UInt8) ENGINE = Memory`);
    await w.exec(sql);
    expect(await w.query(`SELECT name FROM system.tables WHERE database = {d:String} AND name IN ('t', 'y') ORDER BY name`, { d: w.database })).toEqual([{ name: 't' }]);
  });

  it('keeps the data after INSERT … FORMAT <name> in that statement, whatever it holds', () => {
    const sql = 'INSERT INTO t FORMAT CSV\n1;2\n"a;b";3\n';
    expect(splitStatements(sql)).toEqual([sql.trim()]);
  });

  it('reads a long text in linear time (a 4 MB VALUES list)', () => {
    const sql = `INSERT INTO t VALUES ${Array.from({ length: 200_000 }, (_, i) => `(${i}, 'v;${i}')`).join(', ')}`;
    expect(splitStatements(sql)).toEqual([sql]);
  });
});

describe('codeOf and outsideReach', () => {
  it('blanks strings, quoted names, heredocs and comments, keeping positions', () => {
    const sql = "SELECT 'a;b', `c`, $$d$$ -- e\n/* f */ FROM t";
    expect(codeOf(sql)).toBe(`SELECT ${' '.repeat(5)}, ${' '.repeat(3)}, ${' '.repeat(5)} ${' '.repeat(4)}\n${' '.repeat(7)} FROM t`);
    expect(codeOf(sql)).toHaveLength(sql.length);
  });

  it.each([
    ["SELECT 1 INTO OUTFILE 'x.tsv'", 'INTO OUTFILE'],
    ["select 1 into\n outfile 'x'", 'INTO OUTFILE'],
    ["INSERT INTO FUNCTION file('x', 'TSV', 'a String') VALUES ('a')", 'file()'],
    ["SELECT * FROM s3 ('https://b/x.csv')", 's3()'],
    ["SELECT * FROM URL('http://x')", 'url()'],
    ["SELECT * FROM remoteSecure('h', db.t)", 'remotesecure()'],
    ["SELECT 'INTO OUTFILE', \"file\"(1) -- url(", null],
    ['SELECT filesize, url_path FROM t', null],
    ['SELECT profile(1)', null],
  ])('%j → %j', (sql, reach) => {
    expect(outsideReach(sql)).toBe(reach);
  });
});
