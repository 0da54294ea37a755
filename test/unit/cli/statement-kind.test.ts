/**
 * `edgelat sql`'s statement check: the first keyword after comments, white
 * space and parentheses, and which keywords need --write.
 */
import { describe, expect, it } from 'vitest';
import { statementKind, WRITE_STATEMENTS } from '../../../services/cli/common.ts';

describe('statementKind', () => {
  it.each([
    ['SELECT 1', 'SELECT'],
    ['  (select 1) UNION ALL (SELECT 2)', 'SELECT'],
    ['-- a note\n/* block\n comment */ drop table t', 'DROP'],
    ['/**/insert into t values (1)', 'INSERT'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'WITH'],
    ['  \n\t', ''],
    ['42', ''],
  ])('%j → %j', (sql, kind) => {
    expect(statementKind(sql)).toBe(kind);
  });

  it('needs --write for statements that change the warehouse, not for reads', () => {
    for (const k of ['INSERT', 'ALTER', 'DROP', 'CREATE', 'RENAME', 'TRUNCATE', 'DELETE', 'OPTIMIZE', 'SYSTEM']) expect(WRITE_STATEMENTS).toContain(k);
    for (const k of ['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'EXPLAIN', 'EXISTS']) expect(WRITE_STATEMENTS).not.toContain(k);
  });
});
