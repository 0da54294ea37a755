import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertReadableFile, IMPORT_FILE_LIMIT_BYTES, ONNX_FILE_LIMIT_BYTES, readInputText, readOnnxFile } from '../../../services/cli/common.ts';
import { UsageError } from '../../../services/cli/usage-error.ts';
import { checkBenchmarkFiles } from '../../../services/cli/benchmark.ts';

const root = mkdtempSync(join(tmpdir(), 'edgelat-onnx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('readOnnxFile (--onnx)', () => {
  it('reads a regular file within the limit', () => {
    writeFileSync(join(root, 'm.onnx'), Buffer.from([1, 2, 3]));
    expect([...readOnnxFile('--onnx', join(root, 'm.onnx'))]).toEqual([1, 2, 3]);
    expect(ONNX_FILE_LIMIT_BYTES).toBe(64 * 1024 * 1024);
  });

  it('refuses, naming the flag and path: an empty path, a missing file, a folder, a file over the limit', () => {
    expect(() => readOnnxFile('--onnx', '')).toThrow(new UsageError('--onnx: expected the path of an ONNX file, got ""'));
    expect(() => readOnnxFile('--onnx', join(root, 'none.onnx'))).toThrow(`--onnx ${JSON.stringify(join(root, 'none.onnx'))}: no such file`);
    expect(() => readOnnxFile('--onnx', root)).toThrow(`--onnx ${JSON.stringify(root)}: is a directory`);
    expect(() => readOnnxFile('--onnx', join(root, 'm.onnx'), 2)).toThrow(`--onnx ${JSON.stringify(join(root, 'm.onnx'))}: 3 bytes, more than the limit of 2 bytes`);
  });

  // A pipe would block the read until a writer comes; /dev/zero never ends (it filled memory).
  it.skipIf(!existsSync('/dev/zero'))('refuses a pipe and a device without reading them', () => {
    const fifo = join(root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => readOnnxFile('--onnx', fifo)).toThrow(`--onnx ${JSON.stringify(fifo)}: not a regular file (a pipe or device is not read)`);
    expect(() => readOnnxFile('--onnx', '/dev/zero')).toThrow('--onnx "/dev/zero": not a regular file');
  });
});

describe('readInputText and assertReadableFile (the imports\' files: --runs, --systems, --architectures, --latency, chips import, --profile)', () => {
  it('reads a regular file within the limit as UTF-8, its byte-order mark kept', () => {
    writeFileSync(join(root, 'runs.csv'), '\uFEFFa,b\n1,2\n');
    expect(readInputText(join(root, 'runs.csv'), '--runs runs.csv')).toBe('\uFEFFa,b\n1,2\n');
    expect(IMPORT_FILE_LIMIT_BYTES).toBe(64 * 1024 * 1024);
  });

  it('refuses with the label: a missing file, a folder, a file over the limit', () => {
    expect(() => readInputText(join(root, 'none.csv'), '--runs none.csv')).toThrow(new UsageError('--runs none.csv: no such file'));
    expect(() => assertReadableFile(root, '--latency data/')).toThrow(new UsageError('--latency data/: is a directory'));
    expect(() => readInputText(join(root, 'runs.csv'), '--runs runs.csv', 10)).toThrow(new UsageError('--runs runs.csv: 11 bytes, more than the limit of 10 bytes for an input file'));
  });

  // A trial: `import benchmark --runs fifo` blocked on the open with the warehouse held, SIGTERM unanswered;
  // `chips import /dev/zero` grew to 2.1 GB in 8 s.
  it.skipIf(!existsSync('/dev/zero'))('refuses a pipe and a device without opening them', () => {
    const fifo = join(root, 'runs-fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => assertReadableFile(fifo, '--runs fifo')).toThrow(new UsageError('--runs fifo: not a regular file (a pipe or device is not read)'));
    expect(() => readInputText('/dev/zero', 'chips import "/dev/zero"')).toThrow(new UsageError('chips import "/dev/zero": not a regular file (a pipe or device is not read)'));
  });
});

describe('checkBenchmarkFiles (import benchmark)', () => {
  it('refuses files over the limit in all, each within it, before anything is read (a trial: three of 63 MB ran out of heap, then hung)', () => {
    const files = ['r1.csv', 'r2.csv'].map((f) => join(root, f));
    for (const f of files) {
      writeFileSync(f, '');
      truncateSync(f, IMPORT_FILE_LIMIT_BYTES / 2 + 1);
    }
    expect(() => checkBenchmarkFiles({ format: 'singlestream', runs: files })).toThrow(new UsageError(
      'the files total 67,108,866 bytes, more than the limit of 67,108,864 (64 MiB) for one import: import them in several runs (an import adds to what is stored)'));
    expect(() => checkBenchmarkFiles({ format: 'singlestream', runs: files.slice(0, 1) })).not.toThrow();
  });
});
