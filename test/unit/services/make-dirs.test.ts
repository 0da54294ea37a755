import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirs } from '../../../services/make-dirs.ts';
import { holderCommand, lockFileProblem, openSession } from '../../../services/warehouse/chdb.ts';
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
    // A folder in its place: remove it (a trial had been told to make the folder writable, as for a full disk).
    expect(() => openSession(dir)).toThrow(`cannot open the embedded warehouse at ${JSON.stringify(dir)}: its lock file edgelat.pid is a folder (EISDIR): remove ${JSON.stringify(join(dir, 'edgelat.pid'))} (EDGELAT_DATA_DIR)`);
    expect(lockFileProblem('ENOSPC', dir)).toBe('cannot write its lock file edgelat.pid (ENOSPC): the disk holding the folder is full; free some space there (ClickHouse writes to its folder when it opens it, to read it too)');
    expect(lockFileProblem('EACCES', dir)).toMatch(/^cannot write its lock file edgelat\.pid \(EACCES\); the folder must be writable/);
  });

  it('that is a file says so, not ENOTDIR at its lock file (a trial: <data dir>/chdb a file)', () => {
    const file = join(root, 'chdb-file');
    writeFileSync(file, 'x');
    expect(() => openSession(file)).toThrow(`cannot open the embedded warehouse at ${JSON.stringify(file)}: it is a file, not a folder (EDGELAT_DATA_DIR)`);
  });
});

describe('holderCommand', () => {
  it('names an edgelat command by its command (and a group\'s subcommand), another program by its command line, and leaves other Node.js processes unnamed', async () => {
    const started = (argv: string[]) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
    };
    const sleeping = started(['sleep', '30']);
    const training = started([process.execPath, '-e', 'setTimeout(() => {}, 30000)', '/opt/edgelat/bin/edgelat.js', 'model', 'train', '--seed', '3']);
    const demo = started([process.execPath, '-e', 'setTimeout(() => {}, 30000)', '/x/node_modules/.bin/edgelat', 'demo', '--duration', '2']);
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(holderCommand(sleeping.pid)).toEqual({ edgelat: false, text: 'sleep 30' });
      expect(holderCommand(training.pid)).toEqual({ edgelat: true, text: 'edgelat model train' });
      expect(holderCommand(demo.pid)).toEqual({ edgelat: true, text: 'edgelat demo' });
      expect(holderCommand(process.pid)).toBeNull();
      expect(holderCommand(2 ** 22 + 12345)).toBeNull();
    } finally {
      for (const p of [sleeping, training, demo]) p.stop();
    }
  });
});
