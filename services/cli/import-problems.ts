/**
 * The bad lines of a file import, on stderr: one format for every import (`import benchmark`, `chips import`).
 */
import { quoteValue, QUOTED_VALUE_MAX_CHARS, type ImportProblem } from '../model/help.ts';
import { printable } from '../names.ts';

/**
 * Print at most `limit` problems (`file:line: field = "value": message`) to stderr, and how many more there were.
 * Values (and a field named by a long header cell) are cut to their first {@link QUOTED_VALUE_MAX_CHARS}
 * characters plus their length ({@link quoteValue}): a 2 MB cell makes a line of about 100 characters.
 */
export function reportProblems(problems: readonly ImportProblem[], limit = 20, rest = ''): void {
  for (const p of problems.slice(0, limit)) {
    const field = p.field.length > QUOTED_VALUE_MAX_CHARS ? quoteValue(p.field) : p.field;
    // Escaped for the terminal (a re-test: a model's U+202E from the file reordered the line on screen).
    process.stderr.write(`${printable(`edgelat: ${p.file}:${p.line}: ${field} = ${quoteValue(p.value)}: ${p.message}`)}\n`);
  }
  if (problems.length > limit) process.stderr.write(`edgelat: ... and ${problems.length - limit} more bad lines${rest ? ` (${rest})` : ''}\n`);
}
