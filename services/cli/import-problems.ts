/**
 * The bad lines of a file import, on stderr: one format for every import (`import benchmark`, `chips import`).
 */
import { quoteValue, QUOTED_VALUE_MAX_CHARS, type ImportProblem } from '../model/help.ts';
import { printable } from '../names.ts';

/**
 * Print at most `limit` problems (`file:line: field = "value": message`; a problem is one bad field, a line may have several)
 * to stderr, and how many more there were and on how many lines not shown yet.
 * Values (and a field named by a long header cell) are cut to their first {@link QUOTED_VALUE_MAX_CHARS}
 * characters plus their length ({@link quoteValue}): a 2 MB cell makes a line of about 100 characters.
 */
export function reportProblems(problems: readonly ImportProblem[], limit = 20, rest = ''): void {
  for (const p of problems.slice(0, limit)) {
    const field = p.field.length > QUOTED_VALUE_MAX_CHARS ? quoteValue(p.field) : p.field;
    // Escaped for the terminal (a re-test: a model's U+202E from the file reordered the line on screen).
    process.stderr.write(`${printable(`edgelat: ${p.file}:${p.line}: ${field} = ${quoteValue(p.value)}: ${p.message}`)}\n`);
  }
  if (problems.length <= limit) return;
  // Problems are bad fields, several to a line: both counts (a trial read "30 more bad lines" of a 25-line file).
  const key = (p: ImportProblem) => `${p.file}\u0000${p.line}`;
  const shown = new Set(problems.slice(0, limit).map(key));
  const lines = new Set(problems.slice(limit).map(key).filter((k) => !shown.has(k))).size;
  const more = problems.length - limit;
  process.stderr.write(`edgelat: ... and ${more} more problem${more === 1 ? '' : 's'}${lines > 0 ? ` on ${lines} more line${lines === 1 ? '' : 's'}` : ''}${rest ? ` (${rest})` : ''}\n`);
}
