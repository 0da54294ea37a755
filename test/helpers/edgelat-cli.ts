import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'vitest';

const run = promisify(execFile);
const BIN = new URL('../../bin/edgelat.js', import.meta.url).pathname;

/** Exit code and output of one `edgelat` process. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `edgelat <args>` as a separate Node process with its own EDGELAT_DATA_DIR
 * and wait for it; a non-zero exit is returned, not thrown.
 * @param cwd  Working directory (relative file arguments resolve against it). @default the test runner's
 * @param env  Variables set on top of the runner's environment (e.g. EDGELAT_CLICKHOUSE_URL).
 */
export async function edgelat(args: string[], dataDir: string, cwd?: string, env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run('node', [BIN, ...args], { cwd, env: { ...process.env, ...env, EDGELAT_DATA_DIR: dataDir }, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The lines of a CLI's stderr, without blank lines and npm's own warnings. */
export const errLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn'));

/** The commands of a demo summary's "try:" list, as argument arrays (`npx edgelat` dropped, double quotes removed). */
export function suggestions(stdout: string): string[][] {
  const head = /\ntry:[^\n]*\n/.exec(stdout);
  if (!head) return [];
  // Each line may start with the run's settings (EDGELAT_DATA_DIR=… EDGELAT_DATABASE=…), which the caller passes itself.
  const command = /^ {2}(?:EDGELAT_\w+=(?:'[^']*'|\S+) )*npx edgelat /;
  const list = stdout.slice(head.index + head[0].length).split('\n').filter((l) => command.test(l));
  return list.map((l) => [...l.replace(command, '').matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!));
}

/**
 * Run every suggested command on a demo's data dir, one after another: each exits 0 (gate: 0 ALLOW,
 * 1 BLOCK or 2 NEED_SHADOW), and a suggested query shows rows, not an empty answer.
 */
export async function runSuggestions(list: readonly string[][], dataDir: string): Promise<void> {
  for (const args of list) {
    const r = await edgelat([...args], dataDir);
    expect(args[0] === 'gate' ? [0, 1, 2] : [0], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
    if (args[0] === 'sql') expect(r.stdout.trim(), args.join(' ')).not.toBe('');
  }
}
