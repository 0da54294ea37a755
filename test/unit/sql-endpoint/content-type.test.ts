/** Content-Type of the SQL endpoint's answers by output format, as ClickHouse's HTTP interface labels them. */
import { describe, expect, it } from 'vitest';
import { contentType } from '../../../services/sql-endpoint/protocol.ts';

describe('contentType', () => {
  it('labels text formats with their media type and UTF-8, and binary formats as octet-stream (a trial: Parquet came as text/plain)', () => {
    const cases: [string, string][] = [
      ['TSV', 'text/tab-separated-values; charset=UTF-8'],
      ['TabSeparatedWithNames', 'text/tab-separated-values; charset=UTF-8'],
      ['CSVWithNames', 'text/csv; charset=UTF-8; header=present'],
      ['JSONEachRow', 'application/x-ndjson; charset=UTF-8'],
      ['JSONCompact', 'application/json; charset=UTF-8'],
      ['XML', 'application/xml; charset=UTF-8'],
      ['Parquet', 'application/octet-stream'],
      ['parquet', 'application/octet-stream'],
      ['RowBinaryWithNamesAndTypes', 'application/octet-stream'],
      ['Native', 'application/octet-stream'],
      ['ArrowStream', 'application/octet-stream'],
      ['ORC', 'application/octet-stream'],
      ['Avro', 'application/octet-stream'],
      ['MsgPack', 'application/octet-stream'],
      ['PrettyCompact', 'text/plain; charset=UTF-8'],
      ['Values', 'text/plain; charset=UTF-8'],
      ['Vertical', 'text/plain; charset=UTF-8'],
    ];
    expect(cases.map(([f]) => [f, contentType(f)])).toEqual(cases);
  });
});
