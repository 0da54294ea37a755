import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirs } from '../../../services/make-dirs.ts';
import { openSession } from '../../../services/warehouse/chdb.ts';
import { WarehouseError } from '../../../errors.ts';

const root = mkdtempSync(join(tmpdir(), 'edgelat-make-dirs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('makeDirs', () => {
  it('creates every missing level and returns the absolute path; an existing folder is kept', () => {
    const path = join(root, 'a', 'b', 'c');
    expect(makeDirs(path)).toBe(path);
    expect(statSync(path).isDirectory()).toBe(true);
    expect(makeDirs(path)).toBe(path);
  });

  it('names the level that cannot be created when a parent is a file (ENOTDIR)', () => {
    writeFileSync(join(root, 'file'), 'x');
    expect(() => makeDirs(join(root, 'file', 'sub', 'deeper'))).toThrow(`cannot create the folder ${JSON.stringify(join(root, 'file', 'sub'))}`);
    expect(() => makeDirs(join(root, 'file', 'sub'))).toThrow(`cannot create the folder ${JSON.stringify(join(root, 'file', 'sub'))}: ${JSON.stringify(join(root, 'file'))} is a file, not a folder`);
    const error = (() => { try { makeDirs(join(root, 'file', 'sub')); } catch (e) { return e as Error; } })();
    expect((error?.cause as NodeJS.ErrnoException).code).toBe('ENOTDIR');
  });

  // Node's mkdirSync(..., { recursive: true }) loops without end here (ENOENT from a folder that exists).
  it.skipIf(!existsSync('/proc/self'))('fails at once under /proc, where a recursive mkdirSync never returns', () => {
    expect(() => makeDirs('/proc/edgelat-none/chdb')).toThrow('cannot create the folder "/proc/edgelat-none" (for "/proc/edgelat-none/chdb"): ENOENT');
  });
});

describe('the embedded warehouse\'s folder', () => {
  // Both fail before the engine opens anything (this process opens no chdb session here).
  it('that cannot be created is named with the system\'s reason', () => {
    writeFileSync(join(root, 'plain'), 'x');
    expect(() => openSession(join(root, 'plain', 'chdb'))).toThrow(WarehouseError);
    expect(() => openSession(join(root, 'plain', 'chdb'))).toThrow(`cannot open the embedded warehouse at ${JSON.stringify(join(root, 'plain', 'chdb'))}: cannot create the folder`);
  });

  it('whose lock file cannot be written says so, not a bare EISDIR/EACCES', () => {
    const dir = join(root, 'locked');
    mkdirSync(join(dir, 'edgelat.pid'), { recursive: true });
    expect(() => openSession(dir)).toThrow(/cannot write its lock file edgelat\.pid \(EISDIR\); the folder must be writable/);
  });

  it('that is a file says so, not ENOTDIR at its lock file (a trial: <data dir>/chdb a file)', () => {
    const file = join(root, 'chdb-file');
    writeFileSync(file, 'x');
    expect(() => openSession(file)).toThrow(`cannot open the embedded warehouse at ${JSON.stringify(file)}: it is a file, not a folder (EDGELAT_DATA_DIR)`);
  });
});
