/**
 * Every environment variable the configuration reads is documented in the README's configuration
 * table and in `edgelat --help` (a family may be written once: `EDGELAT_CLICKHOUSE_URL`, `_USER`, `_PASSWORD`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../../services/config.ts';

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
});
