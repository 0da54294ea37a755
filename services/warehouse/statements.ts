/**
 * What a SQL text is, as ClickHouse's own parser reads it. `edgelat sql` and
 * the SQL endpoint of `edgelat serve` run one statement a call (ClickHouse's
 * HTTP interface refuses more; chdb would run them all), and the endpoint
 * writes no file (`INTO OUTFILE` is a client's clause). What may change the
 * warehouse is not decided here but by ClickHouse: the read-only paths run on a
 * connection with its `readonly` setting (code 164 READONLY).
 *
 * The parser is ClickHouse's `formatQuery` function (one statement in, its
 * canonical text out: no comments, strings in single quotes, names
 * backquoted where needed; "Multi-statements are not allowed" for two). A
 * lexer of our own was fooled where ClickHouse reads differently (`x$$` is one
 * name to ClickHouse, a heredoc to a lexer; comments nest in ClickHouse).
 */

/** A text of more than one statement. */
export class MultiStatementError extends Error {
  constructor() {
    super('the query holds more than one statement (ClickHouse: Multi-statements are not allowed)');
    this.name = 'MultiStatementError';
  }
}

/** Runs a read with bound parameters and returns its rows (a warehouse's `query`, or the endpoint engine's). */
export type ReadQuery = (sql: string, params: Record<string, string>) => Promise<{ f: string }[]>;

/** A query of nothing but comments, `;` or white space ({@link canonicalStatement}). */
export class EmptyQueryError extends Error {
  constructor() {
    super('the query is empty (only comments or ";")');
    this.name = 'EmptyQueryError';
  }
}

/**
 * Parse a SQL text with ClickHouse's parser: one statement, in its canonical text.
 * @param read  Where `SELECT formatQuery(…)` runs (any connection: it reads nothing).
 * @returns The canonical text; null when the server has no `formatQuery` (ClickHouse before 23.10: its
 *          HTTP interface refuses a second statement itself).
 * @throws {MultiStatementError} when the text holds more than one statement.
 * @throws {EmptyQueryError} when it holds none (only comments or `;`).
 * @throws the parser's own error (a syntax error, code 62) as `read` throws it.
 */
export async function canonicalStatement(read: ReadQuery, sql: string): Promise<string | null> {
  try {
    const [row] = await read('SELECT formatQuery({q:String}) AS f', { q: sql });
    return row?.f ?? null;
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    if (/Multi-statements are not allowed/.test(message)) throw new MultiStatementError();
    // Only comments or `;` (a trial: exit 1 quoting this pre-parse, where blank text got "the query is empty", exit 2).
    if (/Code: 62\. .*Empty query/s.test(message)) throw new EmptyQueryError();
    if (/Unknown function formatQuery|UNKNOWN_FUNCTION.*formatQuery|formatQuery.*UNKNOWN_FUNCTION/s.test(message)) return null;
    // The parser's message names the formatQuery call the check wraps the statement in, which the user never wrote, and
    // repeats the statement whole in it (a trial: "AST is too deep … In scope SELECT formatQuery('…')", 80 KB on stderr
    // for an 80 KB query): said without it.
    if (error instanceof Error) error.message = withoutWrapper(error.message);
    throw error;
  }
}

/** A parser message without its `In scope SELECT formatQuery(…) AS f` part ({@link canonicalStatement}). */
export function withoutWrapper(message: string): string {
  return message.replace(/:? In scope SELECT formatQuery\(.*\) AS f\.?(?=\s*\(\w+\)\s*$|\s*$)/s, '.');
}

/**
 * The output format a canonical statement ({@link canonicalStatement}) names in its own FORMAT clause, or null.
 * ClickHouse's canonical text puts the clause on a line of its own (`FORMAT Vertical`); a string or quoted
 * name that reads FORMAT is not one ({@link codeOf}).
 */
export function formatClause(canonical: string): string | null {
  return /^FORMAT (\w+)$/m.exec(codeOf(canonical))?.[1] ?? null;
}

/** Whether a canonical statement ({@link canonicalStatement}) writes a file with `INTO OUTFILE`. */
export function writesFile(canonical: string): boolean {
  return /\bINTO\s+OUTFILE\b/i.test(codeOf(canonical));
}

