/**
 * temp-file.ts: temporary files in folders another local user may write. A security trial planted symbolic links at
 * the names a report would use (`summary.md.<pid>.tmp`, `.edgelat-write-test-<pid>` for the next 400 pids): the run
 * emptied one link's target and wrote the summary into the other's, out of the folder.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareOutDir, replaceFilesWith } from '../../../services/reports/load-latency.ts';
import { replaceFileSync, tempPath, writeNewFileSync } from '../../../services/temp-file.ts';

const folder = () => mkdtempSync(join(tmpdir(), 'edgelat-temp-file-'));

describe('temp-file', () => {
  it('names a temporary file by 16 random hex digits, a new name each time', () => {
    const names = Array.from({ length: 200 }, () => tempPath('/d/summary.md'));
    expect(names.every((n) => /^\/d\/summary\.md\.[0-9a-f]{16}\.tmp$/.test(n))).toBe(true);
    expect(new Set(names).size).toBe(200);
    expect(tempPath('/d/f', 'old')).toMatch(/^\/d\/f\.[0-9a-f]{16}\.old$/);
  });

  it('refuses to write where a symbolic link stands, dangling or not, and leaves its target as it was', () => {
    const dir = folder();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(dir, 'planted'));
    symlinkSync(join(dir, 'not-there'), join(dir, 'dangling'));
    expect(() => writeNewFileSync(join(dir, 'planted'), 'x')).toThrow(/EEXIST/);
    expect(() => writeNewFileSync(join(dir, 'dangling'), 'x')).toThrow(/EEXIST/);
    expect([readFileSync(victim, 'utf8'), readdirSync(dir).sort()]).toEqual(['keep me', ['dangling', 'planted', 'victim.txt']]);
  });

  it('replaces a file whole, a symbolic link at its name replaced and not followed, and leaves no temporary file', () => {
    const dir = folder();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    const file = join(dir, 'edgelat.pid');
    symlinkSync(victim, file);
    replaceFileSync(file, '42\n');
    expect([lstatSync(file).isSymbolicLink(), readFileSync(file, 'utf8'), readFileSync(victim, 'utf8')]).toEqual([false, '42\n', 'keep me']);
    expect(readdirSync(dir).sort()).toEqual(['edgelat.pid', 'victim.txt']);
  });

  it('writes a report\'s files past links planted at the names a process id gives, and its write test touches none', () => {
    const dir = folder();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    for (const name of [`.edgelat-write-test-${process.pid}`, `summary.md.${process.pid}.tmp`, `report.csv.${process.pid}.old`]) symlinkSync(victim, join(dir, name));
    const out = join(dir, 'out');
    expect(prepareOutDir(out)).toBe(out);
    symlinkSync(victim, join(out, `.edgelat-write-test-${process.pid}`));
    symlinkSync(victim, join(out, `summary.md.${process.pid}.tmp`));
    expect(prepareOutDir(out)).toBe(out);
    const files = ['report.html', 'report.csv', 'summary.md'].map((n) => join(out, n));
    writeFileSync(files[1]!, 'old csv');
    replaceFilesWith(files, ['<html>', 'a,b', '# summary']);
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(['<html>', 'a,b', '# summary']);
    expect([readFileSync(victim, 'utf8'), readlinkSync(join(out, `summary.md.${process.pid}.tmp`))]).toEqual(['keep me', victim]);
    expect(readdirSync(out).sort()).toEqual([`.edgelat-write-test-${process.pid}`, 'report.csv', 'report.html', 'summary.md', `summary.md.${process.pid}.tmp`]);
  });
});
