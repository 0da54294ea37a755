/**
 * The bad lines an import prints on stderr: one line each, with what the file holds escaped for the terminal (a
 * re-test: a model's U+202E reordered the line on screen, a U+2028 broke it).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { reportProblems } from '../../../services/cli/benchmark.ts';

describe('reportProblems', () => {
  afterEach(() => vi.restoreAllMocks());

  it('escapes bidirectional marks, line separators and C1 controls in the value and the message', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    reportProblems([
      { file: 'r.csv', line: 2, field: 'model', value: 'res\u202enet50', message: 'expected an id without bidirectional or line-separator marks' },
      { file: 'r.csv', line: 3, field: 'system_id', value: 'a', message: 'no system row for "v1/closed/X/a\u2028b\u0085"' },
    ], 20);
    expect(write.mock.calls.map((c) => String(c[0]))).toEqual([
      'edgelat: r.csv:2: model = "res\\u202enet50": expected an id without bidirectional or line-separator marks\n',
      'edgelat: r.csv:3: system_id = "a": no system row for "v1/closed/X/a\\u2028b\\u0085"\n',
    ]);
  });
});