/**
 * Why a canonical statement is refused on a read-only path although ClickHouse's `readonly` lets it
 * through, or null: `KILL` (it cancels another client's query) and `SYSTEM` (it acts on the server).
 */
export function readonlyGap(canonical: string): string | null {
  const kind = /^\s*([A-Za-z]+)/.exec(canonical)?.[1]?.toUpperCase();
  if (kind === 'KILL' || kind === 'SYSTEM') return `${kind} acts on the server, not on data`;
  // ClickHouse's readonly refuses a SELECT from these, but not a DESCRIBE of one, which runs it to infer its structure
  // (a trial: GET `DESCRIBE url('http://…')` fetched the URL and answered its fields).
  const fn = EXTERNAL_TABLE_FUNCTION.exec(codeOf(canonical))?.[1];
  return fn === undefined ? null : `${fn}() reads outside the warehouse (a file, a URL, another server)`;
}

/** A call of a table function that reaches outside the warehouse (files, URLs, object stores, other databases, programs); not a dictionary's SOURCE(…) kind ({@link runsProgram}'s). */
// Every table function of ClickHouse 26.7 (system.table_functions) that reads files, URLs, object stores, other servers or
// programs; the lake families by prefix (a re-test: filesystem(), icebergLocal(), deltaLakeLocal(), paimonLocal() and
// ytsaurus() were missing).
const EXTERNAL_TABLE_FUNCTION = /(?<!\bSOURCE\s*\(\s*)\b(url|urlCluster|file|fileCluster|filesystem|s3|s3Cluster|gcs|oss|cosn|azureBlobStorage|azureBlobStorageCluster|hdfs|hdfsCluster|remote|remoteSecure|cluster|clusterAllReplicas|mysql|postgresql|jdbc|odbc|mongodb|redis|sqlite|executable|iceberg\w*|deltaLake\w*|hudi\w*|paimon\w*|ytsaurus|arrowstream|eval|prometheusQuery|prometheusQueryRange|input)\s*\(/i;

/**
 * Table and database engines that keep their data in the warehouse (or in none): any other (`File`, `URL`,
 * `Executable`, `S3`, `Kafka`, `MySQL`, a `Filesystem` database, …) reads or writes outside it.
 */
const LOCAL_ENGINE = /^(?:\w*MergeTree|Log|TinyLog|StripeLog|Memory|Null|Set|Join|Buffer|Merge|Dictionary|GenerateRandom|EmbeddedRocksDB|View|MaterializedView|Loop|Atomic|Ordinary|Lazy)$/i;

/**
 * {@link EXTERNAL_TABLE_FUNCTION} and `disk()` (a MergeTree's data anywhere), but not a table's own name before its
 * column list (`CREATE TABLE db.input (…)`, `INSERT INTO cluster (…)`: a re-test's tables named so were refused).
 */
const REACHES_OUT = new RegExp(`(?<!\\.|\\b(?:TABLE|VIEW|DICTIONARY|DATABASE|EXISTS|INTO)\\s+)${EXTERNAL_TABLE_FUNCTION.source.replace('|input)', '|input|disk)')}`, 'i');

/**
 * Whether a canonical statement names a table by a path (`SELECT * FROM "/etc/hostname"`, `EXISTS TABLE "/etc/shadow"`,
 * `{t:Identifier}` bound to a path): chdb's default database (ClickHouse's local mode) reads such a name as the file,
 * and says whether it exists even where it may not read it (a security re-test probed paths with EXISTS over GET).
 * @param params  The request's bound values by name (`param_t` as `t`).
 */
export function namesPath(canonical: string, params: Readonly<Record<string, string | null>>): boolean {
  if (/\b(?:FROM|JOIN|TABLE|INTO|EXISTS)\s+(?:(?:`[^`]*`|\w+)\s*\.\s*)?`[^`]*\/[^`]*`/i.test(canonical.replace(/'(?:[^'\\]|\\.)*'/g, "''"))) return true;
  for (const [, name] of canonical.matchAll(/\{\s*(\w+)\s*:\s*Identifier\s*\}/gi)) if ((params[name!] ?? '').includes('/')) return true;
  return false;
}

/**
 * Why a canonical statement ({@link canonicalStatement}) would read or write outside the warehouse, or null: a table
 * function or `file()` that reads files, URLs, object stores, other servers or programs, or `input()` (the process's
 * standard input in chdb, not the request's body); a table or database engine that keeps its data elsewhere ({@link LOCAL_ENGINE}); a
 * MergeTree on a `disk()` of its own; a dictionary whose source is not this warehouse's (`SOURCE(CLICKHOUSE(…))`
 * without `HOST`, or `NULL`), or whose query does any of these; `BACKUP` and `RESTORE` (to and from files);
 * `FROM INFILE`; `ATTACH … FROM '<path>'`; a table named by a path (chdb's default database reads the file); a named
 * collection. These are the plain routes only: ClickHouse's local mode has no access control, and a statement's text
 * cannot tell everything it will evaluate (a re-test reached files through functions in INSERT … VALUES data, in
 * format() strings, and in settings that hold SQL or paths). So the SQL endpoint is read-only (ClickHouse's readonly,
 * which closes them all) unless `serve --sql-write` is given, where this check is a second line. `INTO OUTFILE` is
 * {@link writesFile}'s.
 */
export function reachesOutside(canonical: string): string | null {
  const code = codeOf(canonical);
  const kind = /^\s*([A-Za-z]+)/.exec(code)?.[1]?.toUpperCase();
  if (kind === 'BACKUP' || kind === 'RESTORE') return `${kind} writes or reads files outside the warehouse`;
  if (/\bFROM\s+INFILE\b/i.test(code)) return 'FROM INFILE reads a file outside the warehouse';
  // The path is a string, which codeOf blanks: looked for in the canonical text after the FROM.
  const from = kind === 'ATTACH' ? /\bFROM\s/i.exec(code) : null;
  if (from !== null && /^\s*'/.test(canonical.slice(from.index + 4))) return 'ATTACH … FROM a path reads files outside the warehouse';
  const dictionary = /^\s*(?:CREATE|ATTACH|REPLACE)\s+(?:OR\s+REPLACE\s+)?DICTIONARY\b/i.test(code);
  // A named collection holds another server's or store's address and login, for a source to use (a re-test's
  // dictionary reached a listener through one).
  if (/^\s*(?:CREATE|ALTER)\s+NAMED\s+COLLECTION\b/i.test(code)) return 'a named collection points a source outside the warehouse';
  // Engines of the statements that make tables and databases. ClickHouse's canonical text puts an engine clause at the start of a line of its own (`ENGINE = File(…)`), a
  // condition never (a re-test: `ON t.engine = e.name` in a view read as the engine "e").
  const ddl = kind === 'CREATE' || kind === 'ATTACH' || kind === 'REPLACE';
  for (const m of ddl ? code.matchAll(/^ENGINE = ([A-Za-z_]\w*)/gm) : []) {
    if (!LOCAL_ENGINE.test(m[1]!)) return `the ${m[1]} engine keeps its data outside the warehouse (files, URLs, programs or other servers)`;
    // EmbeddedRocksDB's second argument is a folder of its own (a re-test wrote one under /tmp).
    if (/^EmbeddedRocksDB$/i.test(m[1]!) && /^\s*\(\s*[^,)]+,/.test(code.slice(m.index + m[0].length))) return 'an EmbeddedRocksDB table with a path of its own keeps its data outside the warehouse';
  }
  if (namesPath(canonical, {})) return 'a table named by a path reads a file outside the warehouse';
  // A dictionary's QUERY is a string that its reads run: searched as written.
  const fn = REACHES_OUT.exec(dictionary ? canonical : code)?.[1];
  // chdb, ClickHouse's local mode, reads input() from the process's standard input, not from a request's body: a
  // serve started in a terminal waited for it there, the endpoint's writer held until Ctrl-D.
  if (fn?.toLowerCase() === 'input') return "input() reads the serving process's standard input (chdb is ClickHouse's local mode), not the request's body";
  if (fn !== undefined) return `${fn}() reaches outside the warehouse (files, URLs, programs or other servers)`;
  const source = dictionary ? /\bSOURCE\s*\(\s*([A-Za-z_]\w*)\s*\(([^)]*)\)/i.exec(code) : null;
  if (source !== null && !(/^NULL$/i.test(source[1]!) || (/^CLICKHOUSE$/i.test(source[1]!) && !/\b(?:HOST|PORT|NAME)\b/i.test(source[2]!)))) {
    return `a dictionary whose source is ${source[1]!.toUpperCase()}${/^CLICKHOUSE$/i.test(source[1]!) ? ' on another server' : ''} reads outside the warehouse`;
  }
  return null;
}

/**
 * Whether a canonical statement creates a dictionary whose source runs a program (`SOURCE(EXECUTABLE …)`,
 * `EXECUTABLE_POOL`): every later read of it, read-only or not, would run that program.
 */
export function runsProgram(canonical: string): boolean {
  return /\bSOURCE\s*\(\s*EXECUTABLE(?:_POOL)?\b/i.test(codeOf(canonical));
}

/**
 * Whether a canonical statement ({@link canonicalStatement}) only reads: it starts with SELECT, WITH, SHOW,
 * DESCRIBE/DESC, EXISTS or EXPLAIN, or a parenthesised SELECT (`(SELECT 1) UNION ALL (SELECT 2)`). Such a
 * statement sent with POST may run where GET's do; one that a read-only connection still refuses there (a
 * SETTINGS clause, a table function: code 164) runs where POST's writes do.
 */
export function isPlainRead(canonical: string): boolean {
  return /^\s*\(*\s*(?:SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b/i.test(codeOf(canonical));
}

/** Whether an error is ClickHouse's refusal of a change on a read-only connection (code 164, READONLY). */
export function isReadonlyRefusal(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === 164 || /\bCode: 164\b|\(READONLY\)/.test(String(e?.message ?? ''));
}

/** ClickHouse's words for a bound value its type refused, whatever the code: "value abc cannot be parsed as Float64 for query parameter 'x'". */
const PARAMETER_REFUSED = /cannot be parsed as (.+?) for query parameter '([^']+)'/;

/**
 * Whether an error is ClickHouse's refusal of a bound parameter's value, from chdb (the code in the message)
 * or a server (`WarehouseError.code`): code 457 BAD_QUERY_PARAMETER, or any code whose message says the
 * value "cannot be parsed as T for query parameter" (a trial: 72 CANNOT_PARSE_NUMBER for Float64, 38 for a
 * Date, 376 for a UUID, 467 for a Bool, 69 ARGUMENT_OUT_OF_BOUND for a Decimal, 691 for an Enum, 675 for an IPv4).
 */
export function isBadQueryParameter(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  const text = String(e?.message ?? '');
  return e?.code === 457 || /\bCode: 457\b|\(BAD_QUERY_PARAMETER\)/.test(text) || PARAMETER_REFUSED.test(text);
}

/**
 * The one line a usage error says for a refused parameter ({@link isBadQueryParameter}), e.g.
 * `--param x=abc: cannot be read as Float64 (Cannot read floating point value here: abc)`; ClickHouse's first line
 * without its code and name when it does not name a given parameter.
 * @param params  The values given, by name (the message's "value …" is cut where the value itself holds ": ").
 */
export function badParameterText(error: unknown, params: Readonly<Record<string, string>>): string {
  const line = String((error as { message?: unknown })?.message ?? error).split('\n')[0]!
    .replace(/^.*?DB::Exception: /, '').replace(/\s*\(version [^)]*\)\s*$/, '').replace(/\.?\s*\([A-Z_0-9]+\)\s*$/, '');
  const m = PARAMETER_REFUSED.exec(line);
  const value = m ? params[m[2]!] : undefined;
  if (!m || value === undefined) return `--param: ${line}`;
  // What ClickHouse said before "value V cannot be parsed as T" (or "Value V …"), if anything; it writes V escaped.
  const literal = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const said = line.slice(0, m.index).replace(new RegExp(`[Vv]alue (?:${literal(value)}|${literal(clickhouseEscaped(value))})\\s*$`), '').replace(/[:\s]+$/, '');
  const after = line.slice(m.index + m[0].length).replace(/^\s*because\s*/, '').replace(/:\s*only \d+ of \d+ bytes was parsed:.*$/, '').trim();
  const detail = [said, after].filter(Boolean).join('; ');
  // A value with a control character is shown JSON-quoted, on one line; one with a backslash as a shell writes it, in
  // single quotes (a trial: x="\\N" for the --param x='\N' it had given).
  const shown = /[\u0000-\u001f\u007f]/.test(value) || (value.includes('\\') && value.includes("'")) ? JSON.stringify(value) : value.includes('\\') ? `'${value}'` : value;
  return `--param ${m[2]}=${shown}: cannot be read as ${m[1]}${detail ? ` (${detail})` : ''}${zonedTimeHint(m[1]!, value)}`;
}

/** An ISO 8601 date-time with a zone designator (`Z`, `+02:00`, `+0200`), as `report --since` takes it. */
const ZONED_ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * The advice for a DateTime or DateTime64 parameter given an ISO time with a zone (a trial copied `report`'s
 * `--since 2024-06-01T10:00:00Z` into `sql --param`): ClickHouse's basic parser reads no zone designator, so the
 * same instant is written in UTC without it, with a type that reads the text in UTC whatever the server's time zone.
 * @returns `; …` to append to the message, or '' for another type or value.
 */
function zonedTimeHint(type: string, value: string): string {
  const dateTime = /^(?:Nullable\()?DateTime(64)?\b(?:\((\d+))?/.exec(type);
  const at = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (!dateTime || !ZONED_ISO_TIME.test(value) || !Number.isFinite(at)) return '';
  const utc = new Date(at).toISOString().replace('T', ' ').replace(/(\.000)?Z$/, '');
  // A DateTime holds whole seconds (it refuses a fraction): a time with one needs a DateTime64.
  const utcType = dateTime[1] ? `DateTime64(${dateTime[2] ?? 3}, 'UTC')` : at % 1000 === 0 ? `DateTime('UTC')` : `DateTime64(3, 'UTC')`;
  return `; ClickHouse reads no time zone in the text: write the UTC time ${utc} and the type ${utcType}`;
}

/** A value as ClickHouse's messages write it (its escaped-string form): backslash, \b, \f, \n, \r, \t and NUL escaped. */
function clickhouseEscaped(v: string): string {
  const codes: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };
  return v.replace(/[\\\b\f\n\r\t\0]/g, (c) => codes[c]!);
}

/**
 * The settings a canonical statement's `SETTINGS` clauses give ({@link canonicalStatement}: ClickHouse prints each as
 * `name = value`, a quoted name unquoted, comments gone), in order: the name, and the value as text (a string literal
 * without its quotes). A `SETTINGS` inside a string literal or a quoted name is not one.
 * @param canonical  ClickHouse's canonical text of one statement.
 */
export function settingsOf(canonical: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const m of codeOf(canonical).matchAll(/\bSETTINGS\b/gi)) {
    const pair = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s,()]+)\s*(,?)/y;
    pair.lastIndex = m.index + m[0].length;
    for (let p = pair.exec(canonical); p !== null; p = pair.exec(canonical)) {
      out.push({ name: p[1]!, value: p[2]!.startsWith("'") ? p[2]!.slice(1, -1) : p[2]! });
      if (p[3] !== ',') break;
    }
  }
  return out;
}

/**
 * A canonical statement's code ({@link canonicalStatement}: no comments, no heredocs): its string
 * literals and quoted names blanked out (each character a space, so positions stay), for looking
 * for keywords.
 * @param canonical  ClickHouse's canonical text of one statement.
 */
export function codeOf(canonical: string): string {
  let out = '';
  let i = 0;
  while (i < canonical.length) {
    const c = canonical[i]!;
    if (c === "'" || c === '"' || c === '`') {
      const end = quotedEnd(canonical, i);
      out += ' '.repeat(end - i);
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

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

/** Items of an "Expected one of" list that a syntax error summary names. */
const EXPECTED_SHOWN = 8;

/**
 * A one-line summary of ClickHouse's syntax error (code 62) for a statement `sql`, or null when
 * `message` is not one: where it failed (1-based byte position in the UTF-8 `sql` and the text there), and why
 * (ClickHouse's reason, or the first 8 items of its "Expected one of" list and how many more). The
 * parser's long message also names the `formatQuery` call the check wraps the statement in, which
 * the user never wrote.
 * Example: `syntax error at position 7 ("1"): expected one of token sequence, Dot, … (and 46 more)`.
 */
export function syntaxErrorSummary(message: string, sql: string): string | null {
  if (!/\bCode: 62\b/.test(message) || !/Syntax error|is not closed/i.test(message)) return null;
  const body = message.replace(/:? In scope SELECT formatQuery\(.*$/s, '').replace(/\s*\(SYNTAX_ERROR\)\s*$/, '').replace(/\.$/, '');
  const pos = Number(/failed at position (\d+)/.exec(body)?.[1] ?? NaN);
  // ClickHouse counts bytes of the UTF-8 text.
  const rest = Number.isInteger(pos) && pos >= 1 ? Buffer.from(sql, 'utf8').subarray(pos - 1).toString('utf8') : '';
  const where = !Number.isInteger(pos) ? '' : ` at position ${pos} (${rest.trim() === '' ? 'end of query' : JSON.stringify(rest.length > 24 ? `${rest.slice(0, 24)}…` : rest)})`;
  const list = /Expected one of: (.*)$/s.exec(body)?.[1];
  const single = /Expected (?!one of)(.*)$/s.exec(body)?.[1];
  let why: string;
  if (list !== undefined) {
    const items = list.split(', ').map((x) => x.trim()).filter(Boolean);
    why = `expected one of ${items.slice(0, EXPECTED_SHOWN).join(', ')}${items.length > EXPECTED_SHOWN ? ` (and ${items.length - EXPECTED_SHOWN} more)` : ''}`;
  } else if (single !== undefined) {
    why = `expected ${single.trim()}`;
  } else {
    // e.g. "Single quoted string is not closed: Syntax error: …", "…: (1. Unmatched parentheses: ("
    const reason = /(Unmatched parentheses|[^:.]*is not closed)/.exec(body)?.[1]?.trim();
    why = reason ? reason.charAt(0).toLowerCase() + reason.slice(1) : body.replace(/^.*?DB::Exception:\s*/s, '').trim();
  }
  return `syntax error${where}: ${why}`;
}

/** Ranges of ClickHouse's fixed-size integer types (ClickHouse wraps a bound value outside them: UInt8 300 → 44). */
const INTEGER_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = Object.fromEntries(
  [8, 16, 32, 64, 128, 256].flatMap((bits) => [
    [`UInt${bits}`, [0n, (1n << BigInt(bits)) - 1n]] as const,
    [`Int${bits}`, [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n]] as const,
  ]),
);

/**
 * ClickHouse's name of an integer type written with a SQL alias (`TINYINT` Int8, `SMALLINT` Int16, `INT`/`INTEGER`
 * Int32, `BIGINT` Int64, `… UNSIGNED` the UInt of that size; case-insensitive), or the name as given.
 */
function sqlIntegerAlias(name: string): string {
  const word = name.trim().toUpperCase();
  // Single-word aliases of ClickHouse 26 (system.data_type_families): INT1 and BYTE are Int8, SIGNED Int64; UNSIGNED, BIT and SET UInt64.
  const single: Record<string, string> = { INT1: 'Int8', BYTE: 'Int8', SIGNED: 'Int64', UNSIGNED: 'UInt64', BIT: 'UInt64', SET: 'UInt64' };
  if (single[word]) return single[word]!;
  const m = /^(TINYINT|SMALLINT|MEDIUMINT|INT|INTEGER|BIGINT|INT1)(?:\s+(SIGNED|UNSIGNED))?$/.exec(word);
  if (!m) return name.trim();
  const bits = { TINYINT: 8, INT1: 8, SMALLINT: 16, MEDIUMINT: 32, INT: 32, INTEGER: 32, BIGINT: 64 }[m[1]! as 'INT'];
  return `${m[2] === 'UNSIGNED' ? 'U' : ''}Int${bits}`;
}

/** A `{name:Type}` placeholder: name (letters, digits and _, as ClickHouse takes: `{1bad:String}` binds), then type. */
const PLACEHOLDER = /\{\s*([A-Za-z0-9_]+)\s*:\s*([^{}]+?)\s*\}/g;

/**
 * Names of bound parameters a query has no `{name:Type}` placeholder for (found by the same pattern as
 * {@link paramProblem}): ClickHouse ignores them, so a misspelt name would pass unnoticed.
 * @returns The unused names, in the order given.
 */
export function unusedParams(sql: string, params: Readonly<Record<string, string>>): string[] {
  const used = new Set([...sql.matchAll(PLACEHOLDER)].map((m) => m[1]!));
  return Object.keys(params).filter((name) => !used.has(name));
}

/**
 * Why bound parameters do not fit a query, for a usage error, or null: a placeholder `{name:Type}` with
 * no value given, or an integer value outside its (possibly Nullable/LowCardinality-wrapped) integer type
 * (SQL aliases too: `INT UNSIGNED`), which ClickHouse would wrap silently (`{x:UInt8}` with 300 gives 44) or
 * refuse (a negative one for a UInt).
 * Other values are left to ClickHouse, integers inside arrays, tuples and maps included (they wrap there).
 * Placeholders are found by pattern, so one written inside a string literal counts too.
 * @param sql     The statement.
 * @param params  Values by name, as written.
 */
export function paramProblem(sql: string, params: Readonly<Record<string, string>>): string | null {
  for (const m of sql.matchAll(PLACEHOLDER)) {
    const [, name, type] = m as unknown as [string, string, string];
    const value = params[name];
    if (value === undefined) return `the query uses {${name}:${type}} and no --param ${name}=… is given`;
    const out = outsideInteger(type, value);
    if (out !== null) return `--param ${name}=${value} is outside ${out}`;
  }
  return null;
}

/**
 * The first bound value outside its placeholder's integer type ({@link paramProblem}'s check, for the SQL endpoint's
 * `param_name=value`: ClickHouse would wrap it, `{x:UInt8}` with 300 giving 44); placeholders without a value are left
 * to ClickHouse.
 * @returns The name, the value and the type with its range (`UInt8 (0 to 255)`), or null.
 */
export function outOfRangeParam(sql: string, params: Readonly<Record<string, string | null>>): { name: string; value: string; type: string } | null {
  for (const m of sql.matchAll(PLACEHOLDER)) {
    const [, name, type] = m as unknown as [string, string, string];
    const value = params[name];
    if (value === undefined || value === null) continue;
    const out = outsideInteger(type, value);
    if (out !== null) return { name, value, type: out };
  }
  return null;
}

/** `Type (min to max)` when `value` is an integer outside the integer type `type` (wrapped in Nullable/LowCardinality, or a SQL alias); else null. */
function outsideInteger(type: string, value: string): string | null {
  const base = sqlIntegerAlias(/^(?:(?:Nullable|LowCardinality)\(\s*)*([A-Za-z0-9]+(?:\s+(?:SIGNED|UNSIGNED))?)/i.exec(type)?.[1] ?? '');
  const range = INTEGER_RANGES[base];
  if (range === undefined || !/^[+-]?\d+$/.test(value.trim())) return null;
  const v = BigInt(value.trim());
  return v < range[0] || v > range[1] ? `${base} (${range[0]} to ${range[1]})` : null;
}

/**
 * The text after an `INSERT … VALUES` statement's data, when it is another statement: ClickHouse's parser stops at
 * the data (`formatQuery` gives `INSERT INTO t FORMAT Values` whatever follows), and chdb's Values reader ends the
 * data at a `;` and runs what follows (a trial: `INSERT INTO zz VALUES (1); DROP TABLE yy` dropped yy; other input
 * formats read to the end and refuse the rest). Quotes (', ", `, with backslash escapes and doubled quotes) are
 * skipped; after the `;`, blanks, further `;` and comments (`--`, `#!`, `/* … *\/`) are not a statement.
 * @param sql        The statement as given.
 * @param canonical  Its {@link canonicalStatement} text.
 * @returns The rest (trimmed) when it holds a statement, else null (not such an insert, or nothing follows).
 */
export function valuesRest(sql: string, canonical: string): string | null {
  if (!/^INSERT\b[^]*\bFORMAT Values$/.test(canonical.trim())) return null;
  let quote: string | null = null;
  for (let i = Math.max(0, /\bVALUES\b/i.exec(sql)?.index ?? 0); i < sql.length; i++) {
    const c = sql[i]!;
    if (quote !== null) {
      if (c === '\\') i++;
      else if (c === quote && sql[i + 1] === quote) i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === ';') {
      const rest = sql.slice(i + 1).replace(/--[^\n]*|#![^\n]*|\/\*[^]*?\*\//g, ' ').replace(/[;\s]+/g, ' ').trim();
      return rest === '' ? null : rest;
    }
  }
  return null;
}
