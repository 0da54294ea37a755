import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Create a folder and its missing parents, one level at a time. Node's
 * `mkdirSync(path, { recursive: true })` never returns where a parent answers
 * a new entry with ENOENT (under /proc, for one); this fails at once instead.
 * @param path  The folder (relative to the working directory or absolute).
 * @returns     Its absolute path.
 * @throws {Error} naming the first folder that could not be created and the system's reason
 *   (code EACCES, EROFS, ENOTDIR, ENOENT, ... on `cause`).
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
      throw new Error(`cannot create the folder ${JSON.stringify(p)} (for ${JSON.stringify(full)}): ${code ?? (error as Error).message}`, { cause: error });
    }
  }
  return full;
}
