/**
 * Which output formats are binary (services/sql-endpoint/protocol.ts `isBinaryFormat`): their bytes are written as they
 * come (`edgelat sql`) and labelled as ClickHouse labels them (the SQL port), checked against the embedded ClickHouse's
 * own `system.formats.content_type` (a format without a charset is binary), for every output format it has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentType, isBinaryFormat } from '../../../services/sql-endpoint/protocol.ts';
import type { ChdbWarehouse } from '../../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../../helpers/warehouse.ts';

describe('binary output formats, against ClickHouse\'s system.formats', () => {
  let w: ChdbWarehouse;
  let formats: { name: string; content_type: string }[];
  beforeAll(async () => {
    w = await createTestDatabase('formats');
    formats = await w.query<{ name: string; content_type: string }>('SELECT name, content_type FROM system.formats WHERE is_output ORDER BY name');
  });
  afterAll(async () => w?.close());

  it('every output format without a charset is binary, and every one with a charset is not (RawBLOB, a column\'s bytes, aside)', () => {
    expect(formats.length).toBeGreaterThan(80);
    const wrong = formats.filter((f) => f.name !== 'RawBLOB' && isBinaryFormat(f.name) === /charset=/i.test(f.content_type)).map((f) => `${f.name}: ${f.content_type}`);
    expect(wrong).toEqual([]);
    expect(isBinaryFormat('RawBLOB')).toBe(true);
    // Every one labelled as ClickHouse labels it (re-tests: PNG and Buffers came as text/plain, JSONEachRow as
    // application/json, CSV without header=), RawBLOB (a column's bytes) as octet-stream.
    const expected = formats.map((f) => [f.name, f.name === 'RawBLOB' ? 'application/octet-stream' : f.content_type]);
    expect(formats.map((f) => [f.name, contentType(f.name)])).toEqual(expected);
    // Names in another case, and the aliases ClickHouse takes, get the same.
    expect([contentType('jsoneachrow'), contentType('tsv'), contentType('csvwithnames')]).toEqual(['application/x-ndjson; charset=UTF-8', 'text/tab-separated-values; charset=UTF-8', 'text/csv; charset=UTF-8; header=present']);
  });
});
