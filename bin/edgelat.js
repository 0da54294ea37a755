#!/usr/bin/env node
// Entry point of the `edgelat` command: runs the compiled dist/ (scripts/build.mjs) while it is newer than
// every source file, else the TypeScript sources through tsx (always with EDGELAT_FROM_SOURCE=1).
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `pipeline run` and `serve`: a SIGINT, SIGTERM or SIGHUP while it starts is held until its handlers take it
// (services/cli/early-signals.ts); a second one ends the process now, by the default action.
const HELD_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
if ((process.argv[2] === 'pipeline' && process.argv[3] === 'run') || process.argv[2] === 'serve') {
  const store = { held: [], listener: null, notify: null, signals: HELD_SIGNALS };
  store.listener = (signal) => {
    store.held.push(signal);
    if (store.held.length === 1) {
      process.stderr.write(`edgelat: ${signal} while starting: the ${process.argv[2] === 'serve' ? 'server' : 'run'} stops as soon as it has started (${signal} again ends it now)\n`);
      store.notify?.(signal);
      return;
    }
    for (const s of HELD_SIGNALS) process.off(s, store.listener);
    process.kill(process.pid, signal);
  };
  globalThis[Symbol.for('edgelat.held-signals')] = store;
  for (const s of HELD_SIGNALS) process.on(s, store.listener);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Newest modification time (ms) under `path`: of its .ts files, and of its folders (a file added, renamed or
 * deleted changes its folder's); 0 when it does not exist.
 */
function newestSource(path) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return path.endsWith('.ts') ? s.mtimeMs : 0;
  let newest = s.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestSource(join(path, e)));
  return newest;
}

/** Whether `path` is a folder this process can write in (or, with `absentOk`, is not there yet). */
function usableFolder(path, absentOk = false) {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    if (!s) return absentOk;
    if (!s.isDirectory()) return false;
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false; // ENOTDIR (a file on the path), EACCES
  }
}

const built = statSync(join(root, 'dist', '.built'), { throwIfNoEntry: false });
const fresh = process.env.EDGELAT_FROM_SOURCE !== '1' && built !== undefined && ['schemas', 'pipelines', 'services', 'errors.ts'].every((p) => newestSource(join(root, p)) <= built.mtimeMs);
if (fresh) {
  await import('../dist/services/cli/main.js');
} else {
  // tsx caches compiled files in the temporary folder: one that is missing or cannot be written (TMPDIR) failed every
  // command with a stack trace (a trial); without it tsx compiles in memory.
  if (!usableFolder(tmpdir()) || !usableFolder(join(tmpdir(), `tsx-${userInfo().uid}`), true)) process.env.TSX_DISABLE_CACHE = '1';
  const { register } = await import('tsx/esm/api');
  register();
  await import('../services/cli/main.ts');
}
