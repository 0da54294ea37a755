/**
 * The pure parts of the endpoint's ClickHouse HTTP parameters: the request's max_query_size and the check of a query
 * against it, and the refusal of ClickHouse's own compressed block format (compress=1, decompress=1).
 */
import { describe, expect, it } from 'vitest';
import { compressedBlockFormat, DEFAULT_MAX_QUERY_SIZE_BYTES, MAX_QUERY_SIZE_CEILING_BYTES, maxQuerySizeOf, querySizeProblem } from '../../../services/sql-endpoint/protocol.ts';

describe('maxQuerySizeOf', () => {
  it.each([
    ['', DEFAULT_MAX_QUERY_SIZE_BYTES],
    ['max_query_size=5', 5],
    ['max_query_size=2000000', 2_000_000],
    ['max_query_size=99999999999', MAX_QUERY_SIZE_CEILING_BYTES],
  ])('%s → %d', (query, bytes) => {
    expect(maxQuerySizeOf(new URLSearchParams(query))).toBe(bytes);
  });

  it.each(['max_query_size=', 'max_query_size=-1', 'max_query_size=1e6', 'max_query_size=lots'])('refuses %s (code 36)', (query) => {
    expect(() => maxQuerySizeOf(new URLSearchParams(query))).toThrow(/^Code: 36\. DB::Exception: max_query_size = ".*" in the URL: expected a whole number of bytes/);
  });
});

describe('querySizeProblem', () => {
  it('takes a query within the limit, in bytes (not characters)', () => {
    expect(querySizeProblem('SELECT 1', 'SELECT 1', 8)).toBeNull();
    expect(querySizeProblem("SELECT 'é'", null, 10)).toMatch(/the query is 11 bytes, max_query_size is 10: give max_query_size=11 or more in the URL/);
  });

  it('does not count an INSERT … VALUES statement\'s data', () => {
    const sql = `INSERT INTO t VALUES ('${'x'.repeat(1000)}')`;
    expect(querySizeProblem(sql, 'INSERT INTO t FORMAT Values', 100)).toBeNull();
    expect(querySizeProblem(sql, 'INSERT INTO t FORMAT Values', 10)).toMatch(/the query is 20 bytes, max_query_size is 10/);
    // Not known to be an INSERT … VALUES (no canonical text): the whole text counts.
    expect(querySizeProblem(sql, null, 100)).toMatch(/the query is 1025 bytes/);
  });

  it('says a query over the ceiling is over what the endpoint takes at all', () => {
    const sql = `SELECT '${'x'.repeat(MAX_QUERY_SIZE_CEILING_BYTES)}'`;
    expect(querySizeProblem(sql, null, MAX_QUERY_SIZE_CEILING_BYTES)).toMatch(/^Code: 62\. DB::Exception: Max query size exceeded .*: the query is 16777225 bytes, max_query_size is 16777216: over the largest max_query_size the edgelat endpoint takes \(16777216\): send the data apart from the query .*\(SYNTAX_ERROR\)$/);
  });
});

describe('compressedBlockFormat', () => {
  it.each(['', 'compress=0', 'compress=false', 'decompress=0', 'enable_http_compression=1'])('takes %s', (query) => {
    expect(compressedBlockFormat(new URLSearchParams(query))).toBeNull();
  });

  it.each([['compress=1', /^Code: 36\. DB::Exception: compress=1 asks for the answer in ClickHouse's own compressed block format/], ['decompress=1', /^Code: 36\. DB::Exception: decompress=1 says the request body is in ClickHouse's own compressed block format, .*Content-Encoding: gzip or deflate/]])('refuses %s', (query, text) => {
    expect(compressedBlockFormat(new URLSearchParams(query))).toMatch(text);
  });
});
