import { describe, expect, it } from 'vitest';
import { rowsToJsonCompact, rowToJson } from '../../../../services/warehouse/json.ts';

describe('rowsToJsonCompact', () => {
  it('writes the columns once and one array per row, bigint exact, null kept', () => {
    const rows = [
      { id: 1, v: 18446744073709551615n, t: '2024-06-01 10:00:00.123', s: 'tab\t"q"', n: null, b: true },
      { id: 2, v: 9007199254740993n, t: '1970-01-01 00:00:00.001', s: '', n: 0.1, b: false },
      { id: 3, v: 7, t: '2024-06-01 10:00:00.000', s: 'x', n: -1.5e-300, b: true },
    ];
    expect(rowsToJsonCompact(rows)).toEqual({
      columns: ['id', 'v', 't', 's', 'n', 'b'],
      lines: [
        '[1,18446744073709551615,"2024-06-01 10:00:00.123","tab\\t\\"q\\"",null,true]',
        '[2,9007199254740993,"1970-01-01 00:00:00.001","",0.1,false]',
        '[3,7,"2024-06-01 10:00:00.000","x",-1.5e-300,true]',
      ],
    });
  });

  it('gives every value the text rowToJson gives it', () => {
    const row = { a: 0.1 + 0.2, b: 'é 🚀 \\N', c: [1, 2], d: 123456789012345678901234567890n };
    const compact = rowsToJsonCompact([row])!;
    expect(compact.lines[0]).toBe(`[${rowToJson(row).slice(1, -1).replace(/"[abcd]":/g, '')}]`);
  });

  it.each([
    ['different key sets', [{ a: 1, b: 2 }, { a: 1, c: 2 }]],
    ['a missing key', [{ a: 1, b: 2 }, { a: 1 }]],
    ['an extra key', [{ a: 1 }, { a: 1, b: 2 }]],
    ['an undefined value', [{ a: 1, b: undefined }]],
    ['a key that is not a plain identifier', [{ 'a b': 1 }]],
    ['a row without keys', [{}]],
  ])('returns null (JSONEachRow keeps column defaults) for %s', (_name, rows) => {
    expect(rowsToJsonCompact(rows as Record<string, unknown>[])).toBeNull();
  });

  it('returns no lines for no rows', () => {
    expect(rowsToJsonCompact([])).toEqual({ columns: [], lines: [] });
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('refuses %s naming the column', (value) => {
    expect(() => rowsToJsonCompact([{ n: 1, pearson_r: 0.5 }, { n: 2, pearson_r: value }])).toThrow(RangeError);
    expect(() => rowsToJsonCompact([{ n: 1, pearson_r: value }])).toThrow(/^pearson_r: .* cannot be stored/);
  });
});
