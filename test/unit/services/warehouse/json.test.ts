import { describe, expect, it } from 'vitest';
import { parseTypedRows, rowsToJsonCompact, rowToJson } from '../../../../services/warehouse/json.ts';

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

describe('values inside arrays', () => {
  it('writes bigints in an array exactly (a trial: an Array(UInt64) of bigints threw "Do not know how to serialize a BigInt")', () => {
    expect(rowToJson({ ids: [9007199254740993n, 1n], t: { k: 18446744073709551615n } })).toBe('{"ids":[9007199254740993,1],"t":{"k":18446744073709551615}}');
    expect(rowsToJsonCompact([{ ids: [9007199254740993n] }])!.lines).toEqual(['[[9007199254740993]]']);
  });

  it('refuses NaN and Infinity at any depth, naming the column and the element (a trial: [1, NaN] was stored as [1, 0])', () => {
    expect(() => rowToJson({ xs: [1, Number.NaN] })).toThrow('xs[1]: NaN cannot be stored; write null for an undefined value');
    expect(() => rowsToJsonCompact([{ m: { a: [0, Number.POSITIVE_INFINITY] } }])).toThrow('m.a[1]: Infinity cannot be stored');
  });
});

describe('parseTypedRows', () => {
  const text = (types: string[], ...rows: string[]) => [JSON.stringify(types.map((_, i) => `c${i}`)), JSON.stringify(types), ...rows, ''].join('\n');

  it('reads integers past 2^53 of 64-bit and wider integer types exactly, as bigint; safe ones as numbers', () => {
    expect(parseTypedRows(text(['UInt64', 'Nullable(Int64)', 'UInt128', 'UInt64'], '[18446744073709551615,-9007199254740993,340282366920938463463374607431768211455,7]')))
      .toEqual([{ c0: 18446744073709551615n, c1: -9007199254740993n, c2: 340282366920938463463374607431768211455n, c3: 7 }]);
  });

  it('reads a float type\'s integer-valued digits as the double they print (a trial: a Float64 of 2^64 came back as 18446744073709552000n)', () => {
    const [row] = parseTypedRows<Record<string, unknown>>(text(['Float64', 'Array(Float64)', 'Decimal(38, 2)', 'LowCardinality(Nullable(Float32))'], '[18446744073709552000,[100000000000000000000,1.5],12345678901234567890.5,null]'));
    expect(row).toEqual({ c0: 2 ** 64, c1: [1e20, 1.5], c2: 12345678901234567890.5, c3: null });
    expect(typeof row!.c0).toBe('number');
  });

  it('keeps big integers exact inside an integer container, and inside a type mixing both', () => {
    expect(parseTypedRows(text(['Array(UInt64)', 'Tuple(UInt64, Float64)'], '[[9007199254740993,1],[9007199254740993,0.5]]'))).toEqual([{ c0: [9007199254740993n, 1], c1: [9007199254740993n, 0.5] }]);
  });

  it('reads no rows from the names and types alone, and nothing from nothing; refuses text without them', () => {
    expect(parseTypedRows(text(['UInt64']))).toEqual([]);
    expect(parseTypedRows('')).toEqual([]);
    expect(() => parseTypedRows('[1]\n')).toThrow(/expected the names and types rows of JSONCompactEachRowWithNamesAndTypes/);
  });
});
