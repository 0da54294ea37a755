/**
 * Temporary files in folders another local user may write (a report's `--out`, a shared data folder): each name is
 * random, so it cannot be planted in advance, and is created only where nothing has that name (O_CREAT | O_EXCL), so a
 * symbolic link put there is refused, not followed (a security trial: symbolic links planted at a report's
 * `summary.md.<pid>.tmp` and `.edgelat-write-test-<pid>` made `report --out` empty one file and write the summary into
 * another, out of the folder).
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

/**
 * A name beside `file` that no other process can guess: `<file>.<16 hex digits>.<tag>`.
 * @param file  The path the temporary file stands in for.
 * @param tag   The last part of the name, e.g. `tmp`, `old`.
 */
export function tempPath(file: string, tag = 'tmp'): string {
  return `${file}.${randomBytes(8).toString('hex')}.${tag}`;
}

/**
 * Write a file that must not exist yet (flag `wx`: O_CREAT | O_EXCL; a symbolic link at `path` is not followed).
 * @throws {Error} the system's, EEXIST where anything has that name.
 */
export function writeNewFileSync(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data, { flag: 'wx' });
}

/** {@link writeNewFileSync}, asynchronously. */
export async function writeNewFile(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(path, data, { flag: 'wx' });
}

/**
 * Replace `file` with `text` whole: written to a new random name beside it, then renamed over it (a symbolic link at
 * `file` is replaced, not followed; a hard link to another folder's file leaves that file as it was).
 * @throws {Error} the system's; the temporary file is removed.
 */
export function replaceFileSync(file: string, text: string | Uint8Array): void {
  const tmp = tempPath(file);
  try {
    writeNewFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
