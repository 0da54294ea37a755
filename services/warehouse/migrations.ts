import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One migration file. */
export interface Migration {
  /** File name, e.g. `0002_raw_topics.sql`. */
  name: string;
  /** NNNN prefix as a number. */
  version: number;
  /** Statements with `${database}` substituted, in file order. */
  statements: string[];
  /** sha256 of the file text (hex), recorded so an edited applied migration is detected. */
  checksum: string;
}

/** Folder of the migration files shipped with edgelat. */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../sql/migrations');

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Check a database name before it is spliced into DDL (identifiers cannot be bound parameters).
 * @throws {RangeError} naming the value if it is not a plain identifier.
 */
export function assertIdentifier(name: string, field = 'database'): string {
  if (!IDENTIFIER.test(name)) throw new RangeError(`${field}: ${JSON.stringify(name)} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)`);
  return name;
}

/**
 * Split SQL text into statements at `;` that ends a line, dropping `--` comment lines.
 * Our migration files keep one statement per `;`-terminated block.
 */
export function splitStatements(sql: string): string[] {
  const body = sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return body
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Load `NNNN_*.sql` files in version order, substituting `${database}`.
 * @throws {Error} if two files share a version number.
 */
export function loadMigrations(database: string, dir = MIGRATIONS_DIR): Migration[] {
  assertIdentifier(database);
  const files = readdirSync(dir).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const seen = new Set<number>();
  return files.map((name) => {
    const version = Number(name.slice(0, 4));
    if (seen.has(version)) throw new Error(`migration version ${version} is used twice (${name})`);
    seen.add(version);
    const text = readFileSync(join(dir, name), 'utf8');
    return {
      name,
      version,
      statements: splitStatements(text.replaceAll('${database}', database)),
      checksum: createHash('sha256').update(text).digest('hex'),
    };
  });
}

/**
 * Tables and views the migrations create, in creation order (parsed from
 * `CREATE TABLE|MATERIALIZED VIEW IF NOT EXISTS <db>.<name>`), for a reset
 * that leaves a user's own tables in the same database alone.
 */
export function managedObjects(database: string, dir = MIGRATIONS_DIR): string[] {
  const names: string[] = [];
  for (const m of loadMigrations(database, dir)) {
    for (const st of m.statements) {
      const hit = /^CREATE\s+(?:TABLE|MATERIALIZED\s+VIEW|VIEW)\s+IF\s+NOT\s+EXISTS\s+\w+\.(\w+)/i.exec(st);
      if (hit) names.push(hit[1]!);
    }
  }
  return names;
}
