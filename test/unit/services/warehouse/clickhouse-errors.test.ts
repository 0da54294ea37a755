import { describe, expect, it } from 'vitest';
import { toWarehouseError } from '../../../../services/warehouse/clickhouse.ts';
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

  it('says when the answer is not ClickHouse\'s: an empty body or an HTML page from another HTTP server', () => {
    const empty = toWarehouseError(new Error(''), 'statement');
    expect(empty.message).toBe('statement failed: the server\'s answer is not ClickHouse\'s (empty): is EDGELAT_CLICKHOUSE_URL the HTTP interface of a ClickHouse server (port 8123)?');
    expect(empty.code).toBeNull();
    const html = toWarehouseError(new Error('<!DOCTYPE HTML>\n<html>'), 'statement');
    expect(html.message).toMatch(/^statement failed: the server's answer is not ClickHouse's \("<!DOCTYPE HTML>"\): is EDGELAT_CLICKHOUSE_URL/);
  });

  it('undoes the nesting chdb adds to a rethrown exception (the code said three times), and leaves other text as its first line', () => {
    const nested = 'Code: 73. DB::Exception: Code: 73. DB::Exception: Code: 73. DB::Exception: Unknown format Nonexistent. (UNKNOWN_FORMAT) (version 26.7.2.1). (UNKNOWN_FORMAT) (version 26.7.2.1). (UNKNOWN_FORMAT)\nstack';
    expect(exceptionFirstLine(nested)).toBe('Code: 73. DB::Exception: Unknown format Nonexistent. (UNKNOWN_FORMAT)');
    const plain = 'Code: 60. DB::Exception: Unknown table expression identifier \'x\'. (UNKNOWN_TABLE) (version 26.7.2.1)\nmore';
    expect(exceptionFirstLine(plain)).toBe('Code: 60. DB::Exception: Unknown table expression identifier \'x\'. (UNKNOWN_TABLE) (version 26.7.2.1)');
    expect(exceptionFirstLine('connect ECONNREFUSED\nx')).toBe('connect ECONNREFUSED');
  });
});
