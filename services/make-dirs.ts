import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Create a folder and its missing parents, one level at a time. Node's
 * `mkdirSync(path, { recursive: true })` never returns where a parent answers
 * a new entry with ENOENT (under /proc, for one); this fails at once instead.
 * @param path  The folder (relative to the working directory or absolute).
 * @returns     Its absolute path.
 * @throws {Error} naming the first folder that could not be created and the system's reason, in words for
 *   ENOTDIR (a parent is a file), EACCES and EROFS (the error with its code on `cause`).
 */
export function makeDirs(path: string): string {
  const full = resolve(path);
  const missing: string[] = [];
  for (let p = full; !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      const why = code === 'ENOTDIR' ? `${JSON.stringify(dirname(p))} is a file, not a folder` : code === 'EACCES' ? 'permission denied (EACCES)' : code === 'EROFS' ? 'read-only file system (EROFS)' : code ?? (error as Error).message;
      throw new Error(`cannot create the folder ${JSON.stringify(p)}${p === full ? '' : ` (for ${JSON.stringify(full)})`}: ${why}`, { cause: error });
    }
  }
  return full;
}
