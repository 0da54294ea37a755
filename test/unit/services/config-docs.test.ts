/**
 * Every environment variable the configuration reads is documented in the README's configuration
 * table and in `edgelat --help` (a family may be written once: `EDGELAT_CLICKHOUSE_URL`, `_USER`, `_PASSWORD`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, configDefaults } from '../../../services/config.ts';

/** The variables a text leaves out: not named on any line, in full or as `_REST` beside another of its family. */
function undocumented(text: string): string[] {
  const lines = text.split('\n');
  return CONFIG_VARIABLES.filter((name) => !lines.some((line) => {
    if (new RegExp(`\\b${name}\\b`).test(line)) return true;
    const parts = name.split('_');
    for (let k = 2; k < parts.length; k++) {
      const prefix = `${parts.slice(0, k).join('_')}_`;
      const rest = `_${parts.slice(k).join('_')}`;
      if (line.includes(prefix) && new RegExp(`(^|[^A-Z_])${rest}\\b`).test(line)) return true;
    }
    return false;
  }));
}

describe('configuration docs', () => {
  it('the README\'s configuration table names every variable', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const table = readme.split('\n').filter((l) => l.startsWith('| `EDGELAT_')).join('\n');
    expect(undocumented(table)).toEqual([]);
  });

  it('edgelat --help names every variable', () => {
    const help = execFileSync('node', [fileURLToPath(new URL('../../../bin/edgelat.js', import.meta.url)), '--help'], { encoding: 'utf8' });
    expect(undocumented(help)).toEqual([]);
  });

  it('the defaults that --help and the README\'s table state are the schema\'s (a find-and-replace had made two windows 900000 in --help)', () => {
    const defaults = configDefaults();
    const text = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
    // --help: `  EDGELAT_X   what it does (default 300000)`: the first number after `(default ` on the variable's line.
    const help = execFileSync('node', [fileURLToPath(new URL('../../../bin/edgelat.js', import.meta.url)), '--help'], { encoding: 'utf8' });
    const stated = [...help.matchAll(/^\s+(EDGELAT_\w+)\s.*?\(default (-?\d[\d.]*)[);,\s]/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(stated.length).toBeGreaterThan(15);
    for (const [name, value] of stated) expect(`${name} ${value}`).toBe(`${name} ${text(defaults[name])}`);
    // README: `| \`EDGELAT_A\`, \`_B\` | ... | \`1\`, \`2\` |`: names and defaults by position; a default not in backticks (unset, empty) is prose.
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    let checked = 0;
    for (const row of readme.split('\n').filter((l) => l.startsWith('| `EDGELAT_'))) {
      const cells = row.split(' | ');
      const names = [...cells[0]!.matchAll(/`(_?[A-Z0-9_]+)`/g)].map((m) => m[1]!);
      const family = names[0]!.split('_').slice(0, 2).join('_');
      const full = names.map((n) => (n.startsWith('_') ? `${family}${n}` : n));
      const values = cells.at(-1)!.replace(/\s*\|\s*$/, '').split(/, | \/ /);
      // One value for several names (`unset`) is each one's.
      if (values.length !== 1) expect(values, row.slice(0, 80)).toHaveLength(full.length);
      full.forEach((name, i) => {
        const quoted = /^`([^`]*)`/.exec(values[values.length === 1 ? 0 : i]!.trim());
        if (!quoted || !(name in defaults)) return;
        expect(`${name} ${quoted[1]}`).toBe(`${name} ${text(defaults[name])}`);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(25);
  });
});

