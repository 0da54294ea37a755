/**
 * replaceAllOrNone (load-latency.ts): a report's three files are replaced together or not at all. A trial made
 * report.csv immutable: the run failed on its rename after report.html had been replaced, leaving one run's HTML beside
 * another's CSV and summary. Here the second file's name is a non-empty folder, which no rename replaces.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replaceAllOrNone } from '../../../../services/reports/load-latency.ts';

/** A folder with the three report names, each written `old <name>` unless listed in `absent`; the new texts as temps. */
function folder(absent: string[] = []): { dir: string; files: string[]; temps: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'edgelat-replace-'));
  const names = ['report.html', 'report.csv', 'summary.md'];
  const files = names.map((n) => join(dir, n));
  const temps = files.map((f) => `${f}.tmp`);
  names.forEach((n, i) => {
    if (!absent.includes(n)) writeFileSync(files[i]!, `old ${n}`);
    writeFileSync(temps[i]!, `new ${n}`);
  });
  return { dir, files, temps };
}

describe('replaceAllOrNone', () => {
  it('replaces every file when each rename succeeds, and leaves no file aside', () => {
    const { dir, files, temps } = folder(['summary.md']);
    replaceAllOrNone(files, temps);
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(['new report.html', 'new report.csv', 'new summary.md']);
    expect(readdirSync(dir).sort()).toEqual(['report.csv', 'report.html', 'summary.md']);
  });

  it('puts back the files replaced before a rename that fails, and names the file and what is left', () => {
    const { dir, files, temps } = folder();
    // summary.md cannot be replaced: a folder with a file in it stands there.
    const blocked = join(dir, 'summary.md');
    rmSync(blocked);
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'keep'), 'x');
    expect(() => replaceAllOrNone(files, temps)).toThrow(new RegExp(`^cannot replace ${blocked.replaceAll('.', '\\.')}: E\\w+: .*; no file of the report was changed$`));
    expect(files.slice(0, 2).map((f) => readFileSync(f, 'utf8'))).toEqual(['old report.html', 'old report.csv']);
    // The temporary files are the caller's to remove; nothing of this function's is left.
    expect(readdirSync(dir).sort()).toEqual(['report.csv', 'report.csv.tmp', 'report.html', 'report.html.tmp', 'summary.md', 'summary.md.tmp']);
  });

  it('removes a file it had added where there was none, and keeps a symbolic link as a link', () => {
    const { dir, files, temps } = folder(['report.html']);
    const elsewhere = join(dir, 'elsewhere.csv');
    writeFileSync(elsewhere, 'the link\'s target');
    rmSync(files[1]!);
    symlinkSync(elsewhere, files[1]!);
    rmSync(files[2]!);
    mkdirSync(files[2]!);
    writeFileSync(join(files[2]!, 'keep'), 'x');
    expect(() => replaceAllOrNone(files, temps)).toThrow(/; no file of the report was changed$/);
    expect(lstatSync(files[0]!, { throwIfNoEntry: false })).toBeUndefined();
    expect([lstatSync(files[1]!).isSymbolicLink(), readlinkSync(files[1]!), readFileSync(elsewhere, 'utf8')]).toEqual([true, elsewhere, 'the link\'s target']);
  });
});
