import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Create a folder and its missing parents, one level at a time. Node's
 * `mkdirSync(path, { recursive: true })` never returns where a parent answers
 * a new entry with ENOENT (under /proc, for one); this fails at once instead.
 * @param path  The folder (relative to the working directory or absolute).
 * @param mode  Permissions of the folders it creates (less the umask). @default 0o777
 * @returns     Its absolute path.
 * @throws {Error} naming the first folder that could not be created and the system's reason, in words for
 *   ENOTDIR (a parent is a file), EACCES and EROFS (the error with its code on `cause`).
 */
export function makeDirs(path: string, mode = 0o777): string {
  const full = resolve(path);
  const missing: string[] = [];
  for (let p = full; !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p, { mode });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      const why = code === 'ENOTDIR' ? `${JSON.stringify(dirname(p))} is a file, not a folder` : code === 'EACCES' ? `permission denied (EACCES)${otherOwnerNote(dirname(p))}` : code === 'EROFS' ? 'read-only file system (EROFS)' : code ?? (error as Error).message;
      throw new Error(`cannot create the folder ${JSON.stringify(p)}${p === full ? '' : ` (for ${JSON.stringify(full)})`}: ${why}`, { cause: error });
    }
  }
  return full;
}

/**
 * Where a folder belongs to another user, a clause saying so, for a permission error (a trial: a data folder made by
 * `sudo npm start`, mode 0700, was "nothing has been written there" to another user, and then "cannot create" the
 * folder that exists); '' where it is this user's, the user is root, or it cannot be looked at.
 * @returns e.g. ` ("/srv/.edgelat" belongs to user id 0, mode 0700: run edgelat as that user, or give this one access)`.
 */
export function otherOwnerNote(folder: string): string {
  const uid = process.getuid?.();
  try {
    const st = statSync(folder);
    if (uid === undefined || uid === 0 || st.uid === uid) return '';
    return ` (${JSON.stringify(folder)} belongs to user id ${st.uid}, mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: run edgelat as that user, or give this one access)`;
  } catch {
    return '';
  }
}
