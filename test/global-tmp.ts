/**
 * One temporary folder per test run (vitest `globalSetup`): TMPDIR points into it, so every
 * `os.tmpdir()` of the test files, of their forks and of the CLI children they spawn (data folders,
 * chdb sessions, config files) lands there; it is removed when the run ends. A run used to leave
 * about 60 folders (100–200 MB) in /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Set while a run's folder is in force (vitest runs a root config's globalSetup once per project too). */
const MARK = 'EDGELAT_TEST_TMP_ROOT';

/** Create the run's folder and point TMPDIR at it; returns the teardown that removes it (a no-op when a folder is already in force). */
export default function setup(): () => void {
  if (process.env[MARK]) return () => {};
  const before = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'edgelat-tests-'));
  process.env.TMPDIR = root;
  process.env[MARK] = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    delete process.env[MARK];
    rmSync(root, { recursive: true, force: true });
  };
}
