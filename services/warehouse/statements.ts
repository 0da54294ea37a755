/**
 * What a SQL text asks of the warehouse, read before it is run: the
 * statements it holds (split at `;` outside strings, quoted names and
 * comments) and the kind of each (its first keyword). `edgelat sql` runs one
 * statement, and one that changes the warehouse only with `--write`; the SQL
 * endpoint of `edgelat serve` runs one statement a request, and over GET only
 * reads, as ClickHouse's HTTP interface does.
 *
 * Lexical rules: ClickHouse SQL reference, "Syntax" (string literals in single
 * quotes with `\` escapes and doubled quotes; identifiers in double quotes or
 * backquotes; heredocs `$tag$ … $tag$`; comments `-- …`, `# …` to the end of
 * the line and `/* … *\/`).
 */

/** Statements `edgelat sql` runs only with `--write`: they change data, tables, users or settings (ClickHouse SQL reference, "Statements"). */
export const WRITE_STATEMENTS: readonly string[] = [
  'INSERT', 'ALTER', 'DROP', 'CREATE', 'RENAME', 'TRUNCATE', 'DELETE', 'UPDATE', 'OPTIMIZE', 'ATTACH', 'DETACH',
  'EXCHANGE', 'REPLACE', 'UNDROP', 'MOVE', 'GRANT', 'REVOKE', 'KILL', 'SYSTEM', 'SET', 'USE', 'BACKUP', 'RESTORE',
];

/**
 * Statements that only read (ClickHouse SQL reference, "Statements"): every other kind counts as a
 * change (`edgelat sql` wants `--write`, the endpoint wants POST). `(SELECT …)` is a SELECT.
 */
export const READ_STATEMENTS: readonly string[] = ['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'EXPLAIN'];

/**
 * The first keyword of a SQL statement, upper-cased, after leading comments (`-- …`, `# …`, `/* … *\/`),
 * white space and opening parentheses: `SELECT` for `(SELECT 1)`, `DROP` for `/* x *\/ drop table t`.
 * @returns The keyword, or '' when the text starts with no word.
 */
export function statementKind(sql: string): string {
  const rest = sql.replace(/^(?:\s+|(?:--|#)[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/, '');
  return /^[A-Za-z]+/.exec(rest)?.[0]?.toUpperCase() ?? '';
}

/** Whether a statement kind only reads ({@link READ_STATEMENTS}). */
export function isReadStatement(kind: string): boolean {
  return READ_STATEMENTS.includes(kind);
}

/**
 * Split a SQL text into its statements at each `;` outside string literals, quoted identifiers,
 * heredocs and comments. A statement of only white space and comments is dropped (so `SELECT 1;`
 * is one statement). After `INSERT … FORMAT <name>` the rest of the text is that statement's data,
 * never split.
 * @returns The statements, trimmed, in order (each without its `;`); [] for a text of only comments.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let code = false; // the current statement has something other than white space and comments
  let words: string[] = []; // the statement's words outside parentheses, upper-cased, up to the last two that matter
  let depth = 0;
  const push = (end: number) => {
    if (code) out.push(sql.slice(start, end).trim());
    start = end + 1;
    code = false;
    words = [];
    depth = 0;
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === ';') {
      push(i);
      i++;
    } else if ((c === '-' && sql[i + 1] === '-') || c === '#') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      code = true;
      i = quotedEnd(sql, i);
    } else if (c === '$' && HEREDOC.test(sql.slice(i, i + 64))) {
      code = true;
      const tag = HEREDOC.exec(sql.slice(i, i + 64))![0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? sql.length : close + tag.length;
    } else if (/[A-Za-z_]/.test(c)) {
      code = true;
      const word = /^\w+/.exec(sql.slice(i, i + 256))![0];
      i += word.length;
      if (depth > 0) continue;
      words.push(word.toUpperCase());
      // INSERT … FORMAT <name>: what follows the format's name is the statement's data.
      if (words[0] === 'INSERT' && words.length >= 3 && words[words.length - 2] === 'FORMAT') {
        out.push(sql.slice(start).trim());
        return out;
      }
    } else {
      if (c === '(') depth++;
      else if (c === ')') depth = Math.max(0, depth - 1);
      if (!/\s/.test(c)) code = true;
      i++;
    }
  }
  push(sql.length);
  return out;
}

/**
 * A statement's code: string literals, quoted identifiers, heredocs and comments blanked out
 * (each character of them a space, so positions stay), for looking for keywords.
 * @param statement  One statement (see {@link splitStatements}).
 */
export function codeOf(statement: string): string {
  let out = '';
  let i = 0;
  while (i < statement.length) {
    const c = statement[i]!;
    let end = i;
    if ((c === '-' && statement[i + 1] === '-') || c === '#') {
      const nl = statement.indexOf('\n', i);
      end = nl < 0 ? statement.length : nl;
    } else if (c === '/' && statement[i + 1] === '*') {
      const close = statement.indexOf('*/', i + 2);
      end = close < 0 ? statement.length : close + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      end = quotedEnd(statement, i);
    } else if (c === '$' && HEREDOC.test(statement.slice(i, i + 64))) {
      const tag = HEREDOC.exec(statement.slice(i, i + 64))![0];
      const close = statement.indexOf(tag, i + tag.length);
      end = close < 0 ? statement.length : close + tag.length;
    }
    if (end > i) {
      out += ' '.repeat(end - i);
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * Whether a statement reaches outside the warehouse: writes a file (`INTO OUTFILE`) or reads or
 * writes files, URLs or other systems through a table function (`file(…)`, `url(…)`, `s3(…)`, …).
 * chdb is ClickHouse's local mode: it reads and writes any path the process may, with no
 * `user_files_path` jail, so the SQL endpoint refuses these (ClickHouse's HTTP interface writes no
 * file either). Table functions: ClickHouse SQL reference, "Table Functions".
 * @returns What it reaches for, e.g. `INTO OUTFILE` or `file()`; null when nothing.
 */
export function outsideReach(statement: string): string | null {
  const code = codeOf(statement);
  if (/\bINTO\s+OUTFILE\b/i.test(code)) return 'INTO OUTFILE';
  const fn = new RegExp(`\\b(${OUTSIDE_TABLE_FUNCTIONS.join('|')})\\s*\\(`, 'i').exec(code);
  return fn ? `${fn[1]!.toLowerCase()}()` : null;
}

/** Table functions that read or write outside the warehouse (files, URLs, other databases, programs). */
export const OUTSIDE_TABLE_FUNCTIONS: readonly string[] = [
  'file', 'fileCluster', 'url', 'urlCluster', 's3', 's3Cluster', 'gcs', 'azureBlobStorage', 'azureBlobStorageCluster', 'hdfs', 'hdfsCluster',
  'mysql', 'postgresql', 'sqlite', 'mongodb', 'redis', 'odbc', 'jdbc', 'remote', 'remoteSecure', 'executable', 'deltaLake', 'hudi', 'iceberg',
];

/** A heredoc's opening tag: `$$` or `$name$`. */
const HEREDOC = /^\$\w*\$/;

/** Index just past the closing quote of the quoted run opening at `open` (`\` escapes and a doubled quote stay inside). */
function quotedEnd(sql: string, open: number): number {
  const q = sql[open]!;
  let i = open + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === '\\') i += 2;
    else if (c === q && sql[i + 1] === q) i += 2;
    else if (c === q) return i + 1;
    else i++;
  }
  return sql.length;
}
